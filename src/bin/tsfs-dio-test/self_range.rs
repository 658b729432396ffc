//! Scenario 4: a multi-page DIO write whose buffer maps the file `shift` pages away
//! from the destination: 0 is exact self-overlap, positive a forward partial overlap
//! (source after destination), negative a backward one. See `shift.rs` for exactly
//! which results are accepted and why.

use std::path::Path;

use crate::fail::{Fail, Res};
use crate::fixture::{expect_full, Ctx, TestFile};
use crate::shift::Shift;
use crate::sys::{self, Share, PAGE};

/// Largest IO accepted (in pages): 64 MiB keeps the fixture small.
const MAX_PAGES: usize = 16384;

pub fn run(ctx: &Ctx, path: &Path, n: usize, shift: i64) -> Res<String> {
    if n == 0 || n > MAX_PAGES || shift.unsigned_abs() as usize > MAX_PAGES {
        return Err(Fail::Setup(format!(
            "--pages must be 1..={MAX_PAGES} and |--shift| at most {MAX_PAGES} (got {n}, {shift})"
        )));
    }
    let back = shift.min(0).unsigned_abs() as usize;
    // One page before and after the region, so stray writes show.
    let dst = 1 + back;
    let src = (dst as i64 + shift) as usize;
    let pages = dst.max(src) + n + 1;
    let mut f = TestFile::with_pattern(ctx, path, pages, ctx.seed(1))?;
    let s = Shift { src, dst, n };
    let outcome = write(ctx, &mut f, s, "")?;
    Ok(format!(
        "self-range: {n} pages ({} KiB) from the mapping of pages {src}..{} to page {dst} (shift {shift}): \
         full count; {}",
        n * PAGE / 1024,
        src + n,
        outcome.describe()
    ))
}

/// Writes `s.n` pages at file page `s.dst` from a shared mapping of pages `s.src..`,
/// checks the count and the result (through fresh descriptors and the mapping), and
/// takes the result as the new model.
pub fn write(ctx: &Ctx, f: &mut TestFile, s: Shift, label: &str) -> Res<crate::shift::Outcome> {
    let map = f.map(s.src, s.n, Share::Shared)?;
    let what = format!(
        "{label}DIO write of {} pages to page {} from the mapping of pages {}..{}",
        s.n,
        s.dst,
        s.src,
        s.src + s.n
    );
    expect_full(
        &what,
        sys::pwrite(&f.dio, map.pages(0, s.n), (s.dst * PAGE) as u64),
        s.n * PAGE,
    )?;
    let got = f.read_back(ctx, &format!("after the {what}"))?;
    let outcome = s
        .check(&f.image, &got)
        .map_err(|e| Fail::Check(format!("after the {what}: {e}")))?;
    f.image = got;
    f.verify_map(&map, s.src, &format!("after the {what}"))?;
    Ok(outcome)
}
