// SPDX-License-Identifier: GPL-2.0

//! Registration of the `tsfs` filesystem type.

use kernel::{bindings, error::to_result, init::PinInit, prelude::*, str::CStr, types::Opaque};

/// A registered `struct file_system_type`; unregistered on drop.
///
/// # Invariants
///
/// `fs` is initialised and registered with `register_filesystem` for the whole
/// life of the object, and does not move (it is pinned).
#[pin_data(PinnedDrop)]
pub(crate) struct Registration {
    #[pin]
    fs: Opaque<bindings::file_system_type>,
}

// SAFETY: the registered `file_system_type` is only touched by the VFS under its own
// locks once registered; the object holds no thread-bound state.
unsafe impl Send for Registration {}
// SAFETY: `&Registration` exposes nothing.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers a block-device filesystem type called `name`, owned by `module`.
    pub(crate) fn new(
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> impl PinInit<Self, Error> {
        let init = move |slot: *mut Self| {
            // SAFETY: `slot` is valid for writes (pin-init contract); `Opaque::raw_get`
            // only computes the field's address.
            let fs = unsafe { Opaque::raw_get(core::ptr::addr_of!((*slot).fs)) };
            // SAFETY: `fs` points to writable memory for a `file_system_type`; an
            // all-zero value is a valid one (null pointers, no flags).
            unsafe { fs.write(core::mem::zeroed()) };
            // SAFETY: `fs` was just initialised and nothing else refers to it yet.
            let t = unsafe { &mut *fs };
            t.name = name.as_char_ptr();
            t.owner = module.as_ptr();
            t.fs_flags = bindings::FS_REQUIRES_DEV as i32;
            t.init_fs_context = Some(init_fs_context);
            t.kill_sb = Some(bindings::kill_block_super);
            // SAFETY: `fs` is fully initialised and pinned (the slot is pinned memory that
            // outlives the registration, which `PinnedDrop` ends).
            to_result(unsafe { bindings::register_filesystem(fs) })
        };
        // SAFETY: on success the closure initialised every field of `Self` (just `fs`);
        // on error nothing is registered and the slot may be freed.
        unsafe { kernel::init::pin_init_from_closure(init) }
    }
}

#[pinned_drop]
impl PinnedDrop for Registration {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: by the type invariant `fs` is registered; unregistering it here is
        // the matching call. It cannot fail for a registered type.
        unsafe { bindings::unregister_filesystem(self.fs.get()) };
    }
}

/// `init_fs_context` for `tsfs`: hands the mount to the safe filesystem code.
///
/// # Safety
///
/// Called by the VFS with a valid, exclusively owned `fc`.
unsafe extern "C" fn init_fs_context(_fc: *mut bindings::fs_context) -> kernel::ffi::c_int {
    match crate::fs::mount() {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
