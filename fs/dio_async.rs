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
//! outlives the IO; unmount waits for every such hold to be dropped.
//!
//! kapi waits for the round (it completes before returning, as a synchronous
//! one) when the write is under the inode lock held exclusively (it allocates or
//! extends: the completion changes the size under that lock) or must be synced.

use super::{dio::DioStats, super_block::info_of, Inode, Tsfs, DIRECT};
use crate::kapi::{
    fs::direct::{DirectRequest, InodeLock, Submitted},
    uio::Pinned,
};
use crate::locking::{Handoff, LockHome, State, TwoStateLock};
use core::sync::atomic::Ordering::Relaxed;
use kernel::{prelude::*, types::ARef};

/// A reference to an inode, which keeps its page cache lock alive.
struct InodeHome(ARef<Inode>);

impl LockHome for InodeHome {
    fn lock(&self) -> &TwoStateLock {
        &self.0.data().pagecache
    }
}

/// *block* on an inode, handed over to an IO's completion; counted in the mount's
/// `dio_stats` while it lives.
struct AsyncHold {
    block: Handoff<InodeHome>,
}

impl AsyncHold {
    fn new(block: Handoff<InodeHome>, stats: &DioStats) -> Self {
        let now = stats.async_inflight.fetch_add(1, Relaxed) + 1;
        stats.async_high_water.fetch_max(now, Relaxed);
        AsyncHold { block }
    }
}

impl Drop for AsyncHold {
    fn drop(&mut self) {
        // Before the fields: the lock is released, then the inode reference dropped.
        if let Ok(info) = info_of(self.block.home().0.super_block()) {
            info.dio.async_inflight.fetch_sub(1, Relaxed);
        }
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
    let submitted = req.direct_async(pinned, DIRECT, lock, AsyncHold::new(block, stats));
    if matches!(submitted, Submitted::Queued) {
        stats.async_requests.fetch_add(1, Relaxed);
        stats.async_bytes.fetch_add(len, Relaxed);
    }
    Ok(submitted)
}
