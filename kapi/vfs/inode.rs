// SPDX-License-Identifier: GPL-2.0

//! Inodes: tsfs's inode container, the safe view of a VFS inode, and the
//! lifecycle of new inodes.

use super::{dentry::Idmap, dir_ops, file_ops, super_block::SuperBlock};
use crate::fs::inode::InodeData;
use core::ptr::{addr_of, addr_of_mut, NonNull};
use kernel::{
    bindings,
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
    fn tsfs_filemap_invalidate_lock(mapping: *mut bindings::address_space);
    fn tsfs_filemap_invalidate_unlock(mapping: *mut bindings::address_space);
}

/// A tsfs inode: the VFS inode and tsfs's own fields in one allocation, made by
/// `alloc_inode` and freed by `free_inode`.
///
/// # Invariants
///
/// Lives in a `KBox` that `free_inode` alone frees; `vfs` was prepared by
/// `inode_init_once`, and the VFS owns it from `alloc_inode` to `free_inode`.
#[pin_data]
pub(crate) struct TsfsInode {
    #[pin]
    vfs: Opaque<bindings::inode>,
    #[pin]
    data: InodeData,
}

impl TsfsInode {
    /// A fresh container; the VFS initialises the rest of the inode.
    pub(super) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `inode_init_once` prepares the
            // parts of an inode that the VFS does not reset on each use.
            vfs <- Opaque::ffi_init(|slot| unsafe { bindings::inode_init_once(slot) }),
            data <- InodeData::new(),
        }? Error)
    }

    /// Gives up the box and returns the embedded VFS inode, for `alloc_inode`.
    pub(super) fn into_vfs_inode(b: KBox<Self>) -> *mut bindings::inode {
        let raw = KBox::into_raw(b);
        // SAFETY: `raw` points to a live `TsfsInode`; this only computes a field address.
        unsafe { Opaque::raw_get(addr_of!((*raw).vfs)) }
    }

    /// Frees the container of `inode`.
    ///
    /// # Safety
    ///
    /// `inode` was returned by [`TsfsInode::into_vfs_inode`] and is not used any more.
    pub(super) unsafe fn free(inode: *mut bindings::inode) {
        // SAFETY: `inode` is the `vfs` field of a `TsfsInode` (caller's promise).
        let container = unsafe { container_of(inode) };
        // SAFETY: the container came from `KBox::into_raw` and nothing uses it.
        drop(unsafe { KBox::from_raw(container.cast_mut()) });
    }
}

/// The container of a VFS inode made by `alloc_inode`.
///
/// # Safety
///
/// `inode` is the `vfs` field of a live `TsfsInode`.
unsafe fn container_of(inode: *const bindings::inode) -> *const TsfsInode {
    // SAFETY: `Opaque<inode>` has the layout of `inode`, so the field's address is
    // the inode's; going back by the field offset stays inside the container.
    unsafe { kernel::container_of!(inode.cast::<Opaque<bindings::inode>>(), TsfsInode, vfs) }
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

/// What kind of file an inode is, which decides its operations.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum InodeKind {
    Directory,
    Regular,
    Symlink,
}

/// A VFS inode of a tsfs super block.
///
/// # Invariants
///
/// The inode is live, was made by tsfs's `alloc_inode` (so it is the `vfs` field
/// of a [`TsfsInode`]), and belongs to a tsfs super block.
#[repr(transparent)]
pub(crate) struct Inode(Opaque<bindings::inode>);

// SAFETY: inodes are shared between tasks by the VFS; every method either calls a
// VFS function that locks as needed, or touches a field as the VFS's own helpers do.
unsafe impl Sync for Inode {}
// SAFETY: as above; references and counted references may move between tasks.
unsafe impl Send for Inode {}

// SAFETY: `ihold` and `iput` manage the inode's reference count; the inode stays
// alive while a count is held.
unsafe impl AlwaysRefCounted for Inode {
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

impl Inode {
    /// # Safety
    ///
    /// `ptr` satisfies the type invariants for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::inode) -> &'a Self {
        // SAFETY: `Inode` is a transparent wrapper; the caller vouches for `ptr`.
        unsafe { &*ptr.cast::<Self>() }
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::inode {
        self.0.get()
    }

    /// tsfs's own fields of the inode.
    pub(crate) fn data(&self) -> &InodeData {
        // SAFETY: the inode is the `vfs` field of a live `TsfsInode` (type invariant).
        let container = unsafe { &*container_of(self.as_ptr()) };
        &container.data
    }

    /// The super block the inode belongs to.
    pub(crate) fn super_block(&self) -> &SuperBlock {
        // SAFETY: `i_sb` is set before tsfs sees the inode and is a live tsfs super
        // block for as long as the inode lives (type invariant).
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

    /// Sets the size without touching the page cache (directories; loading).
    pub(crate) fn set_size(&self, size: u64) {
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        // SAFETY: the inode is live; callers hold the inode lock or own a new inode,
        // as `i_size_write` requires.
        unsafe { tsfs_i_size_write(self.as_ptr(), size) };
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

    /// Sets owner and group from plain ids.
    pub(crate) fn set_owner(&self, uid: u32, gid: u32) {
        // SAFETY: the inode is live (type invariant).
        unsafe {
            tsfs_i_uid_write(self.as_ptr(), uid);
            tsfs_i_gid_write(self.as_ptr(), gid);
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

    /// Sets access, modification and change times.
    pub(crate) fn set_times(&self, [atime, mtime, ctime]: [Timespec; 3]) {
        let i = self.as_ptr();
        // SAFETY: the inode is live (type invariant).
        unsafe {
            tsfs_inode_set_atime(i, atime.to_c());
            tsfs_inode_set_mtime(i, mtime.to_c());
            tsfs_inode_set_ctime(i, ctime.to_c());
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
        // in C; callers serialise it with the inode's metadata lock.
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
    pub(crate) fn mapping(&self) -> *mut bindings::address_space {
        // SAFETY: `i_mapping` is set when the inode is set up and never changes.
        unsafe { (*self.as_ptr()).i_mapping }
    }

    /// Writes back `len` bytes at `start` and drops them from the page cache (also
    /// unmapping them), as after a direct write served by buffered IO.
    pub(crate) fn write_back_and_drop(&self, start: u64, len: u64) -> Result {
        if len == 0 {
            return Ok(());
        }
        let end = start.saturating_add(len - 1);
        let (s, e) = (
            i64::try_from(start).map_err(|_| EINVAL)?,
            i64::try_from(end).map_err(|_| EINVAL)?,
        );
        // SAFETY: the mapping lives with the inode (type invariant); may sleep.
        kernel::error::to_result(unsafe {
            bindings::filemap_write_and_wait_range(self.mapping(), s, e)
        })?;
        let shift = bindings::PAGE_SHIFT;
        // SAFETY: as above. A page that cannot be dropped (busy) stays, coherent.
        let _ = unsafe {
            bindings::invalidate_inode_pages2_range(
                self.mapping(),
                (start >> shift) as _,
                (end >> shift) as _,
            )
        };
        Ok(())
    }

    /// Takes the inode lock (`i_rwsem`) exclusively if that needs no waiting.
    pub(crate) fn try_lock_exclusive(&self) -> Option<InodeLockGuard<'_>> {
        // SAFETY: the inode is live (type invariant).
        if !unsafe { tsfs_inode_trylock(self.as_ptr()) } {
            return None;
        }
        // INVARIANT: the lock is now held.
        Some(InodeLockGuard { inode: self })
    }

    /// Takes the inode lock (`i_rwsem`) exclusively.
    pub(crate) fn lock_exclusive(&self) -> InodeLockGuard<'_> {
        // SAFETY: the inode is live (type invariant); this may sleep.
        unsafe { tsfs_inode_lock(self.as_ptr()) };
        // INVARIANT: the lock is now held.
        InodeLockGuard { inode: self }
    }

    /// Takes the page cache invalidation lock exclusively: no page cache fill (read,
    /// read-ahead, fault) of this file runs meanwhile.
    pub(crate) fn lock_invalidate(&self) -> InvalidateGuard<'_> {
        // SAFETY: the mapping is live with the inode; this may sleep.
        unsafe { tsfs_filemap_invalidate_lock(self.mapping()) };
        // INVARIANT: the lock is now held.
        InvalidateGuard { inode: self }
    }

    /// Sets the size and drops the page cache past it (`truncate_setsize`). The
    /// caller holds the inode lock and the invalidation lock.
    pub(crate) fn truncate_page_cache(&self, size: u64) {
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        // SAFETY: the inode is live (type invariant); the caller holds the locks.
        unsafe { bindings::truncate_setsize(self.as_ptr(), size) };
    }

    /// Writes the inode's metadata (through `write_inode`) and waits.
    pub(crate) fn sync_metadata(&self) -> Result {
        // SAFETY: the inode is live (type invariant); this may sleep.
        kernel::error::to_result(unsafe { bindings::sync_inode_metadata(self.as_ptr(), 1) })
    }
}

/// Holds an inode's `i_rwsem` exclusively.
///
/// # Invariants
///
/// The lock of `inode` is held by this guard.
pub(crate) struct InodeLockGuard<'a> {
    inode: &'a Inode,
}

impl Drop for InodeLockGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the lock is held by this guard (type invariant).
        unsafe { tsfs_inode_unlock(self.inode.as_ptr()) };
    }
}

/// Holds an inode's page cache invalidation lock exclusively.
///
/// # Invariants
///
/// The lock of `inode`'s mapping is held by this guard.
pub(crate) struct InvalidateGuard<'a> {
    inode: &'a Inode,
}

impl Drop for InvalidateGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the lock is held by this guard (type invariant).
        unsafe { tsfs_filemap_invalidate_unlock(self.inode.mapping()) };
    }
}

/// A new inode, locked (`I_NEW`) and hashed, that tsfs is setting up. Dropping it
/// marks it bad and releases it (`iget_failed`): a failed load leaves no trace.
///
/// # Invariants
///
/// `inode` satisfies [`Inode`]'s invariants, is in the `I_NEW` state, and this
/// object owns one reference to it.
pub(crate) struct NewInode {
    inode: NonNull<bindings::inode>,
}

impl core::ops::Deref for NewInode {
    type Target = Inode;
    fn deref(&self) -> &Inode {
        // SAFETY: the inode is live and a tsfs inode (type invariant).
        unsafe { Inode::from_raw(self.inode.as_ptr()) }
    }
}

impl NewInode {
    /// Gives the inode its operations, by kind.
    pub(crate) fn set_kind(&self, kind: InodeKind) {
        let i = self.as_ptr();
        // SAFETY: the inode is new and ours alone (type invariant); the tables are
        // static, and `i_mapping` points to the inode's own `i_data`.
        unsafe {
            match kind {
                InodeKind::Directory => {
                    (*i).i_op = &dir_ops::DIR_INODE_OPS;
                    (*i).__bindgen_anon_3.i_fop = &dir_ops::DIR_FILE_OPS;
                }
                InodeKind::Regular => {
                    (*i).i_op = &file_ops::FILE_INODE_OPS;
                    (*i).__bindgen_anon_3.i_fop = &file_ops::FILE_OPS;
                    (*(*i).i_mapping).a_ops = &file_ops::FILE_AOPS;
                }
                InodeKind::Symlink => {
                    (*i).i_op = addr_of!(bindings::page_symlink_inode_operations);
                    (*(*i).i_mapping).a_ops = &file_ops::FILE_AOPS;
                    bindings::inode_nohighmem(i);
                }
            }
        }
    }

    /// Sets the file type and permission bits (a loaded inode).
    pub(crate) fn set_mode(&self, mode: u16) {
        // SAFETY: the inode is new and ours alone (type invariant).
        unsafe { (*self.as_ptr()).i_mode = mode };
    }

    /// Sets the generation number.
    pub(crate) fn set_generation(&self, generation: u32) {
        // SAFETY: the inode is new and ours alone (type invariant).
        unsafe { (*self.as_ptr()).i_generation = generation };
    }

    /// Sets mode, owner and group for a file created in `dir` by the caller.
    pub(crate) fn init_owner(&self, idmap: &Idmap, dir: &Inode, mode: u16) {
        // SAFETY: the inode is new and ours alone; `dir` and `idmap` are live.
        unsafe { bindings::inode_init_owner(idmap.as_ptr(), self.as_ptr(), dir.as_ptr(), mode) };
    }

    /// Sets all three times to now.
    pub(crate) fn init_times_now(&self) {
        // SAFETY: the inode is new and ours alone (type invariant).
        unsafe { bindings::simple_inode_init_ts(self.as_ptr()) };
    }

    /// Finishes the setup: the inode becomes visible to other lookups.
    pub(crate) fn publish(self) -> ARef<Inode> {
        let inode = self.inode;
        core::mem::forget(self);
        // SAFETY: the inode is new and set up; this clears `I_NEW` and wakes waiters.
        unsafe { bindings::unlock_new_inode(inode.as_ptr()) };
        // SAFETY: the reference we owned moves into the `ARef`.
        unsafe { ARef::from_raw(inode.cast()) }
    }

    /// Gives the reference and the `I_NEW` lock away to the caller, who passes them
    /// to a VFS function that takes both (`d_instantiate_new`).
    pub(super) fn into_raw(self) -> *mut bindings::inode {
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

impl Drop for NewInode {
    fn drop(&mut self) {
        // SAFETY: the inode is new and ours (type invariant); this marks it bad,
        // unlocks and releases it.
        unsafe { bindings::iget_failed(self.inode.as_ptr()) };
    }
}

/// What [`SuperBlock::iget`] found.
pub(crate) enum Iget {
    /// The inode was cached and set up.
    Cached(ARef<Inode>),
    /// The inode is new: the caller loads it.
    New(NewInode),
}

impl SuperBlock {
    /// Finds inode `ino` in the inode cache, or adds a new, locked one for the
    /// caller to load.
    pub(crate) fn iget(&self, ino: u64) -> Result<Iget> {
        let ino = kernel::ffi::c_ulong::try_from(ino).map_err(|_| EINVAL)?;
        // SAFETY: the super block is live; `iget_locked` returns a referenced inode
        // (new and locked, or set up) or null.
        let raw = unsafe { bindings::iget_locked(self.as_ptr(), ino) };
        let inode = NonNull::new(raw).ok_or(ENOMEM)?;
        // SAFETY: the inode is live and referenced.
        if unsafe { tsfs_inode_is_new(raw) } {
            // INVARIANT: a new inode from tsfs's super block, locked, with our reference.
            Ok(Iget::New(NewInode { inode }))
        } else {
            // SAFETY: the reference `iget_locked` gave us moves into the `ARef`.
            Ok(Iget::Cached(unsafe { ARef::from_raw(inode.cast()) }))
        }
    }

    /// A new inode numbered `ino`, hashed and locked, for a file being created.
    /// `EUCLEAN` if a live inode already has that number (the inode bitmap lied).
    pub(crate) fn new_inode(&self, ino: u64) -> Result<NewInode> {
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
            // frees; its link count is not 0, so tsfs's eviction frees nothing.
            unsafe { bindings::iput(raw) };
            return Err(crate::kapi::errno::euclean());
        }
        // INVARIANT: a new inode from tsfs's super block, locked, with our reference.
        Ok(NewInode { inode })
    }
}

/// Gives up a counted reference, for a VFS function that takes it over.
pub(super) fn into_raw(inode: ARef<Inode>) -> *mut bindings::inode {
    let raw = inode.as_ptr();
    core::mem::forget(inode);
    raw
}
