// SPDX-License-Identifier: GPL-2.0

//! The blocks that hold a file's extents past the inline ones: none, one extent
//! block, or an extent index block and the extent blocks it lists (the layout
//! is in format.rs). Loading them with an inode, storing them with it, and
//! growing or shrinking the set as the extent list changes.

use super::{SbInfo, SuperBlock};
use crate::format::{
    check_extent_block, check_extent_index, extent_block_entries, extent_blocks_needed,
    extent_index_entries, is_extent_index, write_extent_block, write_extent_index, Extent,
    EXTENTS_PER_BLOCK,
};
use crate::kapi::buffer::{self, Buffer};
use kernel::prelude::*;

/// A file's extent blocks.
///
/// # Invariants
///
/// The blocks are distinct, in the data area, and allocated to the file. With
/// two or more, the first is the index block and the others the extent blocks
/// it lists, in order; a lone block is an extent block. There are at most
/// `extent_blocks_needed(MAX_EXTENTS)`.
pub(crate) struct ExtentBlocks {
    blocks: KVec<u64>,
}

impl ExtentBlocks {
    /// No extent block.
    pub(crate) const fn new() -> Self {
        ExtentBlocks {
            blocks: KVec::new(),
        }
    }

    /// The blocks, index block first.
    pub(crate) fn as_slice(&self) -> &[u64] {
        &self.blocks
    }

    /// How many blocks there are, for the inode's block count.
    pub(crate) fn count(&self) -> u64 {
        self.blocks.len() as u64
    }

    /// Allocates blocks until they can hold a list of `extents` extents. On
    /// error (`ENOSPC`, `ENOMEM`) nothing changed. An extent block holding no
    /// extent is valid on disk, so blocks reserved for a change that is then
    /// given up can stay until [`ExtentBlocks::shrink`].
    pub(crate) fn reserve(&mut self, sb: &SuperBlock, info: &SbInfo, extents: usize) -> Result {
        // As many blocks as a list needs always hold it, whatever the list
        // they were allocated for: a lone block holds as many as an index and
        // one extent block.
        let missing = extent_blocks_needed(extents).saturating_sub(self.blocks.len());
        if missing == 0 {
            return Ok(());
        }
        // Room first, so that nothing can fail once blocks are allocated.
        self.blocks.reserve(missing, GFP_KERNEL)?;
        let mut fresh = KVec::with_capacity(missing, GFP_KERNEL)?;
        let give_back = |blocks: &[u64]| {
            for &block in blocks {
                // A failure here is corruption, already reported.
                let _ = info.alloc().free_blocks_range(sb, block, 1);
            }
        };
        for _ in 0..missing {
            let allocated = info.alloc().alloc_blocks(sb, None, 1);
            match allocated {
                Ok((block, _)) => {
                    if let Err(e) = fresh.push(block, GFP_KERNEL) {
                        give_back(&[block]);
                        give_back(&fresh);
                        return Err(e.into());
                    }
                }
                Err(e) => {
                    give_back(&fresh);
                    return Err(e);
                }
            }
        }
        // Cannot fail: the room was reserved above.
        self.blocks
            .extend_from_slice(&fresh, GFP_KERNEL)
            .map_err(|e| {
                give_back(&fresh);
                e.into()
            })
    }

    /// Frees the blocks that a list of `extents` extents does not need (after
    /// it shrank, or when a reservation was not used). Best effort: if memory
    /// for the shorter set runs out, the spare blocks stay, holding no extent.
    pub(crate) fn shrink(&mut self, sb: &SuperBlock, info: &SbInfo, extents: usize) {
        let need = extent_blocks_needed(extents);
        let Some(spare) = self.blocks.get(need..).filter(|s| !s.is_empty()) else {
            return;
        };
        let mut kept = KVec::new();
        if need > 0 {
            let prefix = self.blocks.get(..need).unwrap_or(&[]);
            if kept.extend_from_slice(prefix, GFP_KERNEL).is_err() {
                return;
            }
        }
        for &block in spare {
            buffer::forget(sb, block);
            // A failure here is corruption, already reported; the block is not ours.
            let _ = info.alloc().free_blocks_range(sb, block, 1);
        }
        self.blocks = kept;
    }

    /// Reads the extent blocks of inode `ino` from `first` (its `overflow_block`;
    /// 0 for none), appending their extents to `extents`. `bad` builds the
    /// error for damage, with a description.
    pub(crate) fn load(
        sb: &SuperBlock,
        info: &SbInfo,
        ino: u32,
        first: u64,
        extents: &mut KVVec<Extent>,
        bad: impl Fn(&str) -> Error,
    ) -> Result<Self> {
        let mut blocks = KVec::new();
        if first == 0 {
            return Ok(ExtentBlocks { blocks });
        }
        blocks.push(first, GFP_KERNEL)?;
        let buf = Buffer::read(sb, first)?;
        if !buf.read_with(is_extent_index) {
            read_leaf(&buf, info, ino, extents, &bad)?;
            return Ok(ExtentBlocks { blocks });
        }
        buf.read_with(|data| -> Result {
            let count =
                check_extent_index(data, info.seed, ino).map_err(|e| bad(e.description()))?;
            for leaf in extent_index_entries(data, count) {
                if !info.geom.in_data_area(leaf, 1) {
                    return Err(bad("extent block outside the data area"));
                }
                if blocks.contains(&leaf) {
                    return Err(bad("extent block listed twice"));
                }
                blocks.push(leaf, GFP_KERNEL)?;
            }
            Ok(())
        })?;
        for &leaf in blocks.get(1..).unwrap_or(&[]) {
            read_leaf(&Buffer::read(sb, leaf)?, info, ino, extents, &bad)?;
        }
        Ok(ExtentBlocks { blocks })
    }

    /// Writes `rest` (the extents past the inline ones; they fit, by the
    /// reservation) into the blocks, in the buffer cache; with `sync`, to disk,
    /// waiting. Returns the inode's `overflow_block` (0 for none).
    pub(crate) fn store(
        &self,
        sb: &SuperBlock,
        info: &SbInfo,
        ino: u32,
        rest: &[Extent],
        sync: bool,
    ) -> Result<u64> {
        let write = |block: u64, fill: &dyn Fn(&mut [u8]) -> Option<()>| -> Result {
            let buf = Buffer::get_for_overwrite(sb, block)?;
            buf.overwrite(fill).ok_or(EIO)?;
            if sync {
                buf.sync()?;
            }
            Ok(())
        };
        match self.blocks.as_slice() {
            [] if rest.is_empty() => Ok(0),
            [] => Err(EIO),
            &[only] => {
                write(only, &|data| write_extent_block(data, info.seed, ino, rest))?;
                Ok(only)
            }
            [index, leaves @ ..] => {
                let mut chunks = rest.chunks(EXTENTS_PER_BLOCK);
                for &leaf in leaves {
                    let chunk = chunks.next().unwrap_or(&[]);
                    write(leaf, &|data| {
                        write_extent_block(data, info.seed, ino, chunk)
                    })?;
                }
                if chunks.next().is_some() {
                    return Err(EIO);
                }
                write(*index, &|data| {
                    write_extent_index(data, info.seed, ino, leaves)
                })?;
                Ok(*index)
            }
        }
    }
}

/// Checks extent block `buf` of inode `ino` and appends its extents.
fn read_leaf(
    buf: &Buffer,
    info: &SbInfo,
    ino: u32,
    extents: &mut KVVec<Extent>,
    bad: &impl Fn(&str) -> Error,
) -> Result {
    buf.read_with(|data| -> Result {
        let count = check_extent_block(data, info.seed, ino).map_err(|e| bad(e.description()))?;
        for e in extent_block_entries(data, count) {
            extents.push(e, GFP_KERNEL)?;
        }
        Ok(())
    })
}
