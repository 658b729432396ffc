// SPDX-License-Identifier: GPL-2.0

//! Error codes that 6.12's `kernel::error::code` does not define.

use kernel::{bindings, error::Error};

/// The errno `e` (a positive `bindings::E*` constant) as an [`Error`].
fn errno(e: u32) -> Error {
    Error::from_errno(-(e as i32))
}

/// `EUCLEAN`: the file system's metadata is corrupt.
pub(crate) fn euclean() -> Error {
    errno(bindings::EUCLEAN)
}

/// `ENOTEMPTY`: the directory is not empty.
pub(crate) fn enotempty() -> Error {
    errno(bindings::ENOTEMPTY)
}

/// `ENAMETOOLONG`: a name is longer than the file system allows.
pub(crate) fn enametoolong() -> Error {
    errno(bindings::ENAMETOOLONG)
}

/// `EIOCBQUEUED`: an asynchronous request is in flight and completes later
/// (`read_iter` and `write_iter` return it to the VFS, which then waits for
/// `ki_complete`).
pub(crate) fn eiocbqueued() -> Error {
    errno(bindings::EIOCBQUEUED)
}

/// `EOPNOTSUPP`: the operation (a `fallocate` mode, say) is not supported.
pub(crate) fn eopnotsupp() -> Error {
    errno(bindings::EOPNOTSUPP)
}
