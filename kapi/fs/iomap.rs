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

// Only pointers cross; see file.rs.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_i_size_write(inode: *mut bindings::inode, size: bindings::loff_t);
}

/// What a byte range of a file is, on disk.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Extent {
    /// Nothing is allocated: reads see zeros.
    Hole,
    /// The range lives at byte `addr` of the device. `new`: just allocated, so
    /// what the disk holds there is garbage that must not be read.
    Mapped { addr: u64, new: bool },
    /// The range is allocated at byte `addr` of the device but unwritten: reads
    /// see zeros; a direct write writes it (zeroing what it leaves of a block) and
    /// its completion ([`DioOperations::write_done`]) makes it written.
    Unwritten { addr: u64 },
}

/// The answer to "what is at `pos`": the range `offset .. offset + length`, which
/// contains `pos`, and what it is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Mapping {
    pub(crate) offset: u64,
    pub(crate) length: u64,
    pub(crate) extent: Extent,
    /// The write changes metadata that a data sync must write (the size):
    /// `IOMAP_F_DIRTY`, so an `O_DSYNC` direct write is synced rather than
    /// written through with FUA alone.
    pub(crate) dirty: bool,
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

    /// `IOMAP_NOWAIT`: answer `EAGAIN` rather than allocate, zero or wait.
    pub(crate) fn nowait(self) -> bool {
        self.0 & bindings::IOMAP_NOWAIT != 0
    }

    /// `IOMAP_OVERWRITE_ONLY`: a direct write that may only overwrite written
    /// blocks; `EAGAIN` for anything else (the caller retries with the inode lock
    /// held exclusively).
    pub(crate) fn overwrite_only(self) -> bool {
        self.0 & bindings::IOMAP_OVERWRITE_ONLY != 0
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
        Extent::Unwritten { addr } => (bindings::IOMAP_UNWRITTEN, addr, 0),
    };
    let flags = if m.dirty {
        flags | bindings::IOMAP_F_DIRTY
    } else {
        flags
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
    let extent = match u32::from(m.type_) {
        bindings::IOMAP_MAPPED => Extent::Mapped {
            addr: m.addr,
            new: u32::from(m.flags) & bindings::IOMAP_F_NEW != 0,
        },
        bindings::IOMAP_UNWRITTEN => Extent::Unwritten { addr: m.addr },
        _ => Extent::Hole,
    };
    Mapping {
        offset: u64::try_from(m.offset).unwrap_or(0),
        length: m.length,
        extent,
        dirty: u32::from(m.flags) & bindings::IOMAP_F_DIRTY != 0,
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

/// A direct write whose bios all completed without error: `size` bytes from `pos`.
///
/// # Invariants
///
/// `inode` is the written file. If `pos + size` is past its size, the write was
/// submitted with the inode lock held exclusively and waited for (kapi's
/// `DirectRequest` makes it so), so this runs in the submitter, under that lock.
pub(crate) struct WriteDone<'a, T: FileSystem> {
    inode: &'a INode<T>,
    pos: u64,
    size: u64,
}

impl<T: FileSystem> WriteDone<'_, T> {
    /// The file.
    pub(crate) fn inode(&self) -> &INode<T> {
        self.inode
    }

    /// Where the write started.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// Bytes written.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Grows the file's size to the end of the write if it is past it. iomap
    /// calls the completion before any `O_DSYNC` sync, so the sync sees the size.
    pub(crate) fn extend_size(&self) {
        let end = self.pos.saturating_add(self.size);
        if end > self.inode.size() {
            let end = i64::try_from(end).unwrap_or(i64::MAX);
            // SAFETY: the write is past the size, so its submitter holds the inode
            // lock exclusively and this runs under it (type invariant), as
            // `i_size_write` requires.
            unsafe { tsfs_i_size_write(self.inode.as_ptr(), end) };
        }
    }
}

/// Direct IO completion operations (`iomap_dio_ops`).
#[vtable]
pub(crate) trait DioOperations {
    /// The filesystem type whose files these operations serve.
    type FileSystem: FileSystem;

    /// A direct write completed without error (`end_io`): make what it wrote
    /// readable (unwritten blocks become written) and grow the size. Runs in the
    /// submitter or, for an asynchronous write, in a workqueue: it may sleep.
    fn write_done(_done: &WriteDone<'_, Self::FileSystem>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The `iomap_dio_ops` of filesystem type `T`.
pub(crate) type DioOps<T> = super::OpsTable<bindings::iomap_dio_ops, T>;

impl<T: FileSystem> DioOps<T> {
    /// The table of `U`'s operations.
    pub(crate) const fn new<U: DioOperations<FileSystem = T>>() -> Self {
        Self::from_static(&DioTable::<U>::TABLE)
    }

    pub(in crate::kapi) fn as_ptr(self) -> *const bindings::iomap_dio_ops {
        self.get()
    }
}

struct DioTable<U>(PhantomData<U>);

impl<U: DioOperations> DioTable<U> {
    const TABLE: bindings::iomap_dio_ops = {
        // SAFETY: all-zero is a valid `iomap_dio_ops` (no callbacks, no bio set).
        let mut ops: bindings::iomap_dio_ops = unsafe { core::mem::zeroed() };
        // Always: an asynchronous write's context is released by it.
        ops.end_io = Some(dio_end_io::<U>);
        ops
    };
}

/// # Safety
///
/// Called by iomap when a direct write that kapi's `DirectRequest` submitted on a
/// file of `U`'s type is over (only writes are given these operations), before
/// `ki_pos` moves, with the bytes done and the first error.
unsafe extern "C" fn dio_end_io<U: DioOperations>(
    iocb: *mut bindings::kiocb,
    size: isize,
    error: c_int,
    _flags: c_uint,
) -> c_int {
    // SAFETY: as iomap promises above.
    let ret = unsafe { write_end_io::<U>(iocb, size, error) };
    // An asynchronous round's pinned pages and hold go only after the write's
    // completion work (here, before `ki_complete`).
    super::dio_async::complete(iocb);
    ret
}

/// The filesystem's part of [`dio_end_io`].
///
/// # Safety
///
/// As for [`dio_end_io`].
unsafe fn write_end_io<U: DioOperations>(
    iocb: *mut bindings::kiocb,
    size: isize,
    error: c_int,
) -> c_int {
    if error != 0 || size <= 0 || !U::HAS_WRITE_DONE {
        return error;
    }
    from_result(|| {
        // SAFETY: the request is live until iomap completes it, after this call;
        // its file is open, so its inode is live and of `U`'s type.
        let (file, pos) = unsafe {
            (
                super::file::File::<U::FileSystem>::from_raw((*iocb).ki_filp),
                (*iocb).ki_pos,
            )
        };
        let inode = file.inode();
        // INVARIANT: `DirectRequest` submits any write reaching past the size
        // under the exclusive inode lock and waits for it.
        let done = WriteDone {
            inode,
            pos: u64::try_from(pos).map_err(|_| EINVAL)?,
            size: size as u64,
        };
        U::write_done(&done)?;
        Ok(0)
    })
}

/// The two tables iomap takes from a filesystem.
pub(crate) struct Tables {
    ops: bindings::iomap_ops,
    writeback: bindings::iomap_writeback_ops,
}

/// The iomap tables for filesystem type `T`.
pub(crate) type Ops<T> = super::OpsTable<Tables, T>;

impl<T: FileSystem> Ops<T> {
    /// The tables of `U`'s operations.
    pub(crate) const fn new<U: Operations<FileSystem = T>>() -> Self {
        Self::from_static(&Table::<U>::TABLES)
    }

    pub(in crate::kapi) fn as_ptr(self) -> *const bindings::iomap_ops {
        &self.get().ops
    }

    pub(in crate::kapi) fn writeback_ptr(self) -> *const bindings::iomap_writeback_ops {
        &self.get().writeback
    }

    /// Zeroes the page cache of `inode` from `pos` to the end of its block, as a
    /// shrinking truncate must (the tail past the new size must read as zeros if
    /// the file grows again).
    pub(crate) fn truncate_page(self, inode: &Locked<'_, T>, pos: u64) -> Result {
        let pos = i64::try_from(pos).map_err(|_| EINVAL)?;
        let mut did_zero = false;
        // SAFETY: the inode is live and locked (`Locked`); the operations are static.
        to_result(unsafe {
            bindings::iomap_truncate_page(
                inode.as_ptr(),
                pos,
                addr_of_mut!(did_zero),
                self.as_ptr(),
            )
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
            bindings::iomap_zero_range(
                inode.as_ptr(),
                pos,
                len,
                addr_of_mut!(did_zero),
                self.as_ptr(),
            )
        })
    }
}

struct Table<U>(PhantomData<U>);

impl<U: Operations> Table<U> {
    const TABLES: Tables = Tables {
        ops: bindings::iomap_ops {
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
        },
        writeback: {
            // SAFETY: all-zero is a valid `iomap_writeback_ops` (no callbacks).
            let mut ops: bindings::iomap_writeback_ops = unsafe { core::mem::zeroed() };
            if U::HAS_MAP_BLOCKS {
                ops.map_blocks = Some(map_blocks::<U>);
            }
            ops
        },
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
