// SPDX-License-Identifier: GPL-2.0

//! Direct IO mechanisms of a request (`IOCB_DIRECT`): true direct IO through
//! iomap, on pinned user pages or a kernel buffer, and buffered IO of part of the
//! request. When to use which is the filesystem's policy.

use super::{file::bytes_or_errno, file::IoRequest, iomap, FileSystem};
use crate::kapi::uio::Pinned;
use core::{
    marker::PhantomData,
    ops::{Deref, DerefMut},
};
use kernel::{bindings, ffi::c_int, prelude::*};

/// A direct IO request.
///
/// # Invariants
///
/// `req` carries `IOCB_DIRECT`.
pub(crate) struct DirectRequest<'a, T: FileSystem> {
    req: IoRequest<'a, T>,
}

impl<'a, T: FileSystem> IoRequest<'a, T> {
    /// The request as a direct one, if it is (`O_DIRECT`).
    pub(crate) fn as_direct(&mut self) -> Option<DirectRequest<'_, T>> {
        if !self.is_direct() {
            return None;
        }
        // INVARIANT: the same arguments, borrowed from `self` (so used by nothing
        // else meanwhile), with `IOCB_DIRECT` (checked above).
        Some(DirectRequest {
            req: IoRequest {
                iocb: self.iocb,
                iter: self.iter,
                write: self.write,
                _life: PhantomData,
            },
        })
    }
}

impl<'a, T: FileSystem> Deref for DirectRequest<'a, T> {
    type Target = IoRequest<'a, T>;
    fn deref(&self) -> &IoRequest<'a, T> {
        &self.req
    }
}

impl<'a, T: FileSystem> DerefMut for DirectRequest<'a, T> {
    fn deref_mut(&mut self) -> &mut IoRequest<'a, T> {
        &mut self.req
    }
}

impl<T: FileSystem> DirectRequest<'_, T> {
    /// True direct IO of the `pinned` bytes (the next ones of the request), through
    /// iomap with `ops`; waits for completion even for asynchronous requests (the
    /// pages are unpinned afterwards). Returns the bytes done. The caller holds the
    /// inode lock.
    pub(crate) fn direct(&mut self, pinned: &mut Pinned, ops: iomap::Ops<T>) -> Result<usize> {
        let iocb = self.req.iocb;
        pinned.with_iter(|iter| dio_rw(iocb, iter, ops))
    }

    /// True direct IO of the rest of a request whose buffer is kernel memory
    /// (nothing to pin, nothing that can fault). Returns the bytes done.
    pub(crate) fn direct_kernel_buffer(&mut self, ops: iomap::Ops<T>) -> Result<usize> {
        if self.iter().is_user() {
            return Err(EINVAL);
        }
        dio_rw(self.req.iocb, self.req.iter, ops)
    }

    /// Buffered IO of the rest of the request (a write through iomap with `ops`, a
    /// read from the page cache), as if it had no `IOCB_DIRECT`. Returns the bytes
    /// done. The caller holds the inode lock.
    pub(crate) fn buffered(&mut self, ops: iomap::Ops<T>) -> Result<usize> {
        let iocb = self.req.iocb;
        // SAFETY: `iocb` is live (`IoRequest` invariant); the flag is restored below,
        // before anyone else looks at it.
        let flags = unsafe { (*iocb).ki_flags };
        // SAFETY: as above.
        unsafe { (*iocb).ki_flags = flags & !(bindings::IOCB_DIRECT as c_int) };
        // SAFETY: `iocb` and `iter` are live (`IoRequest` invariant); the caller
        // holds the inode lock, as both calls expect; the operations are static.
        let n = unsafe {
            if self.req.is_write() {
                bindings::iomap_file_buffered_write(
                    iocb,
                    self.req.iter,
                    ops.as_ptr(),
                    core::ptr::null_mut(),
                )
            } else {
                bindings::filemap_read(iocb, self.req.iter, 0)
            }
        };
        // SAFETY: as above.
        unsafe { (*iocb).ki_flags = flags };
        bytes_or_errno(n)
    }
}

/// iomap's direct IO of `iter` for `iocb`, waiting for completion even for
/// asynchronous requests; the bytes done.
fn dio_rw<T: FileSystem>(
    iocb: *mut bindings::kiocb,
    iter: *mut bindings::iov_iter,
    ops: iomap::Ops<T>,
) -> Result<usize> {
    // SAFETY: the callers pass a live request and an iterator valid for the call;
    // the operations are static and need no private data; the callers hold the
    // locks iomap expects (the inode lock).
    bytes_or_errno(unsafe {
        bindings::iomap_dio_rw(
            iocb,
            iter,
            ops.as_ptr(),
            core::ptr::null(),
            bindings::IOMAP_DIO_FORCE_WAIT,
            core::ptr::null_mut(),
            0,
        )
    })
}
