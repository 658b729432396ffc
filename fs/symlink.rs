// SPDX-License-Identifier: GPL-2.0

//! Symbolic links: the target is stored in the link's one data block, its size
//! the target's length (1 to [`BLOCK_SIZE`] - 1 bytes), and read back through
//! the page cache (`page_get_link`, set up by fs/inode.rs).

use super::{super_block::info_of, NewInode};
use crate::format::{Extent, BLOCK_SIZE};
use crate::kapi::{buffer::Buffer, errno::enametoolong};
use kernel::prelude::*;

/// Gives the new link `new` a block holding `target`, on disk before the link
/// gets a name (the page cache reads it from there). `ENAMETOOLONG` if it does
/// not fit in a block; on error, eviction of `new` frees what was allocated.
pub(crate) fn write_target(new: &NewInode, target: &[u8]) -> Result {
    let len = target.len();
    if len >= BLOCK_SIZE as usize {
        return Err(enametoolong());
    }
    if len == 0 {
        return Err(ENOENT);
    }
    let sb = new.super_block();
    let info = info_of(sb)?;
    let mut meta = new.data().meta();
    let (disk, _) = info.alloc().alloc_blocks(sb, None, 1)?;
    let list = meta.extents.with_inserted(Extent::new(0, disk, 1));
    if let Err(e) = list.and_then(|list| meta.set_extents(sb, info, list)) {
        let _ = info.alloc().free_blocks_range(sb, disk, 1);
        return Err(e);
    }
    new.set_blocks(meta.blocks());
    drop(meta);
    let buf = Buffer::get_for_overwrite(sb, disk)?;
    buf.overwrite(|data| {
        data.fill(0);
        data.get_mut(..len).map(|dst| dst.copy_from_slice(target))
    })
    .ok_or(EIO)?;
    buf.sync()?;
    new.set_size(len as u64);
    Ok(())
}
