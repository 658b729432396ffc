// SPDX-License-Identifier: GPL-2.0

//! The thin unsafe layer between tsfs and the C APIs that 6.12's `kernel` crate
//! does not wrap. Each submodule owns one C object kind and offers a safe wrapper;
//! code outside `kapi/` does not call `kernel::bindings` directly.

pub(crate) mod buffer;
pub(crate) mod bug;
pub(crate) mod debugfs;
pub(crate) mod errno;
pub(crate) mod fs_type;
pub(crate) mod kthread;
pub(crate) mod mem;
// Used by the DIO path (fs/dio.rs), which lands with direct IO.
#[allow(dead_code)]
pub(crate) mod mm;
pub(crate) mod sync;
pub(crate) mod time;
#[allow(dead_code)]
pub(crate) mod uio;
pub(crate) mod vfs;
