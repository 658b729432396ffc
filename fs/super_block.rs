// SPDX-License-Identifier: GPL-2.0

//! Mounting and unmounting: the super block, its checks, and the clean flag.
//!
//! A mount reads and validates the super block, loads the bitmaps (recounting the
//! free blocks and inodes, so a stale count never matters) and the root inode. A
//! read-write mount then marks the super block dirty on disk before anything else
//! is written; unmount writes everything back and only then marks it clean, with
//! exact free counts, which is what `fsck.tsfs` expects of a clean file system.

use super::{alloc::Allocator, dio::DioStats, inode, tables, Inode, SuperBlock, Tsfs};
use crate::format::{
    self, Geometry, SbError, BLOCK_SIZE, MAX_FILE_SIZE, MAX_NAME_LEN, ROOT_INO, STATE_CLEAN,
    STATE_DIRTY, TSFS_MAGIC,
};
use crate::kapi::{
    buffer::Buffer,
    debugfs::OwnedDir,
    errno::euclean,
    fs::{NewSuperBlock, Remount, StatFs, SuperParams},
    mem::NoFsScope,
};
use kernel::{
    c_str, new_mutex,
    prelude::*,
    sync::{
        lock::{mutex::MutexBackend, Guard},
        Arc, Mutex,
    },
    types::ARef,
};

/// The state of one mounted tsfs, in the super block's `s_fs_info`.
#[pin_data]
pub(crate) struct SbInfo {
    /// Where everything is.
    pub(crate) geom: Geometry,
    /// Seed of the inode and extent block checksums.
    pub(crate) seed: u32,
    /// The super block as read at mount: the fixed fields of every later write.
    disk: format::SuperBlock,
    #[pin]
    alloc: Mutex<Allocator>,
    /// Direct IO counters, shown in `/sys/kernel/debug/tsfs/<dev>/dio_stats`.
    pub(crate) dio: Arc<DioStats>,
    _debugfs: OwnedDir<DioStats>,
}

/// The allocator, locked, with file system reclaim kept out (tsfs's own inode
/// eviction takes this lock).
pub(crate) struct AllocGuard<'a> {
    guard: Guard<'a, Allocator, MutexBackend>,
    _nofs: NoFsScope,
}

impl core::ops::Deref for AllocGuard<'_> {
    type Target = Allocator;
    fn deref(&self) -> &Allocator {
        &self.guard
    }
}

impl core::ops::DerefMut for AllocGuard<'_> {
    fn deref_mut(&mut self) -> &mut Allocator {
        &mut self.guard
    }
}

/// The state of the mounted tsfs `sb`; `EINVAL` while it is being set up.
pub(crate) fn info_of(sb: &SuperBlock) -> Result<&SbInfo> {
    sb.data().map(Pin::get_ref)
}

impl SbInfo {
    /// Locks the allocator.
    pub(crate) fn alloc(&self) -> AllocGuard<'_> {
        let nofs = NoFsScope::new();
        AllocGuard {
            guard: self.alloc.lock(),
            _nofs: nofs,
        }
    }
}

/// The errno for a refused super block: not tsfs at all is `EINVAL`, as for any
/// file system type that does not recognise a device; a damaged one is `EUCLEAN`.
fn sb_errno(e: SbError) -> Error {
    match e {
        SbError::BadMagic | SbError::UnsupportedVersion | SbError::DeviceTooSmall => EINVAL,
        _ => euclean(),
    }
}

/// Reads and checks the super block.
fn read_super(sb: &SuperBlock) -> Result<(format::SuperBlock, Geometry)> {
    let buf = Buffer::read(sb, 0).inspect_err(|_| {
        pr_err!("{}: cannot read the super block\n", sb.id());
    })?;
    let disk = buf.read_with(format::SuperBlock::from_bytes).ok_or(EIO)?;
    match disk.validate(sb.device_bytes()) {
        Ok(geom) => Ok((disk, geom)),
        Err(e) => {
            pr_err!("{}: refusing to mount: {}\n", sb.id(), e.description());
            Err(sb_errno(e))
        }
    }
}

/// Sets up a new super block and returns the root inode.
pub(crate) fn fill_super(new: &NewSuperBlock<'_, Tsfs>) -> Result<ARef<Inode>> {
    let sb = new.sb();
    new.set_block_size(BLOCK_SIZE).inspect_err(|_| {
        pr_err!(
            "{}: the device cannot do {}-byte blocks\n",
            sb.id(),
            BLOCK_SIZE
        );
    })?;
    let (disk, geom) = read_super(sb)?;
    let alloc = Allocator::load(sb, &geom, disk.next_generation.get())?;
    if disk.state.get() != STATE_CLEAN {
        pr_info!(
            "{}: was not cleanly unmounted; free counts recomputed\n",
            sb.id()
        );
    }
    new.configure(
        &SuperParams {
            magic: TSFS_MAGIC,
            max_bytes: MAX_FILE_SIZE,
            uuid: disk.uuid,
        },
        tables::SUPER,
    );
    let dio = Arc::new(DioStats::default(), GFP_KERNEL)?;
    let debugfs = OwnedDir::new_in_root(sb.id(), dio.clone());
    debugfs.create_file(c_str!("dio_stats"), 0o444);
    let info = KBox::pin_init(
        pin_init!(SbInfo {
            geom,
            seed: disk.checksum_seed(),
            disk,
            alloc <- new_mutex!(alloc, "tsfs_alloc"),
            dio,
            _debugfs: debugfs,
        }),
        GFP_KERNEL,
    )?;
    new.set_data(info);
    let root = inode::iget(sb, ROOT_INO)?;
    if !root.is_dir() {
        pr_err!("{}: the root inode is not a directory\n", sb.id());
        return Err(euclean());
    }
    if !sb.is_read_only() {
        write_super(sb, STATE_DIRTY, true)?;
    }
    Ok(root)
}

/// Writes the super block with the current free counts and `state`; with
/// `sync`, waits until it is on disk.
fn write_super(sb: &SuperBlock, state: u32, sync: bool) -> Result {
    let info = info_of(sb)?;
    let mut disk = info.disk;
    {
        let alloc = info.alloc();
        disk.free_blocks = format::Le64::new(alloc.free_blocks());
        disk.free_inodes =
            format::Le32::new(u32::try_from(alloc.free_inodes()).unwrap_or(u32::MAX));
        disk.next_generation = format::Le32::new(alloc.next_generation());
    }
    disk.state = format::Le32::new(state);
    disk.update_checksum();
    let buf = Buffer::read(sb, 0)?;
    buf.modify(|data| disk.to_bytes(data)).ok_or(EIO)?;
    if sync {
        buf.sync()?;
    }
    Ok(())
}

/// Unmount, after every inode was written and evicted: puts everything on disk,
/// then marks the file system clean.
pub(crate) fn put_super(sb: &SuperBlock) {
    if let Ok(info) = info_of(sb) {
        super::dio_async::wait_idle(&info.dio);
    }
    if sb.is_read_only() {
        return;
    }
    let result = sb
        .sync_device()
        .and_then(|()| write_super(sb, STATE_CLEAN, true))
        .and_then(|()| sb.flush_device());
    if let Err(e) = result {
        pr_err!(
            "{}: unmount could not write everything back (error {}); fsck needed\n",
            sb.id(),
            e.to_errno()
        );
    }
}

/// `sync_fs`: the super block's counts go to disk (still marked dirty).
pub(crate) fn sync_fs(sb: &SuperBlock, wait: bool) -> Result {
    if sb.is_read_only() {
        return Ok(());
    }
    write_super(sb, STATE_DIRTY, wait)
}

/// A remount: marks the file system clean when it becomes read-only, dirty when
/// it becomes writable.
pub(crate) fn reconfigure(sb: &Remount<'_, Tsfs>, read_only: bool) -> Result {
    match (sb.is_read_only(), read_only) {
        (false, true) => {
            sb.sync_all()?;
            write_super(sb, STATE_CLEAN, true)?;
            sb.flush_device()
        }
        (true, false) => write_super(sb, STATE_DIRTY, true),
        _ => Ok(()),
    }
}

/// Usage figures for `statfs`.
pub(crate) fn statfs(sb: &SuperBlock) -> Result<StatFs> {
    let info = info_of(sb)?;
    let alloc = info.alloc();
    let uuid = info.disk.uuid;
    let mut fsid = [0u8; 8];
    for (i, b) in uuid.iter().enumerate() {
        if let Some(slot) = fsid.get_mut(i % 8) {
            *slot ^= b;
        }
    }
    Ok(StatFs {
        magic: TSFS_MAGIC,
        block_size: BLOCK_SIZE,
        blocks: info.geom.total_blocks,
        free_blocks: alloc.free_blocks(),
        files: u64::from(info.geom.inode_count) - 1,
        free_files: alloc.free_inodes(),
        name_len: MAX_NAME_LEN as u32,
        fsid: u64::from_le_bytes(fsid),
    })
}
