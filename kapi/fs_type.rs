// SPDX-License-Identifier: GPL-2.0

//! Registration of the `tsfs` filesystem type.

use core::sync::atomic::{AtomicBool, Ordering};
use kernel::{bindings, error::to_result, prelude::*, str::CStr, types::Opaque};

/// The `file_system_type` of tsfs. It must be static: the VFS gives every super
/// block and inode of the type the lock class keys embedded in it, and lockdep
/// only accepts static keys.
struct FsType(Opaque<bindings::file_system_type>);

// SAFETY: the object is written only by `Registration::new` while it is not
// registered (guarded by `REGISTERED`), then only used by the VFS under its locks.
unsafe impl Sync for FsType {}

static FS_TYPE: FsType = FsType(Opaque::uninit());

/// Whether `FS_TYPE` is registered (at most one `Registration` exists).
static REGISTERED: AtomicBool = AtomicBool::new(false);

/// The registered `tsfs` type; unregistered on drop.
///
/// # Invariants
///
/// While this object lives, `FS_TYPE` is initialised and registered, and
/// `REGISTERED` is true.
pub(crate) struct Registration {
    _private: (),
}

impl Registration {
    /// Registers a block-device filesystem type called `name`, owned by `module`.
    /// `EBUSY` if it is registered already.
    pub(crate) fn new(name: &'static CStr, module: &'static ThisModule) -> Result<Self> {
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
        t.name = name.as_char_ptr();
        t.owner = module.as_ptr();
        t.fs_flags = bindings::FS_REQUIRES_DEV as i32;
        t.init_fs_context = Some(super::vfs::fs_context::init_fs_context);
        t.kill_sb = Some(super::vfs::fs_context::kill_sb);
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
    }
}
