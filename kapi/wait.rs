// SPDX-License-Identifier: GPL-2.0

//! A spinlock-protected value with wait queues, for building sleeping locks.
//!
//! 6.12's `CondVar` has no killable wait and no uninterruptible timed wait, and its
//! guard cannot be dropped across a raw wait, so tsfs has this small equivalent.

use core::{cell::UnsafeCell, marker::PhantomData};
use kernel::{bindings, c_str, prelude::*, types::Opaque};

extern "C" {
    fn tsfs_fatal_signal_pending() -> bool;
}

static SPIN_KEY: super::lockdep::ClassKey = super::lockdep::ClassKey::new_static();
static QUEUE_KEY: super::lockdep::ClassKey = super::lockdep::ClassKey::new_static();

/// Number of wait queues in a [`Waitable`].
pub(crate) const QUEUES: usize = 2;

/// How a sleeper may be woken besides a wake-up call.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sleep {
    /// Only by a wake-up (or the timeout).
    Uninterruptible,
    /// Also by a fatal signal.
    Killable,
}

/// Why [`WaitGuard::sleep`] returned. Wake-ups may be spurious: re-check the condition.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Woke {
    /// Woken, or spuriously.
    Normal,
    /// The timeout passed.
    TimedOut,
    /// A fatal signal is pending (only with [`Sleep::Killable`]).
    Killed,
}

/// A value of type `T` protected by a spinlock, plus [`QUEUES`] wait queues.
///
/// # Invariants
///
/// `lock` and every element of `queues` are initialised; `data` is only accessed
/// while `lock` is held.
#[pin_data]
pub(crate) struct Waitable<T> {
    #[pin]
    lock: Opaque<bindings::spinlock_t>,
    #[pin]
    queues: [Opaque<bindings::wait_queue_head>; QUEUES],
    data: UnsafeCell<T>,
}

// SAFETY: `data` is only reached under `lock`, so sharing the object shares `T` only
// as a mutex would.
unsafe impl<T: Send> Sync for Waitable<T> {}
// SAFETY: moving ownership across threads moves the `T` with it.
unsafe impl<T: Send> Send for Waitable<T> {}

impl<T> Waitable<T> {
    /// A new object holding `data`.
    pub(crate) fn new(data: T) -> impl PinInit<Self> {
        let init_queue = || {
            // SAFETY: `slot` is valid for writes; the name and key are static.
            Opaque::ffi_init(|slot| unsafe {
                bindings::__init_waitqueue_head(
                    slot,
                    c_str!("tsfs_wait").as_char_ptr(),
                    QUEUE_KEY.as_ptr(),
                )
            })
        };
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; the name and key are static.
            lock <- Opaque::ffi_init(|slot| unsafe {
                bindings::__spin_lock_init(slot, c_str!("tsfs_wait_lock").as_char_ptr(), SPIN_KEY.as_ptr())
            }),
            queues <- kernel::init::pin_init_array_from_fn(|_| init_queue()),
            data: UnsafeCell::new(data),
        })
    }

    /// Takes the spinlock.
    pub(crate) fn lock(&self) -> WaitGuard<'_, T> {
        // SAFETY: `lock` is initialised (type invariant).
        unsafe { bindings::spin_lock(self.lock.get()) };
        // INVARIANT: the spinlock is now held by this guard.
        WaitGuard {
            owner: self,
            _not_send: PhantomData,
        }
    }
}

/// Holds the spinlock of a [`Waitable`]; releases it on drop.
///
/// # Invariants
///
/// The spinlock of `owner` is held by this guard.
pub(crate) struct WaitGuard<'a, T> {
    owner: &'a Waitable<T>,
    _not_send: PhantomData<*mut ()>,
}

impl<T> core::ops::Deref for WaitGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the spinlock is held (type invariant), so nothing else accesses `data`.
        unsafe { &*self.owner.data.get() }
    }
}

impl<T> core::ops::DerefMut for WaitGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the spinlock is held (type invariant), so nothing else accesses `data`.
        unsafe { &mut *self.owner.data.get() }
    }
}

impl<T> Drop for WaitGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the spinlock is held by this guard (type invariant).
        unsafe { bindings::spin_unlock(self.owner.lock.get()) };
    }
}

impl<T> WaitGuard<'_, T> {
    /// Sleeps on `queue`, dropping the spinlock while asleep, for at most `timeout`
    /// jiffies (`None`: no limit).
    pub(crate) fn sleep(&mut self, queue: usize, how: Sleep, timeout: Option<usize>) -> Woke {
        let Some(wq) = self.owner.queues.get(queue) else {
            return Woke::Normal;
        };
        let state = match how {
            Sleep::Uninterruptible => bindings::TASK_UNINTERRUPTIBLE,
            Sleep::Killable => bindings::TASK_KILLABLE,
        };
        let mut entry = Opaque::<bindings::wait_queue_entry>::uninit();
        // SAFETY: `entry` is valid for writes; flags 0 makes a non-exclusive entry that
        // removes itself when woken.
        unsafe { bindings::init_wait_entry(entry.get(), 0) };
        // SAFETY: `wq` is initialised (type invariant) and `entry` was just initialised
        // and stays in place until `finish_wait` below.
        let pending = unsafe { bindings::prepare_to_wait_event(wq.get(), entry.get(), state as _) };
        let mut left = 1;
        if pending == 0 {
            // SAFETY: the spinlock is held (type invariant); it is retaken below before
            // the guard is used again.
            unsafe { bindings::spin_unlock(self.owner.lock.get()) };
            let t = timeout.map_or(kernel::ffi::c_long::MAX, |t| {
                t.min(kernel::ffi::c_long::MAX as usize) as _
            });
            // SAFETY: sleeping is allowed: no spinlock is held here.
            left = unsafe { bindings::schedule_timeout(t) };
            // SAFETY: `lock` is initialised (type invariant).
            unsafe { bindings::spin_lock(self.owner.lock.get()) };
        }
        // SAFETY: `entry` was queued on `wq` by `prepare_to_wait_event` (or not queued,
        // which `finish_wait` also handles).
        unsafe { bindings::finish_wait(wq.get(), entry.get()) };
        let _ = &mut entry;
        // SAFETY: plain read of the current task's signal state.
        if how == Sleep::Killable && unsafe { tsfs_fatal_signal_pending() } {
            Woke::Killed
        } else if left == 0 {
            Woke::TimedOut
        } else {
            Woke::Normal
        }
    }

    /// Wakes every sleeper on `queue`.
    pub(crate) fn wake_all(&self, queue: usize) {
        if let Some(wq) = self.owner.queues.get(queue) {
            // SAFETY: `wq` is initialised (type invariant); mode TASK_NORMAL with 0
            // exclusive wakes everyone.
            unsafe {
                bindings::__wake_up(wq.get(), bindings::TASK_NORMAL, 0, core::ptr::null_mut())
            };
        }
    }
}
