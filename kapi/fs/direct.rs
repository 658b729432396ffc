// SPDX-License-Identifier: GPL-2.0

//! Direct IO mechanisms of a request (`IOCB_DIRECT`): true direct IO through
//! iomap, on pinned user pages or a kernel buffer, and buffered IO of part of the
//! request. When to use which is the filesystem's policy.

use super::dio_async::{self, Inflight};
use super::{
    file::bytes_or_errno,
    file::IoRequest,
    inode::{Locked, SharedGuard},
    iomap, FileSystem,
};
use crate::kapi::{errno::eiocbqueued, uio::Pinned};
use core::{
    marker::PhantomData,
    ops::{Deref, DerefMut},
};
use kernel::{bindings, ffi::c_int, prelude::*};

// Only pointers cross; see file.rs.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_iocb_no_caller_comp(iocb: *mut bindings::kiocb);
}

/// What became of an asynchronous round ([`DirectRequest::direct_async`]).
pub(crate) enum Submitted {
    /// In flight: it completes through the request's `ki_complete`, which may
    /// already have run; the request must not be touched again (`read_iter` or
    /// `write_iter` returns `EIOCBQUEUED` at once).
    Queued,
    /// Done in this task: the bytes done, or the error. The pinned pages and the
    /// hold are released (here, or by the completion shortly).
    Done(Result<usize>),
}

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
        pinned.with_iter(|iter| dio_rw(iocb, iter, ops, write, lock, true))
    }

    /// True direct IO of the `pinned` bytes (the next ones of the request) that may
    /// complete after the call: the pinned pages and `hold` are kept until the
    /// device IO completes and then released by a work item (see dio_async.rs).
    /// Completes in this task (waits) when the request is not asynchronous, when a
    /// write is under the inode lock held exclusively (it may allocate or extend)
    /// or must be synced (`O_DSYNC`), or when iomap decides so.
    pub(crate) fn direct_async<H: Send + 'static>(
        &mut self,
        pinned: Pinned,
        ops: DirectOps<T>,
        lock: &InodeLock<'_, '_, T>,
        hold: H,
    ) -> Submitted {
        let (iocb, write) = (self.req.iocb, self.req.is_write());
        let wait = !self.is_async()
            || (write && (matches!(lock, InodeLock::Exclusive(_)) || self.is_dsync()));
        let flags = if self.nowait() {
            GFP_NOWAIT
        } else {
            GFP_KERNEL
        };
        let ctx = match Inflight::new(pinned, hold, flags) {
            Ok(ctx) => ctx,
            Err(e) => return Submitted::Done(Err(e)),
        };
        // SAFETY: `ctx` was just made and is ours.
        let mut it = unsafe { Inflight::iter(ctx) };
        // SAFETY: `ctx` is ours and handed to the table on success; `iocb` is the
        // live request, whose earlier rounds (if any) completed (they waited).
        if wait || !unsafe { Inflight::record(iocb, ctx) } {
            let result = dio_rw(iocb, &mut it, ops, write, lock, true);
            // SAFETY: ours (not recorded); the IO is over, nothing uses it.
            unsafe { Inflight::release(ctx) };
            return Submitted::Done(result);
        }
        // Completion in the submitter's task work (io_uring) would make the
        // release of *block* wait for a task that may itself wait for *block*.
        // SAFETY: `iocb` is live (type invariant of `IoRequest`).
        unsafe { tsfs_iocb_no_caller_comp(iocb) };
        // The context's pages stay pinned until the completion releases them, after
        // iomap's last use of `it` (its submission reference is dropped last).
        let result = dio_rw(iocb, &mut it, ops, write, lock, false);
        if matches!(&result, Err(e) if *e == eiocbqueued()) {
            return Submitted::Queued;
        }
        // Completed before iomap returned: the context is ours again unless the
        // completion took it (and queued its release).
        if dio_async::take_back(iocb) {
            // SAFETY: taken back from the table, so ours; the IO is over.
            unsafe { Inflight::release(ctx) };
        }
        Submitted::Done(result)
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
        dio_rw(self.req.iocb, self.req.iter, ops, write, lock, true)
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

/// iomap's direct IO of `iter` for `iocb`; the bytes done. With `wait`, it
/// completes before returning even for an asynchronous request; without, an
/// asynchronous one may return `EIOCBQUEUED` (only for a round that
/// [`DirectRequest::direct_async`] recorded: its completion operations release
/// the context). A write gets the completion operations; under a shared lock it
/// may only overwrite.
fn dio_rw<T: FileSystem>(
    iocb: *mut bindings::kiocb,
    iter: *mut bindings::iov_iter,
    ops: DirectOps<T>,
    write: bool,
    lock: &InodeLock<'_, '_, T>,
    wait: bool,
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
    let mut flags = if wait {
        bindings::IOMAP_DIO_FORCE_WAIT
    } else {
        0
    };
    if write && matches!(lock, InodeLock::Shared(_)) {
        flags |= bindings::IOMAP_DIO_OVERWRITE_ONLY;
    }
    // `iomap::WriteDone`'s invariant: a write that can reach past the size is one
    // under the exclusive lock, and waited for here (`direct_async` waits for
    // those), so its completion runs in this task under it; a write that does not
    // wait is an overwrite inside the size (`IOMAP_DIO_OVERWRITE_ONLY`). Reads
    // complete through the filesystem only when they do not wait.
    let done = if write {
        ops.done.as_ptr()
    } else if wait {
        core::ptr::null()
    } else {
        dio_async::read_ops()
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
