// SPDX-License-Identifier: GPL-2.0

//! Open files: the safe view of a `file`, the read/write request (`kiocb` and
//! `iov_iter`), the readdir context, and the `file_operations` built from a
//! [`file::Operations`](Operations) implementer.

use super::{
    dentry::DentryRef,
    falloc::Mode,
    inode::{Locked, SharedGuard},
    iomap,
    vm::NewVma,
    FileSystem, INode,
};
use crate::kapi::uio::IovIter;
use core::marker::PhantomData;
use kernel::{
    bindings,
    error::{from_result, to_result, VTABLE_DEFAULT_ERROR},
    ffi::c_int,
    prelude::*,
    types::Opaque,
};

// bindgen's structs stand for C structs, a few of which hold config-dependent
// empty structs; only pointers to them cross this boundary.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_file_inode(file: *const bindings::file) -> *mut bindings::inode;
    fn tsfs_generic_write_sync(iocb: *mut bindings::kiocb, count: isize) -> isize;
    fn tsfs_file_allow_direct(file: *mut bindings::file);
    fn tsfs_file_accessed(file: *mut bindings::file);
    fn tsfs_iocb_is_nowait(iocb: *const bindings::kiocb) -> bool;
    fn tsfs_iocb_is_append(iocb: *const bindings::kiocb) -> bool;
    fn tsfs_iocb_is_async(iocb: *mut bindings::kiocb) -> bool;
    fn tsfs_iocb_is_dsync(iocb: *const bindings::kiocb) -> bool;
    fn tsfs_dir_emit(
        ctx: *mut bindings::dir_context,
        name: *const kernel::ffi::c_char,
        len: c_int,
        ino: u64,
        dtype: kernel::ffi::c_uint,
    ) -> bool;
    fn tsfs_dir_emit_dots(file: *mut bindings::file, ctx: *mut bindings::dir_context) -> bool;
}

/// A byte count from C (`ssize_t`): the bytes done, or a negative errno.
pub(in crate::kapi) fn bytes_or_errno(n: isize) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::from_errno(n as c_int))
}

/// An open file of filesystem type `T`.
///
/// # Invariants
///
/// The file is open, and its inode is of type `T`.
#[repr(transparent)]
pub(crate) struct File<T: FileSystem>(Opaque<bindings::file>, PhantomData<T>);

impl<T: FileSystem> File<T> {
    /// # Safety
    ///
    /// `ptr` satisfies the type invariants for `'a`.
    pub(in crate::kapi) unsafe fn from_raw<'a>(ptr: *mut bindings::file) -> &'a Self {
        // SAFETY: `File` is a transparent wrapper; the caller vouches for `ptr`.
        unsafe { &*ptr.cast::<Self>() }
    }

    pub(in crate::kapi) fn as_ptr(&self) -> *mut bindings::file {
        self.0.get()
    }

    /// The file's inode.
    pub(crate) fn inode(&self) -> &INode<T> {
        // SAFETY: the file is open (type invariant), so its inode is live and of
        // type `T` while the file is.
        unsafe { INode::from_raw(tsfs_file_inode(self.as_ptr())) }
    }

    /// Lets the file serve `O_DIRECT` (now or after `fcntl(F_SETFL)`) and
    /// `RWF_NOWAIT`. Only while it is being opened.
    pub(crate) fn allow_direct(&self) {
        // SAFETY: the file is open; `open` callers have it to themselves.
        unsafe { tsfs_file_allow_direct(self.as_ptr()) };
    }

    /// Updates the access time, as reading through a mapping must.
    pub(crate) fn accessed(&self) {
        // SAFETY: the file is open (type invariant).
        unsafe { tsfs_file_accessed(self.as_ptr()) };
    }

    /// The entry of the directory the file was opened through (the file's own
    /// entry for the root directory).
    pub(crate) fn parent(&self) -> Option<DentryRef<T>> {
        // SAFETY: the file is open (type invariant), so `f_path.dentry` is a live
        // dentry of a super block of type `T`.
        unsafe { DentryRef::parent_of((*self.as_ptr()).f_path.dentry) }
    }

    /// Drops set-id bits and updates the modification and change times, as a
    /// change of the file's contents through it must (`file_modified`).
    pub(crate) fn modified(&self) -> Result {
        // SAFETY: the file is open (type invariant); this may sleep.
        to_result(unsafe { bindings::file_modified(self.as_ptr()) })
    }

    /// Writes back the file's dirty pages in `start ..= end` and waits, reporting
    /// write-back errors not yet seen through this file.
    pub(crate) fn write_and_wait(&self, start: i64, end: i64) -> Result {
        // SAFETY: the file is open (type invariant); this may sleep.
        to_result(unsafe { bindings::file_write_and_wait_range(self.as_ptr(), start, end) })
    }
}

/// A read or write request, as `read_iter` and `write_iter` receive it.
///
/// # Invariants
///
/// `iocb` and `iter` are the live arguments of a `read_iter` (`write` false) or
/// `write_iter` call on a file of type `T`, valid and used by nothing else for `'a`
/// — until a direct IO of it is queued to complete asynchronously
/// (`direct::Submitted::Queued`): its completion may then change `iocb` at any
/// time, so the filesystem returns `EIOCBQUEUED` at once without using the
/// request again. (The memory stays valid until the call returns: AIO and io_uring
/// keep the request, and its file, until their submission is over.)
pub(crate) struct IoRequest<'a, T: FileSystem> {
    pub(super) iocb: *mut bindings::kiocb,
    pub(super) iter: *mut bindings::iov_iter,
    pub(super) write: bool,
    pub(super) _life: PhantomData<(&'a mut bindings::kiocb, T)>,
}

impl<'a, T: FileSystem> IoRequest<'a, T> {
    /// The file.
    pub(crate) fn file(&self) -> &'a File<T> {
        // SAFETY: the file is open for `'a` (type invariant).
        unsafe { File::from_raw((*self.iocb).ki_filp) }
    }

    /// The file's inode.
    pub(crate) fn inode(&self) -> &'a INode<T> {
        self.file().inode()
    }

    /// Whether this is a write.
    pub(crate) fn is_write(&self) -> bool {
        self.write
    }

    /// Whether this is direct IO (`O_DIRECT`, `IOCB_DIRECT`).
    pub(crate) fn is_direct(&self) -> bool {
        // SAFETY: `iocb` is live (type invariant).
        unsafe { (*self.iocb).ki_flags as u32 & bindings::IOCB_DIRECT != 0 }
    }

    /// The file position of the next byte.
    pub(crate) fn pos(&self) -> u64 {
        // SAFETY: `iocb` is live (type invariant).
        u64::try_from(unsafe { (*self.iocb).ki_pos }).unwrap_or(0)
    }

    /// `RWF_NOWAIT` / `IOCB_NOWAIT`: must not block.
    pub(crate) fn nowait(&self) -> bool {
        // SAFETY: `iocb` is live (type invariant).
        unsafe { tsfs_iocb_is_nowait(self.iocb) }
    }

    /// An asynchronous request (AIO, io_uring; not polled): it may complete after
    /// `read_iter` or `write_iter` returns.
    pub(crate) fn is_async(&self) -> bool {
        // SAFETY: `iocb` is live (type invariant).
        unsafe { tsfs_iocb_is_async(self.iocb) }
    }

    /// A write that must reach stable storage before it completes (`O_DSYNC`,
    /// `O_SYNC`, `RWF_DSYNC`, a sync inode).
    pub(crate) fn is_dsync(&self) -> bool {
        // SAFETY: `iocb` is live (type invariant).
        unsafe { tsfs_iocb_is_dsync(self.iocb) }
    }

    /// The user buffer.
    pub(crate) fn iter(&mut self) -> IovIter<'_> {
        // SAFETY: `iter` is live and only used through this borrow meanwhile.
        unsafe { IovIter::from_raw(self.iter) }
    }

    /// The VFS's write checks (limits, `O_APPEND`); the bytes left to write,
    /// possibly 0. `EINVAL` for a read.
    pub(crate) fn write_checks(&mut self, _locked: &Locked<'_, T>) -> Result<usize> {
        if !self.write {
            return Err(EINVAL);
        }
        // SAFETY: live arguments of a `write_iter` (type invariant, `write`); the
        // inode lock is held (`Locked`).
        bytes_or_errno(unsafe { bindings::generic_write_checks(self.iocb, self.iter) })
    }

    /// The VFS's write checks for a write that will only overwrite blocks inside
    /// the file, under the inode lock held shared; as [`Self::write_checks`].
    /// `EAGAIN` for an `O_APPEND` write, which needs the lock exclusively.
    pub(crate) fn write_checks_overwrite(&mut self, _shared: &SharedGuard<'_, T>) -> Result<usize> {
        if !self.write {
            return Err(EINVAL);
        }
        // SAFETY: `iocb` is live (type invariant).
        if unsafe { tsfs_iocb_is_append(self.iocb) } {
            return Err(EAGAIN);
        }
        // SAFETY: live arguments of a `write_iter` (type invariant, `write`); the
        // inode lock is held shared, which suffices for a write that neither
        // appends nor (as the caller guarantees) grows the file.
        bytes_or_errno(unsafe { bindings::generic_write_checks(self.iocb, self.iter) })
    }

    /// Drops set-id bits and updates the times, as a write must; with
    /// `RWF_NOWAIT`, `EAGAIN` if that would block (`kiocb_modified`).
    pub(crate) fn kiocb_modified(&mut self) -> Result {
        // SAFETY: `iocb` is live and its file open (type invariant).
        to_result(unsafe { bindings::kiocb_modified(self.iocb) })
    }

    /// Drops set-id bits and updates the times, as a write must.
    pub(crate) fn file_modified(&mut self) -> Result {
        // SAFETY: `iocb` is live and its file open (type invariant).
        to_result(unsafe { bindings::file_modified((*self.iocb).ki_filp) })
    }

    /// Syncs what was written if the file or the call asks for it (`O_SYNC`,
    /// `RWF_DSYNC`...); `written` if all is well. Call without the inode lock.
    pub(crate) fn sync_written(&mut self, written: usize) -> Result<usize> {
        let count = isize::try_from(written).map_err(|_| EINVAL)?;
        // SAFETY: `iocb` is live (type invariant).
        bytes_or_errno(unsafe { tsfs_generic_write_sync(self.iocb, count) })
    }

    /// A read through the page cache (`generic_file_read_iter`), which the page
    /// cache operations fill; the bytes read.
    pub(crate) fn generic_read(&mut self) -> Result<usize> {
        if self.write {
            return Err(EINVAL);
        }
        // SAFETY: live arguments of a `read_iter` (type invariant, `write`).
        bytes_or_errno(unsafe { bindings::generic_file_read_iter(self.iocb, self.iter) })
    }

    /// Copies the data into the page cache through iomap (which maps and allocates
    /// with `ops`); the bytes written.
    pub(crate) fn buffered_write(
        &mut self,
        ops: iomap::Ops<T>,
        _locked: &Locked<'_, T>,
    ) -> Result<usize> {
        if !self.write {
            return Err(EINVAL);
        }
        // SAFETY: live arguments of a `write_iter` (type invariant, `write`); the
        // inode lock is held (`Locked`); the operations are static and need no
        // private data.
        bytes_or_errno(unsafe {
            bindings::iomap_file_buffered_write(
                self.iocb,
                self.iter,
                ops.as_ptr(),
                core::ptr::null_mut(),
            )
        })
    }
}

/// The state of one `readdir` call.
///
/// # Invariants
///
/// `file` is an open directory and `ctx` its live `dir_context`, both valid for
/// `'a`.
pub(crate) struct DirContext<'a> {
    file: *mut bindings::file,
    ctx: *mut bindings::dir_context,
    _life: PhantomData<&'a mut bindings::dir_context>,
}

impl DirContext<'_> {
    /// The position: 0 and 1 are `.` and `..`, then as the filesystem counts.
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: `ctx` is live (type invariant).
        unsafe { (*self.ctx).pos }
    }

    /// Moves the position.
    pub(crate) fn set_pos(&mut self, pos: i64) {
        // SAFETY: `ctx` is live and ours for the call (type invariant).
        unsafe { (*self.ctx).pos = pos };
    }

    /// Emits `.` and `..` if the position is before them; false if the caller's
    /// buffer is full.
    pub(crate) fn emit_dots(&mut self) -> bool {
        // SAFETY: `file` and `ctx` are live (type invariant).
        unsafe { tsfs_dir_emit_dots(self.file, self.ctx) }
    }

    /// Emits one entry; false if the caller's buffer is full (the entry was not
    /// emitted and the position must stay).
    pub(crate) fn emit(&mut self, name: &[u8], ino: u64, dtype: u8) -> bool {
        let Ok(len) = c_int::try_from(name.len()) else {
            return true;
        };
        // SAFETY: `ctx` is live (type invariant); `name` is `len` readable bytes.
        unsafe { tsfs_dir_emit(self.ctx, name.as_ptr().cast(), len, ino, dtype.into()) }
    }
}

/// File operations. `llseek` is always the generic one; a file with `read_iter`
/// or `write_iter` also gets the generic splice, and one with `readdir` the
/// generic `read` (which fails with `EISDIR`).
#[vtable]
pub(crate) trait Operations {
    /// The filesystem type whose files these operations serve.
    type FileSystem: FileSystem;

    /// The file is being opened on `inode` (`generic_file_open` follows).
    fn open(_inode: &INode<Self::FileSystem>, _file: &File<Self::FileSystem>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// A read; the bytes read.
    fn read_iter(_req: &mut IoRequest<'_, Self::FileSystem>) -> Result<usize> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// A write; the bytes written.
    fn write_iter(_req: &mut IoRequest<'_, Self::FileSystem>) -> Result<usize> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// A new mapping of the file.
    fn mmap(_file: &File<Self::FileSystem>, _vma: &NewVma<'_, Self::FileSystem>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Makes `start ..= end` of the file (and what is needed to find it) durable.
    fn fsync(_file: &File<Self::FileSystem>, _start: i64, _end: i64, _datasync: bool) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Allocates, punches or zeroes `len` bytes at `offset` (`fallocate(2)`, its
    /// arguments checked by the VFS; modes other than [`Mode`]'s are refused with
    /// `EOPNOTSUPP` before this is called).
    fn fallocate(_file: &File<Self::FileSystem>, _mode: Mode, _offset: u64, _len: u64) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Lists a directory (locked shared) from the context's position.
    fn readdir(_file: &File<Self::FileSystem>, _ctx: &mut DirContext<'_>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A `file_operations` table for filesystem type `T`.
pub(crate) type Ops<T> = super::OpsTable<bindings::file_operations, T>;

impl<T: FileSystem> Ops<T> {
    /// The table of `U`'s operations.
    pub(crate) const fn new<U: Operations<FileSystem = T>>() -> Self {
        Self::from_static(&Table::<U>::TABLE)
    }
}

struct Table<U>(PhantomData<U>);

impl<U: Operations> Table<U> {
    const TABLE: bindings::file_operations = {
        // SAFETY: all-zero is a valid `file_operations` (no callbacks).
        let mut ops: bindings::file_operations = unsafe { core::mem::zeroed() };
        ops.llseek = Some(bindings::generic_file_llseek);
        if U::HAS_OPEN {
            ops.open = Some(open::<U>);
        }
        if U::HAS_READ_ITER {
            ops.read_iter = Some(read_iter::<U>);
            ops.splice_read = Some(bindings::filemap_splice_read);
        }
        if U::HAS_WRITE_ITER {
            ops.write_iter = Some(write_iter::<U>);
            ops.splice_write = Some(bindings::iter_file_splice_write);
        }
        if U::HAS_MMAP {
            ops.mmap = Some(mmap::<U>);
        }
        if U::HAS_FSYNC {
            ops.fsync = Some(fsync::<U>);
        }
        if U::HAS_FALLOCATE {
            ops.fallocate = Some(fallocate::<U>);
        }
        if U::HAS_READDIR {
            ops.read = Some(bindings::generic_read_dir);
            ops.iterate_shared = Some(iterate_shared::<U>);
        }
        ops
    };
}

/// # Safety
///
/// Called by the VFS when a file of `U`'s type is opened.
unsafe extern "C" fn open<U: Operations>(
    inode: *mut bindings::inode,
    filp: *mut bindings::file,
) -> c_int {
    from_result(|| {
        // SAFETY: the file is being opened on the live inode `inode`, of the type.
        let (i, f) = unsafe { (INode::from_raw(inode), File::from_raw(filp)) };
        U::open(i, f)?;
        // SAFETY: as above.
        to_result(unsafe { bindings::generic_file_open(inode, filp) })?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a read request on an open file of `U`'s type.
unsafe extern "C" fn read_iter<U: Operations>(
    iocb: *mut bindings::kiocb,
    to: *mut bindings::iov_iter,
) -> isize {
    // INVARIANT: the arguments of this call, live for it.
    let mut req = IoRequest {
        iocb,
        iter: to,
        write: false,
        _life: PhantomData,
    };
    from_result(|| U::read_iter(&mut req).map(|n| n as isize))
}

/// # Safety
///
/// Called by the VFS with a write request on an open file of `U`'s type.
unsafe extern "C" fn write_iter<U: Operations>(
    iocb: *mut bindings::kiocb,
    from: *mut bindings::iov_iter,
) -> isize {
    // INVARIANT: the arguments of this call, live for it.
    let mut req = IoRequest {
        iocb,
        iter: from,
        write: true,
        _life: PhantomData,
    };
    from_result(|| U::write_iter(&mut req).map(|n| n as isize))
}

/// # Safety
///
/// Called by the VFS with an open file of `U`'s type and a new mapping of it.
unsafe extern "C" fn mmap<U: Operations>(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    from_result(|| {
        // SAFETY: the file is open and of the type; the mapping is being set up,
        // ours to configure for the call.
        let (f, v) = unsafe { (File::from_raw(file), NewVma::from_raw(vma)) };
        U::mmap(f, &v)?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with an open file of `U`'s type.
unsafe extern "C" fn fsync<U: Operations>(
    filp: *mut bindings::file,
    start: bindings::loff_t,
    end: bindings::loff_t,
    datasync: c_int,
) -> c_int {
    from_result(|| {
        // SAFETY: the file is open for the call and of the type.
        U::fsync(unsafe { File::from_raw(filp) }, start, end, datasync != 0)?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS (`vfs_fallocate`) with an open file of `U`'s type and a
/// checked range.
unsafe extern "C" fn fallocate<U: Operations>(
    filp: *mut bindings::file,
    mode: c_int,
    offset: bindings::loff_t,
    len: bindings::loff_t,
) -> kernel::ffi::c_long {
    from_result(|| {
        let mode = Mode::decode(mode)?;
        let (offset, len) = (
            u64::try_from(offset).map_err(|_| EINVAL)?,
            u64::try_from(len).map_err(|_| EINVAL)?,
        );
        // SAFETY: the file is open for the call and of the type.
        U::fallocate(unsafe { File::from_raw(filp) }, mode, offset, len)?;
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with an open directory of `U`'s type (locked shared) and its
/// context.
unsafe extern "C" fn iterate_shared<U: Operations>(
    file: *mut bindings::file,
    ctx: *mut bindings::dir_context,
) -> c_int {
    // INVARIANT: `file` and `ctx` are live for this call.
    let mut dctx = DirContext {
        file,
        ctx,
        _life: PhantomData,
    };
    from_result(|| {
        // SAFETY: the file is open for the call and of the type.
        U::readdir(unsafe { File::from_raw(file) }, &mut dctx)?;
        Ok(0)
    })
}
