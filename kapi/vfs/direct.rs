// SPDX-License-Identifier: GPL-2.0

//! A direct IO request (`read_iter`/`write_iter` with `IOCB_DIRECT`), and the two
//! ways to serve part of it: true direct IO through iomap, or buffered IO whose
//! pages are then written back and dropped (what `O_DIRECT` promises).

use super::{inode::Inode, iomap};
use crate::kapi::uio::{IovIter, Pinned};
use core::marker::PhantomData;
use kernel::{bindings, error::Error, ffi::c_int, prelude::*};

// Only pointers cross; see file_ops.rs.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_file_inode(file: *const bindings::file) -> *mut bindings::inode;
    fn tsfs_iocb_is_nowait(iocb: *const bindings::kiocb) -> bool;
}

/// A direct IO request.
///
/// # Invariants
///
/// `iocb` and `iter` are the live arguments of a `read_iter` or `write_iter` call
/// with `IOCB_DIRECT` on a tsfs regular file, valid for `'a`; `write` says which.
pub(crate) struct DirectRequest<'a> {
    iocb: *mut bindings::kiocb,
    iter: *mut bindings::iov_iter,
    write: bool,
    _life: PhantomData<&'a mut bindings::kiocb>,
}

impl<'a> DirectRequest<'a> {
    /// Wraps the arguments of a `read_iter` (`write` false) or `write_iter` call.
    ///
    /// # Safety
    ///
    /// The pointers must be the live arguments of such a call with `IOCB_DIRECT`
    /// on a tsfs regular file, for `'a`.
    pub(super) unsafe fn new(
        iocb: *mut bindings::kiocb,
        iter: *mut bindings::iov_iter,
        write: bool,
    ) -> Self {
        // INVARIANT: the caller's guarantee.
        DirectRequest {
            iocb,
            iter,
            write,
            _life: PhantomData,
        }
    }

    /// The file's inode.
    pub(crate) fn inode(&self) -> &'a Inode {
        // SAFETY: the file is open for `'a` (type invariant), so its inode is a live
        // tsfs inode for `'a`.
        unsafe { Inode::from_raw(tsfs_file_inode((*self.iocb).ki_filp)) }
    }

    /// Whether this is a write.
    pub(crate) fn is_write(&self) -> bool {
        self.write
    }

    /// The file position of the next byte.
    pub(crate) fn pos(&self) -> u64 {
        // SAFETY: `iocb` is live (type invariant).
        u64::try_from(unsafe { (*self.iocb).ki_pos }).unwrap_or(0)
    }

    /// `RWF_NOWAIT` / `IOCB_NOWAIT`: must not block.
    pub(crate) fn nowait(&self) -> bool {
        // SAFETY: `iocb` is live (type invariant).
        unsafe { iocb_nowait(self.iocb) }
    }

    /// The user buffer.
    pub(crate) fn iter(&mut self) -> IovIter<'_> {
        // SAFETY: `iter` is live and only used through this borrow meanwhile.
        unsafe { IovIter::from_raw(self.iter) }
    }

    /// The VFS's write checks (limits, `O_APPEND`); the bytes left to write. The
    /// caller holds the inode lock.
    pub(crate) fn write_checks(&mut self) -> Result<usize> {
        if !self.write {
            return Err(EINVAL);
        }
        // SAFETY: live arguments of a `write_iter` (type invariant, `write`); the
        // caller holds the inode lock.
        unsafe { super::file_ops::write_checks(self.iocb, self.iter) }
    }

    /// Drops set-id bits and updates the times, as a write must.
    pub(crate) fn file_modified(&mut self) -> Result {
        // SAFETY: `iocb` is live and its file open (type invariant).
        unsafe { super::file_ops::file_modified(self.iocb) }
    }

    /// Syncs what was written if asked to (`O_DSYNC`...); call without the inode
    /// lock.
    pub(crate) fn sync_written(&mut self, written: usize) -> Result<usize> {
        // SAFETY: `iocb` is live (type invariant).
        unsafe { super::file_ops::sync_written(self.iocb, written) }
    }

    /// The page cache the file's mappings show.
    pub(crate) fn mapping(&self) -> *const bindings::address_space {
        self.inode().mapping()
    }

    /// True direct IO of the `pinned` bytes (the next ones of the request),
    /// through iomap; waits for completion even for asynchronous requests (the pages
    /// are unpinned afterwards). Returns the bytes done.
    pub(crate) fn direct(&mut self, pinned: &mut Pinned) -> Result<usize> {
        let iocb = self.iocb;
        pinned.with_iter(|iter| dio_rw(iocb, iter))
    }

    /// True direct IO of the rest of a request whose buffer is kernel memory
    /// (nothing to pin, nothing that can fault). Returns the bytes done.
    pub(crate) fn direct_kernel_buffer(&mut self) -> Result<usize> {
        if self.iter().is_user() {
            return Err(EINVAL);
        }
        dio_rw(self.iocb, self.iter)
    }

    /// Does the next `len` bytes as buffered IO; for a write, then writes them back
    /// and drops them from the page cache. Returns the bytes done.
    pub(crate) fn buffered(&mut self, len: usize) -> Result<usize> {
        let start = self.pos();
        let total = self.iter().count();
        let len = len.min(total);
        self.iter().truncate(len);
        // SAFETY: `iocb` is live (type invariant); the flag is restored below, before
        // anyone else looks at it.
        let flags = unsafe { (*self.iocb).ki_flags };
        // SAFETY: as above.
        unsafe { (*self.iocb).ki_flags = flags & !(bindings::IOCB_DIRECT as c_int) };
        // SAFETY: `iocb` and `iter` are live (type invariant); the caller holds the
        // inode lock, as both calls expect.
        let n = unsafe {
            if self.write {
                bindings::iomap_file_buffered_write(
                    self.iocb,
                    self.iter,
                    &iomap::IOMAP_OPS,
                    core::ptr::null_mut(),
                )
            } else {
                bindings::filemap_read(self.iocb, self.iter, 0)
            }
        };
        // SAFETY: as above.
        unsafe { (*self.iocb).ki_flags = flags };
        let done = usize::try_from(n).map_err(|_| Error::from_errno(n as c_int));
        let done_len = *done.as_ref().unwrap_or(&0);
        self.iter().reexpand(total - done_len);
        let done = done?;
        if self.write && done > 0 {
            self.inode().write_back_and_drop(start, done as u64)?;
        }
        Ok(done)
    }
}

/// iomap's direct IO of `iter` for `iocb`, waiting for completion even for
/// asynchronous requests; the bytes done.
fn dio_rw(iocb: *mut bindings::kiocb, iter: *mut bindings::iov_iter) -> Result<usize> {
    // SAFETY: the callers pass a live request and an iterator valid for the call;
    // the operations are static and need no private data; the callers hold the
    // locks iomap expects (the inode lock).
    let n = unsafe {
        bindings::iomap_dio_rw(
            iocb,
            iter,
            &iomap::IOMAP_OPS,
            core::ptr::null(),
            bindings::IOMAP_DIO_FORCE_WAIT,
            core::ptr::null_mut(),
            0,
        )
    };
    usize::try_from(n).map_err(|_| Error::from_errno(n as c_int))
}

/// Whether `iocb` carries `IOCB_NOWAIT`.
///
/// # Safety
///
/// `iocb` is a live request.
pub(super) unsafe fn iocb_nowait(iocb: *mut bindings::kiocb) -> bool {
    // SAFETY: the caller's guarantee.
    unsafe { tsfs_iocb_is_nowait(iocb) }
}
