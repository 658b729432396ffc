// SPDX-License-Identifier: GPL-2.0

//! `FS_IOC_FIEMAP`: a request for the extents of a file range, answered by
//! iomap from the filesystem's own mapping operations.

use super::{inode::Operations, iomap, FileSystem, INode};
use core::marker::PhantomData;
use kernel::{bindings, error::from_result, error::to_result, ffi::c_int, prelude::*};

/// A `fiemap` request on a range of an inode.
///
/// # Invariants
///
/// `inode` and `info` are the live arguments of a `fiemap` call on an inode of
/// type `T`, valid for `'a`.
pub(crate) struct Fiemap<'a, T: FileSystem> {
    inode: *mut bindings::inode,
    info: *mut bindings::fiemap_extent_info,
    start: u64,
    len: u64,
    _life: PhantomData<(&'a mut bindings::fiemap_extent_info, T)>,
}

impl<T: FileSystem> Fiemap<'_, T> {
    /// Answers the request with what `ops` map the range to (`iomap_fiemap`:
    /// checks the request's flags, writes back dirty pages first if asked, and
    /// copies one extent per mapping to the user's buffer).
    pub(crate) fn answer(self, ops: iomap::Ops<T>) -> Result {
        // SAFETY: the arguments are live for the call (type invariant); `ops` is a
        // static table for inodes of type `T`.
        to_result(unsafe {
            bindings::iomap_fiemap(self.inode, self.info, self.start, self.len, ops.as_ptr())
        })
    }
}

/// # Safety
///
/// Called by the VFS (`ioctl_fiemap`) with a live inode of `U`'s type, whose file
/// is open, and a request to fill.
pub(super) unsafe extern "C" fn fiemap<U: Operations>(
    inode: *mut bindings::inode,
    info: *mut bindings::fiemap_extent_info,
    start: u64,
    len: u64,
) -> c_int {
    from_result(|| {
        // SAFETY: the inode is live and of `U`'s type, as the VFS promises above.
        let i = unsafe { INode::<U::FileSystem>::from_raw(inode) };
        // The invariant holds: these are the call's arguments.
        let req = Fiemap {
            inode,
            info,
            start,
            len,
            _life: PhantomData,
        };
        U::fiemap(i, req)?;
        Ok(0)
    })
}
