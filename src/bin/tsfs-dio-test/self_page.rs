//! Scenario 3 (generic/729's idea): a mapped page written with O_DIRECT onto the very
//! file offset it maps. "Touched" first reads the page through the mapping and then
//! stores a new pattern through it (for MAP_PRIVATE that makes a private copy, whose
//! contents the DIO must then write to the file).

use std::path::Path;

use crate::fail::Res;
use crate::fixture::{expect_full, verify_mem, Ctx, TestFile};
use crate::pattern;
use crate::sys::{self, Share, PAGE};

const PAGES: usize = 4;
/// The pages written onto themselves in turn: first, last, and one page twice (the
/// second time after the first DIO invalidated it).
const ORDER: [usize; 4] = [0, 3, 1, 1];

pub fn run(ctx: &Ctx, path: &Path, share: Share, touched: bool) -> Res<String> {
    let mut f = TestFile::with_pattern(ctx, path, PAGES, ctx.seed(1))?;
    let map = f.map(0, PAGES, share)?;
    // What the mapping shows (differs from the file only for private copies).
    let mut view = f.image.clone();
    let how = if touched { "touched" } else { "untouched" };
    for (round, &p) in ORDER.iter().enumerate() {
        let at = p * PAGE;
        if touched {
            verify_mem(
                &format!(
                    "round {round}: reading page {p} through the {} before the DIO",
                    share.name()
                ),
                &map,
                at,
                &view[at..at + PAGE],
                at as u64,
            )?;
            let new = pattern::pages(ctx.seed(10 + round as u16), p as u32, 1);
            map.write(at, &new);
            view[at..at + PAGE].copy_from_slice(&new);
            if share == Share::Shared {
                f.set(at, &new);
            }
        }
        let data = view[at..at + PAGE].to_vec();
        let what = format!(
            "round {round}: DIO write of page {p} from its own {} ({how})",
            share.name()
        );
        expect_full(&what, sys::pwrite(&f.dio, map.pages(p, 1), at as u64), PAGE)?;
        f.set(at, &data);
        let when = format!("after round {round} (page {p})");
        f.verify(ctx, &when)?;
        verify_mem(
            &format!("{} through its {} {when}", path.display(), share.name()),
            &map,
            0,
            &view,
            0,
        )?;
    }
    Ok(format!(
        "self-page: {} {how}: {} DIO writes of a mapped page onto itself: full counts, data right",
        share.name(),
        ORDER.len()
    ))
}
