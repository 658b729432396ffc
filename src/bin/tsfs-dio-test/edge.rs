//! A direct write that cannot finish, and one that must not start:
//! - `enospc`: on a nearly full file system whose free blocks hold old data, an
//!   extending O_DIRECT write of more than is free;
//! - `eio`: an extending O_DIRECT write whose bios start failing part-way (the block
//!   layer's fail_make_request, limited to this task);
//! - `nowait-alloc`: RWF_NOWAIT writes that would allocate (into a hole, past EOF).
//!
//! After a failed or short write, the size must match what the call returned, no
//! block may be allocated past the end of the file (st_blocks, statfs), the data
//! inside must be right, and growing the file with ftruncate must show zeros, never
//! the old disk contents.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::fail::{check, Context, Fail, Res};
use crate::fixture::{anon, Ctx, TestFile};
use crate::pattern;
use crate::sys::{self, PAGE};

/// Pages the file holds before the write under test.
const BEFORE: usize = 4;

/// Free blocks of the file system holding `path` (statfs).
fn free_blocks(path: &Path) -> Res<u64> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|e| Fail::Setup(format!("path {}: {e}", dir.display())))?;
    // SAFETY: zeroed statvfs is a valid value to be overwritten.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a statvfs to fill.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(Fail::Setup(format!(
            "statvfs {}: {}",
            dir.display(),
            std::io::Error::last_os_error()
        )));
    }
    // tsfs and ext4 count in 4 KiB blocks here; convert in case.
    Ok(st.f_bfree as u64 * st.f_frsize as u64 / PAGE as u64)
}

/// Size and allocated bytes of `f`.
fn size_and_alloc(f: &File) -> Res<(u64, u64)> {
    let m = f.metadata().setup("fstat")?;
    Ok((m.len(), m.blocks() * 512))
}

/// Writes `seed`'s pattern to a new file `path` until the file system is full (or
/// `limit` bytes), syncs it and deletes it: the free blocks then hold that pattern.
fn leave_old_data(path: &Path, seed: u16, limit: usize) -> Res {
    let f = sys::open(path, 0, true).setup(format!("creating {}", path.display()))?;
    let chunk = pattern::pages(seed, 0, 64);
    let mut off = 0usize;
    while off < limit {
        match sys::pwrite_slice(&f, &chunk, off as u64) {
            Ok(n) if n > 0 => off += n,
            Ok(_) => break,
            Err(e) if sys::errno(&e) == libc::ENOSPC => break,
            Err(e) => return Err(Fail::Setup(format!("filling {}: {e}", path.display()))),
        }
    }
    f.sync_all().setup("fsync of the old-data file")?;
    drop(f);
    std::fs::remove_file(path).setup("removing the old-data file")?;
    sys::sync_and_drop_caches(false);
    Ok(())
}

/// Fills the file system with a file `path` until `keep` blocks are left free.
fn fill_leaving(path: &Path, seed: u16, keep: u64) -> Res {
    let free = free_blocks(path)?;
    let f = sys::open(path, 0, true).setup(format!("creating {}", path.display()))?;
    let want = free.saturating_sub(keep) as usize * PAGE;
    let chunk = pattern::pages(seed, 0, 64);
    let mut off = 0usize;
    while off < want {
        let n = chunk.len().min(want - off);
        sys::pwrite_slice(&f, &chunk[..n], off as u64)
            .setup(format!("filling {}", path.display()))?;
        off += n;
    }
    f.sync_all().setup("fsync of the filler")?;
    Ok(())
}

/// The checks after an extending write of `len` bytes at `at` (the old size) that
/// returned `r`: size, blocks, data, then ftruncate up reads zeros.
fn after_failed_extend(
    ctx: &Ctx,
    f: &mut TestFile,
    what: &str,
    r: std::io::Result<usize>,
    data: &[u8],
    free_before: u64,
) -> Res<String> {
    let at = f.image.len();
    let len = data.len();
    let done = match r {
        Ok(n) if n <= len && n % PAGE == 0 => n,
        Err(ref e) if matches!(sys::errno(e), libc::ENOSPC | libc::EIO) => 0,
        other => {
            return Err(check!(
                "{what}: returned {}; expected a whole number of pages up to {len}, ENOSPC or EIO",
                sys::outcome(&other)
            ))
        }
    };
    let outcome = sys::outcome(&r);
    f.set(at, &data[..done]);
    sys::sync_and_drop_caches(ctx.drop_caches);
    let (size, alloc) = size_and_alloc(&f.plain)?;
    if size != (at + done) as u64 {
        return Err(check!(
            "{what} returned {outcome} but the size is {size}, not {}",
            at + done
        ));
    }
    let inside = size.next_multiple_of(PAGE as u64);
    if alloc != inside {
        return Err(check!(
            "{what} returned {outcome}: the file has {alloc} bytes allocated for a size of \
             {size} ({inside} in whole blocks): blocks past the end of the file"
        ));
    }
    let used = free_before - free_blocks(&f.path)?;
    if used != (done / PAGE) as u64 {
        return Err(check!(
            "{what} returned {outcome}: statfs shows {used} blocks used, {} written",
            done / PAGE
        ));
    }
    f.verify(ctx, &format!("after the {what}"))?;
    f.plain
        .set_len((at + len) as u64)
        .checked("ftruncate up over the failed range")?;
    f.image.resize(at + len, 0);
    f.verify(
        ctx,
        &format!("after ftruncate up over the range of the {what}"),
    )?;
    Ok(outcome)
}

/// A sibling of `path` named with `suffix`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn dio_flags(dsync: bool) -> libc::c_int {
    if dsync {
        libc::O_DSYNC
    } else {
        0
    }
}

/// `enospc FILE [--dsync]`: run on a small, otherwise empty file system.
pub fn enospc(ctx: &Ctx, path: &Path, dsync: bool) -> Res<String> {
    const FREE_LEFT: u64 = 64;
    const PAGES: usize = 256;
    leave_old_data(&sibling(path, ".old"), ctx.seed(7), usize::MAX)?;
    let ctx = Ctx {
        oflags: dio_flags(dsync),
        ..*ctx
    };
    let mut f = TestFile::with_pattern(&ctx, path, BEFORE, ctx.seed(1))?;
    fill_leaving(&sibling(path, ".fill"), ctx.seed(8), FREE_LEFT)?;
    let free_before = free_blocks(path)?;
    if free_before >= PAGES as u64 || free_before == 0 {
        return Err(Fail::Setup(format!(
            "{free_before} blocks free after filling; wanted about {FREE_LEFT}"
        )));
    }
    let a = anon(PAGES)?;
    let data = pattern::pages(ctx.seed(2), BEFORE as u32, PAGES);
    a.write(0, &data);
    let what = format!(
        "extending O_DIRECT{} write of {PAGES} pages with {free_before} blocks free",
        if dsync { "|O_DSYNC" } else { "" }
    );
    let r = sys::pwrite(&f.dio, a.pages(0, PAGES), (BEFORE * PAGE) as u64);
    let outcome = after_failed_extend(&ctx, &mut f, &what, r, &data, free_before)?;
    Ok(format!(
        "enospc: {what}: {outcome}; size matches, no block past EOF, data right, ftruncate \
         up reads zeros"
    ))
}

/// fail_make_request's knobs.
const FAIL: &str = "/sys/kernel/debug/fail_make_request";

fn knob(path: &str, value: &str) -> Res {
    std::fs::write(path, value).map_err(|e| Fail::Setup(format!("echo {value} > {path}: {e}")))
}

/// Makes this task's bios to `dev` fail once `budget` bytes have passed (one failure).
fn arm_failure(dev: &str, budget: usize) -> Res {
    knob(&format!("{FAIL}/task-filter"), "Y")?;
    knob(&format!("{FAIL}/verbose"), "0")?;
    knob(&format!("{FAIL}/interval"), "1")?;
    knob(&format!("{FAIL}/probability"), "100")?;
    knob(&format!("{FAIL}/space"), &budget.to_string())?;
    knob(&format!("{FAIL}/times"), "1")?;
    knob(&format!("/sys/block/{dev}/make-it-fail"), "1")?;
    knob("/proc/thread-self/make-it-fail", "1")
}

fn disarm_failure(dev: &str) {
    let _ = std::fs::write("/proc/thread-self/make-it-fail", "0");
    let _ = std::fs::write(format!("/sys/block/{dev}/make-it-fail"), "0");
    let _ = std::fs::write(format!("{FAIL}/probability"), "0");
    let _ = std::fs::write(format!("{FAIL}/times"), "0");
}

/// `eio FILE --dev NAME [--dsync]`: NAME is the disk under FILE (as in /sys/block).
pub fn eio(ctx: &Ctx, path: &Path, dev: &str, dsync: bool) -> Res<String> {
    const PAGES: usize = 1024;
    leave_old_data(&sibling(path, ".old"), ctx.seed(7), 2 * PAGES * PAGE)?;
    let ctx = Ctx {
        oflags: dio_flags(dsync),
        ..*ctx
    };
    let mut f = TestFile::with_pattern(&ctx, path, BEFORE, ctx.seed(1))?;
    sys::sync_and_drop_caches(false);
    let free_before = free_blocks(path)?;
    let a = anon(PAGES)?;
    let data = pattern::pages(ctx.seed(2), BEFORE as u32, PAGES);
    a.write(0, &data);
    let what = format!(
        "extending O_DIRECT{} write of {PAGES} pages failing part-way with EIO",
        if dsync { "|O_DSYNC" } else { "" }
    );
    arm_failure(dev, PAGES * PAGE / 3)?;
    let r = sys::pwrite(&f.dio, a.pages(0, PAGES), (BEFORE * PAGE) as u64);
    let left = std::fs::read_to_string(format!("{FAIL}/times")).unwrap_or_default();
    disarm_failure(dev);
    if left.trim() != "0" {
        return Err(Fail::Setup(format!(
            "the injected failure did not fire (times left: {})",
            left.trim()
        )));
    }
    if matches!(r, Ok(n) if n == PAGES * PAGE) {
        return Err(check!(
            "{what}: returned the full count although a bio failed"
        ));
    }
    let outcome = after_failed_extend(&ctx, &mut f, &what, r, &data, free_before)?;
    Ok(format!(
        "eio: {what}: {outcome}; size matches, no block past EOF, data right, ftruncate up \
         reads zeros"
    ))
}

/// `nowait-alloc FILE`: RWF_NOWAIT writes that would allocate get EAGAIN and allocate
/// nothing.
pub fn nowait_alloc(ctx: &Ctx, path: &Path) -> Res<String> {
    const SIZE: usize = 16;
    let mut f = TestFile::with_pattern(ctx, path, BEFORE, ctx.seed(1))?;
    f.plain
        .set_len((SIZE * PAGE) as u64)
        .setup("ftruncate up: a hole after the data")?;
    f.image.resize(SIZE * PAGE, 0);
    sys::sync_and_drop_caches(false);
    let a = anon(2)?;
    a.write(0, &pattern::pages(ctx.seed(2), 0, 2));
    let free_before = free_blocks(path)?;
    let (_, alloc_before) = size_and_alloc(&f.plain)?;
    let cases = [
        ("into the hole at page 8", 8),
        ("past EOF at page 16", SIZE),
    ];
    for (what, page) in cases {
        let r = sys::pwritev(
            &f.dio,
            &[a.pages(0, 2)],
            (page * PAGE) as u64,
            libc::RWF_NOWAIT,
        );
        match r {
            Err(ref e) if sys::errno(e) == libc::EAGAIN => {}
            other => {
                return Err(check!(
                    "RWF_NOWAIT O_DIRECT write {what}: returned {}, expected EAGAIN (it must \
                     allocate)",
                    sys::outcome(&other)
                ))
            }
        }
    }
    sys::sync_and_drop_caches(false);
    let (size, alloc) = size_and_alloc(&f.plain)?;
    let free = free_blocks(path)?;
    if size != (SIZE * PAGE) as u64 || alloc != alloc_before || free != free_before {
        return Err(check!(
            "after the EAGAINs: size {size} (was {}), {alloc} bytes allocated (was \
             {alloc_before}), {free} blocks free (was {free_before})",
            SIZE * PAGE
        ));
    }
    f.verify(ctx, "after the RWF_NOWAIT writes")?;
    Ok(format!(
        "nowait-alloc: {} RWF_NOWAIT O_DIRECT writes that must allocate returned EAGAIN; \
         size, allocation and statfs unchanged",
        cases.len()
    ))
}
