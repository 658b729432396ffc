// SPDX-License-Identifier: GPL-2.0

//! Directory contents: fixed-size slots in the directory's blocks (see
//! `format.rs`), read and changed through the buffer cache.
//!
//! The VFS serialises changes to a directory with its inode lock, and lookups and
//! readdir hold it shared, so these functions need no lock of their own for the
//! entries; the extent list is read under the inode's metadata lock.

use super::{
    dir_index::{self, DirIndex},
    super_block::info_of,
    Inode, LockedInode, SbInfo, SuperBlock,
};
use crate::format::{
    decode_dirent, encode_dirent, is_known_dirent_type, validate_name, DirentHeader, DirentRef,
    Extent, Le32, Mapping, NameError, BLOCK_BYTES, BLOCK_SIZE, DIRENTS_PER_BLOCK, DIRENT_SIZE,
    MAX_FILE_BLOCKS, ROOT_INO,
};
use crate::kapi::{
    buffer::{self, Buffer},
    errno::{enametoolong, euclean},
    fs::file::DirContext,
    time::cond_resched,
};
use kernel::prelude::*;

/// A used slot of a directory.
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    /// Slot index in the directory (block * 8 + slot in block).
    pub(crate) slot: u64,
    /// Inode named.
    pub(crate) ino: u32,
    /// File type ([`FT_DIR`], ...).
    pub(crate) file_type: u8,
}

const SLOTS_PER_BLOCK: u64 = DIRENTS_PER_BLOCK as u64;

/// The errno for a name that cannot be stored.
pub(crate) fn name_errno(e: NameError) -> Error {
    match e {
        NameError::TooLong => enametoolong(),
        _ => EINVAL,
    }
}

fn blocks(dir: &Inode) -> u64 {
    dir.size() / u64::from(BLOCK_SIZE)
}

fn corrupt(sb: &SuperBlock, dir: &Inode, what: &str) -> Error {
    pr_err!("{}: directory {}: {}\n", sb.id(), dir.ino(), what);
    euclean()
}

/// The disk block of directory block `file_block`.
fn disk_block(sb: &SuperBlock, dir: &Inode, file_block: u64) -> Result<u64> {
    match dir.data().meta().extents.map(file_block) {
        Mapping::Mapped {
            unwritten: true, ..
        } => Err(corrupt(sb, dir, "unwritten extent in a directory")),
        Mapping::Mapped { disk_block, .. } => Ok(disk_block),
        Mapping::Hole { .. } => Err(corrupt(sb, dir, "hole in a directory")),
    }
}

/// Checks a used slot read from disk.
fn check_entry(sb: &SuperBlock, info: &SbInfo, dir: &Inode, e: &DirentRef<'_>) -> Result {
    if e.ino >= info.geom.inode_count || e.ino == ROOT_INO {
        return Err(corrupt(sb, dir, "entry names an impossible inode"));
    }
    if validate_name(e.name).is_err() {
        return Err(corrupt(sb, dir, "entry has an invalid name"));
    }
    if !is_known_dirent_type(e.file_type) {
        return Err(corrupt(sb, dir, "entry has an unknown file type"));
    }
    Ok(())
}

/// Decodes slot `slot` of a block: `None` if free.
fn decode<'a>(
    sb: &SuperBlock,
    info: &SbInfo,
    dir: &Inode,
    slot: &'a [u8],
) -> Result<Option<DirentRef<'a>>> {
    match decode_dirent(slot) {
        Ok(Some(e)) => {
            check_entry(sb, info, dir, &e)?;
            Ok(Some(e))
        }
        Ok(None) => Ok(None),
        Err(_) => Err(corrupt(sb, dir, "slot with a bad name length")),
    }
}

/// Runs `f` on every slot of `dir` (slot index and bytes) until it returns
/// `Some`.
fn scan<T>(dir: &Inode, mut f: impl FnMut(u64, &[u8]) -> Result<Option<T>>) -> Result<Option<T>> {
    let sb = dir.super_block();
    for fb in 0..blocks(dir) {
        let buf = Buffer::read(sb, disk_block(sb, dir, fb)?)?;
        let found = buf.read_with(|data| -> Result<Option<T>> {
            for (i, slot) in data.chunks_exact(DIRENT_SIZE).enumerate() {
                if let Some(t) = f(fb * SLOTS_PER_BLOCK + i as u64, slot)? {
                    return Ok(Some(t));
                }
            }
            Ok(None)
        })?;
        if found.is_some() {
            return Ok(found);
        }
        cond_resched();
    }
    Ok(None)
}

/// Builds the name index of `dir` if it is large enough to have one and has
/// none; returns it if it has one. Without memory for it, the caller scans.
fn indexed<'a>(dir: &Inode, index: &'a mut Option<DirIndex>) -> Result<Option<&'a mut DirIndex>> {
    if index.is_none() && blocks(dir) >= dir_index::MIN_BLOCKS {
        let sb = dir.super_block();
        let info = info_of(sb)?;
        let Ok(mut built) = DirIndex::new(blocks(dir) * SLOTS_PER_BLOCK) else {
            return Ok(None);
        };
        let full = scan(dir, |slot, bytes| {
            Ok(match decode(sb, info, dir, bytes)? {
                Some(e) => built.insert(slot, e.name).err(),
                None => None,
            })
        })?;
        match full {
            None => *index = Some(built),
            Some(e) if e == ENOMEM => {}
            // Two used slots cannot be the same one.
            Some(_) => return Err(corrupt(sb, dir, "index of its names inconsistent")),
        }
    }
    Ok(index.as_mut())
}

/// The entry in slot `slot` of `dir` if it holds `name`.
fn entry_at(dir: &Inode, slot: u64, name: &[u8]) -> Result<Option<Entry>> {
    let sb = dir.super_block();
    let info = info_of(sb)?;
    let (buf, bytes) = slot_block(dir, slot)?;
    buf.read_with(|data| named(sb, info, dir, slot, data.get(bytes).ok_or(EINVAL)?, name))
}

/// The block holding slot `slot` of `dir`, and the slot's byte range in it.
fn slot_block(dir: &Inode, slot: u64) -> Result<(Buffer, core::ops::Range<usize>)> {
    let sb = dir.super_block();
    let buf = Buffer::read(sb, disk_block(sb, dir, slot / SLOTS_PER_BLOCK)?)?;
    let start = (slot % SLOTS_PER_BLOCK) as usize * DIRENT_SIZE;
    Ok((buf, start..start + DIRENT_SIZE))
}

/// Slot `slot` (its bytes) as an [`Entry`] if it holds `name`.
fn named(
    sb: &SuperBlock,
    info: &SbInfo,
    dir: &Inode,
    slot: u64,
    bytes: &[u8],
    name: &[u8],
) -> Result<Option<Entry>> {
    Ok(decode(sb, info, dir, bytes)?
        .filter(|e| e.name == name)
        .map(|e| Entry {
            slot,
            ino: e.ino,
            file_type: e.file_type,
        }))
}

/// The entry named `name` in `dir`, if any.
pub(crate) fn find(dir: &Inode, name: &[u8]) -> Result<Option<Entry>> {
    let mut index = dir.data().dir_index();
    if let Some(ix) = indexed(dir, &mut index)? {
        for slot in ix.candidates(name) {
            if let Some(entry) = entry_at(dir, slot, name)? {
                return Ok(Some(entry));
            }
        }
        return Ok(None);
    }
    drop(index);
    let sb = dir.super_block();
    let info = info_of(sb)?;
    scan(dir, |slot, bytes| named(sb, info, dir, slot, bytes, name))
}

/// Whether `dir` has no entries.
pub(crate) fn is_empty(dir: &Inode) -> Result<bool> {
    let sb = dir.super_block();
    let info = info_of(sb)?;
    let used = scan(
        dir,
        |_, bytes| Ok(decode(sb, info, dir, bytes)?.map(|_| ())),
    )?;
    Ok(used.is_none())
}

/// Adds entry `name` -> `ino` to `dir`, in the first free slot or in a new block.
/// The caller has checked that the name is not there.
pub(crate) fn add(dir: &LockedInode<'_>, name: &[u8], ino: u32, file_type: u8) -> Result {
    validate_name(name).map_err(name_errno)?;
    let sb = dir.super_block();
    let mut index = dir.data().dir_index();
    let free = match indexed(dir, &mut index)? {
        Some(ix) => ix.first_free(),
        None => scan(dir, |slot, bytes| {
            Ok(matches!(decode_dirent(bytes), Ok(None)).then_some(slot))
        })?,
    };
    let (slot, result) = match free {
        Some(slot) => (
            slot,
            modify_slot(dir, slot, |bytes| {
                encode_dirent(bytes, ino, file_type, name).map_err(name_errno)
            }),
        ),
        None => (
            blocks(dir) * SLOTS_PER_BLOCK,
            grow(sb, dir, name, ino, file_type),
        ),
    };
    // The index must match the blocks or go; a failed change may have
    // changed a block.
    if let Some(ix) = index.as_mut() {
        let slots = blocks(dir) * SLOTS_PER_BLOCK;
        if result.is_err()
            || ix
                .insert(slot, name)
                .and_then(|()| ix.cover(slots))
                .is_err()
        {
            *index = None;
        }
    }
    result
}

/// Adds a block to `dir` holding entry `name` -> `ino` in its first slot.
fn grow(sb: &SuperBlock, dir: &LockedInode<'_>, name: &[u8], ino: u32, file_type: u8) -> Result {
    let info = info_of(sb)?;
    let mut meta = dir.data().meta();
    let fb = meta.extents.end();
    if fb != blocks(dir) || fb >= MAX_FILE_BLOCKS {
        return Err(corrupt(sb, dir, "blocks disagree with its size"));
    }
    let goal = meta.extents.goal_for(fb);
    let (block, _) = info.alloc().alloc_blocks(sb, goal, 1)?;
    let result = (|| -> Result {
        let buf = Buffer::get_for_overwrite(sb, block)?;
        buf.overwrite_for(dir, |data| {
            data.fill(0);
            encode_dirent(data, ino, file_type, name).map_err(name_errno)
        })?;
        let fb32 = u32::try_from(fb).map_err(|_| EFBIG)?;
        let list = meta.extents.with_inserted(Extent::new(fb32, block, 1))?;
        meta.set_extents(sb, info, list)
    })();
    if let Err(e) = result {
        buffer::forget(sb, block);
        let _ = info.alloc().free_blocks_range(sb, block, 1);
        return Err(e);
    }
    dir.set_size((fb + 1) * u64::from(BLOCK_SIZE));
    dir.set_blocks(meta.blocks());
    drop(meta);
    dir.mark_dirty();
    Ok(())
}

/// Runs `f` on the bytes of slot `slot` of `dir`, and marks its block dirty.
fn modify_slot(dir: &Inode, slot: u64, f: impl FnOnce(&mut [u8]) -> Result) -> Result {
    let (buf, bytes) = slot_block(dir, slot)?;
    buf.modify_for(dir, |data| f(data.get_mut(bytes).ok_or(EINVAL)?))
}

/// Frees slot `slot` of `dir`.
pub(crate) fn remove(dir: &LockedInode<'_>, slot: u64) -> Result {
    let mut index = dir.data().dir_index();
    let mut indexed = index.is_some();
    let result = modify_slot(dir, slot, |bytes| {
        if let Some(ix) = index.as_mut() {
            let name = decode_dirent(bytes).ok().flatten().map(|e| e.name);
            indexed = name.is_some_and(|name| ix.remove(slot, name).is_ok());
        }
        bytes.fill(0);
        Ok(())
    });
    if result.is_err() || !indexed {
        *index = None;
    }
    result
}

/// Points the entry in slot `slot` of `dir` at `ino` (a rename over it).
pub(crate) fn retarget(dir: &LockedInode<'_>, slot: u64, ino: u32, file_type: u8) -> Result {
    modify_slot(dir, slot, |bytes| {
        let mut header = DirentHeader::from_bytes(bytes).ok_or(EINVAL)?;
        header.ino = Le32::new(ino);
        header.file_type = file_type;
        header.to_bytes(bytes).ok_or(EINVAL)
    })
}

/// `iterate_shared`: emits `.`, `..`, then the entries from the context's
/// position (2 + slot index).
pub(crate) fn readdir(dir: &Inode, ctx: &mut DirContext<'_>) -> Result {
    if !ctx.emit_dots() {
        return Ok(());
    }
    let sb = dir.super_block();
    let info = info_of(sb)?;
    let mut slot = u64::try_from(ctx.pos().saturating_sub(2)).map_err(|_| EINVAL)?;
    let total = blocks(dir).saturating_mul(SLOTS_PER_BLOCK);
    // Entries are emitted from a copy: the buffer lock is not held while the
    // names are copied to the caller (which may fault).
    let mut copy = KVec::from_elem(0u8, BLOCK_BYTES, GFP_KERNEL)?;
    while slot < total {
        let buf = Buffer::read(sb, disk_block(sb, dir, slot / SLOTS_PER_BLOCK)?)?;
        buf.read_with(|data| {
            let n = data.len().min(copy.len());
            if let (Some(dst), Some(src)) = (copy.get_mut(..n), data.get(..n)) {
                dst.copy_from_slice(src);
            }
        });
        drop(buf);
        let first = (slot % SLOTS_PER_BLOCK) as usize;
        for bytes in copy.chunks_exact(DIRENT_SIZE).skip(first) {
            if let Some(e) = decode(sb, info, dir, bytes)? {
                if !ctx.emit(e.name, e.ino.into(), e.file_type) {
                    return Ok(());
                }
            }
            slot += 1;
            ctx.set_pos(i64::try_from(slot + 2).map_err(|_| EINVAL)?);
        }
        cond_resched();
    }
    Ok(())
}
