// SPDX-License-Identifier: GPL-2.0

//! Direct IO mechanisms of a request (`IOCB_DIRECT`): true direct IO through
//! iomap, on pinned user pages or a kernel buffer, and buffered IO of part of the
//! request. When to use which is the filesystem's policy.

use super::{
    file::bytes_or_errno,
    file::IoRequest,
    inode::{Locked, SharedGuard},
    iomap, FileSystem,
};
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

/// How the inode lock is held around a true direct IO.
pub(crate) enum InodeLock<'g, 'a, T: FileSystem> {
    /// Exclusively: a write may allocate and extend the file.
    Exclusive(&'g Locked<'a, T>),
    /// Shared: a write may only overwrite written blocks inside the file
    /// (`IOMAP_DIO_OVERWRITE_ONLY`); anything else fails with `EAGAIN`, and the
    /// caller retries with the lock held exclusively.
    Shared(&'g SharedGuard<'a, T>),
}

/// The iomap tables of a direct IO: mapping, and completion for writes.
pub(crate) struct DirectOps<T: FileSystem> {
    /// Maps file ranges.
    pub(crate) map: iomap::Ops<T>,
    /// Completes writes ([`iomap::DioOperations`]).
    pub(crate) done: iomap::DioOps<T>,
}

impl<T: FileSystem> Clone for DirectOps<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: FileSystem> Copy for DirectOps<T> {}

impl<T: FileSystem> DirectRequest<'_, T> {
    /// True direct IO of the `pinned` bytes (the next ones of the request), through
    /// iomap with `ops`, under the inode lock as `lock` holds it; waits for
    /// completion even for asynchronous requests (the pages are unpinned
    /// afterwards). Returns the bytes done.
    pub(crate) fn direct(
        &mut self,
        pinned: &mut Pinned,
        ops: DirectOps<T>,
        lock: &InodeLock<'_, '_, T>,
    ) -> Result<usize> {
        let (iocb, write) = (self.req.iocb, self.req.is_write());
        pinned.with_iter(|iter| dio_rw(iocb, iter, ops, write, lock))
    }

    /// True direct IO of the rest of a request whose buffer is kernel memory
    /// (nothing to pin, nothing that can fault). Returns the bytes done.
    pub(crate) fn direct_kernel_buffer(
        &mut self,
        ops: DirectOps<T>,
        lock: &InodeLock<'_, '_, T>,
    ) -> Result<usize> {
        if self.iter().is_user() {
            return Err(EINVAL);
        }
        let write = self.req.is_write();
        dio_rw(self.req.iocb, self.req.iter, ops, write, lock)
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
/// asynchronous requests; the bytes done. A write gets the completion
/// operations; under a shared lock it may only overwrite.
fn dio_rw<T: FileSystem>(
    iocb: *mut bindings::kiocb,
    iter: *mut bindings::iov_iter,
    ops: DirectOps<T>,
    write: bool,
    lock: &InodeLock<'_, '_, T>,
) -> Result<usize> {
    let locked = match lock {
        InodeLock::Exclusive(l) => l.as_ptr(),
        InodeLock::Shared(s) => s.as_ptr(),
    };
    // SAFETY: `iocb` is live and its file open, of type `T` (the callers'
    // guarantee).
    let file = unsafe { super::file::File::<T>::from_raw((*iocb).ki_filp) };
    if locked != file.inode().as_ptr() {
        // The lock held is another inode's: not the one iomap expects held.
        return Err(EINVAL);
    }
    let mut flags = bindings::IOMAP_DIO_FORCE_WAIT;
    if write && matches!(lock, InodeLock::Shared(_)) {
        flags |= bindings::IOMAP_DIO_OVERWRITE_ONLY;
    }
    // Only writes complete through the filesystem. `iomap::WriteDone`'s invariant:
    // a write that can reach past the size is one under the exclusive lock, and
    // waited for here (FORCE_WAIT), so its completion runs in this task under it.
    let done = if write {
        ops.done.as_ptr()
    } else {
        core::ptr::null()
    };
    // SAFETY: the callers pass a live request and an iterator valid for the call;
    // the operations are static and need no private data; the inode lock is held
    // as `lock` says, as iomap expects.
    bytes_or_errno(unsafe {
        bindings::iomap_dio_rw(
            iocb,
            iter,
            ops.map.as_ptr(),
            done,
            flags,
            core::ptr::null_mut(),
            0,
        )
    })
}
