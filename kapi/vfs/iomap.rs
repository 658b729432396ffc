// SPDX-License-Identifier: GPL-2.0

//! The `iomap_ops` and `iomap_writeback_ops` of tsfs files: iomap asks tsfs what
//! a file range maps to, and tsfs answers with a [`Mapping`].

use super::inode::Inode;
use kernel::{bindings, ffi::c_int, prelude::*};

pub(super) const IOMAP_OPS: bindings::iomap_ops = bindings::iomap_ops {
    iomap_begin: Some(iomap_begin),
    iomap_end: Some(iomap_end),
};

pub(super) const WRITEBACK_OPS: bindings::iomap_writeback_ops = {
    // SAFETY: all-zero is a valid `iomap_writeback_ops` (no callbacks).
    let mut ops: bindings::iomap_writeback_ops = unsafe { core::mem::zeroed() };
    ops.map_blocks = Some(map_blocks);
    ops
};

/// What a byte range of a file is, on disk.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Extent {
    /// Nothing is allocated: reads see zeros.
    Hole,
    /// The range lives at byte `addr` of the device. `new`: tsfs just allocated it,
    /// so what the disk holds there is garbage that must not be read.
    Mapped { addr: u64, new: bool },
}

/// The answer to "what is at `pos`": the range `offset .. offset + length`, which
/// contains `pos`, and what it is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Mapping {
    pub(crate) offset: u64,
    pub(crate) length: u64,
    pub(crate) extent: Extent,
}

/// Why iomap asks.
#[derive(Clone, Copy)]
pub(crate) struct IomapFlags(u32);

impl IomapFlags {
    /// A write: holes must be allocated (unless [`IomapFlags::zeroing`]).
    pub(crate) fn write(self) -> bool {
        self.0 & bindings::IOMAP_WRITE != 0
    }

    /// Zeroing a range: holes need nothing.
    pub(crate) fn zeroing(self) -> bool {
        self.0 & bindings::IOMAP_ZERO != 0
    }

    /// A direct IO mapping request.
    pub(crate) fn direct(self) -> bool {
        self.0 & bindings::IOMAP_DIRECT != 0
    }

    /// A page fault (`page_mkwrite`): the page is locked and up to date.
    pub(crate) fn fault(self) -> bool {
        self.0 & bindings::IOMAP_FAULT != 0
    }
}

fn to_c(m: &Mapping, bdev: *mut bindings::block_device) -> bindings::iomap {
    let (type_, addr, flags) = match m.extent {
        Extent::Hole => (bindings::IOMAP_HOLE, u64::MAX, 0),
        Extent::Mapped { addr, new } => (
            bindings::IOMAP_MAPPED,
            addr,
            if new { bindings::IOMAP_F_NEW } else { 0 },
        ),
    };
    bindings::iomap {
        addr,
        offset: i64::try_from(m.offset).unwrap_or(i64::MAX),
        length: m.length,
        type_: type_ as u16,
        flags: flags as u16,
        bdev,
        dax_dev: core::ptr::null_mut(),
        inline_data: core::ptr::null_mut(),
        private: core::ptr::null_mut(),
        folio_ops: core::ptr::null(),
        validity_cookie: 0,
    }
}

fn from_c(m: &bindings::iomap) -> Mapping {
    let extent = if u32::from(m.type_) == bindings::IOMAP_MAPPED {
        Extent::Mapped {
            addr: m.addr,
            new: u32::from(m.flags) & bindings::IOMAP_F_NEW != 0,
        }
    } else {
        Extent::Hole
    };
    Mapping {
        offset: u64::try_from(m.offset).unwrap_or(0),
        length: m.length,
        extent,
    }
}

fn bdev_of(inode: &Inode) -> *mut bindings::block_device {
    // SAFETY: the super block of a live tsfs inode has a block device, set at mount.
    unsafe { (*inode.super_block().as_ptr()).s_bdev }
}

/// # Safety
///
/// Called by iomap with a live tsfs inode, a range in it, and the mappings to fill.
unsafe extern "C" fn iomap_begin(
    inode: *mut bindings::inode,
    pos: bindings::loff_t,
    length: bindings::loff_t,
    flags: kernel::ffi::c_uint,
    iomap: *mut bindings::iomap,
    _srcmap: *mut bindings::iomap,
) -> c_int {
    // SAFETY: as iomap promises above.
    let inode = unsafe { Inode::from_raw(inode) };
    let (Ok(pos), Ok(length)) = (u64::try_from(pos), u64::try_from(length)) else {
        return EINVAL.to_errno();
    };
    match crate::fs::iomap::begin(inode, pos, length, IomapFlags(flags)) {
        Ok(m) => {
            // SAFETY: `iomap` is valid for writes for the call.
            unsafe { *iomap = to_c(&m, bdev_of(inode)) };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by iomap after an `iomap_begin` on the same range succeeded, with the
/// mapping that call returned.
unsafe extern "C" fn iomap_end(
    inode: *mut bindings::inode,
    pos: bindings::loff_t,
    length: bindings::loff_t,
    written: isize,
    flags: kernel::ffi::c_uint,
    iomap: *mut bindings::iomap,
) -> c_int {
    // SAFETY: as iomap promises above.
    let (inode, m) = unsafe { (Inode::from_raw(inode), from_c(&*iomap)) };
    let (Ok(pos), Ok(length)) = (u64::try_from(pos), u64::try_from(length)) else {
        return EINVAL.to_errno();
    };
    let written = u64::try_from(written).unwrap_or(0);
    match crate::fs::iomap::end(inode, pos, length, written, IomapFlags(flags), &m) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by iomap write-back with its context and a dirty range of a tsfs file.
unsafe extern "C" fn map_blocks(
    wpc: *mut bindings::iomap_writepage_ctx,
    inode: *mut bindings::inode,
    offset: bindings::loff_t,
    _len: kernel::ffi::c_uint,
) -> c_int {
    // SAFETY: as iomap promises above.
    let inode = unsafe { Inode::from_raw(inode) };
    let Ok(offset) = u64::try_from(offset) else {
        return EINVAL.to_errno();
    };
    match crate::fs::iomap::map_for_writeback(inode, offset) {
        Ok(m) => {
            // SAFETY: `wpc` is valid for writes for the call; its mapping is ours to set.
            unsafe { (*wpc).iomap = to_c(&m, bdev_of(inode)) };
            0
        }
        Err(e) => e.to_errno(),
    }
}
