//! A test file and the model of what it must hold, plus the two ways of checking it:
//! a fresh descriptor opened after sync and drop_caches (read buffered, and read with
//! O_DIRECT so the disk itself is checked), and reading through a mapping.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::fail::{check, Context, Fail, Res};
use crate::pattern;
use crate::sys::{self, Mapping, Share, PAGE};

/// Options every scenario shares.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// echo 3 > /proc/sys/vm/drop_caches before checking through a fresh descriptor.
    pub drop_caches: bool,
    /// The base of the pattern seeds (varies per run, so stale blocks from an earlier
    /// run never pass for fresh data).
    pub seed: u16,
    /// Extra open flags for the descriptor the IO under test uses (O_DSYNC).
    pub oflags: libc::c_int,
}

impl Ctx {
    /// The `n`th seed of this run (never 0, so patterns are never zeros).
    pub fn seed(&self, n: u16) -> u16 {
        let s = self.seed.wrapping_add(n.wrapping_mul(0x101));
        if s == 0 {
            1
        } else {
            s
        }
    }
}

/// A file under test with its expected contents.
pub struct TestFile {
    pub path: PathBuf,
    /// What the file must hold (its length is the file size).
    pub image: Vec<u8>,
    /// O_DIRECT (plus `Ctx::oflags`) descriptor: the IO under test.
    pub dio: File,
    /// Buffered descriptor, for fixtures and buffered variants.
    pub plain: File,
}

impl TestFile {
    /// Creates (truncating) `path` holding `image`, written buffered and fsynced.
    pub fn create(ctx: &Ctx, path: &Path, image: Vec<u8>) -> Res<Self> {
        let plain = fresh(path)?;
        plain.write_all_at(&image, 0).setup(format!(
            "writing the initial contents of {}",
            path.display()
        ))?;
        Self::finish(ctx, path, plain, image)
    }

    /// Creates `path` with `pages` pages of `seed`'s pattern.
    pub fn with_pattern(ctx: &Ctx, path: &Path, pages: usize, seed: u16) -> Res<Self> {
        Self::create(ctx, path, pattern::pages(seed, 0, pages))
    }

    /// Creates a sparse `path` of `size` bytes with only `extents` (byte offset, data)
    /// written: everything else is a hole.
    pub fn sparse(ctx: &Ctx, path: &Path, size: usize, extents: &[(usize, Vec<u8>)]) -> Res<Self> {
        let plain = fresh(path)?;
        plain
            .set_len(size as u64)
            .setup(format!("truncating {} to {size}", path.display()))?;
        let mut image = vec![0u8; size];
        for (off, data) in extents {
            plain.write_all_at(data, *off as u64).setup(format!(
                "writing {} bytes at {off} of {}",
                data.len(),
                path.display()
            ))?;
            image[*off..off + data.len()].copy_from_slice(data);
        }
        Self::finish(ctx, path, plain, image)
    }

    fn finish(ctx: &Ctx, path: &Path, plain: File, image: Vec<u8>) -> Res<Self> {
        plain
            .sync_all()
            .setup(format!("fsync of {}", path.display()))?;
        let dio = sys::open(path, libc::O_DIRECT | ctx.oflags, false)
            .setup(format!("opening {} with O_DIRECT", path.display()))?;
        Ok(TestFile {
            path: path.to_path_buf(),
            image,
            dio,
            plain,
        })
    }

    /// Maps pages `first..first+n` of the file read-write.
    pub fn map(&self, first: usize, n: usize, share: Share) -> Res<Mapping> {
        Mapping::file(&self.plain, (first * PAGE) as u64, n * PAGE, share).setup(format!(
            "{} of pages {first}..{} of {}",
            share.name(),
            first + n,
            self.path.display()
        ))
    }

    /// The model's bytes for pages `first..first+n` (short at EOF).
    pub fn pages(&self, first: usize, n: usize) -> &[u8] {
        let end = ((first + n) * PAGE).min(self.image.len());
        &self.image[(first * PAGE).min(end)..end]
    }

    /// Records that `data` was written at byte `off` (the file grows if needed).
    pub fn set(&mut self, off: usize, data: &[u8]) {
        if self.image.len() < off + data.len() {
            self.image.resize(off + data.len(), 0);
        }
        self.image[off..off + data.len()].copy_from_slice(data);
    }

    /// What the file holds now, read through fresh descriptors after sync and
    /// drop_caches; the buffered and the O_DIRECT (disk) reads must agree.
    pub fn read_back(&self, ctx: &Ctx, when: &str) -> Res<Vec<u8>> {
        read_back(ctx, &self.path, when)
    }

    /// Checks the file against the model through fresh descriptors.
    pub fn verify(&self, ctx: &Ctx, when: &str) -> Res {
        let got = self.read_back(ctx, when)?;
        pattern::compare(
            &format!("{} read back {when}", self.path.display()),
            &got,
            &self.image,
            0,
        )
        .map_err(Fail::Check)
    }

    /// Checks that `map` (a mapping of this file from page `first`) shows the model.
    pub fn verify_map(&self, map: &Mapping, first: usize, when: &str) -> Res {
        let want = self.pages(first, map.len() / PAGE);
        verify_mem(
            &format!("{} through its mapping {when}", self.path.display()),
            map,
            0,
            want,
            (first * PAGE) as u64,
        )
    }
}

/// Creates `path` as a new file (a new inode: an old one's leftovers, such as an
/// unreported writeback error, must not leak into this run).
fn fresh(path: &Path) -> Res<File> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(Fail::Setup(format!(
                "removing the old {}: {e}",
                path.display()
            )))
        }
        _ => {}
    }
    sys::open(path, 0, true).setup(format!("creating {}", path.display()))
}

/// Checks that `map` holds `want` from byte `off` (`base` is the file offset that
/// shows, for messages).
pub fn verify_mem(what: &str, map: &Mapping, off: usize, want: &[u8], base: u64) -> Res {
    let got = map.read(off, want.len());
    pattern::compare(what, &got, want, base).map_err(Fail::Check)
}

/// The contents of `path` through fresh descriptors after sync and drop_caches: a
/// buffered read and an O_DIRECT read, which must agree.
pub fn read_back(ctx: &Ctx, path: &Path, when: &str) -> Res<Vec<u8>> {
    sys::sync_and_drop_caches(ctx.drop_caches);
    let f = File::open(path).setup(format!("reopening {}", path.display()))?;
    let size = f
        .metadata()
        .setup(format!("stat of {}", path.display()))?
        .len() as usize;
    let mut buffered = vec![0u8; size];
    f.read_exact_at(&mut buffered, 0)
        .checked(format!("buffered read-back of {} {when}", path.display()))?;
    let direct = read_direct(path, size)
        .checked(format!("O_DIRECT read-back of {} {when}", path.display()))?;
    pattern::compare(
        &format!(
            "{} {when}: O_DIRECT read (disk) against buffered read (page cache)",
            path.display()
        ),
        &direct,
        &buffered,
        0,
    )
    .map_err(Fail::Check)?;
    Ok(buffered)
}

fn read_direct(path: &Path, size: usize) -> io::Result<Vec<u8>> {
    let f = sys::open(path, libc::O_DIRECT, false)?;
    let len = size.div_ceil(PAGE).max(1) * PAGE;
    let buf = Mapping::anon(len)?;
    let n = sys::pread(&f, buf.region(0, len), 0)?;
    if n != size {
        return Err(io::Error::other(format!(
            "returned {n} bytes for a {size}-byte file"
        )));
    }
    Ok(buf.read(0, size))
}

/// Requires that one IO call moved exactly `len` bytes.
pub fn expect_full(what: &str, r: io::Result<usize>, len: usize) -> Res {
    match r {
        Ok(n) if n == len => Ok(()),
        other => Err(check!(
            "{what}: returned {}, expected the full {len} bytes",
            sys::outcome(&other)
        )),
    }
}

/// `pages` pages of anonymous memory.
pub fn anon(pages: usize) -> Res<Mapping> {
    Mapping::anon(pages * PAGE).setup(format!("mapping {pages} anonymous pages"))
}

/// msync(MS_SYNC) of `map` after concurrent DIO; returns whether it said EIO. EIO is
/// not a failure there: it is how the kernel reports that a DIO could not invalidate
/// the page cache after it ("Page cache invalidation failure on direct I/O", a race
/// these scenarios provoke on purpose). The data checks that follow decide. Other
/// errors fail.
pub fn msync_after_race(map: &Mapping, what: &str) -> Res<bool> {
    match map.msync() {
        Ok(()) => Ok(false),
        Err(e) if sys::errno(&e) == libc::EIO => Ok(true),
        Err(e) => Err(check!("msync of {what}: {e}")),
    }
}

/// The summary's note about mappings whose msync said EIO, or nothing.
pub fn eio_note(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(
            "; note: msync said EIO for {} (the kernel's mark of a page-cache invalidation \
             failure after a racing DIO)",
            names.join(", ")
        )
    }
}
