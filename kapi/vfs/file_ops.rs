// SPDX-License-Identifier: GPL-2.0

//! Regular files: the `inode_operations`, `file_operations` and
//! `address_space_operations` tables, and the requests their callbacks hand to
//! tsfs (a buffered write, a size or attribute change, an fsync).

use super::{dentry::Dentry, direct::DirectRequest, inode::Inode, iomap, mmap};
use crate::fs::file;
use core::{marker::PhantomData, ptr::addr_of_mut};
use kernel::{bindings, ffi::c_int, prelude::*};

// bindgen's structs stand for C structs, a few of which hold config-dependent
// empty structs; only pointers to them cross this boundary.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_file_inode(file: *const bindings::file) -> *mut bindings::inode;
    fn tsfs_generic_write_sync(iocb: *mut bindings::kiocb, count: isize) -> isize;
    fn tsfs_file_allow_direct(file: *mut bindings::file);
}

pub(super) const FILE_INODE_OPS: bindings::inode_operations = {
    // SAFETY: all-zero is a valid `inode_operations` (no callbacks).
    let mut ops: bindings::inode_operations = unsafe { core::mem::zeroed() };
    ops.setattr = Some(setattr);
    ops
};

pub(super) const FILE_OPS: bindings::file_operations = {
    // SAFETY: all-zero is a valid `file_operations` (no callbacks).
    let mut ops: bindings::file_operations = unsafe { core::mem::zeroed() };
    ops.llseek = Some(bindings::generic_file_llseek);
    ops.read_iter = Some(read_iter);
    ops.write_iter = Some(write_iter);
    ops.mmap = Some(mmap::mmap);
    ops.open = Some(open);
    ops.fsync = Some(fsync);
    ops.splice_read = Some(bindings::filemap_splice_read);
    ops.splice_write = Some(bindings::iter_file_splice_write);
    ops
};

pub(super) const FILE_AOPS: bindings::address_space_operations = {
    // SAFETY: all-zero is a valid `address_space_operations` (no callbacks).
    let mut ops: bindings::address_space_operations = unsafe { core::mem::zeroed() };
    ops.read_folio = Some(read_folio);
    ops.readahead = Some(readahead);
    ops.writepages = Some(writepages);
    ops.dirty_folio = Some(bindings::iomap_dirty_folio);
    ops.release_folio = Some(bindings::iomap_release_folio);
    ops.invalidate_folio = Some(bindings::iomap_invalidate_folio);
    ops.is_partially_uptodate = Some(bindings::iomap_is_partially_uptodate);
    ops.error_remove_folio = Some(bindings::generic_error_remove_folio);
    ops
};

fn errno(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// # Safety
///
/// Called by the VFS with a locked folio of a tsfs file.
unsafe extern "C" fn read_folio(_file: *mut bindings::file, folio: *mut bindings::folio) -> c_int {
    // SAFETY: the folio is locked and belongs to a tsfs file, whose iomap
    // operations map it; iomap unlocks it when the read completes.
    unsafe { bindings::iomap_read_folio(folio, &iomap::IOMAP_OPS) }
}

/// # Safety
///
/// Called by the VFS with a read-ahead request on a tsfs file.
unsafe extern "C" fn readahead(rac: *mut bindings::readahead_control) {
    // SAFETY: as in `read_folio`, for every folio of the request.
    unsafe { bindings::iomap_readahead(rac, &iomap::IOMAP_OPS) }
}

/// # Safety
///
/// Called by write-back with a tsfs file's mapping and a valid `wbc`.
unsafe extern "C" fn writepages(
    mapping: *mut bindings::address_space,
    wbc: *mut bindings::writeback_control,
) -> c_int {
    // SAFETY: all-zero is the initial state iomap expects of a write-back context.
    let mut wpc: bindings::iomap_writepage_ctx = unsafe { core::mem::zeroed() };
    // SAFETY: the mapping and `wbc` are valid for the call; `wpc` lives on our stack
    // until `iomap_writepages` returns, which submits everything it collected.
    unsafe { bindings::iomap_writepages(mapping, wbc, &mut wpc, &iomap::WRITEBACK_OPS) }
}

/// # Safety
///
/// Called by the VFS when a tsfs file is opened.
unsafe extern "C" fn open(inode: *mut bindings::inode, filp: *mut bindings::file) -> c_int {
    // SAFETY: the file is being opened on the live tsfs inode `inode`.
    if let Err(e) = file::open(unsafe { Inode::from_raw(inode) }) {
        return e.to_errno();
    }
    // tsfs serves O_DIRECT (now or after `fcntl(F_SETFL)`) and RWF_NOWAIT.
    // SAFETY: `filp` is the file being opened, not yet shared.
    unsafe { tsfs_file_allow_direct(filp) };
    // SAFETY: as above.
    unsafe { bindings::generic_file_open(inode, filp) }
}

/// A buffered write, as `write_iter` receives it.
///
/// # Invariants
///
/// `iocb` and `from` are the live arguments of a `write_iter` call on a tsfs
/// regular file, valid for `'a`.
pub(crate) struct WriteRequest<'a> {
    iocb: *mut bindings::kiocb,
    from: *mut bindings::iov_iter,
    _life: PhantomData<&'a mut bindings::kiocb>,
}

impl<'a> WriteRequest<'a> {
    /// The file's inode.
    pub(crate) fn inode(&self) -> &'a Inode {
        // SAFETY: the file is open for `'a` (type invariant), so its inode is a live
        // tsfs inode for `'a`.
        unsafe { Inode::from_raw(tsfs_file_inode((*self.iocb).ki_filp)) }
    }

    /// `RWF_NOWAIT`: must not block.
    pub(crate) fn nowait(&self) -> bool {
        // SAFETY: `iocb` is live (type invariant).
        unsafe { super::direct::iocb_nowait(self.iocb) }
    }

    /// The VFS's checks (limits, `O_APPEND`); the bytes left to write, possibly 0.
    /// The caller holds the inode lock.
    pub(crate) fn checks(&mut self) -> Result<usize> {
        // SAFETY: `iocb` and `from` are live (type invariant).
        unsafe { write_checks(self.iocb, self.from) }
    }

    /// Drops set-id bits and updates the times, as a write must.
    pub(crate) fn file_modified(&mut self) -> Result {
        // SAFETY: `iocb` is live and its file open (type invariant).
        unsafe { file_modified(self.iocb) }
    }

    /// Copies the data into the page cache through iomap (which maps and allocates
    /// with tsfs's iomap operations); the bytes written. The caller holds the inode
    /// lock.
    pub(crate) fn buffered_write(&mut self) -> Result<usize> {
        // SAFETY: `iocb` and `from` are live (type invariant); the operations are
        // static; no private data is used.
        let n = unsafe {
            bindings::iomap_file_buffered_write(
                self.iocb,
                self.from,
                &iomap::IOMAP_OPS,
                core::ptr::null_mut(),
            )
        };
        usize::try_from(n).map_err(|_| Error::from_errno(n as c_int))
    }

    /// Syncs what was written if the file or the call asks for it (`O_SYNC`,
    /// `RWF_DSYNC`...); `written` if all is well.
    pub(crate) fn sync_written(&mut self, written: usize) -> Result<usize> {
        // SAFETY: `iocb` is live (type invariant); called without the inode lock.
        unsafe { sync_written(self.iocb, written) }
    }
}

/// The VFS's write checks (limits, `O_APPEND`); the bytes left to write.
///
/// # Safety
///
/// `iocb` and `from` are the live arguments of a `write_iter` call; the caller
/// holds the inode lock.
pub(super) unsafe fn write_checks(
    iocb: *mut bindings::kiocb,
    from: *mut bindings::iov_iter,
) -> Result<usize> {
    // SAFETY: the caller's guarantee.
    let n = unsafe { bindings::generic_write_checks(iocb, from) };
    usize::try_from(n).map_err(|_| Error::from_errno(n as c_int))
}

/// Drops set-id bits and updates the times, as a write must.
///
/// # Safety
///
/// `iocb` is live and its file open.
pub(super) unsafe fn file_modified(iocb: *mut bindings::kiocb) -> Result {
    // SAFETY: the caller's guarantee.
    kernel::error::to_result(unsafe { bindings::file_modified((*iocb).ki_filp) })
}

/// Syncs `written` bytes if the file or the call asks for it (`O_SYNC`,
/// `RWF_DSYNC`...).
///
/// # Safety
///
/// `iocb` is live; the caller does not hold the inode lock.
pub(super) unsafe fn sync_written(iocb: *mut bindings::kiocb, written: usize) -> Result<usize> {
    let count = isize::try_from(written).map_err(|_| EINVAL)?;
    // SAFETY: the caller's guarantee.
    let n = unsafe { tsfs_generic_write_sync(iocb, count) };
    usize::try_from(n).map_err(|_| Error::from_errno(n as c_int))
}

/// # Safety
///
/// Called by the VFS with a write request on an open tsfs regular file.
unsafe extern "C" fn write_iter(
    iocb: *mut bindings::kiocb,
    from: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: `iocb` is the live request of this call.
    if unsafe { (*iocb).ki_flags } as u32 & bindings::IOCB_DIRECT != 0 {
        // SAFETY: the live arguments of a direct `write_iter` on a tsfs file.
        let mut req = unsafe { DirectRequest::new(iocb, from, true) };
        return match file::write_direct(&mut req) {
            Ok(n) => n as isize,
            Err(e) => e.to_errno() as isize,
        };
    }
    // INVARIANT: the arguments are live for this call.
    let mut req = WriteRequest {
        iocb,
        from,
        _life: PhantomData,
    };
    match file::write_iter(&mut req) {
        Ok(n) => n as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// # Safety
///
/// Called by the VFS with a read request on an open tsfs regular file.
unsafe extern "C" fn read_iter(iocb: *mut bindings::kiocb, to: *mut bindings::iov_iter) -> isize {
    // SAFETY: `iocb` is the live request of this call.
    if unsafe { (*iocb).ki_flags } as u32 & bindings::IOCB_DIRECT == 0 {
        // SAFETY: the live arguments of a buffered read on a tsfs file, whose page
        // cache tsfs's address space operations fill.
        return unsafe { bindings::generic_file_read_iter(iocb, to) };
    }
    // SAFETY: the live arguments of a direct `read_iter` on a tsfs file.
    let mut req = unsafe { DirectRequest::new(iocb, to, false) };
    match file::read_direct(&mut req) {
        Ok(n) => n as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// A change of attributes, as `setattr` receives it.
///
/// # Invariants
///
/// The fields are the live arguments of a `setattr` call on a tsfs dentry, whose
/// inode is locked by the VFS, valid for `'a`.
pub(crate) struct SetAttr<'a> {
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    attr: *mut bindings::iattr,
    _life: PhantomData<&'a mut bindings::iattr>,
}

impl SetAttr<'_> {
    /// The inode being changed.
    pub(crate) fn inode(&self) -> Result<&Inode> {
        // SAFETY: the dentry is live (type invariant).
        let dentry = unsafe { Dentry::from_raw(self.dentry) };
        dentry.inode().ok_or(EINVAL)
    }

    /// The VFS's permission and sanity checks.
    pub(crate) fn prepare(&self) -> Result {
        // SAFETY: the arguments are live (type invariant).
        kernel::error::to_result(unsafe {
            bindings::setattr_prepare(self.idmap, self.dentry, self.attr)
        })
    }

    /// The new size, if the size changes.
    pub(crate) fn new_size(&self) -> Option<u64> {
        // SAFETY: `attr` is live (type invariant).
        let (valid, size) = unsafe { ((*self.attr).ia_valid, (*self.attr).ia_size) };
        if valid & bindings::ATTR_SIZE == 0 {
            return None;
        }
        u64::try_from(size).ok()
    }

    /// Copies the other attributes (mode, owner, times) into the inode.
    pub(crate) fn copy_to_inode(&self, inode: &Inode) {
        // SAFETY: the arguments are live; `inode` is the dentry's inode, locked.
        unsafe { bindings::setattr_copy(self.idmap, inode.as_ptr(), self.attr) };
    }
}

/// # Safety
///
/// Called by the VFS with a tsfs dentry whose inode it locked, and the changes.
pub(super) unsafe extern "C" fn setattr(
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    attr: *mut bindings::iattr,
) -> c_int {
    // INVARIANT: the arguments are live for this call.
    let req = SetAttr {
        idmap,
        dentry,
        attr,
        _life: PhantomData,
    };
    errno(file::setattr(&req))
}

/// An `fsync` call.
///
/// # Invariants
///
/// `file` is an open tsfs file, valid for `'a`.
pub(crate) struct FsyncRequest<'a> {
    file: *mut bindings::file,
    _life: PhantomData<&'a bindings::file>,
}

impl FsyncRequest<'_> {
    /// The file's inode.
    pub(crate) fn inode(&self) -> &Inode {
        // SAFETY: the file is open (type invariant), so its inode is live.
        unsafe { Inode::from_raw(tsfs_file_inode(self.file)) }
    }

    /// Writes back the file's dirty pages in `start ..= end` and waits, reporting
    /// write-back errors not yet seen through this file.
    pub(crate) fn write_and_wait(&self, start: i64, end: i64) -> Result {
        // SAFETY: the file is open (type invariant); this may sleep.
        kernel::error::to_result(unsafe {
            bindings::file_write_and_wait_range(self.file, start, end)
        })
    }
}

/// # Safety
///
/// Called by the VFS with an open tsfs file.
pub(super) unsafe extern "C" fn fsync(
    filp: *mut bindings::file,
    start: bindings::loff_t,
    end: bindings::loff_t,
    datasync: c_int,
) -> c_int {
    // INVARIANT: the file is open for this call.
    let req = FsyncRequest {
        file: filp,
        _life: PhantomData,
    };
    errno(file::fsync(&req, start, end, datasync != 0))
}

/// Zeroes the page cache of `inode` from `pos` to the end of its block, as a
/// shrinking truncate must (the tail past the new size must read as zeros if the
/// file grows again). The caller holds the inode lock.
pub(crate) fn zero_block_tail(inode: &Inode, pos: u64) -> Result {
    let pos = i64::try_from(pos).map_err(|_| EINVAL)?;
    let mut did_zero = false;
    // SAFETY: the inode is live and locked by the caller; the operations are static.
    kernel::error::to_result(unsafe {
        bindings::iomap_truncate_page(
            inode.as_ptr(),
            pos,
            addr_of_mut!(did_zero),
            &iomap::IOMAP_OPS,
        )
    })
}

/// Zeroes the page cache of `inode` in `pos .. pos + len` where it is mapped (holes
/// stay holes). The caller holds the inode lock.
pub(crate) fn zero_range(inode: &Inode, pos: u64, len: u64) -> Result {
    let pos = i64::try_from(pos).map_err(|_| EINVAL)?;
    let len = i64::try_from(len).map_err(|_| EINVAL)?;
    let mut did_zero = false;
    // SAFETY: as in `zero_block_tail`.
    kernel::error::to_result(unsafe {
        bindings::iomap_zero_range(
            inode.as_ptr(),
            pos,
            len,
            addr_of_mut!(did_zero),
            &iomap::IOMAP_OPS,
        )
    })
}
