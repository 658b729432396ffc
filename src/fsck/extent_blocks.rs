//! An inode's extent blocks (a lone extent block, or an extent index block and
//! the extent blocks it lists), read as far as they can be: for the check, and
//! for the repair that rebuilds a block map from what could be read.

use std::collections::BTreeMap;
use std::io;

use crate::device::Device;
use crate::format::{
    check_extent_block, check_extent_index, extent_block_entries, extent_index_entries,
    is_extent_index, Extent, ExtentBlockError, ExtentBlockHeader, Geometry,
};

/// What an inode's extent blocks hold, and what is wrong with them.
#[derive(Debug, Default)]
pub(super) struct ExtentBlocks {
    /// The extents of the extent blocks that proved to be the inode's, in
    /// order, each block's once.
    pub(super) extents: Vec<Extent>,
    /// Every block the inode names as an extent block or index that lies in
    /// the data area, index first, once per time it is named: the ownership
    /// pass finds a block named twice, or also used by another inode.
    pub(super) claimed: Vec<u64>,
    /// The claimed blocks that proved to be the inode's (right magic and
    /// owner; an extent block's checksum too): a rebuilt map may reuse them.
    pub(super) sound: Vec<u64>,
    /// What is wrong, one line each.
    pub(super) problems: Vec<String>,
}

impl ExtentBlocks {
    /// Whether every extent block could be read and the index is sound.
    pub(super) fn complete(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Where the blocks being read come from.
pub(super) struct Source<'a> {
    pub(super) dev: &'a Device,
    pub(super) geom: &'a Geometry,
    pub(super) seed: u32,
}

/// Reads the extent blocks of inode `ino`, whose overflow block is
/// `overflow` (0 if none).
pub(super) fn read(src: &Source<'_>, ino: u32, overflow: u64) -> io::Result<ExtentBlocks> {
    let mut out = ExtentBlocks::default();
    if overflow == 0 {
        return Ok(out);
    }
    if !src.geom.in_data_area(overflow, 1) {
        out.problems.push(format!(
            "inode {ino}: extent block {overflow} is outside the data area"
        ));
        return Ok(out);
    }
    out.claimed.push(overflow);
    let data = src.dev.read_block(overflow)?;
    if is_extent_index(&data) {
        read_index(src, ino, overflow, &data, &mut out)?;
    } else {
        let name = format!("extent block {overflow}");
        read_leaf(src, ino, overflow, &data, &mut out, &name);
    }
    Ok(out)
}

/// Reads index block `index` (contents `data`) and the extent blocks it lists.
/// An index whose only fault is its checksum is still followed: the blocks it
/// lists prove themselves, by their own checksums and owner.
fn read_index(
    src: &Source<'_>,
    ino: u32,
    index: u64,
    data: &[u8],
    out: &mut ExtentBlocks,
) -> io::Result<()> {
    let count = match check_extent_index(data, src.seed, ino) {
        Ok(count) => count,
        Err(ExtentBlockError::BadChecksum) => {
            out.problems.push(format!(
                "inode {ino}: extent index block {index}: checksum mismatch"
            ));
            ExtentBlockHeader::from_bytes(data).map_or(0, |h| usize::from(h.count.get()))
        }
        Err(e) => {
            out.problems.push(format!(
                "inode {ino}: extent index block {index}: {} (its extents are ignored)",
                what_is_wrong(e)
            ));
            return Ok(());
        }
    };
    out.sound.push(index);
    let mut seen = BTreeMap::new(); // block -> first entry naming it
    for (i, leaf) in extent_index_entries(data, count).enumerate() {
        let entry = || format!("inode {ino}: extent index block {index}: entry {i}");
        if leaf == index {
            out.problems
                .push(format!("{} names the index block itself", entry()));
            continue;
        }
        if !src.geom.in_data_area(leaf, 1) {
            out.problems.push(format!(
                "{} (block {leaf}) is outside the data area",
                entry()
            ));
            continue;
        }
        out.claimed.push(leaf);
        if let Some(first) = seen.get(&leaf) {
            out.problems.push(format!(
                "{} names extent block {leaf} again (as entry {first})",
                entry()
            ));
            continue;
        }
        seen.insert(leaf, i);
        let block = src.dev.read_block(leaf)?;
        let name = format!("extent block {leaf} (entry {i} of extent index block {index})");
        read_leaf(src, ino, leaf, &block, out, &name);
    }
    Ok(())
}

/// Takes the extents of extent block `block` (contents `data`) if it is
/// sound; `name` says which block it is in a problem line.
fn read_leaf(
    src: &Source<'_>,
    ino: u32,
    block: u64,
    data: &[u8],
    out: &mut ExtentBlocks,
    name: &str,
) {
    match check_extent_block(data, src.seed, ino) {
        Ok(count) => {
            out.extents.extend(extent_block_entries(data, count));
            out.sound.push(block);
        }
        Err(e) => out.problems.push(format!(
            "inode {ino}: {name}: {} (its extents are ignored)",
            what_is_wrong(e)
        )),
    }
}

/// `e` without the "extent block" its description starts with: the line
/// already says which block, an extent block or an index.
fn what_is_wrong(e: ExtentBlockError) -> &'static str {
    let text = e.description();
    text.strip_prefix("extent block ").unwrap_or(text)
}
