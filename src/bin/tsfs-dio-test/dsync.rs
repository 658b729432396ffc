//! Scenario 9b: the self-mapped cases again with O_DIRECT|O_DSYNC on the descriptor
//! under test (each write must also be stable when it returns).

use std::path::Path;

use crate::fail::Res;
use crate::fixture::Ctx;
use crate::sys::Share;
use crate::{extend, other_page, self_page, self_range};

pub fn run(ctx: &Ctx, path: &Path) -> Res<String> {
    let ctx = &Ctx {
        oflags: ctx.oflags | libc::O_DSYNC,
        ..*ctx
    };
    self_page::run(ctx, path, Share::Shared, true)?;
    self_page::run(ctx, path, Share::Private, false)?;
    self_range::run(ctx, path, 8, 3)?;
    self_range::run(ctx, path, 8, -3)?;
    self_range::run(ctx, path, 8, 0)?;
    other_page::run(ctx, path, Share::Shared, false)?;
    extend::run(ctx, path)?;
    Ok(
        "dsync: with O_DIRECT|O_DSYNC: self-page (shared touched, private untouched), self-range \
        (8 pages, shifts 3, -3, 0), other-page (shared) and extend: full counts, data right"
            .to_string(),
    )
}
