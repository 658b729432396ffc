// SPDX-License-Identifier: GPL-2.0

//! The kernel's `mutex`, with the try-lock that 6.12's `kernel::sync::Mutex`
//! lacks: for locks that an `IOMAP_NOWAIT` path must not sleep on.

use super::lockdep::ClassKey;
use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    ops::{Deref, DerefMut},
};
use kernel::{bindings, prelude::*, str::CStr, types::Opaque};

/// A mutex protecting a `T`.
///
/// # Invariants
///
/// `raw` is initialised by `__mutex_init`; `value` is accessed only through a
/// [`MutexGuard`], which exists only while `raw` is held.
#[pin_data]
pub(crate) struct Mutex<T> {
    #[pin]
    raw: Opaque<bindings::mutex>,
    value: UnsafeCell<T>,
}

// SAFETY: the mutex hands `T` to one thread at a time; `T: Send` may move between
// threads.
unsafe impl<T: Send> Send for Mutex<T> {}
// SAFETY: as above: `&Mutex<T>` only gives access to `T` under the lock.
unsafe impl<T: Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`, of lockdep class `key`, named `name`.
    pub(crate) fn new(value: T, name: &'static CStr, key: &'static ClassKey) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `name` and `key` are static.
            raw <- Opaque::ffi_init(|slot| unsafe {
                bindings::__mutex_init(slot, name.as_char_ptr(), key.as_ptr())
            }),
            value: UnsafeCell::new(value),
        })
    }

    /// Locks, sleeping as long as needed.
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        // SAFETY: `raw` is initialised (type invariant).
        unsafe { bindings::mutex_lock(self.raw.get()) };
        // INVARIANT: the mutex is held.
        MutexGuard {
            mutex: self,
            _not_send: PhantomData,
        }
    }

    /// Locks if that needs no waiting.
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        // SAFETY: `raw` is initialised (type invariant).
        if unsafe { bindings::mutex_trylock(self.raw.get()) } == 0 {
            return None;
        }
        // INVARIANT: the mutex is held.
        Some(MutexGuard {
            mutex: self,
            _not_send: PhantomData,
        })
    }
}

/// Holds a [`Mutex`]; unlocks on drop. Not `Send`: a mutex is released by the
/// task that took it.
///
/// # Invariants
///
/// `mutex` is held by this task, for this guard.
pub(crate) struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
    _not_send: PhantomData<*mut ()>,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the mutex is held (type invariant), so nobody else accesses `value`.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and the guard is borrowed mutably.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: held by this task (type invariant); released once, here.
        unsafe { bindings::mutex_unlock(self.mutex.raw.get()) };
    }
}
