// SPDX-License-Identifier: GPL-2.0

//! The current task's address space: which mapping backs a user address.

use crate::kapi::fs::{FileSystem, INode};
use kernel::{bindings, page::PAGE_SIZE};

// Only pointers cross: bindgen's structs with empty members (lock debugging off)
// make the lint flag them, as it does in `kernel::bindings` itself.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_current_mm() -> *mut bindings::mm_struct;
    fn tsfs_mmap_read_lock(mm: *mut bindings::mm_struct);
    fn tsfs_mmap_read_unlock(mm: *mut bindings::mm_struct);
    fn tsfs_vma_start(vma: *const bindings::vm_area_struct) -> usize;
    fn tsfs_vma_end(vma: *const bindings::vm_area_struct) -> usize;
    fn tsfs_vma_pgoff(vma: *const bindings::vm_area_struct) -> usize;
    fn tsfs_vma_mapping(vma: *const bindings::vm_area_struct) -> *mut bindings::address_space;
}

/// A mapping of the current task's address space, as seen from one file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct VmaInfo {
    /// First user address of the mapping.
    pub(crate) start: u64,
    /// One past its last user address.
    pub(crate) end: u64,
    /// File offset mapped at `start`, if the mapping maps that file's page cache;
    /// `None` for anonymous memory or another file.
    pub(crate) same_file_offset: Option<u64>,
}

/// The current task's mmap lock, held for reading.
///
/// # Invariants
///
/// `mm` is the current task's address space, read-locked by this guard.
pub(crate) struct MmapReadGuard {
    mm: *mut bindings::mm_struct,
    _not_send: core::marker::PhantomData<*mut ()>,
}

impl MmapReadGuard {
    /// Read-locks the current task's address space; `None` for a kernel thread.
    pub(crate) fn current() -> Option<Self> {
        // SAFETY: reads the current task's `mm` pointer.
        let mm = unsafe { tsfs_current_mm() };
        if mm.is_null() {
            return None;
        }
        // SAFETY: `mm` is the live address space of the current task, which keeps it
        // alive while the task runs here; may sleep, as callers allow.
        unsafe { tsfs_mmap_read_lock(mm) };
        // INVARIANT: locked above.
        Some(MmapReadGuard {
            mm,
            _not_send: core::marker::PhantomData,
        })
    }

    /// The mapping at user address `addr`, described relative to `file` (its file
    /// offset is reported only if the VMA maps that file's page cache).
    pub(crate) fn vma_at<T: FileSystem>(&self, addr: u64, file: &INode<T>) -> Option<VmaInfo> {
        let mapping = file.mapping();
        let addr = usize::try_from(addr).ok()?;
        // SAFETY: the mmap lock is held (type invariant), as `find_vma` requires.
        let vma = unsafe { bindings::find_vma(self.mm, addr as _) };
        if vma.is_null() {
            return None;
        }
        // SAFETY: `vma` is valid while the mmap lock is held (type invariant).
        let (start, end, pgoff, vm_mapping) = unsafe {
            (
                tsfs_vma_start(vma),
                tsfs_vma_end(vma),
                tsfs_vma_pgoff(vma),
                tsfs_vma_mapping(vma),
            )
        };
        if start > addr {
            return None;
        }
        let page = PAGE_SIZE as u64;
        Some(VmaInfo {
            start: start as u64,
            end: end as u64,
            same_file_offset: core::ptr::eq(vm_mapping, mapping).then(|| pgoff as u64 * page),
        })
    }
}

impl Drop for MmapReadGuard {
    fn drop(&mut self) {
        // SAFETY: locked by this guard (type invariant).
        unsafe { tsfs_mmap_read_unlock(self.mm) };
    }
}
