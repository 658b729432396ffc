//! Scenario 5: pwritev/preadv with O_DIRECT whose segments mix anonymous memory, a
//! mapping of the file itself (exactly over the IO range, shifted forward, and at
//! other pages) and a mapping of another file.

use std::path::Path;

use crate::fail::{Context, Res};
use crate::fixture::{anon, expect_full, verify_mem, Ctx, TestFile};
use crate::pattern;
use crate::sys::{self, Region, Share, PAGE};

const PAGES: usize = 16;

pub fn run(ctx: &Ctx, path: &Path, other: &Path) -> Res<String> {
    let mut f = TestFile::with_pattern(ctx, path, PAGES, ctx.seed(1))?;
    let mut o = TestFile::with_pattern(ctx, other, PAGES, ctx.seed(2))?;
    let fm = f.map(0, PAGES, Share::Shared)?;
    let om = o.map(0, PAGES, Share::Shared)?;
    let a = anon(2)?;
    let anon_data = pattern::pages(ctx.seed(3), 100, 2);
    a.write(0, &anon_data);

    // pwritev at page 4: (source, destination pages)
    //   anonymous 0..2      -> 4..6
    //   FILE map 6..8       -> 6..8   (exactly itself)
    //   OTHER map 0..2      -> 8..10
    //   FILE map 11..13     -> 10..12 (forward overlap by one page)
    //   FILE map 1..3       -> 12..14 (other pages of the same file)
    let segs: [(Region, &[u8]); 5] = [
        (a.pages(0, 2), &anon_data),
        (fm.pages(6, 2), f.pages(6, 2)),
        (om.pages(0, 2), o.pages(0, 2)),
        (fm.pages(11, 2), f.pages(11, 2)),
        (fm.pages(1, 2), f.pages(1, 2)),
    ];
    let expected: Vec<u8> = segs.iter().flat_map(|(_, d)| d.iter().copied()).collect();
    let bufs: Vec<Region> = segs.iter().map(|(r, _)| *r).collect();
    expect_full(
        "pwritev with O_DIRECT of 10 pages at page 4 (anonymous, self-mapped, other-file-mapped segments)",
        sys::pwritev(&f.dio, &bufs, (4 * PAGE) as u64, 0),
        10 * PAGE,
    )?;
    f.set(4 * PAGE, &expected);
    f.verify(ctx, "after the pwritev")?;
    o.verify(ctx, "after the pwritev")?;
    f.verify_map(&fm, 0, "after the pwritev")?;
    o.verify_map(&om, 0, "after the pwritev")?;

    // preadv of 8 pages at page 4 into:
    //   anonymous 0..2 <- 4..6
    //   FILE map 6..8  <- 6..8   (exactly itself)
    //   OTHER map 3..5 <- 8..10
    //   FILE map 0     <- 10
    //   FILE map 15    <- 11
    let b = anon(2)?;
    let src = f.pages(4, 8).to_vec();
    let bufs = [
        b.pages(0, 2),
        fm.pages(6, 2),
        om.pages(3, 2),
        fm.pages(0, 1),
        fm.pages(15, 1),
    ];
    expect_full(
        "preadv with O_DIRECT of 8 pages at page 4 (anonymous, self-mapped, other-file-mapped segments)",
        sys::preadv(&f.dio, &bufs, (4 * PAGE) as u64, 0),
        8 * PAGE,
    )?;
    let page = |i: usize| &src[i * PAGE..(i + 1) * PAGE];
    verify_mem(
        "anonymous segment of the preadv",
        &b,
        0,
        &src[..2 * PAGE],
        (4 * PAGE) as u64,
    )?;
    o.set(3 * PAGE, &src[4 * PAGE..6 * PAGE]);
    f.set(0, page(6));
    f.set(15 * PAGE, page(7));
    fm.msync()
        .checked("msync of FILE's mapping after the preadv")?;
    om.msync()
        .checked("msync of OTHER's mapping after the preadv")?;
    f.verify(ctx, "after the preadv")?;
    o.verify(ctx, "after the preadv")?;
    f.verify_map(&fm, 0, "after the preadv")?;
    o.verify_map(&om, 0, "after the preadv")?;
    Ok(
        "vectored: pwritev (5 segments) and preadv (5 segments) mixing anonymous, self-mapped \
        and other-file-mapped memory: full counts, data right"
            .to_string(),
    )
}
