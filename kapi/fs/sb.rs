// SPDX-License-Identifier: GPL-2.0

//! Super blocks: the safe view of a mounted filesystem, and its
//! `super_operations`, built from a [`sb::Operations`](Operations) implementer.

use super::{inode, FileSystem, INode};
use core::{marker::PhantomData, ops::Deref, ptr::addr_of};
use kernel::{
    bindings,
    error::{from_result, to_result, VTABLE_DEFAULT_ERROR},
    ffi::{c_int, c_uint},
    prelude::*,
    str::CStr,
    types::{ForeignOwnable, Opaque},
};

// bindgen's structs stand for C structs, a few of which hold config-dependent
// empty structs; only pointers to them cross this boundary.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_bdev_nr_bytes(bdev: *mut bindings::block_device) -> bindings::loff_t;
    fn tsfs_sb_rdonly(sb: *const bindings::super_block) -> bool;
    fn tsfs_super_set_uuid(sb: *mut bindings::super_block, uuid: *const u8, len: u32);
    fn tsfs_bdev_logical_block_size(bdev: *mut bindings::block_device) -> c_uint;
    fn tsfs_bdev_dma_alignment(bdev: *mut bindings::block_device) -> c_uint;
}

/// A super block of filesystem type `T`.
///
/// # Invariants
///
/// The wrapped `super_block` is live, of type `T`, with a block device. Its
/// `s_fs_info` is null or comes from `T::Data::into_foreign` (by
/// [`NewSuperBlock::set_data`]), and stays valid until `kill_sb` takes it back
/// after every other callback of the super block has finished.
#[repr(transparent)]
pub(crate) struct SuperBlock<T: FileSystem>(Opaque<bindings::super_block>, PhantomData<T>);

// SAFETY: the VFS shares super blocks between tasks; the methods only call
// functions that do their own locking, or read fields fixed at mount; `T::Data`
// is `Send + Sync`.
unsafe impl<T: FileSystem> Sync for SuperBlock<T> {}
// SAFETY: as above; a `SuperBlock` is only ever used by reference.
unsafe impl<T: FileSystem> Send for SuperBlock<T> {}

impl<T: FileSystem> SuperBlock<T> {
    /// # Safety
    ///
    /// `ptr` satisfies the type invariants for `'a`.
    pub(in crate::kapi) unsafe fn from_raw<'a>(ptr: *mut bindings::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper; the caller vouches for `ptr`.
        unsafe { &*ptr.cast::<Self>() }
    }

    pub(in crate::kapi) fn as_ptr(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    pub(in crate::kapi) fn bdev(&self) -> *mut bindings::block_device {
        // SAFETY: `s_bdev` is set before the filesystem sees the super block and
        // never changes while it lives (type invariant).
        unsafe { (*self.as_ptr()).s_bdev }
    }

    /// The device's name, for log lines.
    pub(crate) fn id(&self) -> &CStr {
        // SAFETY: `s_id` is a NUL-terminated name set before the filesystem sees the
        // super block and not changed afterwards.
        unsafe { CStr::from_char_ptr(addr_of!((*self.as_ptr()).s_id).cast()) }
    }

    /// The filesystem's data; `EINVAL` before [`NewSuperBlock::set_data`].
    pub(crate) fn data(&self) -> Result<<T::Data as ForeignOwnable>::Borrowed<'_>> {
        // SAFETY: the super block is live (type invariant).
        let ptr = unsafe { (*self.as_ptr()).s_fs_info };
        if ptr.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: a non-null `s_fs_info` came from `T::Data::into_foreign`, and
        // `from_foreign` runs only in `kill_sb`, after every user of `&self` (type
        // invariant), so the borrow cannot outlive the data.
        Ok(unsafe { T::Data::borrow(ptr) })
    }

    /// Takes the data back and drops it.
    ///
    /// # Safety
    ///
    /// `sb` is a super block of type `T` whose callbacks have all finished and will
    /// not run again (after `kill_block_super`).
    pub(super) unsafe fn free_data(sb: *mut bindings::super_block) {
        // SAFETY: the caller says nothing else uses `sb` now.
        let ptr = unsafe { core::mem::take(&mut (*sb).s_fs_info) };
        // SAFETY: null, or from `into_foreign` (type invariant) and no longer
        // borrowed by anyone.
        drop(unsafe { T::Data::try_from_foreign(ptr) });
    }

    /// Whether the filesystem is mounted read-only.
    pub(crate) fn is_read_only(&self) -> bool {
        // SAFETY: reads the flags of a live super block.
        unsafe { tsfs_sb_rdonly(self.as_ptr()) }
    }

    /// Size of the block device in bytes.
    pub(crate) fn device_bytes(&self) -> u64 {
        // SAFETY: the device is live as long as the super block (type invariant).
        let bytes = unsafe { tsfs_bdev_nr_bytes(self.bdev()) };
        u64::try_from(bytes).unwrap_or(0)
    }

    /// The device's logical block size: the unit of direct IO file offsets and
    /// lengths.
    pub(crate) fn logical_block_size(&self) -> u32 {
        // SAFETY: the device is live as long as the super block (type invariant).
        unsafe { tsfs_bdev_logical_block_size(self.bdev()) }
    }

    /// The alignment the device needs of direct IO memory (a power of two).
    pub(crate) fn dma_alignment(&self) -> u32 {
        // SAFETY: as above. The C value is a mask (alignment minus one).
        unsafe { tsfs_bdev_dma_alignment(self.bdev()) }.saturating_add(1)
    }

    /// Writes back every dirty buffer of the device and waits.
    pub(crate) fn sync_device(&self) -> Result {
        // SAFETY: the device is live (type invariant); this may sleep.
        to_result(unsafe { bindings::sync_blockdev(self.bdev()) })
    }

    /// Asks the device to make written data durable (a cache flush).
    pub(crate) fn flush_device(&self) -> Result {
        // SAFETY: the device is live (type invariant); this may sleep.
        to_result(unsafe { bindings::blkdev_issue_flush(self.bdev()) })
    }

    /// Writes zeros to `count` blocks of `block_bytes` bytes from block `start`,
    /// and waits. (Its bios are allocated with `GFP_KERNEL`; call it under locks
    /// that reclaim takes only inside a `NoFsScope`, which makes that `GFP_NOFS`.)
    pub(crate) fn zero_blocks(&self, start: u64, count: u64, block_bytes: u32) -> Result {
        let sectors_per_block = u64::from(block_bytes >> bindings::SECTOR_SHIFT);
        let sector = start.checked_mul(sectors_per_block).ok_or(EINVAL)?;
        let sectors = count.checked_mul(sectors_per_block).ok_or(EINVAL)?;
        // SAFETY: the device is live (type invariant); the range is checked by the
        // block layer against the device size; this may sleep.
        to_result(unsafe {
            bindings::blkdev_issue_zeroout(self.bdev(), sector, sectors, bindings::GFP_KERNEL, 0)
        })
    }
}

/// A super block being remounted: the VFS holds its `s_umount`.
///
/// # Invariants
///
/// `sb` is in a `reconfigure` call, with `s_umount` held for `'a`.
pub(crate) struct Remount<'a, T: FileSystem> {
    sb: &'a SuperBlock<T>,
}

impl<'a, T: FileSystem> Remount<'a, T> {
    /// # Safety
    ///
    /// `sb` satisfies the type invariants for `'a`.
    pub(in crate::kapi) unsafe fn from_raw(sb: *mut bindings::super_block) -> Self {
        // SAFETY: the caller vouches for `sb`.
        let sb = unsafe { SuperBlock::from_raw(sb) };
        // INVARIANT: the caller's guarantee.
        Remount { sb }
    }

    /// Writes back everything of the filesystem (inodes, pages, buffers) and waits.
    pub(crate) fn sync_all(&self) -> Result {
        // SAFETY: the super block is live and `s_umount` is held (type invariant).
        to_result(unsafe { bindings::sync_filesystem(self.sb.as_ptr()) })
    }
}

impl<T: FileSystem> Deref for Remount<'_, T> {
    type Target = SuperBlock<T>;
    fn deref(&self) -> &SuperBlock<T> {
        self.sb
    }
}

/// What the filesystem tells the VFS about itself at mount.
pub(crate) struct SuperParams {
    pub(crate) magic: u32,
    pub(crate) max_bytes: u64,
    pub(crate) uuid: [u8; 16],
}

/// A super block that `fill_super` is setting up.
///
/// # Invariants
///
/// `sb` is in `fill_super`, owned by the caller: nothing else uses it yet.
pub(crate) struct NewSuperBlock<'a, T: FileSystem> {
    sb: &'a SuperBlock<T>,
}

impl<'a, T: FileSystem> NewSuperBlock<'a, T> {
    /// # Safety
    ///
    /// `sb` is a super block of type `T` in `fill_super`, with a block device, live
    /// for `'a`.
    pub(in crate::kapi) unsafe fn from_raw(sb: *mut bindings::super_block) -> Self {
        // SAFETY: the caller vouches for `sb`.
        let sb = unsafe { SuperBlock::from_raw(sb) };
        NewSuperBlock { sb }
    }

    /// The super block, for reading blocks.
    pub(crate) fn sb(&self) -> &'a SuperBlock<T> {
        self.sb
    }

    /// Sets the block size; `EINVAL` if the device cannot do it (its logical block
    /// size is larger).
    pub(crate) fn set_block_size(&self, bytes: u32) -> Result {
        let size = i32::try_from(bytes).map_err(|_| EINVAL)?;
        // SAFETY: the super block is being set up by us (type invariant).
        if unsafe { bindings::sb_set_blocksize(self.sb.as_ptr(), size) } == 0 {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Fills in the VFS's view of the filesystem and its super block operations.
    pub(crate) fn configure(&self, p: &SuperParams, ops: Ops<T>) {
        let sb = self.sb.as_ptr();
        // SAFETY: the super block is being set up by us (type invariant); every
        // value written is valid for its field, and the operations are static.
        unsafe {
            (*sb).s_magic = p.magic as kernel::ffi::c_ulong;
            (*sb).s_maxbytes = i64::try_from(p.max_bytes).unwrap_or(i64::MAX);
            (*sb).s_time_gran = 1;
            (*sb).s_time_min = i64::MIN;
            (*sb).s_time_max = i64::MAX;
            (*sb).s_op = ops.get();
            tsfs_super_set_uuid(sb, p.uuid.as_ptr(), 16);
        }
    }

    /// Hands `data` to the super block; `kill_sb` drops it.
    pub(crate) fn set_data(&self, data: T::Data) {
        let ptr = data.into_foreign();
        // SAFETY: the super block is being set up by us (type invariant); a
        // previous value would come from an earlier call, which we take back.
        // INVARIANT: `s_fs_info` now holds `into_foreign`'s pointer.
        let old = unsafe { core::mem::replace(&mut (*self.sb.as_ptr()).s_fs_info, ptr.cast_mut()) };
        // SAFETY: null, or from `into_foreign` by an earlier call, not borrowed: the
        // super block is not visible to anyone else yet.
        drop(unsafe { T::Data::try_from_foreign(old) });
    }
}

/// Filesystem usage, for `statfs`.
pub(crate) struct StatFs {
    pub(crate) magic: u32,
    pub(crate) block_size: u32,
    pub(crate) blocks: u64,
    pub(crate) free_blocks: u64,
    pub(crate) files: u64,
    pub(crate) free_files: u64,
    pub(crate) name_len: u32,
    pub(crate) fsid: u64,
}

/// Super block operations. Inodes are always allocated and freed by this layer
/// (the VFS inode and `INodeData` in one allocation).
#[vtable]
pub(crate) trait Operations {
    /// The filesystem type whose super blocks these operations serve.
    type FileSystem: FileSystem;

    /// Stores the inode's fields (write-back); with `sync`, waits until on disk.
    fn write_inode(_inode: &INode<Self::FileSystem>, _sync: bool) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The VFS marked the inode dirty (`dirty_inode`): `datasync` if what changed
    /// matters to `fdatasync` (anything but the timestamps). Called in any context
    /// that may mark an inode dirty: it must not sleep.
    fn dirty_inode(_inode: &INode<Self::FileSystem>, _datasync: bool) {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// An inode leaves memory (its page cache is already gone). Without it the
    /// VFS's default eviction applies.
    fn evict_inode(_inode: &INode<Self::FileSystem>) {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Unmount, after every inode was written and evicted.
    fn put_super(_sb: &SuperBlock<Self::FileSystem>) {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Writes the filesystem's own state; with `wait`, waits until on disk.
    fn sync_fs(_sb: &SuperBlock<Self::FileSystem>, _wait: bool) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Usage figures.
    fn statfs(_sb: &SuperBlock<Self::FileSystem>) -> Result<StatFs> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A `super_operations` table for filesystem type `T`.
pub(crate) type Ops<T> = super::OpsTable<bindings::super_operations, T>;

impl<T: FileSystem> Ops<T> {
    /// The table of `U`'s operations.
    pub(crate) const fn new<U: Operations<FileSystem = T>>() -> Self {
        Self::from_static(&Table::<U>::TABLE)
    }
}

struct Table<U>(PhantomData<U>);

impl<U: Operations> Table<U> {
    const TABLE: bindings::super_operations = {
        // SAFETY: all-zero is a valid `super_operations` (no callbacks).
        let mut ops: bindings::super_operations = unsafe { core::mem::zeroed() };
        ops.alloc_inode = Some(inode::alloc_inode::<U::FileSystem>);
        ops.free_inode = Some(inode::free_inode::<U::FileSystem>);
        if U::HAS_WRITE_INODE {
            ops.write_inode = Some(write_inode::<U>);
        }
        if U::HAS_DIRTY_INODE {
            ops.dirty_inode = Some(dirty_inode::<U>);
        }
        if U::HAS_EVICT_INODE {
            ops.evict_inode = Some(evict_inode::<U>);
        }
        if U::HAS_PUT_SUPER {
            ops.put_super = Some(put_super::<U>);
        }
        if U::HAS_SYNC_FS {
            ops.sync_fs = Some(sync_fs::<U>);
        }
        if U::HAS_STATFS {
            ops.statfs = Some(statfs::<U>);
        }
        ops
    };
}

/// # Safety
///
/// Called by the VFS with a live inode of `U`'s type and a valid `wbc`.
unsafe extern "C" fn write_inode<U: Operations>(
    inode: *mut bindings::inode,
    wbc: *mut bindings::writeback_control,
) -> c_int {
    from_result(|| {
        // SAFETY: `wbc` is valid for the call.
        let sync = unsafe { (*wbc).sync_mode } == bindings::writeback_sync_modes_WB_SYNC_ALL;
        // SAFETY: `inode` is a live inode of the type for the call.
        U::write_inode(unsafe { INode::from_raw(inode) }, sync)?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a live inode of `U`'s type and the `I_DIRTY_*` flags
/// it is being marked with.
unsafe extern "C" fn dirty_inode<U: Operations>(inode: *mut bindings::inode, flags: c_int) {
    let datasync = flags as u32 & bindings::I_DIRTY_DATASYNC != 0;
    // SAFETY: `inode` is a live inode of the type for the call.
    U::dirty_inode(unsafe { INode::from_raw(inode) }, datasync);
}

/// # Safety
///
/// Called by the VFS with an inode of `U`'s type that is being evicted: no one
/// else holds a reference, and no file or mapping of it is open.
unsafe extern "C" fn evict_inode<U: Operations>(inode: *mut bindings::inode) {
    // SAFETY: the inode is live and being evicted; its page cache goes first.
    unsafe { bindings::truncate_inode_pages_final(addr_of!((*inode).i_data).cast_mut()) };
    // SAFETY: `inode` is a live inode of the type for the call.
    U::evict_inode(unsafe { INode::from_raw(inode) });
    // SAFETY: the inode is live; its queued metadata buffers (still dirty, left to
    // the device's write-back) leave its list, which `clear_inode` wants empty.
    unsafe { bindings::invalidate_inode_buffers(inode) };
    // SAFETY: the page cache is empty and the filesystem is done with the inode.
    unsafe { bindings::clear_inode(inode) };
}

/// # Safety
///
/// Called by the VFS at unmount, after every inode was written and evicted.
unsafe extern "C" fn put_super<U: Operations>(sb: *mut bindings::super_block) {
    // SAFETY: `sb` is a live super block of the type for the call.
    U::put_super(unsafe { SuperBlock::from_raw(sb) });
}

/// # Safety
///
/// Called by the VFS with a live super block of `U`'s type.
unsafe extern "C" fn sync_fs<U: Operations>(sb: *mut bindings::super_block, wait: c_int) -> c_int {
    from_result(|| {
        // SAFETY: `sb` is a live super block of the type for the call.
        U::sync_fs(unsafe { SuperBlock::from_raw(sb) }, wait != 0)?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a dentry of a mounted filesystem of `U`'s type and a
/// `kstatfs` to fill.
unsafe extern "C" fn statfs<U: Operations>(
    dentry: *mut bindings::dentry,
    buf: *mut bindings::kstatfs,
) -> c_int {
    from_result(|| {
        // SAFETY: the dentry is live for the call and belongs to a super block of
        // the type.
        let st = U::statfs(unsafe { SuperBlock::from_raw((*dentry).d_sb) })?;
        // SAFETY: `buf` is valid for writes for the call.
        unsafe {
            (*buf).f_type = st.magic as kernel::ffi::c_long;
            (*buf).f_bsize = st.block_size as kernel::ffi::c_long;
            (*buf).f_frsize = st.block_size as kernel::ffi::c_long;
            (*buf).f_blocks = st.blocks;
            (*buf).f_bfree = st.free_blocks;
            (*buf).f_bavail = st.free_blocks;
            (*buf).f_files = st.files;
            (*buf).f_ffree = st.free_files;
            (*buf).f_namelen = st.name_len as kernel::ffi::c_long;
            (*buf).f_fsid.val = [st.fsid as i32, (st.fsid >> 32) as i32];
        }
        Ok(0)
    })
}
