//! fsck pass 1: every inode whose bitmap bit is set, its extents and its size.

use std::io;

use super::extent_blocks::{self, Source};
use super::{block_range, Fix, Fsck, InodeInfo};
use crate::format::{
    check_extent, is_known_type, test_bit, Extent, ExtentError, Inode, BLOCK_SIZE, INLINE_EXTENTS,
    INODES_PER_BLOCK, INODE_SIZE, MAX_FILE_SIZE, S_IFLNK,
};

/// Inode table blocks read at a time.
const CHUNK_BLOCKS: u64 = 64;

pub(super) fn scan(f: &mut Fsck<'_>) -> io::Result<()> {
    let per_block = u64::from(INODES_PER_BLOCK);
    let mut block = 0;
    while block < f.geom.inode_table_blocks {
        let n = (f.geom.inode_table_blocks - block).min(CHUNK_BLOCKS);
        let table = f.dev.read_blocks(f.geom.inode_table_start + block, n)?;
        for (i, slot) in table.chunks_exact(INODE_SIZE).enumerate() {
            let ino = (block * per_block + i as u64) as u32;
            if ino == 0 || test_bit(&f.inode_bitmap, u64::from(ino)) != Some(true) {
                continue;
            }
            match Inode::from_bytes(slot) {
                Some(inode) => check_inode(f, ino, inode)?,
                None => {
                    f.error(format!("inode {ino}: cannot decode"));
                    f.damaged.insert(ino);
                    f.incomplete = true;
                }
            }
        }
        block += n;
    }
    Ok(())
}

fn check_inode(f: &mut Fsck<'_>, ino: u32, inode: Inode) -> io::Result<()> {
    if inode == Inode::ZERO {
        f.fixable(
            format!("inode {ino}: marked in use but its slot is empty"),
            Fix::FreeInodeBit { ino },
        );
        f.damaged.insert(ino);
        return Ok(());
    }
    let stored = inode.checksum.get();
    let computed = inode.compute_checksum(f.seed, ino);
    if stored != computed {
        f.error(format!(
            "inode {ino}: checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
        ));
        f.damaged.insert(ino);
        f.incomplete = true;
        return Ok(());
    }
    if !is_known_type(inode.mode.get()) {
        f.error(format!(
            "inode {ino}: in use but has unsupported mode {:#o}",
            inode.mode.get()
        ));
        f.damaged.insert(ino);
        f.incomplete = true;
        return Ok(());
    }
    if !inode.special_shape_ok() {
        f.error(format!(
            "inode {ino}: special file (mode {:#o}) with data or a stray device number",
            inode.mode.get()
        ));
        f.damaged.insert(ino);
        f.incomplete = true;
        return Ok(());
    }
    // A link count of 0 is reported by the link count pass, which knows
    // whether entries name the inode (then the count is wrong) or none do
    // (an orphan).
    let (stored_extents, claimed, complete) = read_extents(f, ino, &inode)?;
    let stored_blocks: u64 = stored_extents
        .iter()
        .map(|e| u64::from(e.len.get()))
        .sum::<u64>()
        + claimed.len() as u64;
    if complete && inode.blocks.get() != stored_blocks {
        f.fixable(
            format!(
                "inode {ino}: block count is {}, its extents and extent blocks hold {stored_blocks}",
                inode.blocks.get()
            ),
            Fix::SetBlockCount {
                ino,
                blocks: stored_blocks,
            },
        );
    }
    let extents = good_extents(f, ino, &stored_extents);
    // Only a file whose every extent is known may have its block map edited.
    let known = complete && extents.len() == stored_extents.len();
    if !known {
        f.incomplete = true;
    }
    check_size(f, ino, &inode, &extents, known);
    if inode.is_dir() && inode.parent.get() >= f.geom.inode_count {
        f.error(format!(
            "inode {ino}: parent field {} is out of range",
            inode.parent.get()
        ));
    }
    f.inodes.insert(
        ino,
        InodeInfo {
            inode,
            extents,
            extent_blocks: claimed,
        },
    );
    Ok(())
}

/// The extents as stored (inline, then those of the extent blocks that are
/// sound), the extent blocks the inode claims (in the data area, once per
/// claim), and whether all could be read. A problem with the extent blocks is
/// repaired by rebuilding the block map from what could be read.
fn read_extents(
    f: &mut Fsck<'_>,
    ino: u32,
    inode: &Inode,
) -> io::Result<(Vec<Extent>, Vec<u64>, bool)> {
    let count = usize::from(inode.extent_count.get());
    if count > INLINE_EXTENTS {
        f.error(format!(
            "inode {ino}: inline extent count {count} is more than {INLINE_EXTENTS}"
        ));
        f.incomplete = true;
    }
    let mut extents = inode.extents[..count.min(INLINE_EXTENTS)].to_vec();
    let src = Source {
        dev: f.dev,
        geom: &f.geom,
        seed: f.seed,
    };
    let found = extent_blocks::read(&src, ino, inode.overflow_block.get())?;
    let complete = found.complete();
    let rebuild = Some(Fix::RebuildExtentBlocks { ino });
    f.report_all(found.problems.into_iter().map(|p| (p, rebuild)).collect());
    extents.extend(found.extents);
    Ok((extents, found.claimed, complete))
}

/// The extents that are in range and in order; each other one is reported.
fn good_extents(f: &mut Fsck<'_>, ino: u32, stored: &[Extent]) -> Vec<Extent> {
    let mut good: Vec<Extent> = Vec::with_capacity(stored.len());
    for e in stored {
        let (fb, len, disk) = (e.file_block.get(), e.len.get(), e.disk_block());
        if let Err(err) = check_extent(e, &f.geom) {
            let why = match err {
                ExtentError::OutsideDataArea if disk < f.geom.first_data_block => format!(
                    "points into metadata ({})",
                    block_range(
                        disk,
                        e.disk_end().min(f.geom.first_data_block).max(disk + 1)
                    )
                ),
                ExtentError::OutsideDataArea => "runs past the end of the file system".into(),
                other => other.description().into(),
            };
            f.error(format!(
                "inode {ino}: extent (file block {fb}, {len} blocks at disk block {disk}) {why}"
            ));
            continue;
        }
        if let Some(prev) = good.last() {
            if u64::from(fb) < prev.file_end() {
                f.error(format!(
                    "inode {ino}: extent at file block {fb} overlaps or precedes the one at file block {}",
                    prev.file_block.get()
                ));
                continue;
            }
        }
        good.push(*e);
    }
    good
}

fn check_size(f: &mut Fsck<'_>, ino: u32, inode: &Inode, extents: &[Extent], known: bool) {
    let size = inode.size.get();
    let block = u64::from(BLOCK_SIZE);
    if size > MAX_FILE_SIZE {
        f.error(format!(
            "inode {ino}: size {size} is past the maximum file size"
        ));
        return;
    }
    if inode.is_dir() {
        check_directory_shape(f, ino, size, extents);
        return;
    }
    if inode.file_type() == S_IFLNK && !(1..block).contains(&size) {
        f.error(format!(
            "inode {ino}: symbolic link size {size} is out of range"
        ));
    }
    // Sparse past the last extent is fine, and so are unwritten blocks
    // (preallocated with FALLOC_FL_KEEP_SIZE); a written block mapped past
    // the one holding the last byte is not, whether its extent starts there or
    // before (every block of every extent counts).
    let eof_block = size.div_ceil(block);
    let past: u64 = extents.iter().map(|e| blocks_past(e, eof_block)).sum();
    let Some(first) = extents.iter().find(|e| blocks_past(e, eof_block) > 0) else {
        return;
    };
    let from = u64::from(first.file_block.get()).max(eof_block);
    let line = format!(
        "inode {ino}: {past} block(s) mapped past end of file (size {size}), from file block {from}"
    );
    if known {
        f.fixable(
            line,
            Fix::UnmapFrom {
                ino,
                first: eof_block,
            },
        );
    } else {
        f.error(line);
    }
}

/// Written blocks of `e` at or after file block `eof_block` (unwritten ones
/// are preallocation, which may lie past the end of the file).
fn blocks_past(e: &Extent, eof_block: u64) -> u64 {
    if e.is_unwritten() {
        return 0;
    }
    e.file_end()
        .saturating_sub(u64::from(e.file_block.get()).max(eof_block))
}

/// A directory maps every block of its size, with no holes. Otherwise some of
/// its entries are not read, so what is derived from them is not trusted.
fn check_directory_shape(f: &mut Fsck<'_>, ino: u32, size: u64, extents: &[Extent]) {
    let block = u64::from(BLOCK_SIZE);
    if size % block != 0 {
        f.error(format!(
            "inode {ino}: directory size {size} is not a whole number of blocks"
        ));
        f.incomplete = true;
    }
    let mut next = 0;
    for e in extents {
        if u64::from(e.file_block.get()) != next {
            f.error(format!(
                "inode {ino}: directory has a hole at file block {next}"
            ));
            f.incomplete = true;
            return;
        }
        next = e.file_end();
    }
    if next != size / block {
        f.error(format!(
            "inode {ino}: directory extents map {next} blocks, its size is {} blocks",
            size / block
        ));
        f.incomplete = true;
    }
}
