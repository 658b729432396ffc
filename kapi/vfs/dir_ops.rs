// SPDX-License-Identifier: GPL-2.0

//! Directory operations: the `inode_operations` and `file_operations` tables of
//! tsfs directories, and the readdir context.

use super::{
    dentry::{Dentry, Idmap},
    file_ops,
    inode::{into_raw, Inode},
};
use crate::fs::{dir, namei};
use core::{marker::PhantomData, ptr::null_mut};
use kernel::{bindings, ffi::c_int, prelude::*};

// bindgen's structs stand for C structs, a few of which hold config-dependent
// empty structs; only pointers to them cross this boundary.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_file_inode(file: *const bindings::file) -> *mut bindings::inode;
    fn tsfs_dir_emit(
        ctx: *mut bindings::dir_context,
        name: *const kernel::ffi::c_char,
        len: c_int,
        ino: u64,
        dtype: kernel::ffi::c_uint,
    ) -> bool;
    fn tsfs_dir_emit_dots(file: *mut bindings::file, ctx: *mut bindings::dir_context) -> bool;
}

pub(super) const DIR_INODE_OPS: bindings::inode_operations = {
    // SAFETY: all-zero is a valid `inode_operations` (no callbacks).
    let mut ops: bindings::inode_operations = unsafe { core::mem::zeroed() };
    ops.lookup = Some(lookup);
    ops.create = Some(create);
    ops.link = Some(link);
    ops.unlink = Some(unlink);
    ops.mkdir = Some(mkdir);
    ops.rmdir = Some(rmdir);
    ops.rename = Some(rename);
    ops.setattr = Some(file_ops::setattr);
    ops
};

pub(super) const DIR_FILE_OPS: bindings::file_operations = {
    // SAFETY: all-zero is a valid `file_operations` (no callbacks).
    let mut ops: bindings::file_operations = unsafe { core::mem::zeroed() };
    ops.llseek = Some(bindings::generic_file_llseek);
    ops.read = Some(bindings::generic_read_dir);
    ops.iterate_shared = Some(iterate_shared);
    ops.fsync = Some(file_ops::fsync);
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
/// Called by the VFS with a live tsfs directory (locked at least shared) and a
/// dentry in it.
unsafe extern "C" fn lookup(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    _flags: kernel::ffi::c_uint,
) -> *mut bindings::dentry {
    // SAFETY: as the VFS promises above.
    let (d, e) = unsafe { (Inode::from_raw(dir), Dentry::from_raw(dentry)) };
    let inode = match namei::lookup(d, e) {
        Ok(Some(inode)) => into_raw(inode),
        Ok(None) => null_mut(),
        Err(err) => return err.to_ptr(),
    };
    // SAFETY: `dentry` is a live negative dentry being looked up; `inode` is null
    // or carries a reference, which `d_splice_alias` takes over.
    unsafe { bindings::d_splice_alias(inode, dentry) }
}

/// # Safety
///
/// Called by the VFS with a live tsfs directory, locked, and a negative dentry in it.
unsafe extern "C" fn create(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    _excl: bool,
) -> c_int {
    // SAFETY: as the VFS promises above.
    let (m, d, e) = unsafe {
        (
            Idmap::from_raw(idmap),
            Inode::from_raw(dir),
            Dentry::from_raw(dentry),
        )
    };
    match namei::create(m, d, e, mode) {
        // SAFETY: the new inode is set up and locked; `d_instantiate_new` takes our
        // reference, attaches it to the dentry and unlocks it.
        Ok(new) => unsafe {
            bindings::d_instantiate_new(dentry, new.into_raw());
            0
        },
        Err(err) => err.to_errno(),
    }
}

/// # Safety
///
/// Called by the VFS with a live tsfs directory, locked, and a negative dentry in it.
unsafe extern "C" fn mkdir(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
) -> c_int {
    // SAFETY: as the VFS promises above.
    let (m, d, e) = unsafe {
        (
            Idmap::from_raw(idmap),
            Inode::from_raw(dir),
            Dentry::from_raw(dentry),
        )
    };
    match namei::mkdir(m, d, e, mode) {
        // SAFETY: as in `create`.
        Ok(new) => unsafe {
            bindings::d_instantiate_new(dentry, new.into_raw());
            0
        },
        Err(err) => err.to_errno(),
    }
}

/// # Safety
///
/// Called by the VFS with a positive dentry of a tsfs file, a live tsfs directory
/// (locked) and a negative dentry in it.
unsafe extern "C" fn link(
    old_dentry: *mut bindings::dentry,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> c_int {
    // SAFETY: as the VFS promises above.
    let (old, d, e) = unsafe {
        (
            Dentry::from_raw(old_dentry),
            Inode::from_raw(dir),
            Dentry::from_raw(dentry),
        )
    };
    match namei::link(old, d, e) {
        // SAFETY: `dentry` is negative and its parent locked; `d_instantiate` takes
        // over the reference that `link` returned.
        Ok(inode) => unsafe {
            bindings::d_instantiate(dentry, into_raw(inode));
            0
        },
        Err(err) => err.to_errno(),
    }
}

/// # Safety
///
/// Called by the VFS with a live tsfs directory (locked) and a positive dentry in it.
unsafe extern "C" fn unlink(dir: *mut bindings::inode, dentry: *mut bindings::dentry) -> c_int {
    // SAFETY: as the VFS promises above.
    errno(namei::unlink(unsafe { Inode::from_raw(dir) }, unsafe {
        Dentry::from_raw(dentry)
    }))
}

/// # Safety
///
/// As for [`unlink`], with a directory's dentry.
unsafe extern "C" fn rmdir(dir: *mut bindings::inode, dentry: *mut bindings::dentry) -> c_int {
    // SAFETY: as the VFS promises above.
    errno(namei::rmdir(unsafe { Inode::from_raw(dir) }, unsafe {
        Dentry::from_raw(dentry)
    }))
}

/// The flags of a `rename` call (`RENAME_*`).
#[derive(Clone, Copy)]
pub(crate) struct RenameFlags(u32);

impl RenameFlags {
    /// No flag but `RENAME_NOREPLACE` (which the VFS enforces itself).
    pub(crate) fn at_most_noreplace(self) -> bool {
        self.0 & !bindings::RENAME_NOREPLACE == 0
    }
}

/// # Safety
///
/// Called by the VFS with both tsfs directories locked (and the rename lock held
/// if they differ), a positive old dentry and a new dentry.
unsafe extern "C" fn rename(
    _idmap: *mut bindings::mnt_idmap,
    old_dir: *mut bindings::inode,
    old_dentry: *mut bindings::dentry,
    new_dir: *mut bindings::inode,
    new_dentry: *mut bindings::dentry,
    flags: kernel::ffi::c_uint,
) -> c_int {
    // SAFETY: as the VFS promises above.
    let (od, oe, nd, ne) = unsafe {
        (
            Inode::from_raw(old_dir),
            Dentry::from_raw(old_dentry),
            Inode::from_raw(new_dir),
            Dentry::from_raw(new_dentry),
        )
    };
    errno(namei::rename(od, oe, nd, ne, RenameFlags(flags)))
}

/// The state of one `readdir` call.
///
/// # Invariants
///
/// `file` is an open tsfs directory and `ctx` its live `dir_context`, both valid
/// for `'a`.
pub(crate) struct DirContext<'a> {
    file: *mut bindings::file,
    ctx: *mut bindings::dir_context,
    _life: PhantomData<&'a mut bindings::dir_context>,
}

impl DirContext<'_> {
    /// The position: 0 and 1 are `.` and `..`, then one per directory slot.
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

/// # Safety
///
/// Called by the VFS with an open tsfs directory (locked shared) and its context.
unsafe extern "C" fn iterate_shared(
    file: *mut bindings::file,
    ctx: *mut bindings::dir_context,
) -> c_int {
    // SAFETY: the file is open, so its inode is a live tsfs inode.
    let inode = unsafe { Inode::from_raw(tsfs_file_inode(file)) };
    // INVARIANT: `file` and `ctx` are live for this call.
    let mut ctx = DirContext {
        file,
        ctx,
        _life: PhantomData,
    };
    errno(dir::readdir(inode, &mut ctx))
}
