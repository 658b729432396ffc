// SPDX-License-Identifier: GPL-2.0

//! Shared and private mappings of tsfs files: `mmap` and the `vm_operations`
//! whose fault handlers tsfs wraps.

use super::{inode::Inode, iomap};
use core::marker::PhantomData;
use kernel::{bindings, ffi::c_int};

// bindgen's structs stand for C structs, a few of which hold config-dependent
// empty structs; only pointers to them cross this boundary.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_file_inode(file: *const bindings::file) -> *mut bindings::inode;
    fn tsfs_file_accessed(file: *mut bindings::file);
    fn tsfs_sb_start_pagefault(sb: *mut bindings::super_block);
    fn tsfs_sb_end_pagefault(sb: *mut bindings::super_block);
}

const VM_OPS: bindings::vm_operations_struct = {
    // SAFETY: all-zero is a valid `vm_operations_struct` (no callbacks).
    let mut ops: bindings::vm_operations_struct = unsafe { core::mem::zeroed() };
    ops.fault = Some(fault);
    ops.map_pages = Some(bindings::filemap_map_pages);
    ops.page_mkwrite = Some(page_mkwrite);
    ops
};

/// # Safety
///
/// Called by the VFS with an open tsfs file and a new mapping of it.
pub(super) unsafe extern "C" fn mmap(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: the file is open and the mapping being set up is ours to configure;
    // the operations are static.
    unsafe {
        tsfs_file_accessed(file);
        (*vma).vm_ops = &VM_OPS;
    }
    0
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

/// A page fault on a mapping of a tsfs file.
///
/// # Invariants
///
/// `vmf` is the live argument of a fault handler on a tsfs file mapping, valid
/// for `'a`.
pub(crate) struct VmFault<'a> {
    vmf: *mut bindings::vm_fault,
    _life: PhantomData<&'a mut bindings::vm_fault>,
}

impl VmFault<'_> {
    fn file(&self) -> *mut bindings::file {
        // SAFETY: `vmf` and its mapping are live (type invariant); a file mapping
        // has a file.
        unsafe { (*(*self.vmf).__bindgen_anon_1.vma).vm_file }
    }

    /// The mapped file's inode.
    pub(crate) fn inode(&self) -> &Inode {
        // SAFETY: the mapping holds the file open, so its inode is a live tsfs inode.
        unsafe { Inode::from_raw(tsfs_file_inode(self.file())) }
    }

    /// The generic fault handler: finds or reads in the page.
    pub(crate) fn filemap_fault(&self) -> FaultResult {
        // SAFETY: `vmf` is live (type invariant).
        FaultResult(unsafe { bindings::filemap_fault(self.vmf) })
    }

    /// Makes the faulting page writable through iomap, which allocates its block
    /// with tsfs's iomap operations and marks the page dirty.
    pub(crate) fn iomap_page_mkwrite(&self) -> FaultResult {
        // SAFETY: `vmf` is live (type invariant); the operations are static.
        FaultResult(unsafe { bindings::iomap_page_mkwrite(self.vmf, &iomap::IOMAP_OPS) })
    }

    /// Updates the file's modification time, as a write through a mapping must.
    pub(crate) fn update_file_time(&self) {
        // SAFETY: the file is live (held by the mapping); the result is advisory.
        unsafe { bindings::file_update_time(self.file()) };
    }

    /// Enters the page-fault level of the file system's freeze protection, until
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

/// # Safety
///
/// Called by the memory manager for a fault on a mapping of a tsfs file.
unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // INVARIANT: `vmf` is live for this call.
    let f = VmFault {
        vmf,
        _life: PhantomData,
    };
    crate::fs::mmap::fault(&f).0
}

/// # Safety
///
/// Called by the memory manager before a page of a shared mapping of a tsfs file
/// becomes writable.
unsafe extern "C" fn page_mkwrite(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // INVARIANT: `vmf` is live for this call.
    let f = VmFault {
        vmf,
        _life: PhantomData,
    };
    crate::fs::mmap::page_mkwrite(&f).0
}
