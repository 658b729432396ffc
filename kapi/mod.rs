// SPDX-License-Identifier: GPL-2.0

//! The thin unsafe layer between tsfs and the C APIs that 6.12's `kernel` crate
//! does not wrap. Each submodule owns one C object kind and offers a safe wrapper;
//! code outside `kapi/` does not call `kernel::bindings` directly.
//!
//! `kapi` never names the filesystem or the lock (the crate's `fs` and `locking`):
//! its VFS layer (`fs/`) is generic over any [`fs::FileSystem`], and a test in
//! `make test` checks the direction.

pub(crate) mod buffer;
pub(crate) mod debugfs;
pub(crate) mod errno;
pub(crate) mod fs;
pub(crate) mod kthread;
pub(crate) mod lockdep;
pub(crate) mod mem;
pub(crate) mod mm;
pub(crate) mod rwsem;
pub(crate) mod task;
pub(crate) mod time;
#[allow(dead_code)]
pub(crate) mod uio;
pub(crate) mod wait;
