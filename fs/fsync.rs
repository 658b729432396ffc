// SPDX-License-Identifier: GPL-2.0

//! `fsync` and `fdatasync` of one file, and what a synchronous write of an
//! inode brings to disk with it.
//!
//! A file's metadata lives in three kinds of blocks:
//! - blocks it alone owns and that are written as metadata buffers (directory
//!   blocks): dirtied with `Buffer::modify_for`/`overwrite_for`, which queue them
//!   on the inode's list, and written by [`INode::sync_buffers`](crate::kapi::fs::INode::sync_buffers);
//! - its inode and extent blocks, rebuilt from memory by `write_inode`;
//! - bitmap blocks shared with every other file: the ones holding the bits of
//!   the inode and of the blocks it maps are written with the inode
//!   ([`write_synced`]). Bits that the file cleared (blocks it freed) may stay
//!   behind: after a crash those blocks are marked used but owned by nobody,
//!   which `fsck.tsfs -y` gives back.
//!
//! The free counts in the super block are not written: a mount recounts them
//! from the bitmaps. Nothing else on the device is written, and the device
//! cache is flushed once.

use super::{
    inode::{store_inode, unsynced},
    super_block::info_of,
    Inode, Tsfs,
};
use crate::format::BITS_PER_BLOCK;
use crate::kapi::{buffer, fs::file::File, sync::mutex::MutexGuard};
use kernel::prelude::*;

/// `fsync` (`datasync` false) or `fdatasync` of a file or directory: the data
/// of `start ..= end`, the queued metadata buffers, then the inode with its
/// bitmap blocks unless only what `fdatasync` may skip (the timestamps)
/// changed, and the directories holding a new name of it; then one device
/// cache flush.
pub(crate) fn fsync(file: &File<Tsfs>, start: i64, end: i64, datasync: bool) -> Result {
    file.write_and_wait(start, end)?;
    let inode = file.inode();
    inode.sync_buffers()?;
    let needed = if datasync {
        unsynced::DATASYNC
    } else {
        unsynced::INODE | unsynced::DATASYNC
    };
    sync_inode(inode, needed)?;
    if inode.data().take_new_name() {
        if let Err(e) = sync_parents(file) {
            inode.data().note_new_name();
            return Err(e);
        }
    }
    inode.super_block().flush_device()
}

/// Writes the inode if it has unsynced changes among `needed`, and waits; also
/// waits for a synchronous write of it already under way.
fn sync_inode(inode: &Inode, needed: u8) -> Result {
    let data = inode.data();
    if data.unsynced() & needed != 0 {
        // Marks the VFS inode clean too (its `write_inode` is `write_synced`).
        inode.sync_metadata()?;
    }
    // Write-back may have stored the inode without waiting (the VFS inode is
    // then clean but its blocks may not be on disk); and a concurrent fsync may
    // have taken the unsynced state and still be writing: the lock waits for it.
    let guard = data.lock_sync();
    if data.unsynced() & needed != 0 {
        write_synced(inode, &guard)?;
    }
    Ok(())
}

/// A file that got a new name: the directory holding it (the one it was opened
/// through), and up the tree while the directory itself is newly named, so that
/// the file is found after a crash.
fn sync_parents(file: &File<Tsfs>) -> Result {
    let mut entry = file.parent();
    while let Some(dentry) = entry {
        let Some(dir) = dentry.inode() else {
            break;
        };
        dir.sync_buffers()?;
        sync_inode(dir, unsynced::DATASYNC)?;
        if dentry.is_root() || !dir.data().take_new_name() {
            break;
        }
        entry = dentry.parent();
    }
    Ok(())
}

/// Writes the inode and its extent blocks, after the bitmap blocks holding its
/// allocations if they changed, and waits. The caller holds the inode's sync
/// lock, so that a concurrent `fsync` that finds nothing left to write knows
/// that this write has finished.
pub(crate) fn write_synced(inode: &Inode, _sync: &MutexGuard<'_, ()>) -> Result {
    let data = inode.data();
    let taken = data.take_unsynced();
    let result = if taken & unsynced::DATASYNC != 0 {
        sync_bitmaps(inode)
    } else {
        Ok(())
    }
    .and_then(|()| store_inode(inode, true));
    if result.is_err() {
        data.restore_unsynced(taken);
    }
    result
}

/// Writes the bitmap blocks that hold the bits of `inode` and of every block it
/// maps (if they are dirty), and waits.
fn sync_bitmaps(inode: &Inode) -> Result {
    let sb = inode.super_block();
    let geom = &info_of(sb)?.geom;
    let mut blocks = KVec::new();
    let ino = inode.ino();
    blocks.push(geom.inode_bitmap_start + ino / BITS_PER_BLOCK, GFP_KERNEL)?;
    {
        let meta = inode.data().meta();
        let mut add = |first: u64, end: u64| -> Result {
            let bitmap = geom.block_bitmap_start;
            for b in first / BITS_PER_BLOCK..=end.saturating_sub(1) / BITS_PER_BLOCK {
                if !blocks.contains(&(bitmap + b)) {
                    blocks.push(bitmap + b, GFP_KERNEL)?;
                }
            }
            Ok(())
        };
        for e in meta.extents.as_slice() {
            add(e.disk_block(), e.disk_end())?;
        }
        for &block in meta.ext_blocks.as_slice() {
            add(block, block + 1)?;
        }
    }
    for &block in blocks.iter() {
        buffer::sync_cached(sb, block)?;
    }
    Ok(())
}
