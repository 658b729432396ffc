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
//! A direct write allocates *unwritten* extents instead (no zeroing): they read
//! as zeros, and only the write's completion ([`write_done`]) makes the blocks it
//! really wrote readable. A failed or short direct write thus leaves nothing
//! readable that was not written. A buffered write or `page_mkwrite` over
//! unwritten blocks zeroes them on disk and marks them written first, since
//! write-back only writes written blocks.
//!
//! A write that stops early gives back the blocks left past the end of the file
//! (preallocated ones included), so no written extent lies past it. With
//! `IOMAP_NOWAIT` or `IOMAP_OVERWRITE_ONLY`, anything that would allocate or zero
//! is `EAGAIN`; with `IOMAP_NOWAIT`, so is a metadata lock held by someone else.

use super::{extents::ExtentList, super_block::info_of, Inode, SbInfo, SuperBlock, Tsfs};
use crate::format::{Extent, Mapping as Map, BLOCK_SHIFT, MAX_FILE_BLOCKS};
use crate::kapi::fs::iomap::{Extent as Kind, Flags, Mapping, WriteDone};
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
        dirty: false,
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
    // With IOMAP_NOWAIT not even the metadata lock is waited for.
    let mut meta = if flags.nowait() {
        inode.data().try_meta().ok_or(EAGAIN)?
    } else {
        inode.data().meta()
    };
    let end = pos.saturating_add(length).div_ceil(BLOCK);
    // A write that may not allocate or zero (RWF_NOWAIT, or a direct overwrite
    // under the shared inode lock).
    let no_alloc = flags.nowait() || flags.overwrite_only();
    match meta.extents.map(fb) {
        Map::Mapped {
            disk_block,
            blocks,
            unwritten: false,
        } => {
            let mut m = existing(fb, disk_block, blocks);
            // A direct write whose `O_DSYNC` needs more than its data on disk
            // (no FUA write-through): the inode has changes `fdatasync` must
            // write, or the write grows the file over written blocks (the end
            // of its last block) and its completion changes the size.
            m.dirty = flags.direct()
                && flags.write()
                && (pos.saturating_add(length) > inode.size() || inode.data().datasync_dirty());
            Ok(m)
        }
        Map::Mapped {
            disk_block, blocks, ..
        } if !flags.write() || flags.zeroing() || (flags.direct() && !no_alloc) => Ok(Mapping {
            offset: bytes(fb),
            // A direct write maps no more than it writes: `end` gives back what
            // its mapping holds past the end of the file, which would be
            // preallocated blocks the write never reached.
            length: bytes(if flags.write() && !flags.zeroing() {
                blocks.min(end.saturating_sub(fb)).max(1)
            } else {
                blocks
            }),
            extent: Kind::Unwritten {
                addr: bytes(disk_block),
            },
            dirty: false,
        }),
        Map::Mapped { .. } | Map::Hole { .. } if flags.write() && !flags.zeroing() && no_alloc => {
            Err(EAGAIN)
        }
        Map::Mapped {
            disk_block, blocks, ..
        } => {
            // A buffered write or page_mkwrite over unwritten blocks: mark them
            // written, so write-back may write them; for a write, zero them on disk
            // first (a `page_mkwrite` page is locked, up to date and about to be
            // dirtied, as for a hole).
            let count = blocks.min(end.saturating_sub(fb)).max(1);
            if !flags.fault() {
                sb.zero_blocks(disk_block, count, BLOCK as u32)?;
            }
            let list = meta.extents.with_written(fb, fb + count)?;
            meta.set_extents(sb, info, list)?;
            inode.set_blocks(meta.blocks());
            drop(meta);
            inode.mark_dirty();
            Ok(Mapping {
                offset: bytes(fb),
                length: bytes(count),
                extent: Kind::Mapped {
                    addr: bytes(disk_block),
                    new: true,
                },
                dirty: false,
            })
        }
        Map::Hole { blocks } if !flags.write() || flags.zeroing() => Ok(Mapping {
            offset: bytes(fb),
            length: bytes(blocks.max(1)),
            extent: Kind::Hole,
            dirty: false,
        }),
        Map::Hole { blocks } => {
            let want = blocks.min(end.saturating_sub(fb)).max(1);
            let direct = flags.direct();
            let zero = !direct && !flags.fault() && bytes(fb) < inode.size();
            let (disk, count) = allocate(sb, info, &mut meta.extents, fb, want, zero)?;
            let list = meta
                .extents
                .with_inserted(Extent::new(fb as u32, disk, count as u32).with_unwritten(direct));
            let result = list.and_then(|list| meta.set_extents(sb, info, list));
            if let Err(e) = result {
                let _ = info.alloc().free_blocks_range(sb, disk, count);
                return Err(e);
            }
            inode.set_blocks(meta.blocks());
            drop(meta);
            inode.mark_dirty();
            let extent = if direct {
                Kind::Unwritten { addr: bytes(disk) }
            } else {
                Kind::Mapped {
                    addr: bytes(disk),
                    new: true,
                }
            };
            Ok(Mapping {
                offset: bytes(fb),
                length: bytes(count),
                extent,
                dirty: false,
            })
        }
    }
}

/// A direct write's completion: the blocks it wrote become written, and the
/// size grows to its end. Called before any `O_DSYNC` sync of the write.
pub(crate) fn write_done(done: &WriteDone<'_, Tsfs>) -> Result {
    let inode = done.inode();
    let first = done.pos() >> BLOCK_SHIFT;
    let end = done.pos().saturating_add(done.size()).div_ceil(BLOCK);
    let mut meta = inode.data().meta();
    let converted = meta.extents.any_unwritten(first, end);
    if converted {
        let sb = inode.super_block();
        let info = info_of(sb)?;
        let list = meta.extents.with_written(first, end)?;
        meta.set_extents(sb, info, list)?;
        inode.set_blocks(meta.blocks());
    }
    drop(meta);
    let grows = done.pos().saturating_add(done.size()) > inode.size();
    done.extend_size();
    // An overwrite of written blocks inside the file changed nothing that
    // `fdatasync` must write.
    if converted || grows {
        inode.mark_dirty();
    }
    Ok(())
}

/// Whether `len` bytes at `pos` lie inside the file, on written blocks only: a
/// direct write there allocates nothing and needs no completion work.
pub(crate) fn is_overwrite(inode: &Inode, pos: u64, len: u64) -> bool {
    let end = pos.saturating_add(len);
    if len == 0 || end > inode.size() {
        return false;
    }
    let meta = inode.data().meta();
    let mut fb = pos >> BLOCK_SHIFT;
    let last = end.div_ceil(BLOCK);
    while fb < last {
        match meta.extents.map(fb) {
            Map::Mapped {
                blocks,
                unwritten: false,
                ..
            } => fb = fb.saturating_add(blocks),
            _ => return false,
        }
    }
    true
}

/// Gives back the blocks mapped past the end of the file (what a failed or short
/// extending direct write leaves). The caller holds the inode lock exclusively.
pub(crate) fn trim_past_eof(inode: &Inode) -> Result {
    let eof_block = inode.size().div_ceil(BLOCK);
    let mut meta = inode.data().meta();
    if meta.extents.end() <= eof_block {
        return Ok(());
    }
    let sb = inode.super_block();
    meta.free_blocks_from(sb, info_of(sb)?, eof_block)?;
    inode.set_blocks(meta.blocks());
    drop(meta);
    inode.mark_dirty();
    Ok(())
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
    if !flags.write() || flags.zeroing() || flags.overwrite_only() {
        return Ok(());
    }
    // A buffered write that reached the end of the file may have grown it (iomap
    // sets the new size before this call). Other writes leave the inode clean
    // for `fdatasync`: a fault never changes the size, and a direct write's
    // completion records what it changed.
    if written > 0
        && !flags.direct()
        && !flags.fault()
        && pos.saturating_add(written) >= inode.size()
    {
        inode.mark_dirty();
    }
    // New blocks; and any direct write's (its allocations are unwritten).
    if !flags.direct() && !matches!(m.extent, Kind::Mapped { new: true, .. }) {
        return Ok(());
    }
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
        Map::Mapped {
            disk_block,
            blocks,
            unwritten: false,
        } => Ok(existing(fb, disk_block, blocks)),
        Map::Mapped { .. } | Map::Hole { .. } => {
            pr_err!(
                "{}: inode {}: dirty page over a hole or unwritten block {}\n",
                inode.super_block().id(),
                inode.ino(),
                fb
            );
            Err(EIO)
        }
    }
}
