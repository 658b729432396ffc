// SPDX-License-Identifier: GPL-2.0

//! The modes of `fallocate(2)` a filesystem may serve, decoded from the
//! `FALLOC_FL_*` bits. The VFS (`vfs_fallocate`) has already checked the range,
//! the permissions and that `FALLOC_FL_PUNCH_HOLE` comes with
//! `FALLOC_FL_KEEP_SIZE`.

use crate::kapi::errno::eopnotsupp;
use kernel::{bindings, prelude::*};

/// What a `fallocate` call asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Mode 0 (`keep_size` false) or `FALLOC_FL_KEEP_SIZE`: allocate the range.
    Allocate {
        /// The size does not grow.
        keep_size: bool,
    },
    /// `FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`: free the range.
    PunchHole,
    /// `FALLOC_FL_ZERO_RANGE`, with or without `FALLOC_FL_KEEP_SIZE`.
    ZeroRange {
        /// The size does not grow.
        keep_size: bool,
    },
}

impl Mode {
    /// The mode of the `mode` argument; `EOPNOTSUPP` for anything else.
    pub(super) fn decode(mode: i32) -> Result<Self> {
        let mode = u32::try_from(mode).map_err(|_| eopnotsupp())?;
        let keep_size = mode & bindings::FALLOC_FL_KEEP_SIZE != 0;
        match mode & !bindings::FALLOC_FL_KEEP_SIZE {
            bindings::FALLOC_FL_ALLOCATE_RANGE => Ok(Mode::Allocate { keep_size }),
            bindings::FALLOC_FL_PUNCH_HOLE if keep_size => Ok(Mode::PunchHole),
            bindings::FALLOC_FL_ZERO_RANGE => Ok(Mode::ZeroRange { keep_size }),
            _ => Err(eopnotsupp()),
        }
    }

    /// Whether the size may grow to the end of the range.
    pub(crate) fn extends(self) -> bool {
        matches!(
            self,
            Mode::Allocate { keep_size: false } | Mode::ZeroRange { keep_size: false }
        )
    }
}
