//! Scenario 9d: DIO with RWF_NOWAIT (pwritev2/preadv2) from and into anonymous and
//! self-mapped buffers: each call must either complete in full or fail with EAGAIN,
//! never return a short count or another error, and never block for long. After an
//! EAGAIN the same IO is repeated without RWF_NOWAIT, as an application would, and
//! must then complete. The summary says which way each call went.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::fail::{check, Context, Res};
use crate::fixture::{anon, expect_full, Ctx, TestFile};
use crate::pattern;
use crate::sys::{self, Region, Share, PAGE};

const PAGES: usize = 16;
/// A RWF_NOWAIT call that takes longer than this has blocked.
const LIMIT: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Write,
    Read,
}

/// One RWF_NOWAIT call; if it says EAGAIN, the blocking retry. Returns how it went.
fn attempt(f: &TestFile, what: &str, dir: Dir, buf: Region<'_>, page: usize) -> Res<&'static str> {
    let off = (page * PAGE) as u64;
    let call = |flags| match dir {
        Dir::Write => sys::pwritev(&f.dio, &[buf], off, flags),
        Dir::Read => sys::preadv(&f.dio, &[buf], off, flags),
    };
    let t = Instant::now();
    let r = call(libc::RWF_NOWAIT);
    let took = t.elapsed();
    if took > LIMIT {
        return Err(check!(
            "{what} with RWF_NOWAIT: blocked for {:.1} s (returned {})",
            took.as_secs_f64(),
            sys::outcome(&r)
        ));
    }
    match r {
        Ok(n) if n == buf.len() => Ok("done"),
        Err(ref e) if sys::errno(e) == libc::EAGAIN => {
            expect_full(
                &format!("{what}, retried without RWF_NOWAIT after EAGAIN"),
                call(0),
                buf.len(),
            )?;
            Ok("EAGAIN")
        }
        other => Err(check!(
            "{what} with RWF_NOWAIT: returned {}; only the full {} bytes or EAGAIN are right",
            sys::outcome(&other),
            buf.len()
        )),
    }
}

pub fn run(ctx: &Ctx, path: &Path) -> Res<String> {
    let mut f = TestFile::with_pattern(ctx, path, PAGES, ctx.seed(1))?;
    let fm = f.map(0, PAGES, Share::Shared)?;
    let a = anon(4)?;
    let a_data = pattern::pages(ctx.seed(2), 300, 4);
    a.write(0, &a_data);
    let mut report = Vec::new();

    let what = "DIO write of anonymous memory over allocated pages 0..4";
    report.push(format!(
        "anon overwrite: {}",
        attempt(&f, what, Dir::Write, a.pages(0, 4), 0)?
    ));
    f.set(0, &a_data);
    // That write (or its blocking retry) left no cached pages over 0..4: again.
    let what = "DIO write of anonymous memory over pages 0..4 again, now uncached";
    report.push(format!(
        "anon overwrite, uncached: {}",
        attempt(&f, what, Dir::Write, a.pages(0, 4), 0)?
    ));

    let what = "DIO write of page 5 from its own untouched mapping";
    report.push(format!(
        "self-page: {}",
        attempt(&f, what, Dir::Write, fm.pages(5, 1), 5)?
    ));

    let new = pattern::pages(ctx.seed(3), 8, 4);
    fm.write(8 * PAGE, &new);
    f.set(8 * PAGE, &new);
    let what = "DIO write of pages 8..12 from their own mapping, just stored to (dirty)";
    report.push(format!(
        "dirty self-range: {}",
        attempt(&f, what, Dir::Write, fm.pages(8, 4), 8)?
    ));

    let what = "DIO read of pages 4..8 into their own mapping";
    report.push(format!(
        "read-self: {}",
        attempt(&f, what, Dir::Read, fm.pages(4, 4), 4)?
    ));

    let data = f.pages(2, 1).to_vec();
    let what = "DIO write of page 13 from the mapping of page 2";
    report.push(format!(
        "other-page: {}",
        attempt(&f, what, Dir::Write, fm.pages(2, 1), 13)?
    ));
    f.set(13 * PAGE, &data);

    let what = "DIO write of anonymous memory past EOF (pages 16..20, needs allocation)";
    report.push(format!(
        "extending: {}",
        attempt(&f, what, Dir::Write, a.pages(0, 4), PAGES)?
    ));
    f.set(PAGES * PAGE, &a_data);

    fm.msync().checked("msync at the end")?;
    f.verify(ctx, "at the end")?;
    f.verify_map(&fm, 0, "at the end")?;
    Ok(format!(
        "nowait: RWF_NOWAIT DIO never short, never blocked: {}; data right",
        report.join(", ")
    ))
}
