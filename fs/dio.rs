// SPDX-License-Identifier: GPL-2.0

//! Direct IO that survives a user buffer mapping the very file range it transfers.
//!
//! The request is served in rounds. Each round first looks at the rest of the
//! buffer (fs/overlap.rs, under the mmap lock, holding no tsfs lock):
//! - a run of bytes whose pages map this file inside the range still to do is done
//!   as buffered IO (and, for a write, written back and dropped from the cache):
//!   true DIO would invalidate the very pages it reads from or writes to;
//! - any other run is true DIO: its user pages are pinned first (faulting them in,
//!   which takes other files' page cache locks in *add*, or this one's for pages
//!   outside the range), and only then is the page cache lock taken in *block* and
//!   iomap's DIO run on the pinned pages. So nothing under *block* ever touches the
//!   user's address space: no fault on the buffer (which would wait for *add*,
//!   i.e. for ourselves) and no `mmap_lock` (which a fault holds while it waits for
//!   *add*: a cycle as soon as an `mmap()` queues for that lock).
//!
//! Backstops, so nothing can spin: if iomap cannot drop cached pages of the range
//! (a pinned page is one of them: the detection missed a self-mapped page, or is
//! switched off for tests), that round goes buffered; and a round that makes no
//! progress goes buffered too.

use super::{
    overlap::{self, Run},
    LockedInode, Tsfs, IOMAP,
};
use crate::format::BLOCK_SIZE;
use crate::kapi::{
    fs::direct::DirectRequest,
    mm::{MmapReadGuard, VmaInfo},
    time::cond_resched,
    uio::MAX_PIN_PAGES,
};
use crate::locking::{owners, State};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use kernel::{error::code::ENOTBLK, page::PAGE_SIZE, prelude::*};

/// Whether self-overlap detection is on (tests switch it off to prove the backstops
/// work alone): `/sys/kernel/debug/tsfs/dio_overlap_detect`.
pub(crate) static DETECT_OVERLAP: AtomicBool = AtomicBool::new(true);

/// Per-mount direct IO counters (`/sys/kernel/debug/tsfs/<dev>/dio_stats`).
#[derive(Default)]
pub(crate) struct DioStats {
    /// Bytes done as true direct IO.
    pub(crate) direct_bytes: AtomicU64,
    /// Bytes done buffered because the buffer maps the range being transferred.
    pub(crate) fallback_self_mapped: AtomicU64,
    /// Bytes done buffered because iomap could not drop the range's cached pages.
    pub(crate) fallback_invalidate: AtomicU64,
    /// Bytes done buffered because a true-DIO round made no progress.
    pub(crate) fallback_no_progress: AtomicU64,
    /// Rounds after the first (each after a run changed kind or a partial round).
    pub(crate) extra_rounds: AtomicU64,
}

impl crate::kapi::debugfs::FileOps for DioStats {
    fn show(&self, out: &mut crate::kapi::debugfs::TextBuf) -> Result {
        use core::fmt::Write;
        writeln!(
            out,
            "direct_bytes {}\nfallback_self_mapped_bytes {}\nfallback_invalidate_bytes {}\nfallback_no_progress_bytes {}\nextra_rounds {}",
            self.direct_bytes.load(Relaxed),
            self.fallback_self_mapped.load(Relaxed),
            self.fallback_invalidate.load(Relaxed),
            self.fallback_no_progress.load(Relaxed),
            self.extra_rounds.load(Relaxed),
        )
        .map_err(|_| ENOMEM)
    }
}

/// Most buffer segments looked at per decision (a longer vector is decided in
/// several rounds).
const SEGMENTS: usize = 16;
const SECTOR: usize = 512;

/// Why a run goes buffered.
#[derive(Clone, Copy)]
enum Fallback {
    SelfMapped,
    Invalidate,
    NoProgress,
}

/// Serves a direct read or write; returns the bytes done. The caller holds the
/// inode lock and has done the VFS's write checks.
pub(crate) fn run(
    req: &mut DirectRequest<'_, Tsfs>,
    locked: &LockedInode<'_>,
    stats: &DioStats,
) -> Result<usize> {
    let block = u64::from(BLOCK_SIZE);
    let count = req.iter().count() as u64;
    if count == 0 {
        return Ok(0);
    }
    // File range: whole blocks. Memory: sector-aligned addresses and lengths (what
    // the block layer can DMA), checked up front so that no part is done before a
    // misaligned segment is found.
    if req.pos() % block != 0 || count % block != 0 || req.iter().alignment() % SECTOR != 0 {
        return Err(EINVAL);
    }
    let mut done = 0usize;
    let mut first = true;
    while req.iter().count() > 0 {
        if !req.is_write() && req.pos() >= req.inode().size() {
            break;
        }
        if !first {
            stats.extra_rounds.fetch_add(1, Relaxed);
            cond_resched();
        }
        first = false;
        let n = match next_run(req) {
            Run::SelfMapped(n) if req.nowait() => {
                // Buffered IO may block: say so rather than fall back silently.
                let _ = n;
                return partial(done, EAGAIN);
            }
            Run::SelfMapped(n) => buffered(req, Fallback::SelfMapped, n as usize, stats),
            Run::Direct(n) => direct_round(req, locked, n as usize, stats),
        };
        match n {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) => return partial(done, e),
        }
    }
    Ok(done)
}

/// What a request that did `done` bytes and then failed with `e` returns.
fn partial(done: usize, e: Error) -> Result<usize> {
    if done > 0 {
        Ok(done)
    } else {
        Err(e)
    }
}

/// One round of true DIO over (at most) the next `len` bytes; bytes done.
fn direct_round(
    req: &mut DirectRequest<'_, Tsfs>,
    locked: &LockedInode<'_>,
    len: usize,
    stats: &DioStats,
) -> Result<usize> {
    if !req.iter().is_user() {
        return under_block(req, |req| req.direct_kernel_buffer(IOMAP));
    }
    let max = len.min(MAX_PIN_PAGES * PAGE_SIZE);
    // With RWF_NOWAIT, pin only what is already present: no fault-in.
    let nowait = req.nowait();
    let was = req.iter().set_nofault(nowait);
    let pinned = req.iter().pin(max);
    req.iter().set_nofault(was);
    let mut pinned = match pinned {
        Ok(p) if p.len() > 0 => p,
        Ok(_) | Err(_) if nowait => return Err(EAGAIN),
        Ok(_) => return Err(EFAULT),
        Err(e) => return Err(e),
    };
    let inode = req.inode();
    let result = under_block(req, |req| req.direct(&mut pinned, IOMAP));
    let pinned_len = pinned.len();
    match result {
        Ok(n) => {
            req.iter().revert(pinned_len - n.min(pinned_len));
            if req.is_write() && n > 0 && req.pos() > inode.size() {
                locked.set_size(req.pos());
                inode.mark_dirty();
            }
            stats.direct_bytes.fetch_add(n as u64, Relaxed);
            drop(pinned);
            if n == 0 && !nowait {
                // No progress on pinned pages: do them buffered rather than retry.
                return buffered(req, Fallback::NoProgress, pinned_len, stats);
            }
            Ok(n)
        }
        Err(e) if e == ENOTBLK && !nowait => {
            req.iter().revert(pinned_len);
            drop(pinned);
            buffered(req, Fallback::Invalidate, pinned_len, stats)
        }
        Err(e) => {
            req.iter().revert(pinned_len);
            Err(e)
        }
    }
}

/// Runs `f` holding the page cache lock in *block* (with `RWF_NOWAIT`, only if
/// that needs no waiting), recorded as held by this task.
fn under_block<R>(
    req: &mut DirectRequest<'_, Tsfs>,
    f: impl FnOnce(&mut DirectRequest<'_, Tsfs>) -> Result<R>,
) -> Result<R> {
    let lock = &req.inode().data().pagecache;
    let _held = if req.nowait() {
        lock.try_lock(State::Block).ok_or(EAGAIN)?
    } else {
        lock.lock(State::Block)
    };
    let _record = owners::Record::new(lock, State::Block);
    f(req)
}

/// The next run of the remaining buffer: self-mapped or not (always "not" while
/// detection is off).
fn next_run(req: &mut DirectRequest<'_, Tsfs>) -> Run {
    let left = req.iter().count() as u64;
    if !DETECT_OVERLAP.load(Relaxed) {
        return Run::Direct(left);
    }
    let mut segs = [(0u64, 0u64); SEGMENTS];
    let n = req.iter().user_segments(&mut segs);
    let Some(mm) = MmapReadGuard::current() else {
        return Run::Direct(left);
    };
    let io = overlap::Io {
        pos: req.pos(),
        len: left,
        page: PAGE_SIZE as u64,
    };
    let inode = req.inode();
    match overlap::first_run(&io, segs.get(..n).unwrap_or(&[]), |addr| {
        mm.vma_at(addr, inode).map(vma)
    }) {
        // Not user memory (or nothing examined): all of it is direct.
        Run::Direct(0) => Run::Direct(left),
        r => r,
    }
}

fn vma(v: VmaInfo) -> overlap::Vma {
    overlap::Vma {
        start: v.start,
        end: v.end,
        same_file_offset: v.same_file_offset,
    }
}

/// Does the next `len` bytes as buffered IO, counted under `why`; a write's pages
/// are then written back and dropped from the page cache, as `O_DIRECT` promises.
fn buffered(
    req: &mut DirectRequest<'_, Tsfs>,
    why: Fallback,
    len: usize,
    stats: &DioStats,
) -> Result<usize> {
    let start = req.pos();
    let total = req.iter().count();
    let len = len.min(total);
    req.iter().truncate(len);
    let result = req.buffered(IOMAP);
    let done = *result.as_ref().unwrap_or(&0);
    req.iter().reexpand(total - done);
    let n = result?;
    if req.is_write() && n > 0 {
        req.inode().write_back_and_drop(start, n as u64)?;
    }
    let counter = match why {
        Fallback::SelfMapped => &stats.fallback_self_mapped,
        Fallback::Invalidate => &stats.fallback_invalidate,
        Fallback::NoProgress => &stats.fallback_no_progress,
    };
    counter.fetch_add(n as u64, Relaxed);
    Ok(n)
}
