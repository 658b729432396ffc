// SPDX-License-Identifier: GPL-2.0

//! `fallocate(2)`: preallocation, punching holes and zeroing ranges.
//!
//! Preallocated blocks are *unwritten* extents: they read as zeros until a write
//! lands in them (a buffered write zeroes them on disk and marks them written
//! when it maps them, fs/iomap.rs; a direct write's completion marks what it
//! wrote). With `FALLOC_FL_KEEP_SIZE` they may lie past the end of the file,
//! the only blocks that may; truncation frees them as it frees the others.
//!
//! A preallocation is all or nothing: if it runs out of space (or extents)
//! part-way, it gives back every block it allocated and leaves the extent list
//! as it was. (ext4 keeps what it allocated; keeping nothing makes a failed call
//! leave the file system exactly as it found it.)
//!
//! Every mode runs as truncation does (fs/file.rs): the inode lock held
//! exclusively, no direct IO in flight, the page cache lock in *block* (no
//! page fault maps a page or allocates meanwhile), then the invalidation lock.
//! As ext4, every mode updates the modification and change times
//! (`file_modified`).

use super::{
    file, inode::InodeData, super_block::info_of, Inode, LockedInode, SbInfo, SuperBlock, Tsfs,
    IOMAP,
};
use crate::format::{Extent, Mapping as Map, BLOCK_SHIFT, MAX_FILE_BLOCKS};
use crate::kapi::{
    fs::{falloc::Mode, file::File, inode::InvalidateGuard},
    time::cond_resched,
};
use crate::locking::State;
use kernel::prelude::*;

const BLOCK: u64 = 1 << BLOCK_SHIFT;

/// `fallocate`: `mode` over `len` bytes at `offset`.
pub(crate) fn fallocate(file: &File<Tsfs>, mode: Mode, offset: u64, len: u64) -> Result {
    let end = offset.checked_add(len).ok_or(EFBIG)?;
    if end.div_ceil(BLOCK) > MAX_FILE_BLOCKS {
        return Err(EFBIG);
    }
    let guard = file.inode().lock();
    let inode: &LockedInode<'_> = &guard;
    let new_size = (mode.extends() && end > inode.size()).then_some(end);
    if let Some(size) = new_size {
        inode.newsize_ok(size)?;
    }
    // No direct IO in flight (none starts: the inode lock is held exclusively).
    inode.dio_wait();
    file.modified()?;
    let data: &InodeData = inode.data();
    let _block = data.pagecache.lock(State::Block);
    let invalidate = inode.lock_invalidate();
    match mode {
        Mode::Allocate { .. } => preallocate(inode, offset, end)?,
        Mode::PunchHole => punch(inode, &invalidate, offset, end)?,
        Mode::ZeroRange { .. } => zero(inode, &invalidate, offset, end)?,
    }
    if let Some(size) = new_size {
        file::grow(inode, &invalidate, size)?;
    }
    inode.mark_dirty();
    Ok(())
}

/// Allocates unwritten blocks for the holes among the blocks holding bytes
/// `offset .. end`. On error, nothing changed.
fn preallocate(inode: &Inode, offset: u64, end: u64) -> Result {
    let sb = inode.super_block();
    let info = info_of(sb)?;
    let mut meta = inode.data().meta();
    let old = meta.extents.try_clone()?;
    let mut runs = KVec::new();
    let result = fill_holes(
        sb,
        info,
        &mut meta,
        offset / BLOCK,
        end.div_ceil(BLOCK),
        &mut runs,
    );
    if result.is_err() && !runs.is_empty() {
        // Give the new blocks back first: the old list may need an extent
        // block again, which one of them can then be.
        let mut alloc = info.alloc();
        for &(start, count) in runs.iter() {
            // Failures are corruption, already reported.
            let _ = alloc.free_blocks_range(sb, start, count);
        }
        drop(alloc);
        if let Err(e) = meta.set_extents(sb, info, old) {
            pr_err!(
                "{}: inode {}: could not restore its extents after a failed fallocate (error {})\n",
                sb.id(),
                inode.ino(),
                e.to_errno()
            );
        }
    }
    inode.set_blocks(meta.blocks());
    result
}

/// Fills the holes of file blocks `first .. end` with unwritten extents,
/// recording each disk run allocated in `runs`.
fn fill_holes(
    sb: &SuperBlock,
    info: &SbInfo,
    meta: &mut super::inode::MetaGuard<'_>,
    first: u64,
    end: u64,
    runs: &mut KVec<(u64, u64)>,
) -> Result {
    let mut fb = first;
    while fb < end {
        let blocks = match meta.extents.map(fb) {
            Map::Mapped { blocks, .. } => {
                fb = fb.saturating_add(blocks.max(1));
                continue;
            }
            Map::Hole { blocks } => blocks,
        };
        let want = blocks.min(end - fb).min(u64::from(u32::MAX));
        if want == 0 {
            return Err(EFBIG);
        }
        let (disk, count) = info
            .alloc()
            .alloc_blocks(sb, meta.extents.goal_for(fb), want)?;
        if let Err(e) = runs.push((disk, count), GFP_KERNEL) {
            let _ = info.alloc().free_blocks_range(sb, disk, count);
            return Err(e.into());
        }
        let fb32 = u32::try_from(fb).map_err(|_| EFBIG)?;
        let count32 = u32::try_from(count).map_err(|_| EINVAL)?;
        let list = meta
            .extents
            .with_inserted(Extent::new(fb32, disk, count32).with_unwritten(true))?;
        meta.set_extents(sb, info, list)?;
        fb += count;
        cond_resched();
    }
    Ok(())
}

/// `FALLOC_FL_PUNCH_HOLE`: frees the whole blocks of `offset .. end` and zeroes
/// the partial ones (inside the file). `ENOSPC` (one extent more than a file
/// may have, or no block for an extent block) changes nothing, not even the
/// cached pages.
fn punch(
    inode: &LockedInode<'_>,
    invalidate: &InvalidateGuard<'_, '_, Tsfs>,
    offset: u64,
    end: u64,
) -> Result {
    let sb = inode.super_block();
    let info = info_of(sb)?;
    let (first, last) = whole_blocks(offset, end);
    // What can fail for lack of space comes before any change: the new extent
    // list (one extent too many) and the extent blocks it may need.
    let planned = if first < last {
        let mut meta = inode.data().meta();
        let (list, released) = meta.extents.without(first, last)?;
        meta.reserve_extent_blocks(sb, info, &list)?;
        Some((list, released))
    } else {
        None
    };
    let dropped = zero_partial(inode, offset, end).and_then(|()| {
        invalidate.truncate_range(first * BLOCK, last.saturating_sub(first) * BLOCK)
    });
    if let Err(e) = dropped {
        inode.data().meta().drop_unneeded_extent_blocks(sb, info);
        return Err(e);
    }
    let Some((list, released)) = planned else {
        return Ok(());
    };
    let mut meta = inode.data().meta();
    // Cannot fail: the extent blocks are reserved.
    meta.set_extents(sb, info, list)?;
    inode.set_blocks(meta.blocks());
    drop(meta);
    let mut alloc = info.alloc();
    for &(start, count) in released.iter() {
        // Failures are corruption, already reported; keep freeing the rest.
        let _ = alloc.free_blocks_range(sb, start, count);
    }
    Ok(())
}

/// `FALLOC_FL_ZERO_RANGE`: preallocates the holes of `offset .. end`, makes its
/// whole written blocks unwritten (their cached pages dropped), and zeroes the
/// partial blocks (inside the file).
fn zero(
    inode: &LockedInode<'_>,
    invalidate: &InvalidateGuard<'_, '_, Tsfs>,
    offset: u64,
    end: u64,
) -> Result {
    preallocate(inode, offset, end)?;
    let (first, last) = whole_blocks(offset, end);
    if first < last {
        let (start, len) = (first * BLOCK, (last - first) * BLOCK);
        // Written back first, so that a failure below loses no written data;
        // faults wait on the page cache lock, so nothing dirties the range again.
        inode.write_back(start, len)?;
        let sb = inode.super_block();
        let info = info_of(sb)?;
        let mut meta = inode.data().meta();
        let list = meta.extents.with_state(first, last, true)?;
        meta.set_extents(sb, info, list)?;
        inode.set_blocks(meta.blocks());
        drop(meta);
        invalidate.truncate_range(start, len)?;
    }
    zero_partial(inode, offset, end)
}

/// The whole blocks among bytes `offset .. end`: `first .. last` (empty if
/// `first >= last`).
fn whole_blocks(offset: u64, end: u64) -> (u64, u64) {
    (offset.div_ceil(BLOCK), end / BLOCK)
}

/// Zeroes, in the page cache, the bytes of `offset .. end` in blocks that the
/// range covers only in part, up to the end of the file (nothing past it is
/// read or written back).
fn zero_partial(inode: &LockedInode<'_>, offset: u64, end: u64) -> Result {
    let head_end = if offset % BLOCK != 0 {
        offset.next_multiple_of(BLOCK).min(end)
    } else {
        offset
    };
    let tail_start = (end - end % BLOCK).max(head_end);
    let size = inode.size();
    for (from, to) in [(offset, head_end), (tail_start, end)] {
        let to = to.min(size);
        if to > from {
            IOMAP.zero_range(inode, from, to - from)?;
        }
    }
    Ok(())
}
