// SPDX-License-Identifier: GPL-2.0

//! Registering a filesystem type, and mounting: the `fs_context` operations,
//! `fill_super` and `kill_sb`, generic over the [`FileSystem`].

use super::{inode, FileSystem, NewSuperBlock, Remount, SuperBlock};
use core::{
    marker::PhantomData,
    sync::atomic::{AtomicBool, Ordering},
};
use kernel::{
    bindings,
    error::{from_result, to_result},
    ffi::c_int,
    prelude::*,
    types::Opaque,
};

// bindgen's structs stand for C structs, a few of which hold config-dependent
// empty structs; only pointers to them cross this boundary.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_fc_wants_rdonly(fc: *const bindings::fs_context) -> bool;
}

/// The module's `file_system_type`. It must be static: the VFS gives every super
/// block and inode of the type the lock class keys embedded in it, and lockdep
/// only accepts static keys. A generic static cannot exist, so a module registers
/// at most one filesystem type.
struct FsType(Opaque<bindings::file_system_type>);

// SAFETY: the object is written only by `Registration::new` while it is not
// registered (guarded by `REGISTERED`), then only used by the VFS under its locks.
unsafe impl Sync for FsType {}

static FS_TYPE: FsType = FsType(Opaque::uninit());

/// Whether `FS_TYPE` is registered (at most one `Registration` exists).
static REGISTERED: AtomicBool = AtomicBool::new(false);

/// A registered filesystem type; unregistered on drop.
///
/// # Invariants
///
/// While this object lives, `FS_TYPE` is initialised and registered, and
/// `REGISTERED` is true.
pub(crate) struct Registration {
    _private: (),
}

impl Registration {
    /// Registers the block-device filesystem type `T`, owned by `module`. `EBUSY`
    /// if the module registered a type already.
    pub(crate) fn new<T: FileSystem>(module: &'static ThisModule) -> Result<Self> {
        if REGISTERED.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        let fs = FS_TYPE.0.get();
        // SAFETY: `fs` is not registered (we just claimed it), so nothing else uses
        // it; an all-zero value is a valid `file_system_type`, and zeroed lock class
        // keys are what lockdep expects of static keys.
        unsafe { fs.write(core::mem::zeroed()) };
        // SAFETY: as above; the object is ours until registered.
        let t = unsafe { &mut *fs };
        t.name = T::NAME.as_char_ptr();
        t.owner = module.as_ptr();
        t.fs_flags = bindings::FS_REQUIRES_DEV as i32;
        t.init_fs_context = Some(init_fs_context::<T>);
        t.kill_sb = Some(kill_sb::<T>);
        // SAFETY: `fs` is fully initialised and static.
        if let Err(e) = to_result(unsafe { bindings::register_filesystem(fs) }) {
            REGISTERED.store(false, Ordering::Release);
            return Err(e);
        }
        // INVARIANT: registered just now.
        Ok(Registration { _private: () })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `FS_TYPE` is registered; unregistering it
        // here is the matching call. It cannot fail for a registered type.
        unsafe { bindings::unregister_filesystem(FS_TYPE.0.get()) };
        REGISTERED.store(false, Ordering::Release);
        // No direct IO completion work of the module's may still be queued.
        super::dio_async::wait_idle();
    }
}

/// The `fs_context_operations` of filesystem type `T`.
struct ContextOps<T>(PhantomData<T>);

impl<T: FileSystem> ContextOps<T> {
    const TABLE: bindings::fs_context_operations = {
        // SAFETY: all-zero is a valid `fs_context_operations` (no callbacks); without
        // a `parse_param`, the VFS refuses every mount option but the generic ones.
        let mut ops: bindings::fs_context_operations = unsafe { core::mem::zeroed() };
        ops.get_tree = Some(get_tree::<T>);
        ops.reconfigure = Some(reconfigure::<T>);
        ops
    };
}

/// `init_fs_context`: every mount and remount of the type starts here.
///
/// # Safety
///
/// Called by the VFS with a new `fs_context` that it owns.
unsafe extern "C" fn init_fs_context<T: FileSystem>(fc: *mut bindings::fs_context) -> c_int {
    // SAFETY: the context is new and ours to set up; the operations are static.
    unsafe { (*fc).ops = &ContextOps::<T>::TABLE };
    0
}

/// # Safety
///
/// Called by the VFS with a mount's `fs_context`.
unsafe extern "C" fn get_tree<T: FileSystem>(fc: *mut bindings::fs_context) -> c_int {
    // SAFETY: `fc` is valid; `get_tree_bdev` opens the device named by its source
    // and calls `fill_super` for a new super block.
    unsafe { bindings::get_tree_bdev(fc, Some(fill_super::<T>)) }
}

/// # Safety
///
/// Called by `get_tree_bdev` with a new super block on an opened block device.
unsafe extern "C" fn fill_super<T: FileSystem>(
    sb: *mut bindings::super_block,
    _fc: *mut bindings::fs_context,
) -> c_int {
    from_result(|| {
        // SAFETY: the super block is new, ours, with a block device, and of type `T`.
        let new = unsafe { NewSuperBlock::<T>::from_raw(sb) };
        let root = T::fill_super(&new)?;
        // SAFETY: `d_make_root` takes over the root inode's reference (and drops it on
        // failure); the super block is ours to set up.
        unsafe {
            let dentry = bindings::d_make_root(inode::into_raw(root));
            if dentry.is_null() {
                return Err(ENOMEM);
            }
            (*sb).s_root = dentry;
        }
        Ok(0)
    })
}

/// # Safety
///
/// Called by the VFS with a remount's `fs_context`, whose root is a mounted
/// filesystem of type `T`; the VFS holds the super block's `s_umount`.
unsafe extern "C" fn reconfigure<T: FileSystem>(fc: *mut bindings::fs_context) -> c_int {
    from_result(|| {
        // SAFETY: a remount context has the mounted root; its super block is live
        // and of type `T`, and `s_umount` is held for the call.
        let (sb, read_only) = unsafe {
            (
                Remount::<T>::from_raw((*(*fc).root).d_sb),
                tsfs_fc_wants_rdonly(fc),
            )
        };
        T::reconfigure(&sb, read_only)?;
        Ok(0)
    })
}

/// `kill_sb`: shuts the super block down, then frees the filesystem's data, which
/// `fill_super` may or may not have set.
///
/// # Safety
///
/// Called by the VFS with a super block of type `T` that is going away.
unsafe extern "C" fn kill_sb<T: FileSystem>(sb: *mut bindings::super_block) {
    // SAFETY: as the VFS promises; this runs the last callbacks (`put_super`...).
    unsafe { bindings::kill_block_super(sb) };
    // SAFETY: no callback of `sb` runs any more, nor will.
    unsafe { SuperBlock::<T>::free_data(sb) };
}
