//! Scenario 1: DIO writes and reads of several sizes from anonymous buffers.
//! Round one allocates (the file grows, with holes between extents); round two
//! overwrites the same ranges with new data.

use std::path::Path;

use crate::fail::Res;
use crate::fixture::{anon, expect_full, verify_mem, Ctx, TestFile};
use crate::pattern;
use crate::sys::{self, Share, PAGE};

/// IO sizes in pages: one page, small, odd, and more than the 1 MiB a bio carries.
const SIZES: [usize; 6] = [1, 2, 3, 16, 64, 257];

pub fn run(ctx: &Ctx, path: &Path) -> Res<String> {
    let mut f = TestFile::create(ctx, path, Vec::new())?;
    let mut extents = Vec::new();
    let mut next = 1;
    for n in SIZES {
        extents.push((next, n));
        next += n + 1; // one-page hole between extents
    }
    for round in 0..2u16 {
        for (k, &(first, n)) in extents.iter().enumerate() {
            let seed = ctx.seed(round * 16 + k as u16 + 1);
            let buf = anon(n)?;
            let data = pattern::pages(seed, first as u32, n);
            buf.write(0, &data);
            let what = format!(
                "round {round}: DIO write of {n} pages at page {first} from anonymous memory"
            );
            expect_full(
                &what,
                sys::pwrite(&f.dio, buf.pages(0, n), (first * PAGE) as u64),
                n * PAGE,
            )?;
            f.set(first * PAGE, &data);

            let back = anon(n)?;
            let what = format!(
                "round {round}: DIO read of {n} pages at page {first} into anonymous memory"
            );
            expect_full(
                &what,
                sys::pread(&f.dio, back.pages(0, n), (first * PAGE) as u64),
                n * PAGE,
            )?;
            verify_mem(&what, &back, 0, &data, (first * PAGE) as u64)?;
        }
        f.verify(ctx, &format!("after round {round}"))?;
        let pages = f.image.len() / PAGE;
        let map = f.map(0, pages, Share::Shared)?;
        f.verify_map(&map, 0, &format!("after round {round}"))?;
    }
    let total: usize = SIZES.iter().sum();
    Ok(format!(
        "anon: DIO writes and reads of {SIZES:?} pages ({total} pages) from anonymous memory, \
         allocating then overwriting: full counts, data right"
    ))
}
