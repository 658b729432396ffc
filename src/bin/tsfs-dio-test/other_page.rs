//! Scenario 2 (generic/647's idea): the IO buffer is a mapping of the same file at a
//! different page. Writes copy mapped page A to file page B; reads copy file page B
//! into mapped page A (for MAP_PRIVATE, into the private copy, leaving the file
//! alone); a last write goes from a page the reads changed.

use std::path::Path;

use crate::fail::{Context, Res};
use crate::fixture::{expect_full, verify_mem, Ctx, TestFile};
use crate::sys::{self, Mapping, Share, PAGE};

const PAGES: usize = 8;

/// What a mapping of the whole file shows: the file, except pages a private mapping
/// has copied.
struct View {
    share: Share,
    private: Vec<Option<Vec<u8>>>,
}

impl View {
    fn page(&self, f: &TestFile, p: usize) -> Vec<u8> {
        match &self.private[p] {
            Some(copy) => copy.clone(),
            None => f.pages(p, 1).to_vec(),
        }
    }

    fn store(&mut self, f: &mut TestFile, p: usize, data: Vec<u8>) {
        match self.share {
            Share::Shared => f.set(p * PAGE, &data),
            Share::Private => self.private[p] = Some(data),
        }
    }

    fn verify(&self, f: &TestFile, map: &Mapping, when: &str) -> Res {
        let want: Vec<u8> = (0..PAGES).flat_map(|p| self.page(f, p)).collect();
        verify_mem(
            &format!(
                "{} through its {} {when}",
                f.path.display(),
                self.share.name()
            ),
            map,
            0,
            &want,
            0,
        )
    }
}

pub fn run(ctx: &Ctx, path: &Path, share: Share, buffered: bool) -> Res<String> {
    let mut f = TestFile::with_pattern(ctx, path, PAGES, ctx.seed(1))?;
    let map = f.map(0, PAGES, share)?;
    let io = if buffered {
        f.plain.try_clone()
    } else {
        f.dio.try_clone()
    };
    let io = io.setup("duplicating the descriptor")?;
    let kind = if buffered { "buffered" } else { "DIO" };
    let mut view = View {
        share,
        private: vec![None; PAGES],
    };

    let mut writes = 0;
    let mut write = |f: &mut TestFile, view: &View, a: usize, b: usize| -> Res {
        let data = view.page(f, a);
        let what = format!(
            "{kind} write of mapped page {a} ({}) to file page {b}",
            share.name()
        );
        expect_full(
            &what,
            sys::pwrite(&io, map.pages(a, 1), (b * PAGE) as u64),
            PAGE,
        )?;
        f.set(b * PAGE, &data);
        writes += 1;
        Ok(())
    };
    write(&mut f, &view, 1, 5)?;
    write(&mut f, &view, 6, 2)?;
    f.verify(ctx, "after the writes")?;
    view.verify(&f, &map, "after the writes")?;

    for (b, a) in [(3, 0), (4, 7)] {
        let data = f.pages(b, 1).to_vec();
        let what = format!(
            "{kind} read of file page {b} into mapped page {a} ({})",
            share.name()
        );
        expect_full(
            &what,
            sys::pread(&io, map.pages(a, 1), (b * PAGE) as u64),
            PAGE,
        )?;
        view.store(&mut f, a, data);
    }
    if share == Share::Shared {
        map.msync().checked("msync after the reads")?;
    }
    f.verify(ctx, "after the reads")?;
    view.verify(&f, &map, "after the reads")?;

    write(&mut f, &view, 0, 6)?;
    f.verify(ctx, "after writing from a page a read filled")?;
    view.verify(&f, &map, "after writing from a page a read filled")?;

    Ok(format!(
        "other-page: {} {kind}: {writes} writes and 2 reads between different pages of one file: \
         full counts, data right",
        share.name()
    ))
}
