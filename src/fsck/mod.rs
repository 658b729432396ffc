//! Checking and repairing a tsfs image: the work behind `fsck.tsfs`.
//!
//! Checking is read-only. Passes, each in its own file: the super block and
//! bitmaps (`superblock`), every in-use inode and its extents (`inodes`), block
//! ownership against the block bitmap (`blocks`), and directories,
//! reachability and link counts (`tree`), and last the free counts. Each
//! problem becomes one [`Problem`] of the report, with the [`Fix`] that repairs
//! it when there is a safe one. Repairing (`repair`) applies those fixes and
//! checks again.

mod blocks;
mod extent_blocks;
mod fix;
mod inodes;
mod repair;
mod superblock;
mod tree;

pub use fix::Fix;
pub use repair::{repair, Mode, Outcome};

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use crate::device::Device;
use crate::format::{Extent, Geometry, Inode, SuperBlock};

/// One problem a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong, one line.
    pub text: String,
    /// The repair, if there is a safe one.
    pub fix: Option<Fix>,
}

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Problems; any makes the file system unclean.
    pub errors: Vec<Problem>,
    /// Remarks that are not errors (an unclean unmount, for instance).
    pub notes: Vec<String>,
    /// Usage figures, if the super block was good enough to get that far.
    pub summary: Option<Summary>,
    /// Whether the super block says the file system was not cleanly
    /// unmounted (its free counts are then not expected to be exact).
    pub dirty: bool,
}

impl Report {
    /// Whether no problem was found.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// Records a problem that has no safe repair.
    fn error(&mut self, line: String) {
        self.errors.push(Problem {
            text: line,
            fix: None,
        });
    }

    /// The fixes of the problems that have one, in the order found.
    pub fn fixes(&self) -> impl Iterator<Item = &Fix> {
        self.errors.iter().filter_map(|p| p.fix.as_ref())
    }
}

/// Usage figures of a checked file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Inodes in use (the reserved inode 0 not counted).
    pub inodes_used: u64,
    /// Inodes that could be used (inode 0 not counted).
    pub inodes_total: u64,
    /// Blocks in use, metadata included.
    pub blocks_used: u64,
    /// Blocks in the file system.
    pub blocks_total: u64,
    /// Regular files and symbolic links.
    pub files: u64,
    /// Directories.
    pub directories: u64,
}

/// What pass 1 learned about one sound in-use inode.
#[derive(Debug)]
struct InodeInfo {
    inode: Inode,
    /// Extents that passed their checks, sorted as stored.
    extents: Vec<Extent>,
    /// The extent blocks it claims (an index first) that lie in the data
    /// area, once per claim.
    extent_blocks: Vec<u64>,
}

/// State shared by the passes.
struct Fsck<'a> {
    dev: &'a Device,
    sb: SuperBlock,
    geom: Geometry,
    seed: u32,
    inode_bitmap: Vec<u8>,
    block_bitmap: Vec<u8>,
    /// In-use inodes sound enough to follow.
    inodes: BTreeMap<u32, InodeInfo>,
    /// In-use inodes too damaged to follow (already reported).
    damaged: BTreeSet<u32>,
    /// Whether some in-use inode's contents are not fully known (a damaged
    /// inode, an ignored extent or extent block, a directory with a hole):
    /// then a block that looks leaked may be one of its blocks, and a link
    /// count may miss one of its entries, so neither is repaired.
    incomplete: bool,
    report: Report,
}

impl Fsck<'_> {
    /// Records a problem that has no safe repair.
    fn error(&mut self, line: String) {
        self.report.error(line);
    }

    /// Records problems, each with its repair if it has one.
    fn report_all(&mut self, problems: Vec<(String, Option<Fix>)>) {
        for (text, fix) in problems {
            self.report.errors.push(Problem { text, fix });
        }
    }

    /// Records a problem that `fix` repairs.
    fn fixable(&mut self, line: String, fix: Fix) {
        self.report.errors.push(Problem {
            text: line,
            fix: Some(fix),
        });
    }
}

/// Checks the tsfs image on `dev`. An `Err` means the device could not be read
/// (an operational error); problems with the file system are in the report.
pub fn check(dev: &Device) -> io::Result<Report> {
    let mut report = Report::default();
    let Some((sb, geom)) = superblock::read(dev, &mut report)? else {
        return Ok(report);
    };
    let mut fsck = Fsck {
        dev,
        seed: sb.checksum_seed(),
        sb,
        geom,
        inode_bitmap: dev.read_blocks(geom.inode_bitmap_start, geom.inode_bitmap_blocks)?,
        block_bitmap: dev.read_blocks(geom.block_bitmap_start, geom.block_bitmap_blocks)?,
        inodes: BTreeMap::new(),
        damaged: BTreeSet::new(),
        incomplete: false,
        report,
    };
    superblock::check_bitmap_reserved_bits(&mut fsck);
    inodes::scan(&mut fsck)?;
    blocks::check(&mut fsck);
    tree::check(&mut fsck)?;
    superblock::check_free_counts(&mut fsck);
    Ok(fsck.report)
}

/// "block 7" or "blocks 7-9".
fn block_range(start: u64, end: u64) -> String {
    if end - start == 1 {
        format!("block {start}")
    } else {
        format!("blocks {start}-{}", end - 1)
    }
}
