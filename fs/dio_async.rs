// SPDX-License-Identifier: GPL-2.0

//! Asynchronous direct IO rounds: an AIO or io_uring request whose whole buffer
//! was pinned in one round (nothing self-mapped, no fallback) completes after
//! `read_iter`/`write_iter` returns.
//!
//! The round takes *block* as a synchronous one does (lockdep records it, in
//! this task), then hands the hold over ([`crate::locking::Handoff`]): lockdep
//! hears of the release now, in the submitter, and the lock word is released by
//! the completion's work item, together with the unpinning of the user pages
//! (kapi's dio_async.rs). The hold carries a reference to the inode, so the lock
//! outlives the IO; unmount (`put_super`, [`wait_idle`]) waits for every such
//! hold to be dropped.
//!
//! kapi waits for the round (it completes before returning, as a synchronous
//! one) when the write is under the inode lock held exclusively (it allocates or
//! extends: the completion changes the size under that lock) or must be synced.

use super::{dio::DioStats, super_block::info_of, Inode, Tsfs, DIRECT};
use crate::kapi::time::sleep_us;
use crate::kapi::{
    fs::direct::{DirectRequest, InodeLock, Submitted},
    uio::Pinned,
};
use crate::locking::{Handoff, LockHome, State, TwoStateLock};
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use kernel::{prelude::*, sync::Arc, types::ARef};

/// A reference to an inode, which keeps its page cache lock alive.
struct InodeHome(ARef<Inode>);

impl LockHome for InodeHome {
    fn lock(&self) -> &TwoStateLock {
        &self.0.data().pagecache
    }
}

/// *block* on an inode, handed over to an IO's completion; counted in the mount's
/// `dio_stats` until it is released and the inode reference dropped.
struct AsyncHold {
    /// `None` only while dropping.
    block: Option<Handoff<InodeHome>>,
    stats: Arc<DioStats>,
}

impl AsyncHold {
    fn new(block: Handoff<InodeHome>, stats: Arc<DioStats>) -> Self {
        let now = stats.async_inflight.fetch_add(1, Relaxed) + 1;
        stats.async_high_water.fetch_max(now, Relaxed);
        AsyncHold {
            block: Some(block),
            stats,
        }
    }
}

impl Drop for AsyncHold {
    fn drop(&mut self) {
        // The lock word released, then the inode reference dropped (maybe the last:
        // eviction), and only then counted out, which unmount waits for
        // ([`wait_idle`]).
        drop(self.block.take());
        self.stats.async_inflight.fetch_sub(1, Release);
    }
}

/// Waits until no hold of this mount is left with a completion (at unmount,
/// before anything is written back for the last time: a hold's inode reference
/// may be an unlinked file's last).
pub(super) fn wait_idle(stats: &DioStats) {
    while stats.async_inflight.load(Acquire) != 0 {
        sleep_us(1000);
    }
}

/// True direct IO of the `pinned` bytes, which are all that is left of the
/// request, under *block* handed over to the completion. `Queued`: in flight (the
/// caller returns `EIOCBQUEUED` without touching the request again).
pub(super) fn round(
    req: &mut DirectRequest<'_, Tsfs>,
    lock: &InodeLock<'_, '_, Tsfs>,
    pinned: Pinned,
    stats: &DioStats,
) -> Result<Submitted> {
    let inode = req.inode();
    let pagecache = &inode.data().pagecache;
    let held = if req.nowait() {
        pagecache.try_lock(State::Block).ok_or(EAGAIN)?
    } else {
        pagecache.lock(State::Block)
    };
    // No owner record (`owners`): nothing under this hold touches user memory or
    // faults (the pages are pinned), and the hold outlives this task's part.
    let block = match held.into_handoff(InodeHome(ARef::from(inode))) {
        Ok(block) => block,
        // Not this inode's lock: cannot happen (the home is this inode).
        Err(_) => return Err(EINVAL),
    };
    let len = pinned.len() as u64;
    let hold = AsyncHold::new(block, info_of(inode.super_block())?.dio.clone());
    let submitted = req.direct_async(pinned, DIRECT, lock, hold);
    if matches!(submitted, Submitted::Queued) {
        stats.async_requests.fetch_add(1, Relaxed);
        stats.async_bytes.fetch_add(len, Relaxed);
    }
    Ok(submitted)
}
