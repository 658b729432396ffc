// SPDX-License-Identifier: GPL-2.0

//! Regular files: open, buffered write, attribute changes and truncation
//! (fsync is fs/fsync.rs).
//!
//! Buffered reads are the VFS's `generic_file_read_iter` over tsfs's iomap read
//! path. Direct IO (`O_DIRECT`) is fs/dio.rs, under the inode lock.

use super::{dio, inode::InodeData, iomap, super_block::info_of, Inode, LockedInode, Tsfs, IOMAP};
use crate::format::BLOCK_SIZE;
use crate::kapi::fs::{
    direct::{DirectRequest, InodeLock},
    file::{File, IoRequest},
    inode::{InvalidateGuard, LockGuard, SetAttr, SharedGuard},
};
use crate::locking::State;
use kernel::prelude::*;

/// `open`: `O_DIRECT` and `RWF_NOWAIT` are served.
pub(crate) fn open(_inode: &Inode, file: &File<Tsfs>) -> Result {
    file.allow_direct();
    Ok(())
}

/// `read_iter`: through the page cache, or fs/dio.rs for `O_DIRECT`.
pub(crate) fn read_iter(req: &mut IoRequest<'_, Tsfs>) -> Result<usize> {
    match req.as_direct() {
        Some(mut direct) => read_direct(&mut direct),
        None => req.generic_read(),
    }
}

/// `write_iter`: a buffered write through iomap under the inode lock, or
/// fs/dio.rs for `O_DIRECT`.
pub(crate) fn write_iter(req: &mut IoRequest<'_, Tsfs>) -> Result<usize> {
    if let Some(mut direct) = req.as_direct() {
        return write_direct(&mut direct);
    }
    let written = {
        let inode = req.inode();
        let locked = lock_for(req, inode)?;
        if req.write_checks(&locked)? == 0 {
            return Ok(0);
        }
        req.file_modified()?;
        req.buffered_write(IOMAP, &locked)?
    };
    req.sync_written(written)
}

/// `write_iter` with `O_DIRECT`: fs/dio.rs. An overwrite of written blocks
/// inside the file, aligned to blocks, runs under the inode lock held shared
/// (several at once); what needs more (allocating, extending, a sub-block or
/// `O_APPEND` write, dropping set-id bits, a buffered fallback) runs under it
/// held exclusively, retried so if the shared attempt stops.
fn write_direct(req: &mut DirectRequest<'_, Tsfs>) -> Result<usize> {
    let inode = req.inode();
    let stats = &info_of(inode.super_block())?.dio;
    let mut done = dio::Done::default();
    let mut checked = false;
    if may_overwrite_shared(req, inode) {
        let shared = lock_shared_for(req, inode)?;
        if iomap::is_overwrite(inode, req.pos(), req.iter().count() as u64) {
            match req.write_checks_overwrite(&shared) {
                Ok(0) => return Ok(0),
                Ok(_) => {
                    checked = true;
                    req.kiocb_modified()?;
                    done = dio::run(req, &InodeLock::Shared(&shared), stats)?;
                }
                Err(e) if e == EAGAIN && !req.nowait() => {}
                Err(e) => return Err(e),
            }
        }
        if checked && !done.needs_exclusive {
            drop(shared);
            return finish_write(req, &done);
        }
    }
    let more = {
        let locked = match lock_for(req, inode) {
            Ok(l) => l,
            Err(_) if done.bytes > 0 => return finish_write(req, &done),
            Err(e) => return Err(e),
        };
        inode.dio_wait();
        if !checked {
            if req.write_checks(&locked)? == 0 {
                return Ok(0);
            }
            req.kiocb_modified()?;
        }
        dio::run(req, &InodeLock::Exclusive(&locked), stats)
    };
    match more {
        Ok(more) => {
            done.bytes += more.bytes;
            done.buffered += more.buffered;
        }
        Err(_) if done.bytes > 0 => {}
        Err(e) => return Err(e),
    }
    finish_write(req, &done)
}

/// The count a direct write returns. iomap syncs what it wrote directly for
/// `O_DSYNC` itself, after the completion set the size; bytes that went buffered
/// (written back, but not their metadata) are synced here, once.
fn finish_write(req: &mut DirectRequest<'_, Tsfs>, done: &dio::Done) -> Result<usize> {
    if done.buffered > 0 {
        req.sync_written(done.bytes)
    } else {
        Ok(done.bytes)
    }
}

/// Whether a direct write may try the shared inode lock: whole blocks, no
/// set-id bits to drop. (Inside the file and over written blocks is checked
/// under the lock.)
fn may_overwrite_shared(req: &mut DirectRequest<'_, Tsfs>, inode: &Inode) -> bool {
    let block = u64::from(BLOCK_SIZE);
    req.pos() % block == 0
        && req.iter().count() as u64 % block == 0
        && inode.mode() & (S_ISUID | S_ISGID) == 0
}

const S_ISUID: u16 = 0o4000;
const S_ISGID: u16 = 0o2000;

/// `read_iter` with `O_DIRECT`: fs/dio.rs under the inode lock held shared.
fn read_direct(req: &mut DirectRequest<'_, Tsfs>) -> Result<usize> {
    let inode = req.inode();
    let shared = lock_shared_for(req, inode)?;
    // Before the IO: once an asynchronous one is queued, the request (and the
    // file it names) is no longer ours to look at.
    req.file().accessed();
    let done = dio::run(
        req,
        &InodeLock::Shared(&shared),
        &info_of(inode.super_block())?.dio,
    )?;
    drop(shared);
    Ok(done.bytes)
}

/// The inode lock held shared; with `RWF_NOWAIT`, `EAGAIN` rather than waiting.
fn lock_shared_for<'a>(
    req: &IoRequest<'_, Tsfs>,
    inode: &'a Inode,
) -> Result<SharedGuard<'a, Tsfs>> {
    if req.nowait() {
        inode.try_lock_shared().ok_or(EAGAIN)
    } else {
        Ok(inode.lock_shared())
    }
}

/// The inode lock for a request; with `RWF_NOWAIT`, `EAGAIN` rather than
/// waiting for it.
fn lock_for<'a>(req: &IoRequest<'_, Tsfs>, inode: &'a Inode) -> Result<LockGuard<'a, Tsfs>> {
    if req.nowait() {
        inode.try_lock().ok_or(EAGAIN)
    } else {
        Ok(inode.lock())
    }
}

/// `setattr`: a size change truncates and sets the modification and change times
/// (`truncate(2)` asks for no time change, but POSIX wants both updated when the
/// size changes); the rest is copied by the VFS helper, so explicit times win.
/// Truncating to the current size frees the blocks preallocated past it.
pub(crate) fn setattr(req: &SetAttr<'_, Tsfs>) -> Result {
    req.prepare()?;
    let inode = req.inode()?;
    if let Some(size) = req.new_size() {
        if size != inode.size() || maps_past(&inode, size) {
            truncate(&inode, size)?;
        }
    }
    req.copy_to_inode(&inode);
    inode.mark_dirty();
    Ok(())
}

/// Changes the size of a regular file to `size`. The caller holds the inode lock.
///
/// Takes the page cache lock in *block* (no page fault maps a page or allocates
/// a block meanwhile), then the invalidation lock (no read fills the cache with
/// blocks about to be freed), then changes the page cache, then the extents.
fn truncate(inode: &LockedInode<'_>, size: u64) -> Result {
    if inode.is_dir() {
        return Err(EISDIR);
    }
    // No direct IO in flight (none starts: the inode lock is held exclusively).
    inode.dio_wait();
    let data: &InodeData = inode.data();
    let _block = data.pagecache.lock(State::Block);
    let invalidate = inode.lock_invalidate();
    let block = u64::from(BLOCK_SIZE);
    let old = inode.size();
    if size <= old {
        // The tail of the new last block must read as zeros if the file grows again.
        if size % block != 0 {
            IOMAP.truncate_page(inode, size)?;
        }
        invalidate.truncate_setsize(size);
        let sb = inode.super_block();
        let info = info_of(sb)?;
        let mut meta = data.meta();
        meta.free_blocks_from(sb, info, size.div_ceil(block))?;
        inode.set_blocks(meta.blocks());
    } else {
        grow(inode, &invalidate, size)?;
    }
    inode.touch_mtime_ctime();
    inode.mark_dirty();
    Ok(())
}

/// Whether `inode` maps blocks past the one holding byte `size - 1`
/// (preallocated with `FALLOC_FL_KEEP_SIZE`).
fn maps_past(inode: &Inode, size: u64) -> bool {
    inode.data().meta().extents.end() > size.div_ceil(u64::from(BLOCK_SIZE))
}

/// Grows a regular file to `size` (truncation up, `fallocate`), under the locks
/// [`truncate`] takes.
pub(crate) fn grow(
    inode: &LockedInode<'_>,
    invalidate: &InvalidateGuard<'_, '_, Tsfs>,
    size: u64,
) -> Result {
    let old = inode.size();
    // What lay past the old end in the old last block (a mapped page's tail)
    // must not show through.
    let tail = old.next_multiple_of(u64::from(BLOCK_SIZE)) - old;
    if tail != 0 {
        IOMAP.zero_range(inode, old, tail)?;
    }
    invalidate.truncate_setsize(size);
    Ok(())
}
