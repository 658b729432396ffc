// SPDX-License-Identifier: GPL-2.0

//! Super blocks: the safe view of a mounted tsfs, and its `super_operations`.

use super::inode::{Inode, TsfsInode};
use crate::fs::SbInfo;
use core::ptr::{addr_of, null_mut};
use kernel::{bindings, error::to_result, prelude::*, str::CStr, types::Opaque};

// bindgen's structs stand for C structs, a few of which hold config-dependent
// empty structs; only pointers to them cross this boundary.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_bdev_nr_bytes(bdev: *mut bindings::block_device) -> bindings::loff_t;
    fn tsfs_sb_rdonly(sb: *const bindings::super_block) -> bool;
    fn tsfs_super_set_uuid(sb: *mut bindings::super_block, uuid: *const u8, len: u32);
}

/// A tsfs super block.
///
/// # Invariants
///
/// The wrapped `super_block` is a live tsfs super block with a block device. Its
/// `s_fs_info` is null or a `Pin<KBox<SbInfo>>` turned into a raw pointer by
/// [`NewSuperBlock::attach_info`], which stays valid until `kill_sb` frees it
/// after every other callback of the super block has finished.
#[repr(transparent)]
pub(crate) struct SuperBlock(Opaque<bindings::super_block>);

// SAFETY: the VFS shares super blocks between tasks; the methods only call
// functions that do their own locking, or read fields fixed at mount.
unsafe impl Sync for SuperBlock {}
// SAFETY: as above; a `SuperBlock` is only ever used by reference.
unsafe impl Send for SuperBlock {}

impl SuperBlock {
    /// # Safety
    ///
    /// `ptr` is a live tsfs super block with a block device, and stays so for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper; the caller vouches for `ptr`.
        unsafe { &*ptr.cast::<Self>() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    fn bdev(&self) -> *mut bindings::block_device {
        // SAFETY: `s_bdev` is set before the file system sees the super block and
        // never changes while it lives (type invariant).
        unsafe { (*self.as_ptr()).s_bdev }
    }

    /// The device's name, for log lines.
    pub(crate) fn id(&self) -> &CStr {
        // SAFETY: `s_id` is a NUL-terminated name set before the file system sees the
        // super block and not changed afterwards.
        unsafe { CStr::from_char_ptr(addr_of!((*self.as_ptr()).s_id).cast()) }
    }

    /// The mounted file system's state.
    pub(crate) fn info(&self) -> Result<&SbInfo> {
        // SAFETY: `s_fs_info` is null or an `SbInfo` that outlives every use of the
        // super block by tsfs's callbacks (type invariant).
        let info = unsafe { (*self.as_ptr()).s_fs_info.cast::<SbInfo>() };
        if info.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: non-null, so a live `SbInfo` (type invariant), only used shared.
        Ok(unsafe { &*info })
    }

    /// Whether the file system is mounted read-only.
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

    /// Writes back every dirty buffer of the device and waits.
    pub(crate) fn sync_device(&self) -> Result {
        // SAFETY: the device is live (type invariant); this may sleep.
        to_result(unsafe { bindings::sync_blockdev(self.bdev()) })
    }

    /// Writes back everything of the file system (inodes, pages, buffers) and
    /// waits. The caller holds the super block's `s_umount` (a remount does).
    pub(crate) fn sync_all(&self) -> Result {
        // SAFETY: the super block is live and the caller holds `s_umount`.
        to_result(unsafe { bindings::sync_filesystem(self.as_ptr()) })
    }

    /// Asks the device to make written data durable (a cache flush).
    pub(crate) fn flush_device(&self) -> Result {
        // SAFETY: the device is live (type invariant); this may sleep.
        to_result(unsafe { bindings::blkdev_issue_flush(self.bdev()) })
    }

    /// Writes zeros to `count` blocks of `block_bytes` bytes from block `start`,
    /// and waits. (Its bios are allocated with `GFP_KERNEL`; tsfs calls this under
    /// its own locks only inside a `NoFsScope`, which makes that `GFP_NOFS`.)
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

/// What tsfs tells the VFS about itself at mount.
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
pub(crate) struct NewSuperBlock<'a> {
    sb: &'a SuperBlock,
}

impl<'a> NewSuperBlock<'a> {
    /// # Safety
    ///
    /// `sb` is a super block in `fill_super`, with a block device, live for `'a`.
    pub(crate) unsafe fn from_raw(sb: *mut bindings::super_block) -> Self {
        // SAFETY: the caller vouches for `sb`.
        let sb = unsafe { SuperBlock::from_raw(sb) };
        NewSuperBlock { sb }
    }

    /// The super block, for reading blocks.
    pub(crate) fn sb(&self) -> &'a SuperBlock {
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

    /// Fills in the VFS's view of the file system and tsfs's operations.
    pub(crate) fn configure(&self, p: &SuperParams) {
        let sb = self.sb.as_ptr();
        // SAFETY: the super block is being set up by us (type invariant); every
        // value written is valid for its field, and `SUPER_OPS` is static.
        unsafe {
            (*sb).s_magic = p.magic as kernel::ffi::c_ulong;
            (*sb).s_maxbytes = i64::try_from(p.max_bytes).unwrap_or(i64::MAX);
            (*sb).s_time_gran = 1;
            (*sb).s_time_min = i64::MIN;
            (*sb).s_time_max = i64::MAX;
            (*sb).s_op = &SUPER_OPS;
            tsfs_super_set_uuid(sb, p.uuid.as_ptr(), 16);
        }
    }

    /// Hands `info` to the super block; `kill_sb` frees it.
    pub(crate) fn attach_info(&self, info: Pin<KBox<SbInfo>>) {
        // SAFETY: `SbInfo` is never moved out of its box: the raw pointer stays put
        // until `kill_sb` rebuilds the box and drops it.
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(info) });
        // SAFETY: the super block is being set up by us (type invariant).
        // INVARIANT: `s_fs_info` now holds a boxed `SbInfo`.
        unsafe { (*self.sb.as_ptr()).s_fs_info = raw.cast() };
    }
}

/// Frees the `SbInfo` of a super block that is going away.
///
/// # Safety
///
/// `sb` is a tsfs super block whose callbacks have all finished and will not run
/// again (after `kill_block_super`).
pub(super) unsafe fn free_info(sb: *mut bindings::super_block) {
    // SAFETY: the caller says nothing else uses `sb` now.
    let info = unsafe { core::mem::take(&mut (*sb).s_fs_info) };
    if !info.is_null() {
        // SAFETY: a non-null `s_fs_info` is a box made by `attach_info` (invariant of
        // `SuperBlock`), no longer used by anyone.
        drop(unsafe { KBox::from_raw(info.cast::<SbInfo>()) });
    }
}

/// File system usage, for `statfs`.
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

const SUPER_OPS: bindings::super_operations = {
    // SAFETY: all-zero is a valid `super_operations` (no callbacks).
    let mut ops: bindings::super_operations = unsafe { core::mem::zeroed() };
    ops.alloc_inode = Some(alloc_inode);
    ops.free_inode = Some(free_inode);
    ops.write_inode = Some(write_inode);
    ops.evict_inode = Some(evict_inode);
    ops.put_super = Some(put_super);
    ops.sync_fs = Some(sync_fs);
    ops.statfs = Some(statfs);
    ops
};

/// # Safety
///
/// Called by the VFS for a tsfs super block.
unsafe extern "C" fn alloc_inode(_sb: *mut bindings::super_block) -> *mut bindings::inode {
    match KBox::pin_init(TsfsInode::new(), GFP_KERNEL) {
        // SAFETY: the inode is never moved out of its box; `free_inode` rebuilds the
        // box from the pointer to the embedded VFS inode.
        Ok(b) => TsfsInode::into_vfs_inode(unsafe { Pin::into_inner_unchecked(b) }),
        Err(_) => null_mut(),
    }
}

/// # Safety
///
/// Called by the VFS (after an RCU grace period) with an inode made by
/// `alloc_inode`, which nothing uses any more.
unsafe extern "C" fn free_inode(inode: *mut bindings::inode) {
    // SAFETY: as the VFS promises above.
    unsafe { TsfsInode::free(inode) };
}

/// # Safety
///
/// Called by the VFS with a live tsfs inode and a valid `wbc`.
unsafe extern "C" fn write_inode(
    inode: *mut bindings::inode,
    wbc: *mut bindings::writeback_control,
) -> kernel::ffi::c_int {
    // SAFETY: `wbc` is valid for the call.
    let sync = unsafe { (*wbc).sync_mode } == bindings::writeback_sync_modes_WB_SYNC_ALL;
    // SAFETY: `inode` is a live tsfs inode for the call.
    let inode = unsafe { Inode::from_raw(inode) };
    match crate::fs::inode::write_inode(inode, sync) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by the VFS with a tsfs inode that is being evicted: no one else holds a
/// reference, and no file or mapping of it is open.
unsafe extern "C" fn evict_inode(inode: *mut bindings::inode) {
    // SAFETY: the inode is live and being evicted; its page cache goes first.
    unsafe { bindings::truncate_inode_pages_final(addr_of!((*inode).i_data).cast_mut()) };
    // SAFETY: `inode` is a live tsfs inode for the call.
    crate::fs::inode::evict(unsafe { Inode::from_raw(inode) });
    // SAFETY: the page cache is empty and tsfs is done with the inode.
    unsafe { bindings::clear_inode(inode) };
}

/// # Safety
///
/// Called by the VFS at unmount, after every inode was written and evicted.
unsafe extern "C" fn put_super(sb: *mut bindings::super_block) {
    // SAFETY: `sb` is a live tsfs super block for the call.
    crate::fs::super_block::put_super(unsafe { SuperBlock::from_raw(sb) });
}

/// # Safety
///
/// Called by the VFS with a live tsfs super block.
unsafe extern "C" fn sync_fs(
    sb: *mut bindings::super_block,
    wait: kernel::ffi::c_int,
) -> kernel::ffi::c_int {
    // SAFETY: `sb` is a live tsfs super block for the call.
    let sb = unsafe { SuperBlock::from_raw(sb) };
    match crate::fs::super_block::sync_fs(sb, wait != 0) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by the VFS with a dentry of a mounted tsfs and a `kstatfs` to fill.
unsafe extern "C" fn statfs(
    dentry: *mut bindings::dentry,
    buf: *mut bindings::kstatfs,
) -> kernel::ffi::c_int {
    // SAFETY: the dentry is live for the call and belongs to a tsfs super block.
    let sb = unsafe { SuperBlock::from_raw((*dentry).d_sb) };
    let st = match crate::fs::super_block::statfs(sb) {
        Ok(st) => st,
        Err(e) => return e.to_errno(),
    };
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
    0
}
