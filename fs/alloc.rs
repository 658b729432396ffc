// SPDX-License-Identifier: GPL-2.0

//! Block and inode allocation.
//!
//! Both bitmaps live in memory for the whole mount (loaded and checked at mount)
//! and every change is copied to their blocks in the buffer cache at once, which
//! write-back and unmount put on disk. The free counts are kept here too: they go
//! into the super block, which is exact only when the file system is clean.

use super::SuperBlock;
use crate::format::{find_clear_bit, set_bit, test_bit, Geometry, BLOCK_BYTES, ROOT_INO};
use crate::kapi::{buffer::Buffer, errno::euclean, time::cond_resched};
use kernel::prelude::*;

/// Most blocks handed out by one allocation.
pub(crate) const MAX_ALLOC_BLOCKS: u64 = 1024;

/// One bitmap: its bits in memory and where it lives on disk.
struct Bitmap {
    bits: KVVec<u8>,
    first_block: u64,
}

impl Bitmap {
    /// Reads `blocks` bitmap blocks from `first_block`.
    fn load(sb: &SuperBlock, first_block: u64, blocks: u64) -> Result<Self> {
        let bytes = usize::try_from(blocks)
            .ok()
            .and_then(|b| b.checked_mul(BLOCK_BYTES))
            .ok_or(EINVAL)?;
        let mut bits = KVVec::with_capacity(bytes, GFP_KERNEL)?;
        for i in 0..blocks {
            let buf = Buffer::read(sb, first_block + i)?;
            buf.read_with(|data| bits.extend_from_slice(data, GFP_KERNEL))?;
            cond_resched();
        }
        Ok(Bitmap { bits, first_block })
    }

    /// Clear bits in `from .. to`, whole bytes at a time where possible (a large
    /// file system has millions of bits to count at mount).
    fn clear_bits(&self, from: u64, to: u64) -> u64 {
        let mut count = 0;
        let mut bit = from;
        while bit < to {
            let byte = usize::try_from(bit / 8).ok().and_then(|i| self.bits.get(i));
            let Some(&byte) = byte else {
                break;
            };
            if bit % 8 == 0 && to - bit >= 8 {
                count += u64::from(byte.count_zeros());
                bit += 8;
                if bit % (8 << 20) == 0 {
                    cond_resched();
                }
            } else {
                count += u64::from(byte & (1 << (bit % 8)) == 0);
                bit += 1;
            }
        }
        count
    }

    fn test(&self, bit: u64) -> bool {
        test_bit(&self.bits, bit).unwrap_or(true)
    }

    fn set(&mut self, bit: u64, value: bool) {
        let _ = set_bit(&mut self.bits, bit, value);
    }

    /// Copies the bytes holding bits `first ..= last` to their disk blocks.
    fn persist(&self, sb: &SuperBlock, first: u64, last: u64) -> Result {
        let first_byte = usize::try_from(first / 8).map_err(|_| EINVAL)?;
        let last_byte = usize::try_from(last / 8).map_err(|_| EINVAL)?;
        let mut byte = first_byte;
        while byte <= last_byte {
            let block = byte / BLOCK_BYTES;
            let in_block = byte % BLOCK_BYTES;
            let end = (last_byte + 1).min((block + 1) * BLOCK_BYTES);
            let src = self.bits.get(byte..end).ok_or(EINVAL)?;
            let buf = Buffer::read(sb, self.first_block + block as u64)?;
            buf.modify(|data| {
                if let Some(dst) = data.get_mut(in_block..in_block + src.len()) {
                    dst.copy_from_slice(src);
                }
            });
            byte = end;
        }
        Ok(())
    }
}

/// The allocator of one mounted file system. Lives under `SbInfo`'s mutex.
///
/// # Invariants
///
/// `free_blocks` and `free_inodes` are the clear bits of the in-memory bitmaps
/// (data area, inodes 1 and up), and the bitmaps' disk blocks (in the buffer
/// cache) hold the same bits, except after an I/O error, which is reported.
pub(crate) struct Allocator {
    geom: Geometry,
    blocks: Bitmap,
    inodes: Bitmap,
    free_blocks: u64,
    free_inodes: u64,
    next_generation: u32,
    /// Where the last block allocation ended: the next search starts there.
    cursor: u64,
}

impl Allocator {
    /// Loads both bitmaps, checks the bits that must be set, and counts the free
    /// blocks and inodes. `EUCLEAN` (with a log line) if the bitmaps are corrupt.
    pub(crate) fn load(sb: &SuperBlock, geom: &Geometry, next_generation: u32) -> Result<Self> {
        let blocks = Bitmap::load(sb, geom.block_bitmap_start, geom.block_bitmap_blocks)?;
        let inodes = Bitmap::load(sb, geom.inode_bitmap_start, geom.inode_bitmap_blocks)?;
        let block_bits = geom.block_bitmap_blocks * crate::format::BITS_PER_BLOCK;
        let inode_bits = geom.inode_bitmap_blocks * crate::format::BITS_PER_BLOCK;
        let inode_count = u64::from(geom.inode_count);
        let reserved_ok = blocks.clear_bits(0, geom.first_data_block) == 0
            && blocks.clear_bits(geom.total_blocks, block_bits) == 0
            && inodes.test(0)
            && inodes.test(ROOT_INO.into())
            && inodes.clear_bits(inode_count, inode_bits) == 0;
        if !reserved_ok {
            pr_err!(
                "{}: bitmaps corrupt: metadata blocks, the root inode or padding marked free\n",
                sb.id()
            );
            return Err(euclean());
        }
        let free_blocks = blocks.clear_bits(geom.first_data_block, geom.total_blocks);
        let free_inodes = inodes.clear_bits(1, inode_count);
        Ok(Allocator {
            geom: *geom,
            blocks,
            inodes,
            free_blocks,
            free_inodes,
            next_generation,
            cursor: geom.first_data_block,
        })
    }

    /// Free data blocks.
    pub(crate) fn free_blocks(&self) -> u64 {
        self.free_blocks
    }

    /// Free inodes.
    pub(crate) fn free_inodes(&self) -> u64 {
        self.free_inodes
    }

    /// The next inode generation number, to store in the super block.
    pub(crate) fn next_generation(&self) -> u32 {
        self.next_generation
    }

    /// Allocates up to `want` (at least 1) contiguous blocks, at `goal` if it is
    /// free, else at the first free block from where the last allocation ended.
    /// Returns the first block and how many were allocated. `ENOSPC` if the file
    /// system is full.
    pub(crate) fn alloc_blocks(
        &mut self,
        sb: &SuperBlock,
        goal: Option<u64>,
        want: u64,
    ) -> Result<(u64, u64)> {
        let (first, total) = (self.geom.first_data_block, self.geom.total_blocks);
        let want = want.clamp(1, MAX_ALLOC_BLOCKS);
        let start = match goal.filter(|&g| g >= first && g < total && !self.blocks.test(g)) {
            Some(g) => g,
            None => {
                let from = self.cursor.clamp(first, total);
                find_clear_bit(&self.blocks.bits, from, total)
                    .or_else(|| find_clear_bit(&self.blocks.bits, first, from))
                    .ok_or(ENOSPC)?
            }
        };
        let mut len = 0;
        while len < want && start + len < total && !self.blocks.test(start + len) {
            self.blocks.set(start + len, true);
            len += 1;
        }
        if len == 0 {
            return Err(ENOSPC);
        }
        if let Err(e) = self.blocks.persist(sb, start, start + len - 1) {
            for b in start..start + len {
                self.blocks.set(b, false);
            }
            let _ = self.blocks.persist(sb, start, start + len - 1);
            return Err(e);
        }
        self.free_blocks = self.free_blocks.saturating_sub(len);
        self.cursor = start + len;
        Ok((start, len))
    }

    /// Frees blocks `start .. start + len`. Blocks outside the data area, or
    /// already free, are corruption: they are left alone and reported.
    pub(crate) fn free_blocks_range(&mut self, sb: &SuperBlock, start: u64, len: u64) -> Result {
        if len == 0 {
            return Ok(());
        }
        if !self.geom.in_data_area(start, len) {
            pr_err!(
                "{}: freeing blocks {}+{} outside the data area\n",
                sb.id(),
                start,
                len
            );
            return Err(euclean());
        }
        let mut already_free = 0u64;
        for b in start..start + len {
            if self.blocks.test(b) {
                self.blocks.set(b, false);
                self.free_blocks += 1;
            } else {
                already_free += 1;
            }
        }
        self.blocks.persist(sb, start, start + len - 1)?;
        if already_free != 0 {
            pr_err!(
                "{}: {} of blocks {}+{} were already free\n",
                sb.id(),
                already_free,
                start,
                len
            );
            return Err(euclean());
        }
        Ok(())
    }

    /// Whether inode `ino` is marked in use.
    pub(crate) fn inode_in_use(&self, ino: u32) -> bool {
        ino < self.geom.inode_count && self.inodes.test(ino.into())
    }

    /// Allocates the lowest free inode number and a generation for it. `ENOSPC`
    /// if there is none.
    pub(crate) fn alloc_inode(&mut self, sb: &SuperBlock) -> Result<(u32, u32)> {
        let ino =
            find_clear_bit(&self.inodes.bits, 1, self.geom.inode_count.into()).ok_or(ENOSPC)?;
        self.inodes.set(ino, true);
        if let Err(e) = self.inodes.persist(sb, ino, ino) {
            self.inodes.set(ino, false);
            return Err(e);
        }
        self.free_inodes = self.free_inodes.saturating_sub(1);
        let generation = self.next_generation;
        self.next_generation = self.next_generation.wrapping_add(1);
        Ok((u32::try_from(ino).map_err(|_| EINVAL)?, generation))
    }

    /// Frees inode number `ino`.
    pub(crate) fn free_inode(&mut self, sb: &SuperBlock, ino: u32) -> Result {
        if ino <= ROOT_INO || !self.inode_in_use(ino) {
            pr_err!("{}: freeing inode {} which is not in use\n", sb.id(), ino);
            return Err(euclean());
        }
        self.inodes.set(ino.into(), false);
        self.free_inodes += 1;
        self.inodes.persist(sb, ino.into(), ino.into())
    }
}
