// SPDX-License-Identifier: GPL-2.0

//! Memory allocation scopes.

use core::marker::PhantomData;

extern "C" {
    fn tsfs_memalloc_nofs_save() -> kernel::ffi::c_uint;
    fn tsfs_memalloc_nofs_restore(flags: kernel::ffi::c_uint);
}

/// While alive, the current task's allocations do not recurse into file system
/// reclaim (they behave as `GFP_NOFS`).
///
/// tsfs holds one while it holds a lock that its own inode eviction takes (the
/// allocator and inode metadata locks): reclaim may evict tsfs inodes, and an
/// allocation under such a lock that entered reclaim could deadlock on it.
/// 6.12's `kernel::alloc::Flags` has no `GFP_NOFS`; the scope API is the kernel's
/// preferred way anyway. Not `Send`: the scope belongs to the task that opened it.
pub(crate) struct NoFsScope {
    saved: kernel::ffi::c_uint,
    _not_send: PhantomData<*mut ()>,
}

impl NoFsScope {
    /// Opens a scope; scopes nest.
    pub(crate) fn new() -> Self {
        // SAFETY: no preconditions; the matching restore is in `drop`.
        let saved = unsafe { tsfs_memalloc_nofs_save() };
        NoFsScope {
            saved,
            _not_send: PhantomData,
        }
    }
}

impl Drop for NoFsScope {
    fn drop(&mut self) {
        // SAFETY: `saved` came from the matching save on this task (the type is not
        // `Send`), and scopes are dropped in reverse order of creation.
        unsafe { tsfs_memalloc_nofs_restore(self.saved) };
    }
}
