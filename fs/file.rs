// SPDX-License-Identifier: GPL-2.0

//! Regular files: open, buffered write, fsync, attribute changes and truncation.
//!
//! Buffered reads are the VFS's `generic_file_read_iter` over tsfs's iomap read
//! path. Direct IO (`O_DIRECT`) is fs/dio.rs, under the inode lock.

use super::{dio, inode::InodeData};
use crate::format::BLOCK_SIZE;
use crate::kapi::vfs::{
    direct::DirectRequest,
    file_ops::{zero_block_tail, zero_range, FsyncRequest, SetAttr, WriteRequest},
    Inode,
};
use crate::locking::State;
use kernel::prelude::*;

/// `open`: nothing to check; `O_DIRECT` is served.
pub(crate) fn open(_inode: &Inode) -> Result {
    Ok(())
}

/// `write_iter`: a buffered write through iomap, under the inode lock.
pub(crate) fn write_iter(req: &mut WriteRequest<'_>) -> Result<usize> {
    let written = {
        let inode = req.inode();
        let _lock = if req.nowait() {
            inode.try_lock_exclusive().ok_or(EAGAIN)?
        } else {
            inode.lock_exclusive()
        };
        if req.checks()? == 0 {
            return Ok(0);
        }
        req.file_modified()?;
        req.buffered_write()?
    };
    req.sync_written(written)
}

/// `write_iter` with `O_DIRECT`: fs/dio.rs under the inode lock.
pub(crate) fn write_direct(req: &mut DirectRequest<'_>) -> Result<usize> {
    let written = {
        let inode = req.inode();
        let _lock = lock_for(req, inode)?;
        if req.write_checks()? == 0 {
            return Ok(0);
        }
        req.file_modified()?;
        dio::run(req, &inode.super_block().info()?.dio)?
    };
    req.sync_written(written)
}

/// `read_iter` with `O_DIRECT`: fs/dio.rs under the inode lock.
pub(crate) fn read_direct(req: &mut DirectRequest<'_>) -> Result<usize> {
    let inode = req.inode();
    let _lock = lock_for(req, inode)?;
    dio::run(req, &inode.super_block().info()?.dio)
}

/// The inode lock for a direct request; with `RWF_NOWAIT`, `EAGAIN` rather than
/// waiting for it.
fn lock_for<'a>(
    req: &DirectRequest<'_>,
    inode: &'a Inode,
) -> Result<crate::kapi::vfs::inode::InodeLockGuard<'a>> {
    if req.nowait() {
        inode.try_lock_exclusive().ok_or(EAGAIN)
    } else {
        Ok(inode.lock_exclusive())
    }
}

/// `fsync`: the data, the inode, and every metadata block (bitmaps, directory
/// and extent blocks), then a device cache flush.
pub(crate) fn fsync(req: &FsyncRequest<'_>, start: i64, end: i64, _datasync: bool) -> Result {
    req.write_and_wait(start, end)?;
    let inode = req.inode();
    inode.sync_metadata()?;
    let sb = inode.super_block();
    sb.sync_device()?;
    sb.flush_device()
}

/// `setattr`: a size change truncates; the rest is copied by the VFS helper.
pub(crate) fn setattr(req: &SetAttr<'_>) -> Result {
    req.prepare()?;
    let inode = req.inode()?;
    if let Some(size) = req.new_size() {
        if size != inode.size() {
            truncate(inode, size)?;
        }
    }
    req.copy_to_inode(inode);
    inode.mark_dirty();
    Ok(())
}

/// Changes the size of a regular file to `size`. The caller holds the inode lock.
///
/// Takes the page cache lock in *block* (no page fault maps a page or allocates
/// a block meanwhile), then the invalidation lock (no read fills the cache with
/// blocks about to be freed), then changes the page cache, then the extents.
fn truncate(inode: &Inode, size: u64) -> Result {
    if inode.is_dir() {
        return Err(EISDIR);
    }
    let data: &InodeData = inode.data();
    let _block = data.pagecache.lock(State::Block);
    let _invalidate = inode.lock_invalidate();
    let block = u64::from(BLOCK_SIZE);
    let old = inode.size();
    if size < old {
        // The tail of the new last block must read as zeros if the file grows again.
        if size % block != 0 {
            zero_block_tail(inode, size)?;
        }
        inode.truncate_page_cache(size);
        let sb = inode.super_block();
        let info = sb.info()?;
        let mut meta = data.meta();
        meta.free_blocks_from(sb, info, size.div_ceil(block))?;
        inode.set_blocks(meta.blocks());
    } else {
        // What lay past the old end in the old last block (a mapped page's tail)
        // must not show through.
        let tail = old.next_multiple_of(block) - old;
        if tail != 0 {
            zero_range(inode, old, tail)?;
        }
        inode.truncate_page_cache(size);
    }
    inode.mark_dirty();
    Ok(())
}
