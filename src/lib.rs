//! Userspace side of tsfs.
//!
//! `format` is the on-disk format, shared word for word with the kernel module
//! (it is `#![no_std]`-clean and included there by path). `logcheck` decides
//! whether a guest kernel log shows a lockdep report, warning, bug or hang.

pub mod format;
pub mod logcheck;
