// SPDX-License-Identifier: GPL-2.0

//! The tsfs filesystem.

// Plain Rust, shared with the host tests (tests/dio_overlap.rs).
#[allow(dead_code, unreachable_pub)]
pub(crate) mod overlap;

use kernel::{bindings, c_str, error::Error, prelude::*};

/// The filesystem type's name, as in `mount -t tsfs`.
pub(crate) const NAME: &CStr = c_str!("tsfs");

/// Decides whether a mount may proceed. Mounting is not implemented yet, so every
/// mount is refused with a log line and `EOPNOTSUPP`.
pub(crate) fn mount() -> Result {
    pr_info!("mount refused: the filesystem is not implemented yet\n");
    Err(Error::from_errno(-(bindings::EOPNOTSUPP as i32)))
}
