// SPDX-License-Identifier: GPL-2.0

//! The `iov_iter` of a read or write: what the DIO path needs to look at and steer
//! its user buffer.

use kernel::{bindings, error::Error, page::PAGE_SIZE, prelude::*};

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
    pub(in crate::kapi) unsafe fn from_raw(ptr: *mut bindings::iov_iter) -> Self {
        // INVARIANT: the caller guarantees validity and exclusivity.
        IovIter {
            ptr,
            _life: core::marker::PhantomData,
        }
    }

    /// The raw pointer, for passing the iterator to C (iomap).
    pub(in crate::kapi) fn as_ptr(&mut self) -> *mut bindings::iov_iter {
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

    /// The OR of every segment's address and length: its low bits say how aligned
    /// the whole buffer is.
    pub(crate) fn alignment(&self) -> usize {
        // SAFETY: `ptr` is valid (type invariant).
        unsafe { bindings::iov_iter_alignment(self.ptr) as usize }
    }

    /// Whether every segment's address is a multiple of `mem` and every length a
    /// multiple of `len` (both powers of two), as direct IO needs.
    pub(crate) fn is_aligned(&self, mem: u32, len: u32) -> bool {
        // SAFETY: `ptr` is valid (type invariant).
        unsafe {
            bindings::iov_iter_is_aligned(self.ptr, mem.saturating_sub(1), len.saturating_sub(1))
        }
    }

    /// Makes page faults on the buffer fail instead of being served (`nofault`);
    /// returns the previous setting.
    pub(crate) fn set_nofault(&mut self, nofault: bool) -> bool {
        // SAFETY: `ptr` is valid and exclusively ours (type invariant).
        let it = unsafe { &mut *self.ptr };
        core::mem::replace(&mut it.nofault, nofault)
    }

    /// Whether page faults on the buffer fail instead of being served.
    pub(crate) fn nofault(&self) -> bool {
        // SAFETY: `ptr` is valid (type invariant).
        unsafe { (*self.ptr).nofault }
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
            let addr = unsafe { tsfs_iter_iov_addr(copy_ptr) };
            // SAFETY: as above.
            let len = unsafe { tsfs_iter_iov_len(copy_ptr) };
            let len = len.min(left);
            *slot = (addr as u64, len as u64);
            n += 1;
            // SAFETY: as above; advancing the copy moves only the copy.
            unsafe { bindings::iov_iter_advance(copy_ptr, len) };
        }
        n
    }
}

/// Most pages pinned for one round of direct IO.
pub(crate) const MAX_PIN_PAGES: usize = 256;

impl IovIter<'_> {
    /// Moves `n` bytes back (undoes part of a [`Self::pin`] that was not used).
    pub(crate) fn revert(&mut self, n: usize) {
        // SAFETY: `ptr` is valid and exclusively ours (type invariant); callers only
        // revert bytes they advanced over.
        unsafe { bindings::iov_iter_revert(self.ptr, n) }
    }

    /// Pins the user pages of the next `max` bytes (at most [`MAX_PIN_PAGES`]
    /// pages, across as many segments as that takes), faulting them in as needed
    /// (unless `nofault` is set), and advances past them. The IO then runs on the
    /// pinned pages, so it never needs the user's address space (or its
    /// `mmap_lock`) again. An error after some pages were pinned ends the round
    /// there (the caller meets it again next round).
    pub(crate) fn pin(&mut self, max: usize) -> Result<Pinned> {
        let write_to_pages = {
            // SAFETY: `ptr` is valid (type invariant).
            let it = unsafe { &*self.ptr };
            !it.data_source
        };
        // With `nofault` (RWF_NOWAIT), no allocation that may sleep either.
        let gfp = if self.nofault() {
            GFP_NOWAIT
        } else {
            GFP_KERNEL
        };
        let mut pinned = Pinned {
            pages: KVec::with_capacity(MAX_PIN_PAGES, gfp)?,
            bvecs: KVec::with_capacity(MAX_PIN_PAGES, gfp)?,
            len: 0,
            write_to_pages,
        };
        while pinned.len < max && pinned.pages.len() < MAX_PIN_PAGES && self.count() > 0 {
            let want = max - pinned.len;
            match self.pin_segment(&mut pinned, want) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if pinned.len == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(pinned)
    }

    /// Pins up to `max` more bytes of the current segment into `pinned` (in its
    /// spare page slots); the bytes pinned.
    fn pin_segment(&mut self, pinned: &mut Pinned, max: usize) -> Result<usize> {
        let have = pinned.pages.len();
        let room = MAX_PIN_PAGES.saturating_sub(have);
        if pinned.pages.capacity() < MAX_PIN_PAGES || room == 0 {
            return Ok(0);
        }
        // SAFETY: `have + room` is within the capacity (checked above).
        let mut array = unsafe { pinned.pages.as_mut_ptr().add(have) };
        let mut offset = 0usize;
        // SAFETY: `ptr` is valid and exclusively ours; `array` has room for `room`
        // page pointers, which is what may be filled.
        let n = unsafe {
            bindings::iov_iter_extract_pages(self.ptr, &mut array, max, room as _, 0, &mut offset)
        };
        let len = usize::try_from(n).map_err(|_| Error::from_errno(n as i32))?;
        let page = PAGE_SIZE;
        let count = (offset + len).div_ceil(page).min(room);
        // SAFETY: the call filled `count` slots after the `have` in use, within the
        // capacity; they are pinned pages, now recorded (so unpinned on drop).
        unsafe { pinned.pages.set_len(have + count) };
        let mut left = len;
        for (i, &p) in pinned.pages.iter().skip(have).enumerate() {
            let off = if i == 0 { offset } else { 0 };
            let take = left.min(page - off);
            // Cannot fail: `bvecs` has room for as many entries as `pages`.
            pinned.bvecs.push(
                bindings::bio_vec {
                    bv_page: p,
                    bv_len: take as u32,
                    bv_offset: off as u32,
                },
                GFP_KERNEL,
            )?;
            left -= take;
        }
        // INVARIANT: `pages` are the pinned pages; `bvecs` cover `len` more bytes.
        pinned.len += len;
        Ok(len)
    }
}

/// User pages pinned for one round of direct IO; unpinned on drop (and marked dirty
/// if the IO wrote into them).
///
/// # Invariants
///
/// `pages` holds exactly the pages pinned by `iov_iter_extract_pages`, and `bvecs`
/// describe `len` bytes in them.
pub(crate) struct Pinned {
    pages: KVec<*mut bindings::page>,
    bvecs: KVec<bindings::bio_vec>,
    len: usize,
    write_to_pages: bool,
}

impl Pinned {
    /// Bytes pinned.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Calls `f` with a kernel iterator over the pinned bytes: the source of a write,
    /// or the destination of a read.
    pub(in crate::kapi) fn with_iter<R>(
        &mut self,
        f: impl FnOnce(*mut bindings::iov_iter) -> R,
    ) -> R {
        let mut it = self.raw_iter();
        f(&mut it)
    }

    /// A kernel iterator over the pinned bytes. It points into `self`'s page
    /// vector (on the heap, so moving `self` does not move it): it may be used only
    /// while `self` lives.
    pub(in crate::kapi) fn raw_iter(&self) -> bindings::iov_iter {
        // SAFETY: all-zero is a valid starting point that `iov_iter_bvec` overwrites.
        let mut it: bindings::iov_iter = unsafe { core::mem::zeroed() };
        let dir = if self.write_to_pages {
            bindings::ITER_DEST
        } else {
            bindings::ITER_SOURCE
        };
        // SAFETY: `bvecs` describe `len` bytes of pinned pages (type invariant); the
        // iterator only records where they are.
        unsafe {
            bindings::iov_iter_bvec(
                &mut it,
                dir,
                self.bvecs.as_ptr(),
                self.bvecs.len() as _,
                self.len,
            )
        };
        it
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let n = self.pages.len() as _;
        // SAFETY: exactly these pages were pinned (type invariant); a read's
        // destination pages were written by the IO, so they are dirtied first.
        unsafe {
            if self.write_to_pages {
                bindings::unpin_user_pages_dirty_lock(self.pages.as_mut_ptr(), n, true)
            } else {
                bindings::unpin_user_pages(self.pages.as_mut_ptr(), n)
            }
        }
    }
}
