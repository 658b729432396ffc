// SPDX-License-Identifier: GPL-2.0

//! The `iov_iter` of a read or write: what the DIO path needs to look at and steer
//! its user buffer.

use kernel::bindings;

// Only pointers cross: bindgen's structs with empty members (lock debugging off)
// make the lint flag them, as it does in `kernel::bindings` itself.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_iov_iter_count(i: *const bindings::iov_iter) -> usize;
    fn tsfs_user_backed_iter(i: *const bindings::iov_iter) -> bool;
    fn tsfs_iter_iov_addr(i: *const bindings::iov_iter) -> usize;
    fn tsfs_iter_iov_len(i: *const bindings::iov_iter) -> usize;
    fn tsfs_iov_iter_truncate(i: *mut bindings::iov_iter, count: usize);
    fn tsfs_iov_iter_reexpand(i: *mut bindings::iov_iter, count: usize);
}

/// A borrowed `struct iov_iter`.
///
/// # Invariants
///
/// `ptr` points to a valid iterator that nothing else uses while this borrow lives
/// (the VFS hands it to one read/write call).
pub(crate) struct IovIter<'a> {
    ptr: *mut bindings::iov_iter,
    _life: core::marker::PhantomData<&'a mut bindings::iov_iter>,
}

impl IovIter<'_> {
    /// Borrows `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid iterator, used by nothing else for the borrow's life.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::iov_iter) -> Self {
        // INVARIANT: the caller guarantees validity and exclusivity.
        IovIter {
            ptr,
            _life: core::marker::PhantomData,
        }
    }

    /// The raw pointer, for passing the iterator to C (iomap).
    pub(crate) fn as_ptr(&mut self) -> *mut bindings::iov_iter {
        self.ptr
    }

    /// Bytes left.
    pub(crate) fn count(&self) -> usize {
        // SAFETY: `ptr` is valid (type invariant).
        unsafe { tsfs_iov_iter_count(self.ptr) }
    }

    /// Whether the buffer is user memory (as opposed to kernel or page vectors).
    pub(crate) fn is_user(&self) -> bool {
        // SAFETY: `ptr` is valid (type invariant).
        unsafe { tsfs_user_backed_iter(self.ptr) }
    }

    /// Makes page faults on the buffer fail instead of being served (`nofault`);
    /// returns the previous setting.
    pub(crate) fn set_nofault(&mut self, nofault: bool) -> bool {
        // SAFETY: `ptr` is valid and exclusively ours (type invariant).
        let it = unsafe { &mut *self.ptr };
        core::mem::replace(&mut it.nofault, nofault)
    }

    /// Limits the iterator to `count` bytes; [`Self::reexpand`] undoes it.
    pub(crate) fn truncate(&mut self, count: usize) {
        // SAFETY: `ptr` is valid and exclusively ours (type invariant).
        unsafe { tsfs_iov_iter_truncate(self.ptr, count) }
    }

    /// Sets the byte count back to `count` after a [`Self::truncate`].
    pub(crate) fn reexpand(&mut self, count: usize) {
        // SAFETY: `ptr` is valid and exclusively ours (type invariant).
        unsafe { tsfs_iov_iter_reexpand(self.ptr, count) }
    }

    /// Moves `n` bytes forward without transferring them.
    pub(crate) fn advance(&mut self, n: usize) {
        // SAFETY: `ptr` is valid and exclusively ours (type invariant).
        unsafe { bindings::iov_iter_advance(self.ptr, n) }
    }

    /// Faults in up to `n` bytes of the buffer for reading (a write's source);
    /// returns how many could not be.
    pub(crate) fn fault_in_readable(&self, n: usize) -> usize {
        // SAFETY: `ptr` is valid (type invariant); may sleep, as callers allow.
        unsafe { bindings::fault_in_iov_iter_readable(self.ptr, n) }
    }

    /// Faults in up to `n` bytes of the buffer for writing (a read's destination);
    /// returns how many could not be.
    pub(crate) fn fault_in_writeable(&self, n: usize) -> usize {
        // SAFETY: `ptr` is valid (type invariant); may sleep, as callers allow.
        unsafe { bindings::fault_in_iov_iter_writeable(self.ptr, n) }
    }

    /// Fills `out` with the user address ranges (address, length) of the remaining
    /// buffer, in order, up to `out.len()` segments; returns how many. None for a
    /// buffer that is not user memory.
    pub(crate) fn user_segments(&self, out: &mut [(u64, u64)]) -> usize {
        if !self.is_user() {
            return 0;
        }
        // Walk a copy, so the caller's position is untouched.
        // SAFETY: `ptr` is valid; an `iov_iter` is plain data that C copies by value
        // the same way (`struct iov_iter i = *from`).
        let mut copy = unsafe { core::ptr::read(self.ptr) };
        let copy_ptr = core::ptr::addr_of_mut!(copy);
        let mut n = 0;
        for slot in out.iter_mut() {
            // SAFETY: `copy_ptr` is a valid iterator (a copy of one).
            let left = unsafe { tsfs_iov_iter_count(copy_ptr) };
            if left == 0 {
                break;
            }
            // SAFETY: as above; the copy is user-backed like the original.
            let (addr, len) =
                unsafe { (tsfs_iter_iov_addr(copy_ptr), tsfs_iter_iov_len(copy_ptr)) };
            let len = len.min(left);
            *slot = (addr as u64, len as u64);
            n += 1;
            // SAFETY: as above; advancing the copy moves only the copy.
            unsafe { bindings::iov_iter_advance(copy_ptr, len) };
        }
        n
    }
}
