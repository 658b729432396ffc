// SPDX-License-Identifier: GPL-2.0

//! Metadata blocks, read and written through the block device's buffer cache.
//!
//! tsfs keeps its metadata (super block, bitmaps, inode table, directory and
//! extent blocks) in buffer heads of the block device; file data never goes
//! through them. Every access to a buffer's bytes happens under the buffer's own
//! lock (`lock_buffer`), which write-back also holds while the block is in
//! flight: so Rust never sees the bytes change under a shared borrow, and a block
//! is never modified while it is being written.

use super::fs::{FileSystem, INode, SuperBlock};
use core::{mem::ManuallyDrop, ptr::NonNull};
use kernel::{bindings, prelude::*};

// bindgen's structs stand for C structs, a few of which hold config-dependent
// empty structs; only pointers to them cross this boundary.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_sb_bread(sb: *mut bindings::super_block, block: u64) -> *mut bindings::buffer_head;
    fn tsfs_sb_getblk(sb: *mut bindings::super_block, block: u64) -> *mut bindings::buffer_head;
    fn tsfs_sb_find_get_block(
        sb: *mut bindings::super_block,
        block: u64,
    ) -> *mut bindings::buffer_head;
    fn tsfs_lock_buffer(bh: *mut bindings::buffer_head);
    fn tsfs_set_buffer_uptodate(bh: *mut bindings::buffer_head);
    fn tsfs_clear_buffer_dirty(bh: *mut bindings::buffer_head);
}

/// A reference to one block's buffer; released on drop.
///
/// # Invariants
///
/// `bh` is a buffer head of the super block's device whose reference this
/// object owns; `b_data` points to `b_size` bytes that live as long as the buffer.
pub(crate) struct Buffer {
    bh: NonNull<bindings::buffer_head>,
}

impl Buffer {
    /// Reads block `block` (or finds it cached); `EIO` if it cannot be read.
    pub(crate) fn read<T: FileSystem>(sb: &SuperBlock<T>, block: u64) -> Result<Self> {
        // SAFETY: `sb` is a live super block with a block device and a block size
        // set at mount; `sb_bread` returns a referenced, up-to-date buffer or null.
        let bh = unsafe { tsfs_sb_bread(sb.as_ptr(), block) };
        // INVARIANT: a non-null result carries a reference that we now own.
        NonNull::new(bh).map(|bh| Buffer { bh }).ok_or(EIO)
    }

    /// The buffer of block `block` without reading it, for a caller that is about
    /// to overwrite all of it ([`Buffer::overwrite`]).
    pub(crate) fn get_for_overwrite<T: FileSystem>(sb: &SuperBlock<T>, block: u64) -> Result<Self> {
        // SAFETY: as in `read`; `sb_getblk` returns a referenced buffer or null.
        let bh = unsafe { tsfs_sb_getblk(sb.as_ptr(), block) };
        // INVARIANT: a non-null result carries a reference that we now own.
        NonNull::new(bh).map(|bh| Buffer { bh }).ok_or(EIO)
    }

    fn lock(&self) -> LockedBuffer<'_> {
        // SAFETY: `bh` is a live buffer (type invariant); locking may sleep, which
        // the callers of this module allow.
        unsafe { tsfs_lock_buffer(self.bh.as_ptr()) };
        // INVARIANT: the buffer lock is now held.
        LockedBuffer { buf: self }
    }

    /// Runs `f` on the block's bytes.
    pub(crate) fn read_with<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        let locked = self.lock();
        f(locked.bytes())
    }

    /// Runs `f` on the block's bytes, then marks the block dirty.
    pub(crate) fn modify<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut locked = self.lock();
        let r = f(locked.bytes_mut());
        drop(locked);
        self.mark_dirty();
        r
    }

    /// [`Buffer::modify`] for a block that belongs to `inode` alone (a directory
    /// block): the block is also queued on the inode's list of metadata buffers,
    /// which an `fsync` of the inode writes ([`INode::sync_buffers`]).
    pub(crate) fn modify_for<T: FileSystem, R>(
        &self,
        inode: &INode<T>,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> R {
        let mut locked = self.lock();
        let r = f(locked.bytes_mut());
        drop(locked);
        self.mark_dirty_for(inode);
        r
    }

    /// Runs `f` on the block's bytes, which it must fill completely, then marks
    /// the block up to date (whatever was on disk does not matter) and dirty.
    pub(crate) fn overwrite<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let r = self.fill(f);
        self.mark_dirty();
        r
    }

    /// [`Buffer::overwrite`] for a block that belongs to `inode` alone, queued on
    /// its list of metadata buffers as in [`Buffer::modify_for`].
    pub(crate) fn overwrite_for<T: FileSystem, R>(
        &self,
        inode: &INode<T>,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> R {
        let r = self.fill(f);
        self.mark_dirty_for(inode);
        r
    }

    /// Runs `f` on the block's bytes, which it must fill completely, then marks
    /// the block up to date.
    fn fill<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let mut locked = self.lock();
        let r = f(locked.bytes_mut());
        // SAFETY: `bh` is live and locked by us; its contents are now what we want.
        unsafe { tsfs_set_buffer_uptodate(self.bh.as_ptr()) };
        r
    }

    fn mark_dirty(&self) {
        // SAFETY: `bh` is a live, up-to-date buffer (type invariant).
        unsafe { bindings::mark_buffer_dirty(self.bh.as_ptr()) };
    }

    fn mark_dirty_for<T: FileSystem>(&self, inode: &INode<T>) {
        // SAFETY: `bh` is a live, up-to-date buffer of the block device (type
        // invariant) and `inode` a live inode of the same super block, so every
        // buffer queued on its list comes from the same device mapping (which the
        // C function requires). An inode's list is emptied before the inode is
        // freed (`invalidate_inode_buffers` at eviction).
        unsafe { bindings::mark_buffer_dirty_inode(self.bh.as_ptr(), inode.as_ptr()) };
    }

    /// Writes the block now if it is dirty, and waits; `EIO` if that failed.
    pub(crate) fn sync(&self) -> Result {
        // SAFETY: `bh` is a live buffer (type invariant); this may sleep.
        let ret = unsafe { bindings::sync_dirty_buffer(self.bh.as_ptr()) };
        if ret == 0 {
            Ok(())
        } else {
            Err(EIO)
        }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: we own one reference to `bh` (type invariant) and give it back.
        unsafe { bindings::__brelse(self.bh.as_ptr()) };
    }
}

/// Holds a [`Buffer`]'s lock.
///
/// # Invariants
///
/// The buffer lock of `buf` is held by this object.
struct LockedBuffer<'a> {
    buf: &'a Buffer,
}

impl LockedBuffer<'_> {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `bh` is live (`Buffer` invariant), so reading its fields is fine.
        let (data, size) = unsafe {
            let bh = self.buf.bh.as_ptr();
            ((*bh).b_data, (*bh).b_size)
        };
        // SAFETY: `b_data` holds `b_size` bytes living as long as the buffer (`Buffer`
        // invariant); we hold the buffer lock (type invariant), under which alone tsfs
        // and write-back access them, so nothing else touches them meanwhile.
        unsafe { core::slice::from_raw_parts(data.cast::<u8>(), size) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`.
        let (data, size) = unsafe {
            let bh = self.buf.bh.as_ptr();
            ((*bh).b_data, (*bh).b_size)
        };
        // SAFETY: as in `bytes`; `&mut self` makes this the only borrow.
        unsafe { core::slice::from_raw_parts_mut(data.cast::<u8>(), size) }
    }
}

impl Drop for LockedBuffer<'_> {
    fn drop(&mut self) {
        // SAFETY: the lock is held by us (type invariant).
        unsafe { bindings::unlock_buffer(self.buf.bh.as_ptr()) };
    }
}

/// Forgets block `block`'s cached buffer, if any, for a block that tsfs has just
/// freed: a dirty copy of a directory or extent block must not be written later
/// over whatever the block holds next, nor stay queued on its old inode's list
/// of metadata buffers. Waits for a write already in flight.
pub(crate) fn forget<T: FileSystem>(sb: &SuperBlock<T>, block: u64) {
    // SAFETY: `sb` is a live super block; this returns a referenced buffer or null.
    let bh = unsafe { tsfs_sb_find_get_block(sb.as_ptr(), block) };
    let Some(bh) = NonNull::new(bh) else {
        return;
    };
    // INVARIANT: the lookup gave us a reference.
    let buf = Buffer { bh };
    let locked = buf.lock();
    // SAFETY: the buffer is live and locked by us; clearing its dirty bit under the
    // lock keeps write-back (which tests the bit under the lock) from writing it.
    unsafe { tsfs_clear_buffer_dirty(bh.as_ptr()) };
    drop(locked);
    let buf = ManuallyDrop::new(buf);
    // SAFETY: we own one reference to the live buffer, which `__bforget` takes
    // over (and `ManuallyDrop` keeps `Drop` from releasing it again); it takes the
    // buffer off an inode's list of metadata buffers under that list's lock.
    unsafe { bindings::__bforget(buf.bh.as_ptr()) };
}

/// Writes block `block` now if its buffer is cached and dirty, and waits: for a
/// block shared by many inodes (a bitmap block), which no inode's list of
/// metadata buffers holds. `EIO` if the write failed.
pub(crate) fn sync_cached<T: FileSystem>(sb: &SuperBlock<T>, block: u64) -> Result {
    // SAFETY: `sb` is a live super block; this returns a referenced buffer or null.
    let bh = unsafe { tsfs_sb_find_get_block(sb.as_ptr(), block) };
    match NonNull::new(bh) {
        // INVARIANT: the lookup gave us a reference.
        Some(bh) => Buffer { bh }.sync(),
        None => Ok(()),
    }
}
