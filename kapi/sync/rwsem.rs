// SPDX-License-Identifier: GPL-2.0

//! The kernel's `rw_semaphore`, as the baseline the lock benchmarks compare with.

use super::lockdep::ClassKey;
use core::marker::PhantomData;
use kernel::{bindings, prelude::*, str::CStr, types::Opaque};

/// A kernel read-write semaphore.
///
/// # Invariants
///
/// `sem` is initialised by `__init_rwsem`.
#[pin_data]
pub(crate) struct RwSem {
    #[pin]
    sem: Opaque<bindings::rw_semaphore>,
}

// SAFETY: an rwsem is designed to be shared between threads.
unsafe impl Send for RwSem {}
// SAFETY: as above; all methods take `&self` and synchronise inside the rwsem.
unsafe impl Sync for RwSem {}

impl RwSem {
    /// A new rwsem of lockdep class `key`, named `name`.
    pub(crate) fn new(name: &'static CStr, key: &'static ClassKey) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `name` and `key` are static.
            sem <- Opaque::ffi_init(|slot| unsafe { bindings::__init_rwsem(slot, name.as_char_ptr(), key.as_ptr()) }),
        })
    }

    /// `down_read`.
    #[inline]
    pub(crate) fn read(&self) -> RwSemGuard<'_> {
        // SAFETY: `sem` is initialised (type invariant).
        unsafe { bindings::down_read(self.sem.get()) };
        RwSemGuard {
            sem: self,
            write: false,
            _not_send: PhantomData,
        }
    }

    /// `down_write`.
    pub(crate) fn write(&self) -> RwSemGuard<'_> {
        // SAFETY: `sem` is initialised (type invariant).
        unsafe { bindings::down_write(self.sem.get()) };
        RwSemGuard {
            sem: self,
            write: true,
            _not_send: PhantomData,
        }
    }
}

/// Holds an [`RwSem`] for reading or writing; released on drop.
pub(crate) struct RwSemGuard<'a> {
    sem: &'a RwSem,
    write: bool,
    _not_send: PhantomData<*mut ()>,
}

impl Drop for RwSemGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        let sem = self.sem.sem.get();
        // SAFETY: this guard holds `sem` in the mode recorded in `write`.
        unsafe {
            if self.write {
                bindings::up_write(sem)
            } else {
                bindings::up_read(sem)
            }
        }
    }
}
