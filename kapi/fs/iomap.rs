// SPDX-License-Identifier: GPL-2.0

//! iomap: iomap asks the filesystem what a file range maps to, through the
//! `iomap_ops` and `iomap_writeback_ops` built from an
//! [`iomap::Operations`](Operations) implementer, and the filesystem answers with
//! a [`Mapping`]. Also iomap's helpers that take those tables.

use super::{inode::Locked, FileSystem, INode};
use core::{marker::PhantomData, ptr::addr_of_mut};
use kernel::{
    bindings,
    error::{from_result, to_result, VTABLE_DEFAULT_ERROR},
    ffi::{c_int, c_uint},
    prelude::*,
};

/// What a byte range of a file is, on disk.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Extent {
    /// Nothing is allocated: reads see zeros.
    Hole,
    /// The range lives at byte `addr` of the device. `new`: just allocated, so
    /// what the disk holds there is garbage that must not be read.
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
pub(crate) struct Flags(u32);

impl Flags {
    /// A write: holes must be allocated (unless [`Flags::zeroing`]).
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

/// iomap operations: mapping file ranges to the device.
#[vtable]
pub(crate) trait Operations {
    /// The filesystem type whose files these operations map.
    type FileSystem: FileSystem;

    /// `iomap_begin`: what `pos` maps to, for an operation on `length` bytes.
    fn begin(
        _inode: &INode<Self::FileSystem>,
        _pos: u64,
        _length: u64,
        _flags: Flags,
    ) -> Result<Mapping> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `iomap_end`: the operation on the mapping `m` that [`Operations::begin`]
    /// returned is over, `written` bytes of it done.
    fn end(
        _inode: &INode<Self::FileSystem>,
        _pos: u64,
        _length: u64,
        _written: u64,
        _flags: Flags,
        _m: &Mapping,
    ) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Write-back's `map_blocks`: what the dirty block at `offset` maps to.
    fn map_blocks(_inode: &INode<Self::FileSystem>, _offset: u64) -> Result<Mapping> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The `iomap_ops` and `iomap_writeback_ops` tables for filesystem type `T`.
pub(crate) struct Ops<T: FileSystem> {
    ops: &'static bindings::iomap_ops,
    writeback: &'static bindings::iomap_writeback_ops,
    _t: PhantomData<T>,
}

impl<T: FileSystem> Clone for Ops<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: FileSystem> Copy for Ops<T> {}

impl<T: FileSystem> Ops<T> {
    /// The tables of `U`'s operations.
    pub(crate) const fn new<U: Operations<FileSystem = T>>() -> Self {
        Ops {
            ops: &Table::<U>::OPS,
            writeback: &Table::<U>::WRITEBACK,
            _t: PhantomData,
        }
    }

    pub(in crate::kapi) fn as_ptr(self) -> *const bindings::iomap_ops {
        self.ops
    }

    pub(in crate::kapi) fn writeback_ptr(self) -> *const bindings::iomap_writeback_ops {
        self.writeback
    }

    /// Zeroes the page cache of `inode` from `pos` to the end of its block, as a
    /// shrinking truncate must (the tail past the new size must read as zeros if
    /// the file grows again).
    pub(crate) fn truncate_page(self, inode: &Locked<'_, T>, pos: u64) -> Result {
        let pos = i64::try_from(pos).map_err(|_| EINVAL)?;
        let mut did_zero = false;
        // SAFETY: the inode is live and locked (`Locked`); the operations are static.
        to_result(unsafe {
            bindings::iomap_truncate_page(inode.as_ptr(), pos, addr_of_mut!(did_zero), self.ops)
        })
    }

    /// Zeroes the page cache of `inode` in `pos .. pos + len` where it is mapped
    /// (holes stay holes).
    pub(crate) fn zero_range(self, inode: &Locked<'_, T>, pos: u64, len: u64) -> Result {
        let pos = i64::try_from(pos).map_err(|_| EINVAL)?;
        let len = i64::try_from(len).map_err(|_| EINVAL)?;
        let mut did_zero = false;
        // SAFETY: as in `truncate_page`.
        to_result(unsafe {
            bindings::iomap_zero_range(inode.as_ptr(), pos, len, addr_of_mut!(did_zero), self.ops)
        })
    }
}

struct Table<U>(PhantomData<U>);

impl<U: Operations> Table<U> {
    const OPS: bindings::iomap_ops = bindings::iomap_ops {
        iomap_begin: if U::HAS_BEGIN {
            Some(iomap_begin::<U>)
        } else {
            None
        },
        iomap_end: if U::HAS_END {
            Some(iomap_end::<U>)
        } else {
            None
        },
    };

    const WRITEBACK: bindings::iomap_writeback_ops = {
        // SAFETY: all-zero is a valid `iomap_writeback_ops` (no callbacks).
        let mut ops: bindings::iomap_writeback_ops = unsafe { core::mem::zeroed() };
        if U::HAS_MAP_BLOCKS {
            ops.map_blocks = Some(map_blocks::<U>);
        }
        ops
    };
}

/// # Safety
///
/// Called by iomap with a live inode of `U`'s type, a range in it, and the
/// mappings to fill.
unsafe extern "C" fn iomap_begin<U: Operations>(
    inode: *mut bindings::inode,
    pos: bindings::loff_t,
    length: bindings::loff_t,
    flags: c_uint,
    iomap: *mut bindings::iomap,
    _srcmap: *mut bindings::iomap,
) -> c_int {
    from_result(|| {
        // SAFETY: as iomap promises above.
        let inode = unsafe { INode::from_raw(inode) };
        let pos = u64::try_from(pos).map_err(|_| EINVAL)?;
        let length = u64::try_from(length).map_err(|_| EINVAL)?;
        let m = U::begin(inode, pos, length, Flags(flags))?;
        // SAFETY: `iomap` is valid for writes for the call.
        unsafe { *iomap = to_c(&m, inode.super_block().bdev()) };
        Ok(0)
    })
}

/// # Safety
///
/// Called by iomap after an `iomap_begin` on the same range succeeded, with the
/// mapping that call returned.
unsafe extern "C" fn iomap_end<U: Operations>(
    inode: *mut bindings::inode,
    pos: bindings::loff_t,
    length: bindings::loff_t,
    written: isize,
    flags: c_uint,
    iomap: *mut bindings::iomap,
) -> c_int {
    from_result(|| {
        // SAFETY: as iomap promises above.
        let (inode, m) = unsafe { (INode::from_raw(inode), from_c(&*iomap)) };
        let pos = u64::try_from(pos).map_err(|_| EINVAL)?;
        let length = u64::try_from(length).map_err(|_| EINVAL)?;
        let written = u64::try_from(written).unwrap_or(0);
        U::end(inode, pos, length, written, Flags(flags), &m)?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by iomap write-back with its context and a dirty range of a file of
/// `U`'s type.
unsafe extern "C" fn map_blocks<U: Operations>(
    wpc: *mut bindings::iomap_writepage_ctx,
    inode: *mut bindings::inode,
    offset: bindings::loff_t,
    _len: c_uint,
) -> c_int {
    from_result(|| {
        // SAFETY: as iomap promises above.
        let inode = unsafe { INode::from_raw(inode) };
        let offset = u64::try_from(offset).map_err(|_| EINVAL)?;
        let m = U::map_blocks(inode, offset)?;
        // SAFETY: `wpc` is valid for writes for the call; its mapping is ours to set.
        unsafe { (*wpc).iomap = to_c(&m, inode.super_block().bdev()) };
        Ok(0)
    })
}
