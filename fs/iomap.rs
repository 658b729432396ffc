// SPDX-License-Identifier: GPL-2.0

//! Mapping file ranges to disk blocks for iomap, allocating on write.
//!
//! Blocks are allocated when a write maps a hole (buffered write, `page_mkwrite`),
//! never later: write-back only looks mappings up. Two rules keep stale disk
//! contents from ever being read as file data:
//! - a buffered write filling a hole below the end of the file writes zeros to
//!   the new blocks before they appear in the extent list: a read or fault that
//!   maps them before the write's data lands reads zeros, as the hole did. (Blocks
//!   past the end of the file are not read before the write extends the size; a
//!   `page_mkwrite` allocation is for a page that is locked, up to date and about
//!   to be dirtied.)
//! - new blocks are flagged to iomap (`IOMAP_F_NEW`), which zeroes the parts of
//!   their pages that the write does not cover instead of reading them.
//!
//! A write that stops early gives back the new blocks left past the end of the
//! file, so no extent lies past it.

use super::{extents::ExtentList, super_block::info_of, Inode, SbInfo, SuperBlock};
use crate::format::{Extent, Mapping as Map, BLOCK_SHIFT, MAX_FILE_BLOCKS};
use crate::kapi::fs::iomap::{Extent as Kind, Flags, Mapping};
use kernel::prelude::*;

const BLOCK: u64 = 1 << BLOCK_SHIFT;

fn bytes(blocks: u64) -> u64 {
    blocks.saturating_mul(BLOCK)
}

/// The mapping of `blocks` blocks from file block `fb`, already on disk at
/// `disk_block`.
fn existing(fb: u64, disk_block: u64, blocks: u64) -> Mapping {
    Mapping {
        offset: bytes(fb),
        length: bytes(blocks),
        extent: Kind::Mapped {
            addr: bytes(disk_block),
            new: false,
        },
    }
}

/// `iomap_begin`: what `pos` maps to, allocating a hole for a write.
pub(crate) fn begin(inode: &Inode, pos: u64, length: u64, flags: Flags) -> Result<Mapping> {
    let fb = pos >> BLOCK_SHIFT;
    if fb >= MAX_FILE_BLOCKS {
        return Err(EFBIG);
    }
    let sb = inode.super_block();
    let info = info_of(sb)?;
    let mut meta = inode.data().meta();
    match meta.extents.map(fb) {
        Map::Mapped { disk_block, blocks } => Ok(existing(fb, disk_block, blocks)),
        Map::Hole { blocks } if !flags.write() || flags.zeroing() => Ok(Mapping {
            offset: bytes(fb),
            length: bytes(blocks.max(1)),
            extent: Kind::Hole,
        }),
        Map::Hole { blocks } => {
            let end = pos.saturating_add(length).div_ceil(BLOCK);
            let want = blocks.min(end.saturating_sub(fb)).max(1);
            let zero = !flags.fault() && bytes(fb) < inode.size();
            let (disk, count) = allocate(sb, info, &mut meta.extents, fb, want, zero)?;
            let list = meta
                .extents
                .with_inserted(Extent::new(fb as u32, disk, count as u32));
            let result = list.and_then(|list| meta.set_extents(sb, info, list));
            if let Err(e) = result {
                let _ = info.alloc().free_blocks_range(sb, disk, count);
                return Err(e);
            }
            inode.set_blocks(meta.blocks());
            drop(meta);
            inode.mark_dirty();
            Ok(Mapping {
                offset: bytes(fb),
                length: bytes(count),
                extent: Kind::Mapped {
                    addr: bytes(disk),
                    new: true,
                },
            })
        }
    }
}

/// Allocates up to `want` blocks for file block `fb` (contiguous with the
/// extent before it if possible), zeroed on disk if `zero`.
fn allocate(
    sb: &SuperBlock,
    info: &SbInfo,
    extents: &mut ExtentList,
    fb: u64,
    want: u64,
    zero: bool,
) -> Result<(u64, u64)> {
    let want = want.min(MAX_FILE_BLOCKS - fb).min(u64::from(u32::MAX));
    let (disk, count) = info.alloc().alloc_blocks(sb, extents.goal_for(fb), want)?;
    if zero {
        if let Err(e) = sb.zero_blocks(disk, count, BLOCK as u32) {
            let _ = info.alloc().free_blocks_range(sb, disk, count);
            return Err(e);
        }
    }
    Ok((disk, count))
}

/// `iomap_end`: after a write, gives back new blocks that the write did not reach
/// and that lie past the end of the file.
pub(crate) fn end(
    inode: &Inode,
    pos: u64,
    _length: u64,
    written: u64,
    flags: Flags,
    m: &Mapping,
) -> Result {
    if !flags.write() || flags.zeroing() {
        return Ok(());
    }
    if written > 0 {
        // The size may have grown.
        inode.mark_dirty();
    }
    let Kind::Mapped { new: true, .. } = m.extent else {
        return Ok(());
    };
    // The caller holds the inode lock, so the size cannot change under us, and
    // no page past it can be faulted in.
    // A direct write updates the size only when it completes: what it wrote
    // counts as inside the file already.
    let eof = if flags.direct() {
        inode.size().max(pos.saturating_add(written))
    } else {
        inode.size()
    };
    let eof_block = eof.div_ceil(BLOCK);
    let map_end = m.offset.saturating_add(m.length) >> BLOCK_SHIFT;
    if eof_block >= map_end || flags.fault() {
        return Ok(());
    }
    let sb = inode.super_block();
    let info = info_of(sb)?;
    let mut meta = inode.data().meta();
    meta.free_blocks_from(sb, info, eof_block)?;
    inode.set_blocks(meta.blocks());
    drop(meta);
    inode.mark_dirty();
    Ok(())
}

/// Write-back's `map_blocks`: what the dirty block at `offset` maps to. Every
/// dirty block was allocated when it was written, so a hole here is a bug or
/// corruption: `EIO`, so the data loss is reported rather than silent.
pub(crate) fn map_for_writeback(inode: &Inode, offset: u64) -> Result<Mapping> {
    let fb = offset >> BLOCK_SHIFT;
    let meta = inode.data().meta();
    match meta.extents.map(fb) {
        Map::Mapped { disk_block, blocks } => Ok(existing(fb, disk_block, blocks)),
        Map::Hole { .. } => {
            pr_err!(
                "{}: inode {}: dirty page over a hole at block {}\n",
                inode.super_block().id(),
                inode.ino(),
                fb
            );
            Err(EIO)
        }
    }
}
