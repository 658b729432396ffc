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
    fn tsfs_caller_ip() -> usize;
    fn tsfs_lock_acquire(
        map: *mut bindings::lockdep_map,
        subclass: kernel::ffi::c_uint,
        trylock: kernel::ffi::c_int,
        read: kernel::ffi::c_int,
        ip: usize,
    );
    fn tsfs_lock_release(map: *mut bindings::lockdep_map, ip: usize);
    fn tsfs_lock_contended(map: *mut bindings::lockdep_map, ip: usize);
    fn tsfs_lock_acquired(map: *mut bindings::lockdep_map, ip: usize);
}

/// The code address that lockdep and lock_stat name for an acquisition or release
/// ("at:"): the return address of this call, so call it from a function inlined
/// into the lock's caller (`#[inline(always)]` all the way). 0 without lockdep.
#[inline(always)]
pub(crate) fn caller_ip() -> usize {
    if !cfg!(CONFIG_LOCKDEP) {
        return 0;
    }
    // SAFETY: reads the return address; no preconditions.
    unsafe { tsfs_caller_ip() }
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
        static KEY: $crate::kapi::sync::lockdep::ClassKey =
            $crate::kapi::sync::lockdep::ClassKey::new_static();
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

    /// Reports an acquisition of lockdep subclass `subclass` (below
    /// `MAX_LOCKDEP_SUBCLASSES`, 8) at `ip` (see [`caller_ip`]); for blocking kinds,
    /// call it before blocking so that lockdep can report a deadlock instead of
    /// hanging in it.
    #[inline(always)]
    pub(crate) fn acquire(&self, kind: Acquire, subclass: u32, ip: usize) {
        if !cfg!(CONFIG_LOCKDEP) {
            return;
        }
        let (trylock, read) = match kind {
            Acquire::Shared => (0, 1),
            Acquire::TryShared => (1, 1),
            Acquire::SharedRecursive => (0, 2),
        };
        // SAFETY: `map` is initialised (type invariant) and lives as long as `self`;
        // lockdep refuses (with a warning) a subclass out of range.
        unsafe { tsfs_lock_acquire(self.map.get(), subclass, trylock, read, ip) }
    }

    /// Reports a release at `ip`.
    #[inline(always)]
    pub(crate) fn release(&self, ip: usize) {
        if !cfg!(CONFIG_LOCKDEP) {
            return;
        }
        // SAFETY: `map` is initialised (type invariant) and lives as long as `self`.
        unsafe { tsfs_lock_release(self.map.get(), ip) }
    }

    /// Reports that an acquisition at `ip` has to wait (for lock_stat).
    #[inline(always)]
    pub(crate) fn contended(&self, ip: usize) {
        if !cfg!(CONFIG_LOCK_STAT) {
            return;
        }
        // SAFETY: `map` is initialised (type invariant) and lives as long as `self`.
        unsafe { tsfs_lock_contended(self.map.get(), ip) }
    }

    /// Reports that an acquisition at `ip` got the lock, waiting or not (for
    /// lock_stat, as `LOCK_CONTENDED` does).
    #[inline(always)]
    pub(crate) fn acquired(&self, ip: usize) {
        if !cfg!(CONFIG_LOCK_STAT) {
            return;
        }
        // SAFETY: `map` is initialised (type invariant) and lives as long as `self`.
        unsafe { tsfs_lock_acquired(self.map.get(), ip) }
    }
}
