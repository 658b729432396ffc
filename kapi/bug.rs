// SPDX-License-Identifier: GPL-2.0

//! Kernel warnings, for bugs detected and refused at run time.

use core::sync::atomic::{AtomicBool, Ordering::Relaxed};
use kernel::str::CStr;

extern "C" {
    fn tsfs_warn(msg: *const kernel::ffi::c_char);
}

/// Warns (`WARN`, with a backtrace) with `msg` the first time `once` is passed
/// here, like `WARN_ON_ONCE` with one flag per condition.
pub(crate) fn warn_once(once: &AtomicBool, msg: &'static CStr) {
    if once.swap(true, Relaxed) {
        return;
    }
    // SAFETY: `msg` is a NUL-terminated static string.
    unsafe { tsfs_warn(msg.as_char_ptr()) }
}
