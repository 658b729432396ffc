// SPDX-License-Identifier: GPL-2.0

//! Mappings of files: the `vm_operations_struct` built from a
//! [`vm::Operations`](Operations) implementer, page faults, and new mappings.

use super::{file::File, iomap, FileSystem, INode};
use core::marker::PhantomData;
use kernel::{bindings, error::VTABLE_DEFAULT_ERROR, prelude::vtable};

// bindgen's structs stand for C structs, a few of which hold config-dependent
// empty structs; only pointers to them cross this boundary.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_sb_start_pagefault(sb: *mut bindings::super_block);
    fn tsfs_sb_end_pagefault(sb: *mut bindings::super_block);
}

/// The outcome of a fault handler (a `vm_fault_t`).
#[derive(Clone, Copy)]
pub(crate) struct FaultResult(bindings::vm_fault_t);

impl FaultResult {
    /// `VM_FAULT_SIGBUS`: the access fails (the user gets SIGBUS, a kernel copy
    /// gets a short count).
    pub(crate) fn sigbus() -> Self {
        FaultResult(bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t)
    }
}

/// A page fault on a mapping of a file of type `T`.
///
/// # Invariants
///
/// `vmf` is the live argument of a fault handler on a mapping of a file of type
/// `T`, valid for `'a`.
pub(crate) struct VmFault<'a, T: FileSystem> {
    vmf: *mut bindings::vm_fault,
    _life: PhantomData<(&'a mut bindings::vm_fault, T)>,
}

impl<T: FileSystem> VmFault<'_, T> {
    /// The mapped file.
    pub(crate) fn file(&self) -> &File<T> {
        // SAFETY: `vmf` and its mapping are live (type invariant); a file mapping
        // has a file, held open by the mapping, of type `T`.
        unsafe { File::from_raw((*(*self.vmf).__bindgen_anon_1.vma).vm_file) }
    }

    /// The mapped file's inode.
    pub(crate) fn inode(&self) -> &INode<T> {
        self.file().inode()
    }

    /// The generic fault handler: finds or reads in the page.
    pub(crate) fn filemap_fault(&self) -> FaultResult {
        // SAFETY: `vmf` is live (type invariant).
        FaultResult(unsafe { bindings::filemap_fault(self.vmf) })
    }

    /// Makes the faulting page writable through iomap, which allocates its block
    /// with `ops` and marks the page dirty.
    pub(crate) fn iomap_page_mkwrite(&self, ops: iomap::Ops<T>) -> FaultResult {
        // SAFETY: `vmf` is live (type invariant); the operations are static.
        FaultResult(unsafe { bindings::iomap_page_mkwrite(self.vmf, ops.as_ptr()) })
    }

    /// Updates the file's modification time, as a write through a mapping must.
    pub(crate) fn update_file_time(&self) {
        // SAFETY: the file is live (held by the mapping); the result is advisory.
        unsafe { bindings::file_update_time(self.file().as_ptr()) };
    }

    /// Enters the page-fault level of the filesystem's freeze protection, until
    /// the guard drops.
    pub(crate) fn freeze_protect(&self) -> PagefaultGuard<'_> {
        let sb = self.inode().super_block().as_ptr();
        // SAFETY: the super block is live while the file is mapped; the matching
        // end is in the guard's drop.
        unsafe { tsfs_sb_start_pagefault(sb) };
        // INVARIANT: entered just now; the super block outlives the fault.
        PagefaultGuard {
            sb,
            _life: PhantomData,
        }
    }
}

/// Holds a super block's page-fault freeze protection.
///
/// # Invariants
///
/// This guard entered the protection on `sb`, which outlives it.
pub(crate) struct PagefaultGuard<'a> {
    sb: *mut bindings::super_block,
    _life: PhantomData<&'a bindings::super_block>,
}

impl Drop for PagefaultGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: this guard entered the protection on `sb` (type invariant).
        unsafe { tsfs_sb_end_pagefault(self.sb) };
    }
}

/// A mapping of a file of type `T` being set up (`mmap`).
///
/// # Invariants
///
/// `vma` is the mapping an `mmap` call is setting up, ours to configure for `'a`.
pub(crate) struct NewVma<'a, T: FileSystem> {
    vma: *mut bindings::vm_area_struct,
    _life: PhantomData<(&'a mut bindings::vm_area_struct, T)>,
}

impl<T: FileSystem> NewVma<'_, T> {
    /// # Safety
    ///
    /// `vma` satisfies the type invariants for `'a`.
    pub(in crate::kapi) unsafe fn from_raw(vma: *mut bindings::vm_area_struct) -> Self {
        // INVARIANT: the caller's guarantee.
        NewVma {
            vma,
            _life: PhantomData,
        }
    }

    /// Sets the mapping's operations.
    pub(crate) fn set_ops(&self, ops: Ops<T>) {
        // SAFETY: the mapping is ours to configure (type invariant); the table is static.
        unsafe { (*self.vma).vm_ops = ops.0 };
    }
}

/// Fault handlers. `map_pages` is always the generic one (it maps pages already
/// cached and up to date, without calling [`Operations::fault`]).
#[vtable]
pub(crate) trait Operations {
    /// The filesystem type whose files these handlers serve.
    type FileSystem: FileSystem;

    /// A page is not mapped: find it in the cache or read it in.
    fn fault(_f: &VmFault<'_, Self::FileSystem>) -> FaultResult {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// A page of a shared mapping is about to become writable.
    fn page_mkwrite(_f: &VmFault<'_, Self::FileSystem>) -> FaultResult {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A `vm_operations_struct` table for filesystem type `T`.
pub(crate) struct Ops<T: FileSystem>(&'static bindings::vm_operations_struct, PhantomData<T>);

impl<T: FileSystem> Clone for Ops<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: FileSystem> Copy for Ops<T> {}

impl<T: FileSystem> Ops<T> {
    /// The table of `U`'s handlers.
    pub(crate) const fn new<U: Operations<FileSystem = T>>() -> Self {
        Ops(&Table::<U>::TABLE, PhantomData)
    }
}

struct Table<U>(PhantomData<U>);

impl<U: Operations> Table<U> {
    const TABLE: bindings::vm_operations_struct = {
        // SAFETY: all-zero is a valid `vm_operations_struct` (no callbacks).
        let mut ops: bindings::vm_operations_struct = unsafe { core::mem::zeroed() };
        ops.map_pages = Some(bindings::filemap_map_pages);
        if U::HAS_FAULT {
            ops.fault = Some(fault::<U>);
        }
        if U::HAS_PAGE_MKWRITE {
            ops.page_mkwrite = Some(page_mkwrite::<U>);
        }
        ops
    };
}

/// # Safety
///
/// Called by the memory manager for a fault on a mapping of a file of `U`'s type.
unsafe extern "C" fn fault<U: Operations>(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // INVARIANT: `vmf` is live for this call.
    let f = VmFault {
        vmf,
        _life: PhantomData,
    };
    U::fault(&f).0
}

/// # Safety
///
/// Called by the memory manager before a page of a shared mapping of a file of
/// `U`'s type becomes writable.
unsafe extern "C" fn page_mkwrite<U: Operations>(
    vmf: *mut bindings::vm_fault,
) -> bindings::vm_fault_t {
    // INVARIANT: `vmf` is live for this call.
    let f = VmFault {
        vmf,
        _life: PhantomData,
    };
    U::page_mkwrite(&f).0
}
