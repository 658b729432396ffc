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
//! What keeps the data right is the pinning: the DIO reads from, or writes into,
//! the pages it pinned, whatever happens to the page cache meanwhile (6.12's
//! `invalidate_complete_folio2` drops a clean page even while it is pinned). The
//! classifier adds two things: self-mapped bytes take the buffered path, so
//! the user sees through the mapping what the call did, and iomap does not
//! pointlessly invalidate the very pages the buffer lives in. Backstops, so
//! nothing can spin: if iomap cannot drop cached pages of the range (a page
//! re-dirtied through a mapping meanwhile), that round goes buffered; and a round
//! that makes no progress goes buffered too.
//!
//! Locking: reads, and block-aligned overwrites of written blocks inside the
//! file, run under the inode lock held shared (fs/file.rs); a shared write stops
//! at anything more ([`Done::needs_exclusive`]) and the rest runs exclusively.
//! *block* is shared by all of them, so concurrent DIOs run together while page
//! faults wait. Direct writes allocate unwritten extents; the completion
//! (fs/iomap.rs, `write_done`) makes what was written readable and sets the size
//! before any `O_DSYNC` sync; a failed or short extending write gives back what
//! it allocated past the end of the file.
//!
//! Asynchronous requests (AIO, io_uring): one that is a single true-DIO round
//! (its whole buffer pinned at once: nothing self-mapped, no fallback, no second
//! round) completes asynchronously, *block* handed over to its completion
//! (fs/dio_async.rs); kapi still waits for a write that allocates, extends or
//! must be synced. Everything else, and sub-block writes (which take the inode
//! lock exclusively), completes before returning.

use super::{
    dio_async, iomap,
    overlap::{self, Run},
    Inode, Tsfs, DIRECT, IOMAP,
};
use crate::kapi::{
    errno::eiocbqueued,
    fs::direct::{DirectRequest, InodeLock, Submitted},
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
    /// Of those, bytes done under the inode lock held shared.
    pub(crate) shared_bytes: AtomicU64,
    /// Bytes done buffered because the buffer maps the range being transferred.
    pub(crate) fallback_self_mapped: AtomicU64,
    /// Bytes done buffered because iomap could not drop the range's cached pages.
    pub(crate) fallback_invalidate: AtomicU64,
    /// Bytes done buffered because a true-DIO round made no progress.
    pub(crate) fallback_no_progress: AtomicU64,
    /// Rounds after the first (each after a run changed kind or a partial round).
    pub(crate) extra_rounds: AtomicU64,
    /// Requests queued to complete asynchronously (AIO, io_uring).
    pub(crate) async_requests: AtomicU64,
    /// Their bytes.
    pub(crate) async_bytes: AtomicU64,
    /// *block* holds handed over to completions, not yet released.
    pub(crate) async_inflight: AtomicU64,
    /// The most of those at once.
    pub(crate) async_high_water: AtomicU64,
}

impl crate::kapi::debugfs::FileOps for DioStats {
    fn show(&self, out: &mut crate::kapi::debugfs::TextBuf) -> Result {
        use core::fmt::Write;
        writeln!(
            out,
            "direct_bytes {}\nshared_bytes {}\nfallback_self_mapped_bytes {}\nfallback_invalidate_bytes {}\nfallback_no_progress_bytes {}\nextra_rounds {}\nasync_requests {}\nasync_bytes {}\nasync_inflight {}\nasync_high_water {}",
            self.direct_bytes.load(Relaxed),
            self.shared_bytes.load(Relaxed),
            self.fallback_self_mapped.load(Relaxed),
            self.fallback_invalidate.load(Relaxed),
            self.fallback_no_progress.load(Relaxed),
            self.extra_rounds.load(Relaxed),
            self.async_requests.load(Relaxed),
            self.async_bytes.load(Relaxed),
            self.async_inflight.load(Relaxed),
            self.async_high_water.load(Relaxed),
        )
        .map_err(|_| ENOMEM)
    }
}

/// Most buffer segments looked at per decision (a longer vector is decided in
/// several rounds).
const SEGMENTS: usize = 16;

/// Why a run goes buffered.
#[derive(Clone, Copy)]
enum Fallback {
    SelfMapped,
    Invalidate,
    NoProgress,
}

/// What a direct request did.
#[derive(Default)]
pub(crate) struct Done {
    /// Bytes done, in all.
    pub(crate) bytes: usize,
    /// Of those, bytes done as buffered IO (written back and dropped).
    pub(crate) buffered: usize,
    /// The request stopped because what is left of it needs the inode lock
    /// exclusively (a write under the shared lock that must allocate, extend or
    /// go buffered).
    pub(crate) needs_exclusive: bool,
}

/// The direct IO alignments of `inode`'s device: memory (DMA), and file offset
/// and length (the logical block size).
pub(crate) fn alignment(inode: &Inode) -> (u32, u32) {
    let sb = inode.super_block();
    (sb.dma_alignment(), sb.logical_block_size())
}

/// Serves a direct read or write under the inode lock as `lock` holds it (and,
/// for a write, after the VFS's write checks). A write under the shared lock only
/// overwrites: it stops with [`Done::needs_exclusive`] at whatever needs more.
pub(crate) fn run(
    req: &mut DirectRequest<'_, Tsfs>,
    lock: &InodeLock<'_, '_, Tsfs>,
    stats: &DioStats,
) -> Result<Done> {
    let mut done = Done::default();
    let count = req.iter().count();
    if count == 0 {
        return Ok(done);
    }
    // File range: whole device sectors; memory: the device's DMA alignment (and
    // whole sectors per segment), checked up front so that no part is done before
    // a misaligned segment is found.
    let (mem, sector) = alignment(req.inode());
    if req.pos() % u64::from(sector) != 0
        || count % sector as usize != 0
        || !req.iter().is_aligned(mem, sector)
    {
        return Err(EINVAL);
    }
    let shared_write = req.is_write() && matches!(lock, InodeLock::Shared(_));
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
            Err(e) => Err(e),
            // Buffered IO may block: say so rather than fall back silently.
            Ok(Run::SelfMapped(_)) if req.nowait() => Err(EAGAIN),
            Ok(Run::SelfMapped(_)) if shared_write => Err(EAGAIN),
            Ok(Run::SelfMapped(n)) => {
                buffered(req, Fallback::SelfMapped, n as usize, stats, &mut done)
            }
            Ok(Run::Direct(n)) => direct_round(req, lock, n as usize, stats, &mut done),
        };
        match n {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e == EAGAIN && shared_write && !req.nowait() => {
                done.needs_exclusive = true;
                break;
            }
            Err(e) if done.bytes > 0 => {
                pr_debug!(
                    "tsfs: direct IO stops after {} bytes: {:?}\n",
                    done.bytes,
                    e
                );
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// One round of true DIO over (at most) the next `len` bytes; bytes done (also
/// added to `done`).
fn direct_round(
    req: &mut DirectRequest<'_, Tsfs>,
    lock: &InodeLock<'_, '_, Tsfs>,
    len: usize,
    stats: &DioStats,
    done: &mut Done,
) -> Result<usize> {
    let nowait = req.nowait();
    let write = req.is_write();
    let exclusive = matches!(lock, InodeLock::Exclusive(_));
    // Buffered fallback: not with RWF_NOWAIT, and a write needs the lock exclusively.
    let may_fall_back = !nowait && (exclusive || !write);
    if !req.iter().is_user() {
        // A kernel buffer (bvec, kvec): nothing to pin, nothing that can fault.
        let result = under_block(req, |req| req.direct_kernel_buffer(DIRECT, lock));
        if write && exclusive {
            iomap::trim_past_eof(req.inode())?;
        }
        return match result {
            Ok(n) if n > 0 => {
                stats.direct_bytes.fetch_add(n as u64, Relaxed);
                done.bytes += n;
                Ok(n)
            }
            Ok(_) if may_fall_back => {
                let left = req.iter().count();
                buffered(req, Fallback::NoProgress, left, stats, done)
            }
            Err(e) if e == ENOTBLK && may_fall_back => {
                let left = req.iter().count();
                buffered(req, Fallback::Invalidate, left, stats, done)
            }
            Ok(_) | Err(_) if !may_fall_back && !nowait => Err(EAGAIN),
            Ok(n) => Ok(n),
            Err(e) => Err(e),
        };
    }
    let max = len.min(MAX_PIN_PAGES * PAGE_SIZE);
    // With RWF_NOWAIT, pin only what is already present: no fault-in.
    let was = req.iter().set_nofault(nowait);
    let pinned = req.iter().pin(max);
    req.iter().set_nofault(was);
    let mut pinned = match pinned {
        Ok(p) if p.len() > 0 => p,
        Ok(_) | Err(_) if nowait => return Err(EAGAIN),
        Ok(_) => return Err(EFAULT),
        Err(e) => return Err(e),
    };
    let pinned_len = pinned.len();
    let result = if done.bytes == 0 && req.iter().count() == 0 && req.is_async() {
        // The whole request in one round: it may complete asynchronously.
        match dio_async::round(req, lock, pinned, stats) {
            Ok(Submitted::Queued) => {
                stats.direct_bytes.fetch_add(pinned_len as u64, Relaxed);
                if matches!(lock, InodeLock::Shared(_)) {
                    stats.shared_bytes.fetch_add(pinned_len as u64, Relaxed);
                }
                return Err(eiocbqueued());
            }
            Ok(Submitted::Done(result)) => result,
            // Not submitted (RWF_NOWAIT and *block* taken): undone below.
            Err(e) => Err(e),
        }
    } else {
        let result = under_block(req, |req| req.direct(&mut pinned, DIRECT, lock));
        drop(pinned);
        result
    };
    if write && exclusive && !matches!(result, Ok(n) if n == pinned_len) {
        // A failed or short write may have allocated past what it wrote.
        iomap::trim_past_eof(req.inode())?;
    }
    match result {
        Ok(n) => {
            req.iter().revert(pinned_len - n.min(pinned_len));
            stats.direct_bytes.fetch_add(n as u64, Relaxed);
            if matches!(lock, InodeLock::Shared(_)) {
                stats.shared_bytes.fetch_add(n as u64, Relaxed);
            }
            done.bytes += n;
            if n > 0 {
                Ok(n)
            } else if may_fall_back {
                // No progress on pinned pages: do them buffered rather than retry.
                buffered(req, Fallback::NoProgress, pinned_len, stats, done)
            } else {
                Err(EAGAIN)
            }
        }
        Err(e) => {
            req.iter().revert(pinned_len);
            if e == ENOTBLK && may_fall_back {
                buffered(req, Fallback::Invalidate, pinned_len, stats, done)
            } else if e == ENOTBLK {
                Err(EAGAIN)
            } else {
                Err(e)
            }
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
    let _record = if req.nowait() {
        owners::Record::try_new(lock, State::Block).ok_or(EAGAIN)?
    } else {
        owners::Record::new(lock, State::Block)
    };
    f(req)
}

/// The next run of the remaining buffer: self-mapped or not (always "not" while
/// detection is off). With `RWF_NOWAIT`, `EAGAIN` if the mmap lock is contended.
fn next_run(req: &mut DirectRequest<'_, Tsfs>) -> Result<Run> {
    let left = req.iter().count() as u64;
    if !DETECT_OVERLAP.load(Relaxed) {
        return Ok(Run::Direct(left));
    }
    let mut segs = [(0u64, 0u64); SEGMENTS];
    let n = req.iter().user_segments(&mut segs);
    let mm = if req.nowait() {
        MmapReadGuard::try_current()?
    } else {
        MmapReadGuard::current()
    };
    let Some(mm) = mm else {
        return Ok(Run::Direct(left));
    };
    // Only the window one round can do: classifying the whole rest every round
    // would make the total quadratic in the request. (A buffer page mapping the
    // file past the window is pinned and read as it is now, before the round
    // that writes its range; that later round classifies its own window.)
    let io = overlap::Io {
        pos: req.pos(),
        len: left.min((MAX_PIN_PAGES * PAGE_SIZE) as u64),
        page: PAGE_SIZE as u64,
    };
    let inode = req.inode();
    Ok(
        match overlap::first_run(&io, segs.get(..n).unwrap_or(&[]), |addr| {
            mm.vma_at(addr, inode).map(vma)
        }) {
            // Not user memory (or nothing examined): all of it is direct.
            Run::Direct(0) => Run::Direct(left),
            r => r,
        },
    )
}

/// A mapping as kapi describes it, in the plain-Rust form `overlap` (shared with
/// the host tests) takes.
fn vma(v: VmaInfo) -> overlap::Vma {
    overlap::Vma {
        start: v.start,
        end: v.end,
        same_file_offset: v.same_file_offset,
    }
}

/// Does the next `len` bytes as buffered IO, counted under `why` and in `done`;
/// a write's pages are then written back and dropped from the page cache, as
/// `O_DIRECT` promises. Only under the inode lock held exclusively for a write.
fn buffered(
    req: &mut DirectRequest<'_, Tsfs>,
    why: Fallback,
    len: usize,
    stats: &DioStats,
    done: &mut Done,
) -> Result<usize> {
    let start = req.pos();
    let total = req.iter().count();
    let len = len.min(total);
    req.iter().truncate(len);
    let result = req.buffered(IOMAP);
    let moved = *result.as_ref().unwrap_or(&0);
    req.iter().reexpand(total - moved);
    let n = result?;
    let counter = match why {
        Fallback::SelfMapped => &stats.fallback_self_mapped,
        Fallback::Invalidate => &stats.fallback_invalidate,
        Fallback::NoProgress => &stats.fallback_no_progress,
    };
    counter.fetch_add(n as u64, Relaxed);
    // The bytes are the file's now (the position moved): count them even if
    // writing them back fails (that error then ends the request).
    done.bytes += n;
    done.buffered += n;
    if req.is_write() && n > 0 {
        req.inode().write_back_and_drop(start, n as u64)?;
    }
    Ok(n)
}
