// SPDX-License-Identifier: GPL-2.0

//! debugfs directories.

use kernel::{bindings, str::CStr};

/// A debugfs directory that is removed, with everything below it, on drop.
///
/// debugfs is diagnostics only: when it cannot create the directory (debugfs off,
/// out of memory), the kernel convention is to carry on without it, so creation
/// never fails; files created under a failed directory are silently absent.
///
/// # Invariants
///
/// `dentry` is either a directory returned by `debugfs_create_dir` that this
/// object alone removes, or an error pointer, which `debugfs_remove` ignores.
pub(crate) struct Dir {
    dentry: *mut bindings::dentry,
}

// SAFETY: a dentry pointer may be used and released from any thread; debugfs does
// its own locking.
unsafe impl Send for Dir {}
// SAFETY: `&Dir` only hands out the pointer as a parent, which debugfs allows concurrently.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates directory `name` under `parent`, or at the debugfs root.
    pub(crate) fn new(name: &CStr, parent: Option<&Dir>) -> Self {
        let parent = parent.map_or(core::ptr::null_mut(), |p| p.dentry);
        // SAFETY: `name` is a valid NUL-terminated string for the duration of the call,
        // and `parent` is null or a directory kept alive by the `Dir` borrowed here.
        let dentry = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), parent) };
        // INVARIANT: `debugfs_create_dir` returns a new directory or an error pointer.
        Dir { dentry }
    }

    /// The raw directory, for creating files in it.
    #[allow(dead_code)]
    pub(crate) fn as_ptr(&self) -> *mut bindings::dentry {
        self.dentry
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: by the type invariant, `dentry` is ours to remove, or an error pointer
        // that `debugfs_remove` ignores.
        unsafe { bindings::debugfs_remove(self.dentry) };
    }
}
