// SPDX-License-Identifier: GPL-2.0

//! Mounting: the `fs_context` operations of tsfs, `fill_super` and `kill_sb`.

use super::{
    inode::into_raw,
    super_block::{free_info, NewSuperBlock, SuperBlock},
};
use kernel::{bindings, ffi::c_int, prelude::*};

// bindgen's structs stand for C structs, a few of which hold config-dependent
// empty structs; only pointers to them cross this boundary.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_fc_wants_rdonly(fc: *const bindings::fs_context) -> bool;
}

const CONTEXT_OPS: bindings::fs_context_operations = {
    // SAFETY: all-zero is a valid `fs_context_operations` (no callbacks); without a
    // `parse_param`, the VFS refuses every mount option but the generic ones.
    let mut ops: bindings::fs_context_operations = unsafe { core::mem::zeroed() };
    ops.get_tree = Some(get_tree);
    ops.reconfigure = Some(reconfigure);
    ops
};

/// `init_fs_context` of the tsfs type: every mount and remount starts here.
///
/// # Safety
///
/// Called by the VFS with a new `fs_context` that it owns.
pub(crate) unsafe extern "C" fn init_fs_context(fc: *mut bindings::fs_context) -> c_int {
    // SAFETY: the context is new and ours to set up; the operations are static.
    unsafe { (*fc).ops = &CONTEXT_OPS };
    0
}

/// # Safety
///
/// Called by the VFS with a mount's `fs_context`.
unsafe extern "C" fn get_tree(fc: *mut bindings::fs_context) -> c_int {
    // SAFETY: `fc` is valid; `get_tree_bdev` opens the device named by its source
    // and calls `fill_super` for a new super block.
    unsafe { bindings::get_tree_bdev(fc, Some(fill_super)) }
}

/// # Safety
///
/// Called by `get_tree_bdev` with a new super block on an opened block device.
unsafe extern "C" fn fill_super(
    sb: *mut bindings::super_block,
    _fc: *mut bindings::fs_context,
) -> c_int {
    // SAFETY: the super block is new, ours, with a block device.
    let new = unsafe { NewSuperBlock::from_raw(sb) };
    let root = match crate::fs::super_block::fill_super(&new) {
        Ok(root) => root,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: `d_make_root` takes over the root inode's reference (and drops it on
    // failure); the super block is ours to set up.
    unsafe {
        let dentry = bindings::d_make_root(into_raw(root));
        if dentry.is_null() {
            return ENOMEM.to_errno();
        }
        (*sb).s_root = dentry;
    }
    0
}

/// # Safety
///
/// Called by the VFS with a remount's `fs_context`, whose root is a mounted tsfs.
unsafe extern "C" fn reconfigure(fc: *mut bindings::fs_context) -> c_int {
    // SAFETY: a remount context has the mounted root; its super block is live.
    let (sb, read_only) = unsafe {
        (
            SuperBlock::from_raw((*(*fc).root).d_sb),
            tsfs_fc_wants_rdonly(fc),
        )
    };
    match crate::fs::super_block::reconfigure(sb, read_only) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `kill_sb` of the tsfs type: shuts the super block down, then frees tsfs's
/// state, which `fill_super` may or may not have attached.
///
/// # Safety
///
/// Called by the VFS with a tsfs super block that is going away.
pub(crate) unsafe extern "C" fn kill_sb(sb: *mut bindings::super_block) {
    // SAFETY: as the VFS promises; this runs the last callbacks (`put_super`...).
    unsafe { bindings::kill_block_super(sb) };
    // SAFETY: no callback of `sb` runs any more.
    unsafe { free_info(sb) };
}
