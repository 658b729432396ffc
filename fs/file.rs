// SPDX-License-Identifier: GPL-2.0

//! Regular files: open, buffered write, fsync, attribute changes and truncation.
//!
//! Buffered reads are the VFS's `generic_file_read_iter` over tsfs's iomap read
//! path. Direct IO is not implemented yet: `O_DIRECT` opens fail with `EINVAL`.
//! (Direct IO will take the inode's page cache lock in *block*.)

use super::inode::InodeData;
use crate::format::BLOCK_SIZE;
use crate::kapi::vfs::{
    file_ops::{zero_block_tail, zero_range, FsyncRequest, SetAttr, WriteRequest},
    Inode,
};
use crate::locking::State;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::prelude::*;

/// Whether the "no direct IO yet" note was logged (once per module load).
static DIO_NOTED: AtomicBool = AtomicBool::new(false);

/// `open`: refuses `O_DIRECT` (`direct`), which tsfs does not support yet.
pub(crate) fn open(_inode: &Inode, direct: bool) -> Result {
    if direct {
        if !DIO_NOTED.swap(true, Ordering::Relaxed) {
            pr_info!("O_DIRECT is not supported yet; such opens fail with EINVAL\n");
        }
        return Err(EINVAL);
    }
    Ok(())
}

/// `write_iter`: a buffered write through iomap, under the inode lock.
pub(crate) fn write_iter(req: &mut WriteRequest<'_>) -> Result<usize> {
    if req.is_direct() {
        return Err(EINVAL);
    }
    let written = {
        let inode = req.inode();
        let _lock = inode.lock_exclusive();
        if req.checks()? == 0 {
            return Ok(0);
        }
        req.file_modified()?;
        req.buffered_write()?
    };
    req.sync_written(written)
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
