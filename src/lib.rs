//! Userspace side of tsfs.
//!
//! `format` is the on-disk format, shared word for word with the kernel module
//! (it is `#![no_std]`-clean and included there by path). `logcheck` decides
//! whether a guest kernel log shows a lockdep report, warning, bug or hang.
//! `device` does block I/O on an image or block device, `image` builds file
//! systems (for tests), `mkfs` and `fsck` are the work behind `mkfs.tsfs` and
//! `fsck.tsfs`.

pub mod device;
pub mod format;
pub mod fsck;
pub mod image;
pub mod lock_model;
/// The lock's plain-Rust files, shared word for word with the kernel module.
#[path = "../locking"]
pub mod locking {
    pub mod protocol;
    pub mod state;
}
pub use locking::state as lock_state;
pub mod logcheck;
pub mod mkfs;
pub mod rng;
