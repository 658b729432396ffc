// SPDX-License-Identifier: GPL-2.0

//! Inodes: the allocation that holds the VFS inode and the filesystem's private
//! data, the safe view of an inode, its locks, new inodes, and the
//! `inode_operations` built from an [`inode::Operations`](Operations) implementer.

use super::{
    address_space, dentry::Dentry, dentry::Idmap, fiemap::Fiemap, file, sb::SuperBlock,
    special::DeviceNumber, FileSystem,
};
use core::{
    marker::PhantomData,
    ops::Deref,
    ptr::{addr_of, addr_of_mut, null_mut, NonNull},
};
use kernel::{
    bindings,
    error::{from_result, to_result, VTABLE_DEFAULT_ERROR},
    ffi::{c_int, c_uint},
    prelude::*,
    types::{ARef, AlwaysRefCounted, Opaque},
};

// bindgen's structs stand for C structs, a few of which hold config-dependent
// empty structs; only pointers to them cross this boundary.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_inode_is_new(inode: *const bindings::inode) -> bool;
    fn tsfs_i_size_read(inode: *const bindings::inode) -> bindings::loff_t;
    fn tsfs_i_size_write(inode: *mut bindings::inode, size: bindings::loff_t);
    fn tsfs_i_uid_read(inode: *const bindings::inode) -> bindings::uid_t;
    fn tsfs_i_gid_read(inode: *const bindings::inode) -> bindings::gid_t;
    fn tsfs_i_uid_write(inode: *mut bindings::inode, uid: bindings::uid_t);
    fn tsfs_i_gid_write(inode: *mut bindings::inode, gid: bindings::gid_t);
    fn tsfs_inode_get_atime(inode: *const bindings::inode) -> bindings::timespec64;
    fn tsfs_inode_get_mtime(inode: *const bindings::inode) -> bindings::timespec64;
    fn tsfs_inode_get_ctime(inode: *const bindings::inode) -> bindings::timespec64;
    fn tsfs_inode_set_atime(inode: *mut bindings::inode, ts: bindings::timespec64);
    fn tsfs_inode_set_mtime(inode: *mut bindings::inode, ts: bindings::timespec64);
    fn tsfs_inode_set_ctime(inode: *mut bindings::inode, ts: bindings::timespec64);
    fn tsfs_mark_inode_dirty(inode: *mut bindings::inode);
    fn tsfs_inode_lock(inode: *mut bindings::inode);
    fn tsfs_inode_unlock(inode: *mut bindings::inode);
    fn tsfs_inode_trylock(inode: *mut bindings::inode) -> bool;
    fn tsfs_inode_lock_shared(inode: *mut bindings::inode);
    fn tsfs_inode_trylock_shared(inode: *mut bindings::inode) -> bool;
    fn tsfs_inode_unlock_shared(inode: *mut bindings::inode);
    fn tsfs_path_inode(path: *const bindings::path) -> *mut bindings::inode;
    fn tsfs_filemap_invalidate_lock(mapping: *mut bindings::address_space);
    fn tsfs_filemap_invalidate_unlock(mapping: *mut bindings::address_space);
}

/// The VFS inode and the filesystem's private part in one allocation, made by
/// `alloc_inode` and freed by `free_inode`.
///
/// # Invariants
///
/// Lives in a `KBox` that `free_inode` alone frees; `vfs` was prepared by
/// `inode_init_once`, and the VFS owns it from `alloc_inode` to `free_inode`.
#[pin_data]
struct INodeWithData<T: FileSystem> {
    #[pin]
    vfs: Opaque<bindings::inode>,
    #[pin]
    data: T::INodeData,
}

impl<T: FileSystem> INodeWithData<T> {
    /// A fresh container; the VFS initialises the rest of the inode.
    fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `inode_init_once` prepares the
            // parts of an inode that the VFS does not reset on each use.
            vfs <- Opaque::ffi_init(|slot| unsafe { bindings::inode_init_once(slot) }),
            data <- T::init_inode_data(),
        }? Error)
    }

    /// The container of a VFS inode made by `alloc_inode::<T>`.
    ///
    /// # Safety
    ///
    /// `inode` is the `vfs` field of a live `INodeWithData<T>`.
    unsafe fn container_of(inode: *const bindings::inode) -> *const Self {
        // SAFETY: `Opaque<inode>` has the layout of `inode`, so the field's address
        // is the inode's; going back by the field offset stays inside the container.
        unsafe { kernel::container_of!(inode.cast::<Opaque<bindings::inode>>(), Self, vfs) }
    }
}

/// `alloc_inode` of filesystem type `T`.
///
/// # Safety
///
/// Called by the VFS for a super block of type `T`.
pub(super) unsafe extern "C" fn alloc_inode<T: FileSystem>(
    _sb: *mut bindings::super_block,
) -> *mut bindings::inode {
    let Ok(b) = KBox::pin_init(INodeWithData::<T>::new(), GFP_KERNEL) else {
        return null_mut();
    };
    // SAFETY: the container is never moved out of its box: `free_inode` rebuilds
    // the box from the pointer to the embedded VFS inode.
    let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(b) });
    // SAFETY: `raw` points to a live container; this only computes a field address.
    unsafe { Opaque::raw_get(addr_of!((*raw).vfs)) }
}

/// `free_inode` of filesystem type `T`.
///
/// # Safety
///
/// Called by the VFS (after an RCU grace period) with an inode made by
/// `alloc_inode::<T>`, which nothing uses any more.
pub(super) unsafe extern "C" fn free_inode<T: FileSystem>(inode: *mut bindings::inode) {
    // SAFETY: `inode` is the `vfs` field of a container (the VFS's promise).
    let container = unsafe { INodeWithData::<T>::container_of(inode) };
    // SAFETY: the container came from `KBox::into_raw` and nothing uses it.
    drop(unsafe { KBox::from_raw(container.cast_mut()) });
}

/// A time: seconds since the epoch and nanoseconds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Timespec {
    pub(crate) sec: i64,
    pub(crate) nsec: u32,
}

impl Timespec {
    fn from_c(ts: bindings::timespec64) -> Self {
        Timespec {
            sec: ts.tv_sec,
            nsec: u32::try_from(ts.tv_nsec).unwrap_or(0),
        }
    }

    fn to_c(self) -> bindings::timespec64 {
        bindings::timespec64 {
            tv_sec: self.sec,
            tv_nsec: self.nsec as kernel::ffi::c_long,
        }
    }
}

/// A VFS inode of filesystem type `T`.
///
/// # Invariants
///
/// The inode is live, was made by `alloc_inode::<T>` (so it is the `vfs` field of
/// an `INodeWithData<T>`), and belongs to a super block of type `T`.
#[repr(transparent)]
pub(crate) struct INode<T: FileSystem>(Opaque<bindings::inode>, PhantomData<T>);

// SAFETY: inodes are shared between tasks by the VFS; every method either calls a
// VFS function that locks as needed, or touches a field as the VFS's own helpers
// do; `T::INodeData` is `Send + Sync`.
unsafe impl<T: FileSystem> Sync for INode<T> {}
// SAFETY: as above; references and counted references may move between tasks.
unsafe impl<T: FileSystem> Send for INode<T> {}

// SAFETY: `ihold` and `iput` manage the inode's reference count; the inode stays
// alive while a count is held.
unsafe impl<T: FileSystem> AlwaysRefCounted for INode<T> {
    fn inc_ref(&self) {
        // SAFETY: the inode is live (type invariant) and we hold a reference.
        unsafe { bindings::ihold(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives back a reference it owns; `iput` may sleep, and
        // counted inode references are only dropped where sleeping is allowed.
        unsafe { bindings::iput(obj.as_ptr().cast()) };
    }
}

impl<T: FileSystem> INode<T> {
    /// # Safety
    ///
    /// `ptr` satisfies the type invariants for `'a`.
    pub(in crate::kapi) unsafe fn from_raw<'a>(ptr: *mut bindings::inode) -> &'a Self {
        // SAFETY: `INode` is a transparent wrapper; the caller vouches for `ptr`.
        unsafe { &*ptr.cast::<Self>() }
    }

    pub(in crate::kapi) fn as_ptr(&self) -> *mut bindings::inode {
        self.0.get()
    }

    /// The filesystem's private part of the inode.
    pub(crate) fn data(&self) -> &T::INodeData {
        // SAFETY: the inode is the `vfs` field of a live container (type invariant),
        // which lives as long as the inode.
        let container = unsafe { &*INodeWithData::<T>::container_of(self.as_ptr()) };
        &container.data
    }

    /// The super block the inode belongs to.
    pub(crate) fn super_block(&self) -> &SuperBlock<T> {
        // SAFETY: `i_sb` is set before the filesystem sees the inode and is a live
        // super block of type `T` for as long as the inode lives (type invariant).
        unsafe { SuperBlock::from_raw((*self.as_ptr()).i_sb) }
    }

    /// The inode number.
    pub(crate) fn ino(&self) -> u64 {
        // SAFETY: `i_ino` is set before the inode is visible and not changed after.
        unsafe { (*self.as_ptr()).i_ino as u64 }
    }

    /// The file type and permission bits.
    pub(crate) fn mode(&self) -> u16 {
        // SAFETY: a plain read of a field of a live inode, as `inode->i_mode` in C.
        unsafe { core::ptr::read_volatile(addr_of!((*self.as_ptr()).i_mode)) }
    }

    /// Whether this is a directory.
    pub(crate) fn is_dir(&self) -> bool {
        u32::from(self.mode()) & bindings::S_IFMT == bindings::S_IFDIR
    }

    /// Whether the inode was marked bad (its metadata could not be trusted).
    pub(crate) fn is_bad(&self) -> bool {
        // SAFETY: the inode is live (type invariant).
        unsafe { bindings::is_bad_inode(self.as_ptr()) }
    }

    /// The file size in bytes.
    pub(crate) fn size(&self) -> u64 {
        // SAFETY: the inode is live (type invariant).
        let size = unsafe { tsfs_i_size_read(self.as_ptr()) };
        u64::try_from(size).unwrap_or(0)
    }

    /// The link count.
    pub(crate) fn nlink(&self) -> u32 {
        // SAFETY: a plain read of a field of a live inode, as `inode->i_nlink` in C.
        unsafe { core::ptr::read_volatile(addr_of!((*self.as_ptr()).__bindgen_anon_1.i_nlink)) }
    }

    /// Sets the link count.
    pub(crate) fn set_nlink(&self, n: u32) {
        // SAFETY: the inode is live (type invariant).
        unsafe { bindings::set_nlink(self.as_ptr(), n) };
    }

    /// Adds one link.
    pub(crate) fn inc_nlink(&self) {
        self.set_nlink(self.nlink().saturating_add(1));
    }

    /// Removes one link; `EUCLEAN` if there is none to remove (a corrupt count).
    pub(crate) fn drop_nlink(&self) -> Result {
        let n = self.nlink();
        if n == 0 {
            return Err(crate::kapi::errno::euclean());
        }
        self.set_nlink(n - 1);
        Ok(())
    }

    /// Owner and group, as plain ids.
    pub(crate) fn owner(&self) -> (u32, u32) {
        // SAFETY: the inode is live (type invariant).
        unsafe {
            (
                tsfs_i_uid_read(self.as_ptr()),
                tsfs_i_gid_read(self.as_ptr()),
            )
        }
    }

    /// Access, modification and change times.
    pub(crate) fn times(&self) -> [Timespec; 3] {
        let i = self.as_ptr();
        // SAFETY: the inode is live (type invariant).
        unsafe {
            [
                Timespec::from_c(tsfs_inode_get_atime(i)),
                Timespec::from_c(tsfs_inode_get_mtime(i)),
                Timespec::from_c(tsfs_inode_get_ctime(i)),
            ]
        }
    }

    /// Sets the change time to now.
    pub(crate) fn touch_ctime(&self) {
        // SAFETY: the inode is live (type invariant).
        unsafe { bindings::inode_set_ctime_current(self.as_ptr()) };
    }

    /// Sets the modification and change times to now (a directory's entries changed).
    pub(crate) fn touch_mtime_ctime(&self) {
        // SAFETY: the inode is live (type invariant).
        unsafe {
            let now = bindings::inode_set_ctime_current(self.as_ptr());
            tsfs_inode_set_mtime(self.as_ptr(), now);
        }
    }

    /// Sets the number of 4 KiB blocks the inode owns (reported in 512-byte units).
    pub(crate) fn set_blocks(&self, fs_blocks: u64) {
        let sectors = fs_blocks.saturating_mul(8);
        // SAFETY: a plain store to a field of a live inode, as `inode->i_blocks = n`
        // in C; callers serialise it with their own lock on the inode's metadata.
        unsafe { core::ptr::write_volatile(addr_of_mut!((*self.as_ptr()).i_blocks), sectors) };
    }

    /// The inode generation (for file handles).
    pub(crate) fn generation(&self) -> u32 {
        // SAFETY: set once when the inode is set up, read-only afterwards.
        unsafe { (*self.as_ptr()).i_generation }
    }

    /// Marks the inode dirty, so that write-back calls `write_inode`.
    pub(crate) fn mark_dirty(&self) {
        // SAFETY: the inode is live (type invariant).
        unsafe { tsfs_mark_inode_dirty(self.as_ptr()) };
    }

    /// The page cache of this inode.
    pub(in crate::kapi) fn mapping(&self) -> *mut bindings::address_space {
        // SAFETY: `i_mapping` is set when the inode is set up and never changes.
        unsafe { (*self.as_ptr()).i_mapping }
    }

    /// Writes back `len` bytes at `start` and drops them from the page cache (also
    /// unmapping them). A page that cannot be dropped (busy) stays, coherent.
    pub(crate) fn write_back_and_drop(&self, start: u64, len: u64) -> Result {
        if len == 0 {
            return Ok(());
        }
        let end = start.saturating_add(len - 1);
        self.write_back(start, len)?;
        let shift = bindings::PAGE_SHIFT;
        // SAFETY: the mapping lives with the inode (type invariant); may sleep.
        let _ = unsafe {
            bindings::invalidate_inode_pages2_range(
                self.mapping(),
                (start >> shift) as _,
                (end >> shift) as _,
            )
        };
        Ok(())
    }

    /// Writes back the dirty pages of `len` bytes at `start` and waits (a page
    /// written back is write-protected in every mapping, so a store through one
    /// faults again before it dirties the page).
    pub(crate) fn write_back(&self, start: u64, len: u64) -> Result {
        if len == 0 {
            return Ok(());
        }
        let (s, e) = byte_range(start, len)?;
        // SAFETY: the mapping lives with the inode (type invariant); may sleep.
        to_result(unsafe { bindings::filemap_write_and_wait_range(self.mapping(), s, e) })
    }

    /// Takes the inode lock (`i_rwsem`) exclusively if that needs no waiting.
    pub(crate) fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        // SAFETY: the inode is live (type invariant).
        if !unsafe { tsfs_inode_trylock(self.as_ptr()) } {
            return None;
        }
        // INVARIANT: the lock is now held, until the guard drops.
        Some(LockGuard {
            locked: Locked { inode: self },
        })
    }

    /// Takes the inode lock (`i_rwsem`) exclusively.
    pub(crate) fn lock(&self) -> LockGuard<'_, T> {
        // SAFETY: the inode is live (type invariant); this may sleep.
        unsafe { tsfs_inode_lock(self.as_ptr()) };
        // INVARIANT: the lock is now held, until the guard drops.
        LockGuard {
            locked: Locked { inode: self },
        }
    }

    /// Takes the inode lock (`i_rwsem`) shared.
    pub(crate) fn lock_shared(&self) -> SharedGuard<'_, T> {
        // SAFETY: the inode is live (type invariant); this may sleep.
        unsafe { tsfs_inode_lock_shared(self.as_ptr()) };
        // INVARIANT: the lock is now held shared, until the guard drops.
        SharedGuard { inode: self }
    }

    /// Takes the inode lock (`i_rwsem`) shared if that needs no waiting.
    pub(crate) fn try_lock_shared(&self) -> Option<SharedGuard<'_, T>> {
        // SAFETY: the inode is live (type invariant).
        if !unsafe { tsfs_inode_trylock_shared(self.as_ptr()) } {
            return None;
        }
        // INVARIANT: the lock is now held shared, until the guard drops.
        Some(SharedGuard { inode: self })
    }

    /// Waits until no direct IO is in flight on the inode (`inode_dio_wait`).
    /// Anything that changes the block map calls it with the inode lock held
    /// exclusively, so no new direct IO starts meanwhile.
    pub(crate) fn dio_wait(&self) {
        // SAFETY: the inode is live (type invariant); this may sleep.
        unsafe { bindings::inode_dio_wait(self.as_ptr()) };
    }

    /// Writes the inode's metadata (through `write_inode`) and waits.
    pub(crate) fn sync_metadata(&self) -> Result {
        // SAFETY: the inode is live (type invariant); this may sleep.
        to_result(unsafe { bindings::sync_inode_metadata(self.as_ptr(), 1) })
    }

    /// Writes the metadata buffers queued on the inode's list
    /// ([`Buffer::modify_for`](crate::kapi::buffer::Buffer::modify_for)) and waits;
    /// the list is then empty. `EIO` if a write failed.
    pub(crate) fn sync_buffers(&self) -> Result {
        // SAFETY: the mapping lives with the inode (type invariant); this may sleep.
        to_result(unsafe { bindings::sync_mapping_buffers(self.mapping()) })
    }
}

/// An inode whose lock (`i_rwsem`) is held exclusively, by this task's
/// [`LockGuard`] or by the VFS around the operation that received it. The methods
/// that need the lock are here, so the type shows the rule.
///
/// # Invariants
///
/// The inode lock of `inode` is held exclusively for `'a`.
pub(crate) struct Locked<'a, T: FileSystem> {
    inode: &'a INode<T>,
}

impl<'a, T: FileSystem> Locked<'a, T> {
    /// # Safety
    ///
    /// `ptr` satisfies [`INode`]'s invariants, and its lock is held exclusively
    /// for `'a`.
    pub(in crate::kapi) unsafe fn from_raw(ptr: *mut bindings::inode) -> Self {
        // INVARIANT: the caller's guarantee.
        Locked {
            // SAFETY: the caller's guarantee.
            inode: unsafe { INode::from_raw(ptr) },
        }
    }

    /// Sets the size without touching the page cache (directories; direct writes).
    pub(crate) fn set_size(&self, size: u64) {
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        // SAFETY: the inode is live and its lock held (type invariant), as
        // `i_size_write` requires.
        unsafe { tsfs_i_size_write(self.inode.as_ptr(), size) };
    }

    /// `EFBIG` (or `ETXTBSY`...) if the file may not grow to `size` bytes
    /// (`inode_newsize_ok`: the process's file size limit, the maximum size).
    pub(crate) fn newsize_ok(&self, size: u64) -> Result {
        let size = i64::try_from(size).map_err(|_| EFBIG)?;
        // SAFETY: the inode is live and locked (type invariant).
        to_result(unsafe { bindings::inode_newsize_ok(self.inode.as_ptr(), size) })
    }

    /// Takes the page cache invalidation lock exclusively: no page cache fill (read,
    /// read-ahead, fault) of this file runs meanwhile.
    pub(crate) fn lock_invalidate(&self) -> InvalidateGuard<'_, 'a, T> {
        // SAFETY: the mapping is live with the inode; this may sleep.
        unsafe { tsfs_filemap_invalidate_lock(self.inode.mapping()) };
        // INVARIANT: the lock is now held.
        InvalidateGuard { locked: self }
    }
}

impl<T: FileSystem> Deref for Locked<'_, T> {
    type Target = INode<T>;
    fn deref(&self) -> &INode<T> {
        self.inode
    }
}

/// Holds an inode's `i_rwsem` exclusively.
///
/// # Invariants
///
/// The lock of `locked.inode` was taken by this guard, which releases it.
pub(crate) struct LockGuard<'a, T: FileSystem> {
    locked: Locked<'a, T>,
}

impl<'a, T: FileSystem> Deref for LockGuard<'a, T> {
    type Target = Locked<'a, T>;
    fn deref(&self) -> &Locked<'a, T> {
        &self.locked
    }
}

impl<T: FileSystem> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the lock is held by this guard (type invariant).
        unsafe { tsfs_inode_unlock(self.locked.inode.as_ptr()) };
    }
}

/// Holds an inode's `i_rwsem` shared.
///
/// # Invariants
///
/// The lock of `inode` was taken shared by this guard, which releases it.
pub(crate) struct SharedGuard<'a, T: FileSystem> {
    inode: &'a INode<T>,
}

impl<T: FileSystem> Deref for SharedGuard<'_, T> {
    type Target = INode<T>;
    fn deref(&self) -> &INode<T> {
        self.inode
    }
}

impl<T: FileSystem> Drop for SharedGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the lock is held shared by this guard (type invariant).
        unsafe { tsfs_inode_unlock_shared(self.inode.as_ptr()) };
    }
}

/// Holds an inode's page cache invalidation lock exclusively, inside its inode
/// lock.
///
/// # Invariants
///
/// The invalidation lock of `locked`'s mapping is held by this guard.
pub(crate) struct InvalidateGuard<'g, 'a, T: FileSystem> {
    locked: &'g Locked<'a, T>,
}

impl<T: FileSystem> InvalidateGuard<'_, '_, T> {
    /// Sets the size and drops the page cache past it (`truncate_setsize`).
    pub(crate) fn truncate_setsize(&self, size: u64) {
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        // SAFETY: the inode is live; both locks are held (type invariants).
        unsafe { bindings::truncate_setsize(self.locked.inode.as_ptr(), size) };
    }

    /// Drops (and unmaps) the cached pages of `len` bytes at `start`, dirty ones
    /// included; parts of pages at either end are zeroed instead
    /// (`truncate_pagecache_range`).
    pub(crate) fn truncate_range(&self, start: u64, len: u64) -> Result {
        if len == 0 {
            return Ok(());
        }
        let (s, e) = byte_range(start, len)?;
        // SAFETY: the inode is live; both locks are held (type invariants).
        unsafe { bindings::truncate_pagecache_range(self.locked.inode.as_ptr(), s, e) };
        Ok(())
    }
}

/// The first and last byte of `len` (at least 1) bytes at `start`, as `loff_t`.
fn byte_range(start: u64, len: u64) -> Result<(i64, i64)> {
    let last = start.checked_add(len - 1).ok_or(EINVAL)?;
    Ok((
        i64::try_from(start).map_err(|_| EINVAL)?,
        i64::try_from(last).map_err(|_| EINVAL)?,
    ))
}

impl<T: FileSystem> Drop for InvalidateGuard<'_, '_, T> {
    fn drop(&mut self) {
        // SAFETY: the lock is held by this guard (type invariant).
        unsafe { tsfs_filemap_invalidate_unlock(self.locked.inode.mapping()) };
    }
}

/// A new inode, locked (`I_NEW`) and hashed, that the filesystem is setting up.
/// Dropping it marks it bad and releases it (`iget_failed`): a failed load leaves
/// no trace.
///
/// # Invariants
///
/// `inode` satisfies [`INode`]'s invariants, is in the `I_NEW` state, and this
/// object owns one reference to it.
pub(crate) struct NewINode<T: FileSystem> {
    inode: NonNull<bindings::inode>,
    _t: PhantomData<T>,
}

impl<T: FileSystem> Deref for NewINode<T> {
    type Target = INode<T>;
    fn deref(&self) -> &INode<T> {
        // SAFETY: the inode is live and of type `T` (type invariant).
        unsafe { INode::from_raw(self.inode.as_ptr()) }
    }
}

impl<T: FileSystem> NewINode<T> {
    /// Sets the inode operations.
    pub(crate) fn set_inode_ops(&self, ops: Ops<T>) {
        // SAFETY: the inode is new and ours alone (type invariant); the table is static.
        unsafe { (*self.as_ptr()).i_op = ops.get() };
    }

    /// Sets the file operations.
    pub(crate) fn set_file_ops(&self, ops: file::Ops<T>) {
        // SAFETY: the inode is new and ours alone (type invariant); the table is static.
        unsafe { (*self.as_ptr()).__bindgen_anon_3.i_fop = ops.get() };
    }

    /// Sets the page cache operations.
    pub(crate) fn set_aops(&self, ops: address_space::Ops<T>) {
        // SAFETY: the inode is new and ours alone (type invariant); `i_mapping`
        // points to the inode's own `i_data`; the table is static.
        unsafe { (*(*self.as_ptr()).i_mapping).a_ops = ops.get() };
    }

    /// Makes the inode a symbolic link whose target is its page cache's first page
    /// (`page_symlink_inode_operations`); give it page cache operations too.
    pub(crate) fn set_page_symlink(&self) {
        let i = self.as_ptr();
        // SAFETY: the inode is new and ours alone (type invariant); the table is a
        // static of the VFS.
        unsafe {
            (*i).i_op = addr_of!(bindings::page_symlink_inode_operations);
            bindings::inode_nohighmem(i);
        }
    }

    /// Sets the file type and permission bits (a loaded inode).
    pub(crate) fn set_mode(&self, mode: u16) {
        // SAFETY: the inode is new and ours alone (type invariant).
        unsafe { (*self.as_ptr()).i_mode = mode };
    }

    /// Sets the size (a loaded inode, which nobody else sees yet).
    pub(crate) fn set_size(&self, size: u64) {
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        // SAFETY: the inode is new and ours alone (type invariant), which is what
        // `i_size_write` requires of an unlocked inode.
        unsafe { tsfs_i_size_write(self.as_ptr(), size) };
    }

    /// Sets owner and group from plain ids (a loaded inode).
    pub(crate) fn set_owner(&self, uid: u32, gid: u32) {
        // SAFETY: the inode is new and ours alone (type invariant).
        unsafe {
            tsfs_i_uid_write(self.as_ptr(), uid);
            tsfs_i_gid_write(self.as_ptr(), gid);
        }
    }

    /// Sets access, modification and change times (a loaded inode).
    pub(crate) fn set_times(&self, [atime, mtime, ctime]: [Timespec; 3]) {
        let i = self.as_ptr();
        // SAFETY: the inode is new and ours alone (type invariant).
        unsafe {
            tsfs_inode_set_atime(i, atime.to_c());
            tsfs_inode_set_mtime(i, mtime.to_c());
            tsfs_inode_set_ctime(i, ctime.to_c());
        }
    }

    /// Sets the generation number.
    pub(crate) fn set_generation(&self, generation: u32) {
        // SAFETY: the inode is new and ours alone (type invariant).
        unsafe { (*self.as_ptr()).i_generation = generation };
    }

    /// Sets mode, owner and group for a file created in `dir` by the caller.
    pub(crate) fn init_owner(&self, idmap: &Idmap, dir: &INode<T>, mode: u16) {
        // SAFETY: the inode is new and ours alone; `dir` and `idmap` are live.
        unsafe { bindings::inode_init_owner(idmap.as_ptr(), self.as_ptr(), dir.as_ptr(), mode) };
    }

    /// Sets all three times to now.
    pub(crate) fn init_times_now(&self) {
        // SAFETY: the inode is new and ours alone (type invariant).
        unsafe { bindings::simple_inode_init_ts(self.as_ptr()) };
    }

    /// Finishes the setup: the inode becomes visible to other lookups.
    pub(crate) fn publish(self) -> ARef<INode<T>> {
        let inode = self.inode;
        core::mem::forget(self);
        // SAFETY: the inode is new and set up; this clears `I_NEW` and wakes waiters.
        unsafe { bindings::unlock_new_inode(inode.as_ptr()) };
        // SAFETY: the reference we owned moves into the `ARef`.
        unsafe { ARef::from_raw(inode.cast()) }
    }

    /// Gives the reference and the `I_NEW` lock away to the caller, who passes them
    /// to a VFS function that takes both (`d_instantiate_new`).
    pub(in crate::kapi) fn into_raw(self) -> *mut bindings::inode {
        let inode = self.inode;
        core::mem::forget(self);
        inode.as_ptr()
    }

    /// Throws away a created inode that could not be linked in. Its link count must
    /// be 0, so that eviction gives its inode number back.
    pub(crate) fn discard(self) {
        let inode = self.into_raw();
        // SAFETY: the inode is new and ours; this unlocks and releases it.
        unsafe { bindings::discard_new_inode(inode) };
    }
}

impl<T: FileSystem> Drop for NewINode<T> {
    fn drop(&mut self) {
        // SAFETY: the inode is new and ours (type invariant); this marks it bad,
        // unlocks and releases it.
        unsafe { bindings::iget_failed(self.inode.as_ptr()) };
    }
}

/// What [`SuperBlock::iget`] found.
pub(crate) enum Iget<T: FileSystem> {
    /// The inode was cached and set up.
    Cached(ARef<INode<T>>),
    /// The inode is new: the caller loads it.
    New(NewINode<T>),
}

impl<T: FileSystem> SuperBlock<T> {
    /// Finds inode `ino` in the inode cache, or adds a new, locked one for the
    /// caller to load.
    pub(crate) fn iget(&self, ino: u64) -> Result<Iget<T>> {
        let ino = kernel::ffi::c_ulong::try_from(ino).map_err(|_| EINVAL)?;
        // SAFETY: the super block is live; `iget_locked` returns a referenced inode
        // (new and locked, or set up) or null.
        let raw = unsafe { bindings::iget_locked(self.as_ptr(), ino) };
        let inode = NonNull::new(raw).ok_or(ENOMEM)?;
        // SAFETY: the inode is live and referenced.
        if unsafe { tsfs_inode_is_new(raw) } {
            // INVARIANT: a new inode of the super block, locked, with our reference.
            Ok(Iget::New(NewINode {
                inode,
                _t: PhantomData,
            }))
        } else {
            // SAFETY: the reference `iget_locked` gave us moves into the `ARef`.
            Ok(Iget::Cached(unsafe { ARef::from_raw(inode.cast()) }))
        }
    }

    /// A new inode numbered `ino`, hashed and locked, for a file being created.
    /// `EUCLEAN` if a live inode already has that number.
    pub(crate) fn new_inode(&self, ino: u64) -> Result<NewINode<T>> {
        let ino = kernel::ffi::c_ulong::try_from(ino).map_err(|_| EINVAL)?;
        // SAFETY: the super block is live; `new_inode` returns a referenced inode or null.
        let raw = unsafe { bindings::new_inode(self.as_ptr()) };
        let inode = NonNull::new(raw).ok_or(ENOMEM)?;
        // SAFETY: the inode is new and ours alone; hashing it under `ino` marks it
        // `I_NEW` unless a live inode has the number.
        let ret = unsafe {
            (*raw).i_ino = ino;
            bindings::insert_inode_locked(raw)
        };
        if ret != 0 {
            // SAFETY: we own the only reference to an unhashed inode, which `iput`
            // frees; its link count is not 0, so eviction frees nothing.
            unsafe { bindings::iput(raw) };
            return Err(crate::kapi::errno::euclean());
        }
        // INVARIANT: a new inode of the super block, locked, with our reference.
        Ok(NewINode {
            inode,
            _t: PhantomData,
        })
    }
}

/// Gives up a counted reference, for a VFS function that takes it over.
pub(in crate::kapi) fn into_raw<T: FileSystem>(inode: ARef<INode<T>>) -> *mut bindings::inode {
    let raw = inode.as_ptr();
    core::mem::forget(inode);
    raw
}

/// The flags of a `rename` call (`RENAME_*`).
#[derive(Clone, Copy)]
pub(crate) struct RenameFlags(u32);

impl RenameFlags {
    /// No flag but `RENAME_NOREPLACE` (which the VFS enforces itself),
    /// `RENAME_EXCHANGE` and `RENAME_WHITEOUT`.
    pub(crate) fn known(self) -> bool {
        let known =
            bindings::RENAME_NOREPLACE | bindings::RENAME_EXCHANGE | bindings::RENAME_WHITEOUT;
        self.0 & !known == 0
    }

    /// `RENAME_WHITEOUT`: the old name is left naming a whiteout (a character
    /// device numbered 0:0, see [`super::special::whiteout`]) rather than removed.
    /// The VFS refuses it with `RENAME_EXCHANGE`.
    pub(crate) fn whiteout(self) -> bool {
        self.0 & bindings::RENAME_WHITEOUT != 0
    }

    /// `RENAME_EXCHANGE`: the two names swap their files (the VFS has checked
    /// that both exist).
    pub(crate) fn exchange(self) -> bool {
        self.0 & bindings::RENAME_EXCHANGE != 0
    }
}

/// A change of attributes, as `setattr` receives it.
///
/// # Invariants
///
/// The fields are the live arguments of a `setattr` call on a dentry of type `T`,
/// whose inode is locked by the VFS, valid for `'a`.
pub(crate) struct SetAttr<'a, T: FileSystem> {
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    attr: *mut bindings::iattr,
    _life: PhantomData<(&'a mut bindings::iattr, T)>,
}

impl<T: FileSystem> SetAttr<'_, T> {
    /// The inode being changed, which the VFS locked.
    pub(crate) fn inode(&self) -> Result<Locked<'_, T>> {
        // SAFETY: the dentry is live (type invariant).
        let inode = unsafe { Dentry::<T>::from_raw(self.dentry) }
            .inode()
            .ok_or(EINVAL)?;
        // SAFETY: the VFS holds the lock of the dentry's inode for the call (type
        // invariant).
        Ok(unsafe { Locked::from_raw(inode.as_ptr()) })
    }

    /// The VFS's permission and sanity checks.
    pub(crate) fn prepare(&self) -> Result {
        // SAFETY: the arguments are live (type invariant).
        to_result(unsafe { bindings::setattr_prepare(self.idmap, self.dentry, self.attr) })
    }

    /// The new size, if the size changes.
    pub(crate) fn new_size(&self) -> Option<u64> {
        // SAFETY: `attr` is live (type invariant).
        let (valid, size) = unsafe { ((*self.attr).ia_valid, (*self.attr).ia_size) };
        if valid & bindings::ATTR_SIZE == 0 {
            return None;
        }
        u64::try_from(size).ok()
    }

    /// Copies the other attributes (mode, owner, times) into the inode.
    pub(crate) fn copy_to_inode(&self, inode: &Locked<'_, T>) {
        // SAFETY: the arguments are live; `inode` is locked.
        unsafe { bindings::setattr_copy(self.idmap, inode.as_ptr(), self.attr) };
    }
}

/// Inode operations. Those that change a directory receive it as [`Locked`]: the
/// VFS holds its lock for them.
#[vtable]
pub(crate) trait Operations {
    /// The filesystem type whose inodes these operations serve.
    type FileSystem: FileSystem;

    /// The inode `dentry`'s name has in `dir` (locked at least shared), if any.
    fn lookup(
        _dir: &INode<Self::FileSystem>,
        _dentry: &Dentry<Self::FileSystem>,
    ) -> Result<Option<ARef<INode<Self::FileSystem>>>> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// A new regular file named by the negative `dentry` in `dir`.
    fn create(
        _idmap: &Idmap,
        _dir: &Locked<'_, Self::FileSystem>,
        _dentry: &Dentry<Self::FileSystem>,
        _mode: u16,
    ) -> Result<NewINode<Self::FileSystem>> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// A new directory named by the negative `dentry` in `dir`.
    fn mkdir(
        _idmap: &Idmap,
        _dir: &Locked<'_, Self::FileSystem>,
        _dentry: &Dentry<Self::FileSystem>,
        _mode: u16,
    ) -> Result<NewINode<Self::FileSystem>> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Another name, the negative `dentry` in `dir`, for `old`'s file; returns
    /// that file with a reference for the new dentry.
    fn link(
        _old: &Dentry<Self::FileSystem>,
        _dir: &Locked<'_, Self::FileSystem>,
        _dentry: &Dentry<Self::FileSystem>,
    ) -> Result<ARef<INode<Self::FileSystem>>> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Removes the name `dentry` of a non-directory from `dir`.
    fn unlink(_dir: &Locked<'_, Self::FileSystem>, _dentry: &Dentry<Self::FileSystem>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Removes the empty directory `dentry` from `dir`.
    fn rmdir(_dir: &Locked<'_, Self::FileSystem>, _dentry: &Dentry<Self::FileSystem>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Moves `old_dentry`'s file to `new_dentry`'s name (both directories locked);
    /// `idmap` is the mount's, for the owner of a whiteout.
    fn rename(
        _idmap: &Idmap,
        _old_dir: &Locked<'_, Self::FileSystem>,
        _old_dentry: &Dentry<Self::FileSystem>,
        _new_dir: &Locked<'_, Self::FileSystem>,
        _new_dentry: &Dentry<Self::FileSystem>,
        _flags: RenameFlags,
    ) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// A new symbolic link to `target` (1 byte or more, no NUL) named by the
    /// negative `dentry` in `dir`.
    fn symlink(
        _idmap: &Idmap,
        _dir: &Locked<'_, Self::FileSystem>,
        _dentry: &Dentry<Self::FileSystem>,
        _target: &[u8],
    ) -> Result<NewINode<Self::FileSystem>> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// A new special file (device, pipe or socket; `mode` has its type) numbered
    /// `dev` if it is a device, named by the negative `dentry` in `dir`.
    fn mknod(
        _idmap: &Idmap,
        _dir: &Locked<'_, Self::FileSystem>,
        _dentry: &Dentry<Self::FileSystem>,
        _mode: u16,
        _dev: DeviceNumber,
    ) -> Result<NewINode<Self::FileSystem>> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `FS_IOC_FIEMAP`: reports the extents of `req`'s range of `inode`.
    fn fiemap(_inode: &INode<Self::FileSystem>, _req: Fiemap<'_, Self::FileSystem>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// A new regular file of `mode` without a name (`O_TMPFILE`), as if made in
    /// `dir`, with a link count of 1 (the caller drops it to 0).
    fn tmpfile(
        _idmap: &Idmap,
        _dir: &INode<Self::FileSystem>,
        _mode: u16,
    ) -> Result<NewINode<Self::FileSystem>> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Changes attributes (the inode is locked).
    fn setattr(_req: &SetAttr<'_, Self::FileSystem>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// The direct IO alignments of `inode` (memory, file offset and length), which
    /// `statx` reports with `STATX_DIOALIGN` (`getattr`, the rest as
    /// `generic_fillattr` fills it); `None` if it takes no direct IO.
    fn dio_alignment(_inode: &INode<Self::FileSystem>) -> Option<(u32, u32)> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// An `inode_operations` table for filesystem type `T`.
pub(crate) type Ops<T> = super::OpsTable<bindings::inode_operations, T>;

impl<T: FileSystem> Ops<T> {
    /// The table of `U`'s operations.
    pub(crate) const fn new<U: Operations<FileSystem = T>>() -> Self {
        Self::from_static(&Table::<U>::TABLE)
    }
}

struct Table<U>(PhantomData<U>);

impl<U: Operations> Table<U> {
    const TABLE: bindings::inode_operations = {
        // SAFETY: all-zero is a valid `inode_operations` (no callbacks).
        let mut ops: bindings::inode_operations = unsafe { core::mem::zeroed() };
        if U::HAS_LOOKUP {
            ops.lookup = Some(lookup::<U>);
        }
        if U::HAS_CREATE {
            ops.create = Some(create::<U>);
        }
        if U::HAS_MKDIR {
            ops.mkdir = Some(mkdir::<U>);
        }
        if U::HAS_LINK {
            ops.link = Some(link::<U>);
        }
        if U::HAS_UNLINK {
            ops.unlink = Some(unlink::<U>);
        }
        if U::HAS_RMDIR {
            ops.rmdir = Some(rmdir::<U>);
        }
        if U::HAS_RENAME {
            ops.rename = Some(rename::<U>);
        }
        if U::HAS_SYMLINK {
            ops.symlink = Some(symlink::<U>);
        }
        if U::HAS_TMPFILE {
            ops.tmpfile = Some(tmpfile::<U>);
        }
        if U::HAS_MKNOD {
            ops.mknod = Some(super::special::mknod::<U>);
        }
        if U::HAS_FIEMAP {
            ops.fiemap = Some(super::fiemap::fiemap::<U>);
        }
        if U::HAS_SETATTR {
            ops.setattr = Some(setattr::<U>);
        }
        if U::HAS_DIO_ALIGNMENT {
            ops.getattr = Some(getattr::<U>);
        }
        ops
    };
}

/// # Safety
///
/// Called by the VFS (`vfs_getattr_nosec`) with a live path whose inode is of
/// `U`'s type and a `kstat` to fill.
unsafe extern "C" fn getattr<U: Operations>(
    idmap: *mut bindings::mnt_idmap,
    path: *const bindings::path,
    stat: *mut bindings::kstat,
    request_mask: u32,
    _query_flags: c_uint,
) -> c_int {
    // SAFETY: as the VFS promises above.
    let raw = unsafe { tsfs_path_inode(path) };
    // SAFETY: `raw` is the live inode of a live path, of `U`'s type.
    let inode = unsafe { INode::from_raw(raw) };
    // SAFETY: the arguments are the VFS's own, valid for the call.
    unsafe { bindings::generic_fillattr(idmap, request_mask, raw, stat) };
    if request_mask & bindings::STATX_DIOALIGN != 0 {
        if let Some((mem, offset)) = U::dio_alignment(inode) {
            // SAFETY: `stat` is valid for writes for the call.
            unsafe {
                (*stat).result_mask |= bindings::STATX_DIOALIGN;
                (*stat).dio_mem_align = mem;
                (*stat).dio_offset_align = offset;
            }
        }
    }
    0
}

/// # Safety
///
/// Called by the VFS with a live directory of `U`'s type (locked at least shared)
/// and a dentry in it.
unsafe extern "C" fn lookup<U: Operations>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    _flags: c_uint,
) -> *mut bindings::dentry {
    // SAFETY: as the VFS promises above.
    let (d, e) = unsafe { (INode::from_raw(dir), Dentry::from_raw(dentry)) };
    let inode = match U::lookup(d, e) {
        Ok(Some(inode)) => into_raw(inode),
        Ok(None) => null_mut(),
        Err(err) => return err.to_ptr(),
    };
    // SAFETY: `dentry` is a live negative dentry being looked up; `inode` is null
    // or carries a reference, which `d_splice_alias` takes over.
    unsafe { bindings::d_splice_alias(inode, dentry) }
}

/// A new inode made by `make` (`create`, `mkdir`), linked to its dentry.
type Make<T> = fn(&Idmap, &Locked<'_, T>, &Dentry<T>, u16) -> Result<NewINode<T>>;

/// Runs `make` for `create` or `mkdir`; on success `d_instantiate_new` takes the
/// new inode's reference, attaches it to `dentry` and unlocks it.
///
/// # Safety
///
/// The arguments are those of a `create` or `mkdir` call by the VFS on a live
/// directory of type `T`, locked, and a negative dentry in it.
unsafe fn make_new<T: FileSystem>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    make: Make<T>,
) -> c_int {
    from_result(|| {
        // SAFETY: the caller's guarantee.
        let (m, d, e) = unsafe {
            (
                Idmap::from_raw(idmap),
                Locked::from_raw(dir),
                Dentry::from_raw(dentry),
            )
        };
        let new = make(m, &d, e, mode)?;
        // SAFETY: `dentry` is the negative dentry of the call, its parent locked;
        // the new inode is set up and locked.
        unsafe { bindings::d_instantiate_new(dentry, new.into_raw()) };
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a live directory of `U`'s type, locked, and a negative
/// dentry in it.
unsafe extern "C" fn create<U: Operations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    _excl: bool,
) -> c_int {
    // SAFETY: the arguments of a `create` call.
    unsafe { make_new(idmap, dir, dentry, mode, U::create) }
}

/// # Safety
///
/// As for [`create`].
unsafe extern "C" fn mkdir<U: Operations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
) -> c_int {
    // SAFETY: the arguments of a `mkdir` call.
    unsafe { make_new(idmap, dir, dentry, mode, U::mkdir) }
}

/// # Safety
///
/// Called by the VFS with a live directory of `U`'s type, locked, a negative
/// dentry in it, and the link's target, a NUL-terminated string.
unsafe extern "C" fn symlink<U: Operations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    target: *const kernel::ffi::c_char,
) -> c_int {
    from_result(|| {
        // SAFETY: as the VFS promises above; the target lives for the call.
        let (m, d, e, t) = unsafe {
            (
                Idmap::from_raw(idmap),
                Locked::from_raw(dir),
                Dentry::from_raw(dentry),
                CStr::from_char_ptr(target),
            )
        };
        let new = U::symlink(m, &d, e, t.as_bytes())?;
        // SAFETY: `dentry` is the negative dentry of the call, its parent locked;
        // the new inode is set up and locked, and `d_instantiate_new` takes it.
        unsafe { bindings::d_instantiate_new(dentry, new.into_raw()) };
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS (`vfs_tmpfile`) with a live directory of `U`'s type and a
/// file being opened on a new dentry with no inode yet.
unsafe extern "C" fn tmpfile<U: Operations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    file: *mut bindings::file,
    mode: bindings::umode_t,
) -> c_int {
    from_result(|| {
        // SAFETY: as the VFS promises above.
        let (m, d) = unsafe { (Idmap::from_raw(idmap), INode::from_raw(dir)) };
        let raw = U::tmpfile(m, d, mode)?.into_raw();
        // SAFETY: `file` is being opened on a negative dentry; `raw` is new, set
        // up, with a link count of 1 and a reference that `d_tmpfile` gives the
        // dentry (dropping the link count to 0 and marking it linkable).
        unsafe { bindings::d_tmpfile(file, raw) };
        // SAFETY: the inode is set up; this clears `I_NEW` and wakes waiters.
        unsafe { bindings::unlock_new_inode(raw) };
        // SAFETY: `file` is being opened on its dentry, now positive; the VFS
        // undoes the open (and drops the dentry, evicting the inode) on error.
        to_result(unsafe { bindings::finish_open(file, (*file).f_path.dentry, None) })?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a positive dentry of a file of `U`'s type, a live
/// directory (locked) and a negative dentry in it.
unsafe extern "C" fn link<U: Operations>(
    old_dentry: *mut bindings::dentry,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> c_int {
    from_result(|| {
        // SAFETY: as the VFS promises above.
        let (old, d, e) = unsafe {
            (
                Dentry::from_raw(old_dentry),
                Locked::from_raw(dir),
                Dentry::from_raw(dentry),
            )
        };
        let inode = U::link(old, &d, e)?;
        // SAFETY: `dentry` is negative and its parent locked; `d_instantiate` takes
        // over the reference that `link` returned.
        unsafe { bindings::d_instantiate(dentry, into_raw(inode)) };
        Ok(0)
    })
}

/// A name removed by `remove` (`unlink`, `rmdir`).
type Remove<T> = fn(&Locked<'_, T>, &Dentry<T>) -> Result;

/// Runs `remove` for `unlink` or `rmdir`.
///
/// # Safety
///
/// The arguments are those of an `unlink` or `rmdir` call by the VFS on a live
/// directory of type `T`, locked, and a positive dentry in it.
unsafe fn remove_name<T: FileSystem>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    remove: Remove<T>,
) -> c_int {
    from_result(|| {
        // SAFETY: the caller's guarantee.
        let (d, e) = unsafe { (Locked::from_raw(dir), Dentry::from_raw(dentry)) };
        remove(&d, e)?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a live directory of `U`'s type (locked) and a positive
/// dentry in it.
unsafe extern "C" fn unlink<U: Operations>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> c_int {
    // SAFETY: the arguments of an `unlink` call.
    unsafe { remove_name(dir, dentry, U::unlink) }
}

/// # Safety
///
/// As for [`unlink`], with a directory's dentry.
unsafe extern "C" fn rmdir<U: Operations>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> c_int {
    // SAFETY: the arguments of an `rmdir` call.
    unsafe { remove_name(dir, dentry, U::rmdir) }
}

/// # Safety
///
/// Called by the VFS with both directories of `U`'s type locked (and the rename
/// lock held if they differ), a positive old dentry and a new dentry.
unsafe extern "C" fn rename<U: Operations>(
    idmap: *mut bindings::mnt_idmap,
    old_dir: *mut bindings::inode,
    old_dentry: *mut bindings::dentry,
    new_dir: *mut bindings::inode,
    new_dentry: *mut bindings::dentry,
    flags: c_uint,
) -> c_int {
    from_result(|| {
        // SAFETY: as the VFS promises above.
        let (m, od, oe, nd, ne) = unsafe {
            (
                Idmap::from_raw(idmap),
                Locked::from_raw(old_dir),
                Dentry::from_raw(old_dentry),
                Locked::from_raw(new_dir),
                Dentry::from_raw(new_dentry),
            )
        };
        U::rename(m, &od, oe, &nd, ne, RenameFlags(flags))?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a dentry of `U`'s type whose inode it locked, and the
/// changes.
unsafe extern "C" fn setattr<U: Operations>(
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    attr: *mut bindings::iattr,
) -> c_int {
    // INVARIANT: the arguments are live for this call.
    let req = SetAttr {
        idmap,
        dentry,
        attr,
        _life: PhantomData,
    };
    from_result(|| {
        U::setattr(&req)?;
        Ok(0)
    })
}
