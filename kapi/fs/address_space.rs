// SPDX-License-Identifier: GPL-2.0

//! Page cache operations (`address_space_operations`). A filesystem on iomap
//! gets the whole table from its [`iomap::Operations`] implementer: reads,
//! read-ahead and write-back go through iomap, the rest is iomap's and the VFS's
//! generic folio handling.

use super::{iomap, FileSystem};
use core::marker::PhantomData;
use kernel::{bindings, ffi::c_int};

/// An `address_space_operations` table for filesystem type `T`.
pub(crate) struct Ops<T: FileSystem>(&'static bindings::address_space_operations, PhantomData<T>);

impl<T: FileSystem> Clone for Ops<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: FileSystem> Copy for Ops<T> {}

impl<T: FileSystem> Ops<T> {
    /// The page cache of a file mapped by `U`'s iomap operations.
    pub(crate) const fn iomap<U: iomap::Operations<FileSystem = T>>() -> Self {
        Ops(&IomapTable::<U>::TABLE, PhantomData)
    }

    pub(in crate::kapi) fn as_ptr(self) -> *const bindings::address_space_operations {
        self.0
    }
}

struct IomapTable<U>(PhantomData<U>);

impl<U: iomap::Operations> IomapTable<U> {
    const TABLE: bindings::address_space_operations = {
        // SAFETY: all-zero is a valid `address_space_operations` (no callbacks).
        let mut ops: bindings::address_space_operations = unsafe { core::mem::zeroed() };
        ops.read_folio = Some(read_folio::<U>);
        ops.readahead = Some(readahead::<U>);
        ops.writepages = Some(writepages::<U>);
        ops.dirty_folio = Some(bindings::iomap_dirty_folio);
        ops.release_folio = Some(bindings::iomap_release_folio);
        ops.invalidate_folio = Some(bindings::iomap_invalidate_folio);
        ops.is_partially_uptodate = Some(bindings::iomap_is_partially_uptodate);
        ops.error_remove_folio = Some(bindings::generic_error_remove_folio);
        ops
    };
}

fn iomap_ops<U: iomap::Operations>() -> iomap::Ops<U::FileSystem> {
    iomap::Ops::new::<U>()
}

/// # Safety
///
/// Called by the VFS with a locked folio of a file of `U`'s type.
unsafe extern "C" fn read_folio<U: iomap::Operations>(
    _file: *mut bindings::file,
    folio: *mut bindings::folio,
) -> c_int {
    // SAFETY: the folio is locked and belongs to a file that `U` maps; iomap
    // unlocks it when the read completes; the operations are static.
    unsafe { bindings::iomap_read_folio(folio, iomap_ops::<U>().as_ptr()) }
}

/// # Safety
///
/// Called by the VFS with a read-ahead request on a file of `U`'s type.
unsafe extern "C" fn readahead<U: iomap::Operations>(rac: *mut bindings::readahead_control) {
    // SAFETY: as in `read_folio`, for every folio of the request.
    unsafe { bindings::iomap_readahead(rac, iomap_ops::<U>().as_ptr()) }
}

/// # Safety
///
/// Called by write-back with the mapping of a file of `U`'s type and a valid `wbc`.
unsafe extern "C" fn writepages<U: iomap::Operations>(
    mapping: *mut bindings::address_space,
    wbc: *mut bindings::writeback_control,
) -> c_int {
    // SAFETY: all-zero is the initial state iomap expects of a write-back context.
    let mut wpc: bindings::iomap_writepage_ctx = unsafe { core::mem::zeroed() };
    // SAFETY: the mapping and `wbc` are valid for the call; `wpc` lives on our stack
    // until `iomap_writepages` returns, which submits everything it collected; the
    // operations are static.
    unsafe { bindings::iomap_writepages(mapping, wbc, &mut wpc, iomap_ops::<U>().writeback_ptr()) }
}
