//! fsck: the super block, the bitmaps' reserved bits, and the free counts.

use std::io;

use super::{Fix, Fsck, Problem, Report, Summary};
use crate::device::Device;
use crate::format::{
    test_bit, Geometry, SbError, SuperBlock, BITS_PER_BLOCK, BLOCK_SIZE, FORMAT_VERSION, ROOT_INO,
    STATE_CLEAN, TSFS_MAGIC,
};

/// Reads and validates the super block. `None` when it is too broken to go on
/// (the reason is in the report). A bad checksum alone is reported and the
/// check goes on with the fields as they are.
pub(super) fn read(
    dev: &Device,
    report: &mut Report,
) -> io::Result<Option<(SuperBlock, Geometry)>> {
    if dev.len() < u64::from(BLOCK_SIZE) {
        report.error(format!(
            "super block: device is {} bytes, smaller than one block",
            dev.len()
        ));
        return Ok(None);
    }
    let Some(sb) = SuperBlock::from_bytes(&dev.read_block(0)?) else {
        report.error("super block: cannot decode".into());
        return Ok(None);
    };
    let result = match sb.validate(dev.len()) {
        Err(SbError::BadChecksum) => {
            let line = format!(
                "super block: {} (stored {:#010x}, computed {:#010x})",
                SbError::BadChecksum.description(),
                sb.checksum.get(),
                sb.compute_checksum()
            );
            let mut fixed = sb;
            fixed.update_checksum();
            let result = fixed.validate(dev.len());
            // Every field is sound but the checksum: rewriting it is a
            // repair, though one that trusts a damaged block.
            report.errors.push(Problem {
                text: line,
                fix: result.is_ok().then_some(Fix::SuperBlockChecksum),
            });
            result
        }
        other => other,
    };
    match result {
        Ok(geom) => Ok(Some((sb, geom))),
        Err(e) => {
            report.error(describe(&sb, e, dev.len()));
            Ok(None)
        }
    }
}

fn describe(sb: &SuperBlock, e: SbError, device_bytes: u64) -> String {
    let detail = match e {
        SbError::BadMagic => format!(
            " (found {:#010x}, expected {TSFS_MAGIC:#010x})",
            sb.magic.get()
        ),
        SbError::UnsupportedVersion => format!(
            " (found {}, this fsck knows {FORMAT_VERSION})",
            sb.version.get()
        ),
        SbError::DeviceTooSmall => format!(
            " ({} blocks, device holds {})",
            sb.total_blocks.get(),
            device_bytes / u64::from(BLOCK_SIZE)
        ),
        _ => String::new(),
    };
    format!("super block: {}{detail}", e.description())
}

/// Inode 0, the root's bit, and the padding past the last inode and block
/// must be set.
pub(super) fn check_bitmap_reserved_bits(f: &mut Fsck<'_>) {
    if test_bit(&f.inode_bitmap, 0) != Some(true) {
        f.error("inode bitmap: the reserved inode 0 is marked free".into());
    }
    if test_bit(&f.inode_bitmap, u64::from(ROOT_INO)) != Some(true) {
        f.error("inode bitmap: the root inode is marked free".into());
    }
    let inode_bits = f.geom.inode_bitmap_blocks * BITS_PER_BLOCK;
    if !all_set(&f.inode_bitmap, u64::from(f.geom.inode_count), inode_bits) {
        f.error(format!(
            "inode bitmap: padding bits past inode {} are not all set",
            f.geom.inode_count - 1
        ));
    }
    let block_bits = f.geom.block_bitmap_blocks * BITS_PER_BLOCK;
    if !all_set(&f.block_bitmap, f.geom.total_blocks, block_bits) {
        f.error(format!(
            "block bitmap: padding bits past block {} are not all set",
            f.geom.total_blocks - 1
        ));
    }
}

fn all_set(map: &[u8], from: u64, to: u64) -> bool {
    (from..to).all(|bit| test_bit(map, bit) == Some(true))
}

fn count_clear(map: &[u8], from: u64, to: u64) -> u64 {
    (from..to)
        .filter(|&bit| test_bit(map, bit) == Some(false))
        .count() as u64
}

/// The super block's free counts must match the bitmaps when it says it was
/// cleanly unmounted; otherwise the kernel recomputes them, so it is a note.
pub(super) fn check_free_counts(f: &mut Fsck<'_>) {
    let free_blocks = count_clear(&f.block_bitmap, 0, f.geom.total_blocks);
    let free_inodes = count_clear(&f.inode_bitmap, 1, u64::from(f.geom.inode_count));
    let clean = f.sb.state.get() == STATE_CLEAN;
    f.report.dirty = !clean;
    if !clean {
        f.report
            .notes
            .push("file system was not cleanly unmounted".into());
    }
    let mut mismatches = Vec::new();
    if f.sb.free_blocks.get() != free_blocks {
        mismatches.push(format!(
            "super block: free block count is {}, the block bitmap has {free_blocks} free",
            f.sb.free_blocks.get()
        ));
    }
    if u64::from(f.sb.free_inodes.get()) != free_inodes {
        mismatches.push(format!(
            "super block: free inode count is {}, the inode bitmap has {free_inodes} free",
            f.sb.free_inodes.get()
        ));
    }
    for line in mismatches {
        if clean {
            f.fixable(line, Fix::FreeCounts);
        } else {
            f.report.notes.push(line);
        }
    }
    let inodes_total = u64::from(f.geom.inode_count) - 1;
    let (files, directories) = f.inodes.values().fold((0, 0), |(fi, di), info| {
        if info.inode.is_dir() {
            (fi, di + 1)
        } else {
            (fi + 1, di)
        }
    });
    f.report.summary = Some(Summary {
        inodes_used: inodes_total - free_inodes,
        inodes_total,
        blocks_used: f.geom.total_blocks - free_blocks,
        blocks_total: f.geom.total_blocks,
        files,
        directories,
    });
}
