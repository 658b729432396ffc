//! Scenario 6: DIO reads into a shared mapping of the very range being read, with the
//! mapping untouched and with freshly stored (dirty) data in it; with `--hole`, reads
//! of a sparse file's hole into a mapping of that hole, and of data and hole into a
//! mapping of another hole.

use std::path::Path;

use crate::fail::{Context, Res};
use crate::fixture::{expect_full, Ctx, TestFile};
use crate::pattern;
use crate::sys::{self, Share, PAGE};

const PAGES: usize = 16;

pub fn run(ctx: &Ctx, path: &Path, hole: bool) -> Res<String> {
    if hole {
        holes(ctx, path)
    } else {
        data(ctx, path)
    }
}

/// Reads `n` pages at file page `from` into the mapping of pages `into..into+n`.
fn read_into(ctx: &Ctx, f: &mut TestFile, from: usize, into: usize, n: usize, label: &str) -> Res {
    let map = f.map(into, n, Share::Shared)?;
    let data = f.pages(from, n).to_vec();
    let what = format!(
        "{label}DIO read of pages {from}..{} into the mapping of pages {into}..{}",
        from + n,
        into + n
    );
    expect_full(
        &what,
        sys::pread(&f.dio, map.pages(0, n), (from * PAGE) as u64),
        n * PAGE,
    )?;
    f.set(into * PAGE, &data);
    map.msync().checked(format!("msync after the {what}"))?;
    f.verify(ctx, &format!("after the {what}"))?;
    f.verify_map(&map, into, &format!("after the {what}"))
}

fn data(ctx: &Ctx, path: &Path) -> Res<String> {
    let mut f = TestFile::with_pattern(ctx, path, PAGES, ctx.seed(1))?;
    let ranges = [(2, 1), (3, 4), (0, PAGES)];
    for (k, &(first, n)) in ranges.iter().enumerate() {
        read_into(ctx, &mut f, first, first, n, "untouched: ")?;
        // Store new data through the mapping (dirty pages), then read over it: the
        // read must see the stored data (DIO flushes dirty cache before reading).
        let map = f.map(first, n, Share::Shared)?;
        let new = pattern::pages(ctx.seed(10 + k as u16), first as u32, n);
        map.write(0, &new);
        f.set(first * PAGE, &new);
        drop(map);
        read_into(
            ctx,
            &mut f,
            first,
            first,
            n,
            "after storing through a mapping: ",
        )?;
    }
    Ok(format!(
        "read-self: DIO reads of {:?} (first page, pages) into their own mapping, clean and dirty: \
         full counts, data right",
        ranges
    ))
}

fn holes(ctx: &Ctx, path: &Path) -> Res<String> {
    let seed = ctx.seed(1);
    let mut f = TestFile::sparse(
        ctx,
        path,
        PAGES * PAGE,
        &[
            (0, pattern::pages(seed, 0, 2)),
            (14 * PAGE, pattern::pages(seed, 14, 2)),
        ],
    )?;
    read_into(ctx, &mut f, 4, 4, 4, "hole into its own mapping: ")?;
    read_into(
        ctx,
        &mut f,
        0,
        9,
        4,
        "data and hole into the mapping of another hole: ",
    )?;
    read_into(
        ctx,
        &mut f,
        0,
        0,
        PAGES,
        "whole sparse file into its own mapping: ",
    )?;
    Ok("read-self --hole: DIO reads of a hole into its own mapping, of data+hole into another hole's \
        mapping, and of a sparse file into its own mapping: full counts, data right"
        .to_string())
}
