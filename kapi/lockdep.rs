// SPDX-License-Identifier: GPL-2.0

//! Lockdep annotations for locks implemented in Rust.
//!
//! With lockdep off, the C wrappers compile to nothing and `lockdep_map` is empty;
//! the Rust side then skips the calls altogether, so the fast paths of locks cost
//! no function call for it.

use kernel::{bindings, prelude::*, str::CStr, types::Opaque};

// Only pointers cross; with lockdep off `lockdep_map` and `lock_class_key` are
// empty structs, which the lint flags although nothing is passed by value.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_lockdep_init_map(
        map: *mut bindings::lockdep_map,
        name: *const kernel::ffi::c_char,
        key: *mut bindings::lock_class_key,
    );
    fn tsfs_lock_acquire_shared(map: *mut bindings::lockdep_map, trylock: kernel::ffi::c_int);
    fn tsfs_lock_acquire_shared_recursive(map: *mut bindings::lockdep_map);
    fn tsfs_lock_release(map: *mut bindings::lockdep_map);
    fn tsfs_lock_contended(map: *mut bindings::lockdep_map);
    fn tsfs_lock_acquired(map: *mut bindings::lockdep_map);
}

/// A static lockdep class key: one per lock construction site.
///
/// 6.12's `kernel::sync::LockClassKey` keeps its pointer crate-private, so tsfs has
/// its own. Declare it only in a `static` (lockdep requires static keys).
#[repr(transparent)]
pub(crate) struct ClassKey(Opaque<bindings::lock_class_key>);

// SAFETY: lockdep uses class keys from any thread with its own synchronisation.
unsafe impl Sync for ClassKey {}

impl ClassKey {
    /// A key for a `static`; lockdep expects such keys uninitialised.
    pub(crate) const fn new_static() -> Self {
        ClassKey(Opaque::uninit())
    }

    pub(crate) fn as_ptr(&self) -> *mut bindings::lock_class_key {
        self.0.get()
    }
}

/// Defines a static [`ClassKey`] at the call site and returns a `&'static` to it.
#[macro_export]
macro_rules! tsfs_static_class_key {
    () => {{
        static KEY: $crate::kapi::lockdep::ClassKey = $crate::kapi::lockdep::ClassKey::new_static();
        &KEY
    }};
}

/// How an acquisition is reported to lockdep.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acquire {
    /// A shared acquisition that may block (lockdep: non-recursive read).
    Shared,
    /// A shared acquisition that never blocks (lockdep: trylock read).
    TryShared,
    /// A recursive shared acquisition by a holder (lockdep: recursive read).
    SharedRecursive,
}

/// A lock's identity for lockdep.
///
/// # Invariants
///
/// `map` was initialised by `lockdep_init_map` with a static key and name.
#[pin_data]
pub(crate) struct Map {
    #[pin]
    map: Opaque<bindings::lockdep_map>,
}

// SAFETY: lockdep maps are used from any thread; lockdep synchronises internally.
unsafe impl Send for Map {}
// SAFETY: as above; all methods take `&self` and only pass the pointer to lockdep.
unsafe impl Sync for Map {}

impl Map {
    /// A map of class `key`, reported as `name`.
    pub(crate) fn new(name: &'static CStr, key: &'static ClassKey) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `name` and `key` are static, as lockdep
            // requires for both.
            map <- Opaque::ffi_init(|slot| unsafe {
                tsfs_lockdep_init_map(slot, name.as_char_ptr(), key.as_ptr())
            }),
        })
        // INVARIANT: `map` is initialised by `tsfs_lockdep_init_map` above.
    }

    /// Reports an acquisition; for blocking kinds, call it before blocking so that
    /// lockdep can report a deadlock instead of hanging in it.
    #[inline]
    pub(crate) fn acquire(&self, kind: Acquire) {
        if !cfg!(CONFIG_LOCKDEP) {
            return;
        }
        let map = self.map.get();
        // SAFETY: `map` is initialised (type invariant) and lives as long as `self`.
        unsafe {
            match kind {
                Acquire::Shared => tsfs_lock_acquire_shared(map, 0),
                Acquire::TryShared => tsfs_lock_acquire_shared(map, 1),
                Acquire::SharedRecursive => tsfs_lock_acquire_shared_recursive(map),
            }
        }
    }

    /// Reports a release.
    #[inline]
    pub(crate) fn release(&self) {
        if !cfg!(CONFIG_LOCKDEP) {
            return;
        }
        // SAFETY: `map` is initialised (type invariant) and lives as long as `self`.
        unsafe { tsfs_lock_release(self.map.get()) }
    }

    /// Reports that an acquisition has to wait (for lock_stat).
    pub(crate) fn contended(&self) {
        if !cfg!(CONFIG_LOCK_STAT) {
            return;
        }
        // SAFETY: `map` is initialised (type invariant) and lives as long as `self`.
        unsafe { tsfs_lock_contended(self.map.get()) }
    }

    /// Reports that a waiting acquisition got the lock (for lock_stat).
    pub(crate) fn acquired(&self) {
        if !cfg!(CONFIG_LOCK_STAT) {
            return;
        }
        // SAFETY: `map` is initialised (type invariant) and lives as long as `self`.
        unsafe { tsfs_lock_acquired(self.map.get()) }
    }
}
