//! Scenario 9a: DIO writes past EOF whose buffer maps the file: the file grows. Four
//! writes copy the last four pages two pages further on (overlapping backwards,
//! growing the file by two pages each), one copies the first pages to EOF (no
//! overlap), and one starts at the page holding an unaligned EOF, copying from a
//! mapping whose last page is partly past EOF (zeros there).

use std::path::Path;

use crate::fail::{Context, Res};
use crate::fixture::{Ctx, TestFile};
use crate::self_range;
use crate::shift::{Outcome, Shift};
use crate::sys::PAGE;

pub fn run(ctx: &Ctx, path: &Path) -> Res<String> {
    let mut f = TestFile::with_pattern(ctx, path, 8, ctx.seed(1))?;
    let mut outcomes: Vec<Outcome> = Vec::new();
    for step in 0..4 {
        let n = f.image.len() / PAGE;
        let s = Shift {
            src: n - 4,
            dst: n - 2,
            n: 4,
        };
        outcomes.push(self_range::write(
            ctx,
            &mut f,
            s,
            &format!("step {step}: "),
        )?);
    }
    let n = f.image.len() / PAGE;
    outcomes.push(self_range::write(
        ctx,
        &mut f,
        Shift {
            src: 0,
            dst: n,
            n: 4,
        },
        "step 4: ",
    )?);

    // An EOF that is not page aligned: 3000 bytes short of a page boundary.
    let size = f.image.len() - 3000;
    f.plain
        .set_len(size as u64)
        .setup(format!("truncating {} to {size} bytes", path.display()))?;
    f.image.truncate(size);
    let m = size.div_ceil(PAGE);
    outcomes.push(self_range::write(
        ctx,
        &mut f,
        Shift {
            src: m - 3,
            dst: m - 1,
            n: 3,
        },
        "step 5: ",
    )?);

    let kinds: Vec<&str> = outcomes.iter().map(|o| o.short()).collect();
    Ok(format!(
        "extend: 6 EOF-extending DIO writes from mappings of the file (5 overlapping, one from a \
         partial EOF page): full counts, file grew to {} bytes, data right (results: {})",
        f.image.len(),
        kinds.join(", ")
    ))
}
