//! fsck pass 2: who owns each block, against the block bitmap.

use super::{block_range, Fix, Fsck};
use crate::format::{set_bit, test_bit};
use crate::image::padded_bitmap;

/// A run of blocks owned by an inode (an extent, or one of its extent blocks).
struct Run {
    start: u64,
    end: u64,
    owner: u32,
}

pub(super) fn check(f: &mut Fsck<'_>) {
    let mut runs: Vec<Run> = Vec::new();
    for (&owner, info) in &f.inodes {
        for e in &info.extents {
            runs.push(Run {
                start: e.disk_block(),
                end: e.disk_end(),
                owner,
            });
        }
        // An extent block is owned like a data block: one named twice, or
        // also used by another inode, is reported as shared.
        for &block in &info.extent_blocks {
            runs.push(Run {
                start: block,
                end: block + 1,
                owner,
            });
        }
    }
    runs.sort_by_key(|r| (r.start, r.owner));
    report_shared(f, &runs);

    let mut expected = padded_bitmap(f.geom.block_bitmap_blocks, f.geom.total_blocks);
    for block in 0..f.geom.first_data_block {
        set_bit(&mut expected, block, true);
    }
    for run in &runs {
        for block in run.start..run.end {
            set_bit(&mut expected, block, true);
        }
    }
    compare_bitmaps(f, &expected);
}

/// Reports every block range owned twice.
fn report_shared(f: &mut Fsck<'_>, runs: &[Run]) {
    let mut lines = Vec::new();
    let mut reach: Option<(u64, u32)> = None; // furthest end so far, and its owner
    for run in runs {
        if let Some((end, owner)) = reach {
            if run.start < end {
                let what = block_range(run.start, run.end.min(end));
                lines.push(if owner == run.owner {
                    format!("inode {owner}: maps {what} more than once")
                } else {
                    format!("{what} used by both inode {owner} and inode {}", run.owner)
                });
            }
        }
        if reach.map_or(true, |(end, _)| run.end > end) {
            reach = Some((run.end, run.owner));
        }
    }
    for line in lines {
        f.error(line);
    }
}

/// Reports, as ranges, blocks in use but marked free and blocks marked in use
/// that nothing uses. Marking used blocks is always safe; freeing leaked ones
/// only when every in-use inode's blocks are known.
fn compare_bitmaps(f: &mut Fsck<'_>, expected: &[u8]) {
    let mut problems = Vec::new();
    let mut run: Option<(u64, bool)> = None; // start of a mismatch run, and whether it is a leak
    for block in 0..=f.geom.total_blocks {
        let mismatch = (block < f.geom.total_blocks)
            .then(|| {
                let want = test_bit(expected, block) == Some(true);
                let have = test_bit(&f.block_bitmap, block) == Some(true);
                (want != have).then_some(have)
            })
            .flatten();
        match (run, mismatch) {
            (Some((_, leak)), Some(now)) if leak == now => continue,
            (Some((start, leak)), _) => {
                let what = block_range(start, block);
                problems.push(if leak {
                    (
                        format!(
                            "block bitmap: {what} marked in use but not used by anything (leaked)"
                        ),
                        (!f.incomplete).then_some(Fix::FreeBlocks { start, end: block }),
                    )
                } else {
                    (
                        format!("block bitmap: {what} in use but marked free"),
                        Some(Fix::UseBlocks { start, end: block }),
                    )
                });
                run = None;
            }
            (None, _) => {}
        }
        if let Some(leak) = mismatch {
            run = Some((block, leak));
        }
    }
    f.report_all(problems);
}
