// SPDX-License-Identifier: GPL-2.0

//! The current task, as an identity.

use kernel::bindings;

/// The current task's `task_struct`, for comparing identities (never dereferenced
/// by tsfs).
pub(crate) fn current_task() -> *mut bindings::task_struct {
    // SAFETY: `get_current` only reads the per-CPU current pointer.
    unsafe { bindings::get_current() }
}
