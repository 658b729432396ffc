//! The repairs fsck makes. Each is local (a bitmap range, an inode, a
//! directory slot, an entry in `/lost+found`); what a repair leaves behind,
//! such as blocks that nothing uses any more, is found and repaired by the
//! check that follows it.

use std::collections::HashSet;
use std::io;

use super::extent_blocks::{self, Source};
use crate::device::Device;
use crate::format::{
    file_type_of_mode, Extent, Inode, Le32, Le64, SuperBlock, DIRENT_SIZE, INLINE_EXTENTS, ROOT_INO,
};
use crate::image::{invalid, Image};

/// The repair of one problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fix {
    /// Mark blocks `start .. end`, which nothing uses, free in the block bitmap.
    FreeBlocks {
        /// First block.
        start: u64,
        /// One past the last block.
        end: u64,
    },
    /// Mark blocks `start .. end`, which are used, in use in the block bitmap.
    UseBlocks {
        /// First block.
        start: u64,
        /// One past the last block.
        end: u64,
    },
    /// Mark inode `ino`, whose slot is empty, free in the inode bitmap.
    FreeInodeBit {
        /// The inode.
        ino: u32,
    },
    /// Free inode `ino`, which no directory entry names and which has a link
    /// count of 0 or holds nothing: empty its slot and mark it free. Its
    /// blocks are then leaked, and freed by the next round.
    ReleaseInode {
        /// The inode.
        ino: u32,
    },
    /// Set inode `ino`'s link count to `nlink`.
    SetLinkCount {
        /// The inode.
        ino: u32,
        /// The link count its directory entries call for.
        nlink: u32,
    },
    /// Set inode `ino`'s block count to `blocks`.
    SetBlockCount {
        /// The inode.
        ino: u32,
        /// The blocks its extents and extent block hold.
        blocks: u64,
    },
    /// Unmap inode `ino`'s file blocks from `first` on (they lie past its
    /// size). The disk blocks are then leaked, and freed by the next round.
    UnmapFrom {
        /// The inode.
        ino: u32,
        /// The first file block past the end of the file.
        first: u64,
    },
    /// Rebuild inode `ino`'s block map, whose extent blocks are damaged, from
    /// its inline extents and those of the extent blocks that proved to be
    /// its own (an index whose only fault is its checksum is followed). The
    /// extents of the others are dropped; their blocks, and the damaged
    /// extent blocks, are then leaked, and freed by the next round.
    RebuildExtentBlocks {
        /// The inode.
        ino: u32,
    },
    /// Clear directory `dir`'s slot `slot` in its block at disk block `block`.
    RemoveEntry {
        /// The directory.
        dir: u32,
        /// The disk block holding the entry.
        block: u64,
        /// The slot in that block.
        slot: usize,
    },
    /// Set the super block's free counts from the bitmaps.
    FreeCounts,
    /// Rewrite the super block's checksum: every field of it is sound.
    SuperBlockChecksum,
    /// Name inode `ino`, which holds data but which no directory entry
    /// names, `#ino` in `/lost+found` (made if there is none).
    Reconnect {
        /// The inode.
        ino: u32,
    },
}

impl Fix {
    /// Whether `fsck -p` (preen) may make this repair without asking: it
    /// loses nothing a program could read, changes no name and trusts no
    /// damaged block. Reconnecting a lost file into `/lost+found`, and
    /// vouching for a super block whose checksum failed, are left to `-y`,
    /// where someone is there to look at the result.
    pub fn preen_safe(&self) -> bool {
        !matches!(
            self,
            Fix::Reconnect { .. } | Fix::SuperBlockChecksum | Fix::RebuildExtentBlocks { .. }
        )
    }

    /// Whether this repair may allocate (a directory, a directory block, an
    /// extent block): then it goes after every bitmap repair of its round.
    fn allocates(&self) -> bool {
        matches!(
            self,
            Fix::Reconnect { .. } | Fix::RebuildExtentBlocks { .. }
        )
    }
}

/// The directory in the root that lost inodes are reconnected into.
pub(super) const LOST_AND_FOUND: &str = "lost+found";

/// Makes the repairs `fixes` on `image`, then writes its bitmaps and the
/// super block with free counts recomputed from them. A repair listed more
/// than once (for several problems of one inode's extent blocks) is made once.
pub(super) fn apply(image: &mut Image, fixes: &[Fix]) -> io::Result<()> {
    let mut seen = HashSet::new();
    let (allocating, plain): (Vec<Fix>, Vec<Fix>) = fixes
        .iter()
        .filter(|f| seen.insert(**f))
        .partition(|f| f.allocates());
    let done = plain
        .into_iter()
        .chain(allocating)
        .try_for_each(|fix| apply_one(image, fix));
    // The bitmaps go out even after a failure, to match what was written.
    image.flush()?;
    done
}

fn apply_one(image: &mut Image, fix: Fix) -> io::Result<()> {
    match fix {
        Fix::FreeBlocks { start, end } | Fix::UseBlocks { start, end } => {
            let used = matches!(fix, Fix::UseBlocks { .. });
            for block in start..end {
                image.set_block_in_use(block, used);
            }
        }
        Fix::FreeInodeBit { ino } => image.set_inode_in_use(ino, false),
        Fix::ReleaseInode { ino } => {
            image.write_inode_raw(ino, &Inode::ZERO)?;
            image.set_inode_in_use(ino, false);
        }
        Fix::SetLinkCount { ino, nlink } => {
            let mut inode = image.read_inode(ino)?;
            inode.nlink = Le32::new(nlink);
            image.write_inode(ino, &inode)?;
        }
        Fix::SetBlockCount { ino, blocks } => {
            let mut inode = image.read_inode(ino)?;
            inode.blocks = Le64::new(blocks);
            image.write_inode(ino, &inode)?;
        }
        Fix::UnmapFrom { ino, first } => {
            let mut inode = image.read_inode(ino)?;
            let kept = mapped_before(&image.extents(ino, &inode)?, first);
            image.set_extents(ino, &mut inode, &kept)?;
            image.write_inode(ino, &inode)?;
        }
        Fix::RebuildExtentBlocks { ino } => rebuild_extent_blocks(image, ino)?,
        Fix::RemoveEntry { block, slot, .. } => {
            let mut data = image.device().read_block(block)?;
            data.get_mut(slot * DIRENT_SIZE..(slot + 1) * DIRENT_SIZE)
                .ok_or_else(|| invalid(format!("no slot {slot} in a directory block")))?
                .fill(0);
            image.device().write_blocks(block, &data)?;
        }
        // `apply` writes the counts last, whatever the repairs, and the super
        // block with them (its checksum was set before the image was opened).
        Fix::FreeCounts | Fix::SuperBlockChecksum => {}
        Fix::Reconnect { ino } => reconnect(image, ino)?,
    }
    Ok(())
}

/// Stores inode `ino`'s inline extents and those of its sound extent blocks
/// anew, in the blocks that proved to be its own.
fn rebuild_extent_blocks(image: &mut Image, ino: u32) -> io::Result<()> {
    let mut inode = image.read_inode(ino)?;
    let src = Source {
        dev: image.device(),
        geom: image.geometry(),
        seed: image.seed(),
    };
    let found = extent_blocks::read(&src, ino, inode.overflow_block.get())?;
    let inline = usize::from(inode.extent_count.get()).min(INLINE_EXTENTS);
    let mut kept = inode.extents[..inline].to_vec();
    kept.extend(found.extents);
    image.replace_extents(ino, &mut inode, &kept, &found.sound)?;
    image.write_inode(ino, &inode)
}

/// Rewrites the checksum of the super block on `dev`, so that the image code
/// accepts it.
pub(super) fn rewrite_superblock_checksum(dev: &Device) -> io::Result<()> {
    let mut block = dev.read_block(0)?;
    let mut sb = SuperBlock::from_bytes(&block).ok_or_else(|| invalid("short super block"))?;
    sb.update_checksum();
    sb.to_bytes(&mut block)
        .ok_or_else(|| invalid("short super block"))?;
    dev.write_blocks(0, &block)
}

/// Names inode `ino` `#ino` in `/lost+found`, making that directory if the
/// root has none. A directory gets it as its parent, and adds to its links.
fn reconnect(image: &mut Image, ino: u32) -> io::Result<()> {
    let lost = match image.lookup(ROOT_INO, LOST_AND_FOUND)? {
        Some(dir) => dir,
        None => image.mkdir(ROOT_INO, LOST_AND_FOUND)?,
    };
    let mut inode = image.read_inode(ino)?;
    let file_type = file_type_of_mode(inode.mode.get());
    image.add_dirent(lost, &format!("#{ino}"), ino, file_type)?;
    if inode.is_dir() {
        inode.parent = Le32::new(lost);
        image.write_inode(ino, &inode)?;
        let mut dir = image.read_inode(lost)?;
        dir.nlink = Le32::new(dir.nlink.get() + 1);
        image.write_inode(lost, &dir)?;
    }
    Ok(())
}

/// `extents` without file blocks `first` and up: extents wholly past it
/// dropped, the one across it shortened (keeping any other field as it is).
fn mapped_before(extents: &[Extent], first: u64) -> Vec<Extent> {
    extents
        .iter()
        .filter(|e| u64::from(e.file_block.get()) < first)
        .map(|e| {
            let mut kept = *e;
            if e.file_end() > first {
                // Less than `e.len`, so it fits in a u32.
                let len = first - u64::from(e.file_block.get());
                kept.len = Le32::new(len as u32);
            }
            kept
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_before_drops_and_splits() {
        let extents = [
            Extent::new(0, 100, 2),
            Extent::new(4, 200, 6),
            Extent::new(10, 300, 1),
        ];
        assert_eq!(
            mapped_before(&extents, 7),
            vec![Extent::new(0, 100, 2), Extent::new(4, 200, 3)]
        );
        assert_eq!(mapped_before(&extents, 4), vec![Extent::new(0, 100, 2)]);
        assert_eq!(mapped_before(&extents, 11), extents.to_vec());
        assert!(mapped_before(&extents, 0).is_empty());
    }
}
