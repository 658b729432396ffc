// SPDX-License-Identifier: GPL-2.0

//! Inodes: tsfs's per-inode state, loading and checking inodes from the inode
//! table, writing them back, creating them, and freeing an unlinked one.

use super::{
    dir_index::DirIndex, extent_blocks::ExtentBlocks, extents::ExtentList, super_block::info_of,
    tables, Inode, NewInode, SbInfo, SuperBlock,
};
use crate::format::{
    check_extents, decode_dev, encode_dev, is_special, Extent, Le16, Le32, Le64, Timestamp,
    BLOCK_SIZE, INLINE_EXTENTS, MAX_EXTENTS, S_IFDIR, S_IFLNK, S_IFMT,
};
use crate::kapi::{
    buffer::{self, Buffer},
    errno::euclean,
    fs::{special::DeviceNumber, Idmap, Iget, Timespec},
    mem::NoFsScope,
    sync::mutex::{Mutex, MutexGuard},
};
use crate::locking::{GateMode, TwoStateLock};
use core::sync::atomic::{
    AtomicBool, AtomicU8,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use kernel::{c_str, prelude::*, types::ARef};

/// The gate mode of inodes created from now on (0 on, 1 deadline 10 ms, 2 off):
/// `/sys/kernel/debug/tsfs/inode_lock_gate`, for benchmarks comparing them. On is
/// the default and the only mode meant for use.
pub(crate) static INODE_GATE_MODE: AtomicU8 = AtomicU8::new(0);

fn inode_gate_mode() -> GateMode {
    match INODE_GATE_MODE.load(Relaxed) {
        1 => GateMode::Deadline,
        2 => GateMode::Off,
        _ => GateMode::On,
    }
}

/// What kind of file an inode is, which decides its operations.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum InodeKind {
    Directory,
    Regular,
    Symlink,
    /// A device (numbered `dev`), pipe or socket: the VFS serves its opens.
    Special {
        dev: DeviceNumber,
    },
}

/// Gives a new inode the operations of its kind.
fn set_kind(new: &NewInode, kind: InodeKind) {
    match kind {
        InodeKind::Directory => {
            new.set_inode_ops(tables::DIR_INODE);
            new.set_file_ops(tables::DIR_FILE);
        }
        InodeKind::Regular => {
            new.set_inode_ops(tables::REG_INODE);
            new.set_file_ops(tables::REG_FILE);
            new.set_aops(tables::PAGES);
        }
        InodeKind::Symlink => {
            new.set_page_symlink();
            new.set_aops(tables::PAGES);
        }
        InodeKind::Special { dev } => {
            new.set_inode_ops(tables::SPECIAL_INODE);
            new.init_special(new.mode(), dev);
        }
    }
}

/// What tsfs keeps about an inode besides the VFS inode's own fields.
///
/// # Invariants
///
/// `ext_blocks` are at least as many as `extents` needs
/// (`format::extent_blocks_needed`), so the list can always be stored.
pub(crate) struct InodeMeta {
    /// Where the file's blocks are.
    pub(crate) extents: ExtentList,
    /// The blocks holding the extents past the inline ones.
    pub(crate) ext_blocks: ExtentBlocks,
    /// For a directory, the directory holding it; 0 for other files.
    pub(crate) parent: u32,
}

/// tsfs's part of an inode, embedded next to the VFS inode.
#[pin_data]
pub(crate) struct InodeData {
    /// The page cache lock: page faults take it in *add*; truncation (and direct
    /// IO, in a later version) in *block*, to keep faults from mapping pages or
    /// allocating blocks while the file's blocks change.
    #[pin]
    pub(crate) pagecache: TwoStateLock,
    /// Extents and the other fields above. Taken inside the page cache lock, the
    /// inode lock and folio locks, and outside the allocator lock.
    #[pin]
    meta: Mutex<InodeMeta>,
    /// What changed since the inode was last written synchronously: the
    /// [`unsynced`] bits, set when the VFS marks the inode dirty and cleared when
    /// `write_inode` writes it and waits. Asynchronous write-back leaves them:
    /// the block it dirties may still be only in memory.
    unsynced: AtomicU8,
    /// Serialises synchronous writes of the inode (fs/fsync.rs), so that one
    /// that finds nothing unsynced knows that any earlier one has finished.
    #[pin]
    sync_lock: Mutex<()>,
    /// The inode got a new name (created, linked, renamed) since its last
    /// `fsync`, which then syncs the directory holding it too.
    new_name: AtomicBool,
    /// For a large directory, the index of its names once a search built it
    /// (`dir_index.rs`). Taken outside the metadata lock.
    #[pin]
    dir_index: Mutex<Option<DirIndex>>,
}

/// Bits of [`InodeData`]'s unsynced state.
pub(crate) mod unsynced {
    /// Some field of the inode changed.
    pub(crate) const INODE: u8 = 1;
    /// A field that `fdatasync` must write changed (size, block map, link
    /// count, mode...: anything but the timestamps).
    pub(crate) const DATASYNC: u8 = 2;
}

/// [`InodeMeta`], locked, with file system reclaim kept out (eviction takes the
/// metadata lock of the inode it evicts).
pub(crate) struct MetaGuard<'a> {
    guard: MutexGuard<'a, InodeMeta>,
    _nofs: NoFsScope,
}

impl core::ops::Deref for MetaGuard<'_> {
    type Target = InodeMeta;
    fn deref(&self) -> &InodeMeta {
        &self.guard
    }
}

impl core::ops::DerefMut for MetaGuard<'_> {
    fn deref_mut(&mut self) -> &mut InodeMeta {
        &mut self.guard
    }
}

impl InodeData {
    /// The state of a fresh in-memory inode; loading or creating fills it in.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            pagecache <- crate::new_two_state_lock!(inode_gate_mode(), 10, "tsfs_inode_pagecache"),
            meta <- Mutex::new(
                InodeMeta {
                    extents: ExtentList::new(),
                    ext_blocks: ExtentBlocks::new(),
                    parent: 0,
                },
                c_str!("tsfs_inode_meta"),
                crate::tsfs_static_class_key!(),
            ),
            unsynced: AtomicU8::new(0),
            sync_lock <- Mutex::new((), c_str!("tsfs_inode_sync"), crate::tsfs_static_class_key!()),
            new_name: AtomicBool::new(false),
            dir_index <- Mutex::new(None, c_str!("tsfs_dir_index"), crate::tsfs_static_class_key!()),
        }? Error)
    }

    /// The VFS marked the inode dirty; `datasync` if more than its timestamps.
    pub(crate) fn note_dirty(&self, datasync: bool) {
        let bits = if datasync {
            unsynced::INODE | unsynced::DATASYNC
        } else {
            unsynced::INODE
        };
        self.unsynced.fetch_or(bits, AcqRel);
    }

    /// The [`unsynced`] bits now.
    pub(crate) fn unsynced(&self) -> u8 {
        self.unsynced.load(Acquire)
    }

    /// Whether something `fdatasync` must write changed since the inode was last
    /// written synchronously.
    pub(crate) fn datasync_dirty(&self) -> bool {
        self.unsynced() & unsynced::DATASYNC != 0
    }

    /// Takes the unsynced bits (for a synchronous write of the inode, which
    /// holds [`InodeData::lock_sync`]); [`InodeData::restore_unsynced`] gives them
    /// back if the write fails.
    pub(crate) fn take_unsynced(&self) -> u8 {
        self.unsynced.swap(0, AcqRel)
    }

    /// Gives back bits from [`InodeData::take_unsynced`] after a failed write.
    pub(crate) fn restore_unsynced(&self, bits: u8) {
        self.unsynced.fetch_or(bits, AcqRel);
    }

    /// The inode got a new name in a directory.
    pub(crate) fn note_new_name(&self) {
        self.new_name.store(true, Release);
    }

    /// Whether the inode got a new name since the last call; clears it.
    pub(crate) fn take_new_name(&self) -> bool {
        self.new_name.swap(false, AcqRel)
    }

    /// Locks the directory's name index (`None`: not built).
    pub(crate) fn dir_index(&self) -> MutexGuard<'_, Option<DirIndex>> {
        self.dir_index.lock()
    }

    /// Locks out other synchronous writes of the inode.
    pub(crate) fn lock_sync(&self) -> MutexGuard<'_, ()> {
        self.sync_lock.lock()
    }

    /// Locks the metadata.
    pub(crate) fn meta(&self) -> MetaGuard<'_> {
        let nofs = NoFsScope::new();
        MetaGuard {
            guard: self.meta.lock(),
            _nofs: nofs,
        }
    }

    /// Locks the metadata if that needs no waiting (`IOMAP_NOWAIT`).
    pub(crate) fn try_meta(&self) -> Option<MetaGuard<'_>> {
        let nofs = NoFsScope::new();
        Some(MetaGuard {
            guard: self.meta.try_lock()?,
            _nofs: nofs,
        })
    }
}

impl InodeMeta {
    /// Disk blocks the inode owns: its extents and its extent blocks.
    pub(crate) fn blocks(&self) -> u64 {
        self.extents.mapped_blocks() + self.ext_blocks.count()
    }

    /// Installs `list`, allocating or freeing extent blocks as its length
    /// needs. On error (`ENOSPC` for an extent block) nothing changed; after a
    /// [`InodeMeta::reserve_extent_blocks`] for `list`, it cannot fail.
    pub(crate) fn set_extents(
        &mut self,
        sb: &SuperBlock,
        info: &SbInfo,
        list: ExtentList,
    ) -> Result {
        self.reserve_extent_blocks(sb, info, &list)?;
        self.extents = list;
        self.drop_unneeded_extent_blocks(sb, info);
        Ok(())
    }

    /// Allocates the extent blocks that `list` needs beyond those the inode
    /// has: for a change that must not fail once it has begun.
    pub(crate) fn reserve_extent_blocks(
        &mut self,
        sb: &SuperBlock,
        info: &SbInfo,
        list: &ExtentList,
    ) -> Result {
        self.ext_blocks.reserve(sb, info, list.len())
    }

    /// Frees the extent blocks that the extents do not need (after they
    /// shrank, or when a reservation was not used).
    pub(crate) fn drop_unneeded_extent_blocks(&mut self, sb: &SuperBlock, info: &SbInfo) {
        self.ext_blocks.shrink(sb, info, self.extents.len());
    }

    /// Gives back the disk blocks of file blocks `first_block` and up.
    pub(crate) fn free_blocks_from(
        &mut self,
        sb: &SuperBlock,
        info: &SbInfo,
        first_block: u64,
    ) -> Result {
        if self.extents.end() <= first_block {
            return Ok(());
        }
        let (kept, released) = self.extents.truncated(first_block)?;
        self.set_extents(sb, info, kept)?;
        let mut alloc = info.alloc();
        for &(start, len) in released.iter() {
            // Failures are corruption, already reported; keep freeing the rest.
            let _ = alloc.free_blocks_range(sb, start, len);
        }
        Ok(())
    }
}

fn timespec(t: &Timestamp) -> Timespec {
    Timespec {
        sec: t.seconds(),
        nsec: t.nsec.get().min(999_999_999),
    }
}

fn timestamp(t: Timespec) -> Timestamp {
    Timestamp::new(t.sec, t.nsec)
}

/// Inode `ino`, from the inode cache or loaded from disk. `EUCLEAN` (with a log
/// line) if the number is out of range or the inode on disk is damaged.
pub(crate) fn iget(sb: &SuperBlock, ino: u32) -> Result<ARef<Inode>> {
    let info = info_of(sb)?;
    if ino == 0 || ino >= info.geom.inode_count {
        pr_err!("{}: inode number {} out of range\n", sb.id(), ino);
        return Err(euclean());
    }
    match sb.iget(ino.into())? {
        Iget::Cached(inode) => Ok(inode),
        Iget::New(new) => {
            // On error, dropping `new` marks the inode bad and releases it.
            load(sb, info, &new, ino)?;
            Ok(new.publish())
        }
    }
}

/// Reads inode `ino` into `new`, checking everything that can be checked
/// without reading other inodes.
fn load(sb: &SuperBlock, info: &SbInfo, new: &NewInode, ino: u32) -> Result {
    let bad = |what: &str| {
        pr_err!("{}: inode {}: {}\n", sb.id(), ino, what);
        euclean()
    };
    if !info.alloc().inode_in_use(ino) {
        return Err(bad("in a directory but marked free"));
    }
    let (block, offset) = info.geom.inode_location(ino).ok_or(EINVAL)?;
    let disk = Buffer::read(sb, block)?
        .read_with(|data| {
            data.get(offset..)
                .and_then(crate::format::Inode::from_bytes)
        })
        .ok_or(EIO)?;
    disk.validate(info.seed, ino, &info.geom)
        .map_err(|e| bad(e.description()))?;
    let nlink = disk.nlink.get();
    if nlink == 0 || (disk.is_dir() && nlink < 2) {
        return Err(bad("link count too low"));
    }
    let mut items = KVVec::new();
    items.extend_from_slice(disk.inline_extents(), GFP_KERNEL)?;
    let ext_blocks = ExtentBlocks::load(sb, info, ino, disk.overflow_block.get(), &mut items, bad)?;
    if items.len() > MAX_EXTENTS {
        return Err(bad("more extents than a file may have"));
    }
    let mapped =
        check_extents(items.iter().copied(), &info.geom).map_err(|e| bad(e.description()))?;
    if mapped + ext_blocks.count() != disk.blocks.get() {
        return Err(bad("block count disagrees with its extents"));
    }
    let size = disk.size.get();
    let kind = match disk.mode.get() & S_IFMT {
        S_IFDIR => {
            check_directory_extents(&items, size)
                .map_err(|()| bad("directory blocks disagree with its size"))?;
            let parent = disk.parent.get();
            if parent == 0 || parent >= info.geom.inode_count {
                return Err(bad("parent directory out of range"));
            }
            InodeKind::Directory
        }
        S_IFLNK => {
            if !(1..u64::from(BLOCK_SIZE)).contains(&size) {
                return Err(bad("symbolic link size out of range"));
            }
            InodeKind::Symlink
        }
        mode if is_special(mode) => {
            let (major, minor) = decode_dev(disk.rdev.get());
            let dev = DeviceNumber::new(major, minor).ok_or_else(|| bad("bad device number"))?;
            InodeKind::Special { dev }
        }
        _ => InodeKind::Regular,
    };
    // Unwritten blocks (preallocated with FALLOC_FL_KEEP_SIZE) may lie past
    // the end of the file; written ones may not.
    let eof_block = size.div_ceil(BLOCK_SIZE.into());
    if items
        .iter()
        .rev()
        .find(|e| !e.is_unwritten())
        .is_some_and(|e| u64::from(e.file_block.get()) >= eof_block)
    {
        return Err(bad("extent past the end of the file"));
    }
    new.set_mode(disk.mode.get());
    new.set_owner(disk.uid.get(), disk.gid.get());
    new.set_nlink(nlink);
    new.set_size(size);
    new.set_times([
        timespec(&disk.atime),
        timespec(&disk.mtime),
        timespec(&disk.ctime),
    ]);
    new.set_generation(disk.generation.get());
    new.set_blocks(disk.blocks.get());
    set_kind(new, kind);
    // The block just read may be a dirty buffer that write-back filled without
    // waiting before an earlier copy of the inode left memory: the first fsync
    // writes the inode and its bitmap blocks whatever changed.
    new.data().note_dirty(true);
    let mut meta = new.data().meta();
    meta.extents = ExtentList::from_checked(items)?;
    meta.ext_blocks = ext_blocks;
    meta.parent = disk.parent.get();
    Ok(())
}

/// A directory maps every block of its size, from block 0, without holes.
fn check_directory_extents(extents: &[Extent], size: u64) -> core::result::Result<(), ()> {
    let block = u64::from(BLOCK_SIZE);
    if size % block != 0 {
        return Err(());
    }
    let mut next = 0;
    for e in extents {
        if u64::from(e.file_block.get()) != next {
            return Err(());
        }
        next = e.file_end();
    }
    if next == size / block {
        Ok(())
    } else {
        Err(())
    }
}

/// `write_inode`: stores the inode (and its extent blocks) in the buffer cache;
/// with `sync`, writes it with what it needs on disk and waits (fs/fsync.rs).
pub(crate) fn write_inode(inode: &Inode, sync: bool) -> Result {
    if sync {
        let guard = inode.data().lock_sync();
        super::fsync::write_synced(inode, &guard)
    } else {
        store_inode(inode, false)
    }
}

/// Stores the inode (and its extent blocks) in the buffer cache; with `sync`,
/// writes them and waits.
pub(crate) fn store_inode(inode: &Inode, sync: bool) -> Result {
    let sb = inode.super_block();
    let info = info_of(sb)?;
    let ino = u32::try_from(inode.ino()).map_err(|_| EINVAL)?;
    let (block, offset) = info.geom.inode_location(ino).ok_or(EINVAL)?;
    let (uid, gid) = inode.owner();
    let [atime, mtime, ctime] = inode.times();
    let mut disk =
        crate::format::Inode::new(inode.mode(), uid, gid, inode.nlink(), timestamp(atime));
    disk.mtime = timestamp(mtime);
    disk.ctime = timestamp(ctime);
    disk.size = Le64::new(inode.size());
    disk.generation = Le32::new(inode.generation());
    if is_special(inode.mode()) {
        let dev = inode.device_number();
        // Always encodable: both parts are within the kernel's ranges, which are
        // the encoding's.
        disk.rdev = Le32::new(encode_dev(dev.major(), dev.minor()).unwrap_or(0));
    }
    let meta = inode.data().meta();
    disk.blocks = Le64::new(meta.blocks());
    disk.parent = Le32::new(meta.parent);
    let all = meta.extents.as_slice();
    let (inline, rest) = all.split_at(all.len().min(INLINE_EXTENTS));
    for (i, e) in inline.iter().enumerate() {
        if let Some(slot) = disk.extents.get_mut(i) {
            *slot = *e;
        }
    }
    disk.extent_count = Le16::new(inline.len() as u16);
    let overflow = meta.ext_blocks.store(sb, info, ino, rest, sync)?;
    disk.overflow_block = Le64::new(overflow);
    drop(meta);
    disk.update_checksum(info.seed, ino);
    let buf = Buffer::read(sb, block)?;
    buf.modify(|data| data.get_mut(offset..).and_then(|slot| disk.to_bytes(slot)))
        .ok_or(EIO)?;
    if sync {
        buf.sync()?;
    }
    Ok(())
}

/// A new inode of `kind` with `mode` (type bits included), owned by the caller,
/// for a file being created in `dir`. `ENOSPC` if no inode is free.
pub(crate) fn create(dir: &Inode, idmap: &Idmap, mode: u16, kind: InodeKind) -> Result<NewInode> {
    let sb = dir.super_block();
    let info = info_of(sb)?;
    let parent = u32::try_from(dir.ino()).map_err(|_| EINVAL)?;
    let (ino, generation) = info.alloc().alloc_inode(sb)?;
    let new = match sb.new_inode(ino.into()) {
        Ok(new) => new,
        Err(e) => {
            let _ = info.alloc().free_inode(sb, ino);
            return Err(e);
        }
    };
    new.init_owner(idmap, dir, mode);
    new.init_times_now();
    new.set_generation(generation);
    set_kind(&new, kind);
    new.set_blocks(0);
    if kind == InodeKind::Directory {
        new.set_nlink(2);
        new.data().meta().parent = parent;
    }
    new.mark_dirty();
    Ok(new)
}

/// Eviction: an inode without links gives its blocks and number back. Errors
/// are logged by the allocator; eviction cannot fail.
pub(crate) fn evict(inode: &Inode) {
    if inode.is_bad() || inode.nlink() != 0 {
        return;
    }
    let sb = inode.super_block();
    let (Ok(info), Ok(ino)) = (info_of(sb), u32::try_from(inode.ino())) else {
        return;
    };
    let mut meta = inode.data().meta();
    if inode.is_dir() || inode.mode() & S_IFMT == S_IFLNK {
        // Directory blocks (and a symbolic link's, written through the buffer
        // cache) are cached buffers: a dirty one must not be written over
        // whatever the block holds next.
        for e in meta.extents.as_slice() {
            for block in e.disk_block()..e.disk_end() {
                buffer::forget(sb, block);
            }
        }
    }
    if let Err(e) = meta.free_blocks_from(sb, info, 0) {
        pr_err!(
            "{}: inode {}: could not free its blocks (error {})\n",
            sb.id(),
            ino,
            e.to_errno()
        );
    }
    // Extent blocks kept spare by a change that was given up go too.
    meta.drop_unneeded_extent_blocks(sb, info);
    drop(meta);
    let _ = info.alloc().free_inode(sb, ino);
}
