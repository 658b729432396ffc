// SPDX-License-Identifier: GPL-2.0

//! A wait queue (`wait_queue_head`) with the kernel's `wait_event` loop: killable
//! or not, with a timeout or not.
//!
//! 6.12's `CondVar` has no killable wait and no uninterruptible timed wait, and
//! waits only under a lock; a sleeper here checks a lock-free condition instead, so
//! a waker need not take any lock of the sleeper's to wake it.

use kernel::{bindings, c_str, prelude::*, types::Opaque};

static QUEUE_KEY: super::lockdep::ClassKey = super::lockdep::ClassKey::new_static();

/// How a sleeper may be woken besides a wake-up call.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sleep {
    /// Only by a wake-up (or the timeout).
    Uninterruptible,
    /// Also by a fatal signal.
    Killable,
}

/// Why [`WaitQueue::wait_event`] returned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Woke {
    /// The condition holds.
    Done,
    /// The timeout passed first.
    TimedOut,
    /// A fatal signal is pending (only with [`Sleep::Killable`]).
    Killed,
}

/// A kernel wait queue.
///
/// # Invariants
///
/// `head` is initialised by `__init_waitqueue_head`.
#[pin_data]
pub(crate) struct WaitQueue {
    #[pin]
    head: Opaque<bindings::wait_queue_head>,
}

// SAFETY: wait queues are shared between tasks by design; the head's own spinlock
// serialises every access.
unsafe impl Send for WaitQueue {}
// SAFETY: as above; all methods take `&self`.
unsafe impl Sync for WaitQueue {}

impl WaitQueue {
    /// An empty wait queue.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; the name and key are static.
            head <- Opaque::ffi_init(|slot| unsafe {
                bindings::__init_waitqueue_head(
                    slot,
                    c_str!("tsfs_wait").as_char_ptr(),
                    QUEUE_KEY.as_ptr(),
                )
            }),
        })
        // INVARIANT: `head` is initialised above.
    }

    /// Sleeps until `done()`, for at most `timeout` jiffies (`None`: no limit).
    /// `done` is checked after queueing, so a [`WaitQueue::wake_all`] that follows
    /// the change making it true is never lost; it must not sleep.
    pub(crate) fn wait_event(
        &self,
        how: Sleep,
        timeout: Option<usize>,
        mut done: impl FnMut() -> bool,
    ) -> Woke {
        if done() {
            return Woke::Done;
        }
        let state = match how {
            Sleep::Uninterruptible => bindings::TASK_UNINTERRUPTIBLE,
            Sleep::Killable => bindings::TASK_KILLABLE,
        };
        let mut left = timeout.map_or(kernel::ffi::c_long::MAX, |t| {
            t.min(kernel::ffi::c_long::MAX as usize) as _
        });
        let entry = Opaque::<bindings::wait_queue_entry>::uninit();
        // SAFETY: `entry` is valid for writes; flags 0 makes a non-exclusive entry that
        // removes itself when woken.
        unsafe { bindings::init_wait_entry(entry.get(), 0) };
        let woke = loop {
            // SAFETY: `head` is initialised (type invariant); `entry` was initialised
            // above and stays in place (it is not moved) until `finish_wait` below.
            let pending = unsafe {
                bindings::prepare_to_wait_event(self.head.get(), entry.get(), state as _)
            };
            if done() {
                break Woke::Done;
            }
            if pending != 0 {
                break Woke::Killed;
            }
            if left == 0 {
                break Woke::TimedOut;
            }
            // SAFETY: no spinlock is held here, so sleeping is allowed.
            left = unsafe { bindings::schedule_timeout(left) };
        };
        // SAFETY: `entry` was queued on `head` by `prepare_to_wait_event` (or not
        // queued, which `finish_wait` also handles).
        unsafe { bindings::finish_wait(self.head.get(), entry.get()) };
        woke
    }

    /// Wakes every sleeper.
    pub(crate) fn wake_all(&self) {
        // SAFETY: `head` is initialised (type invariant); mode TASK_NORMAL with 0
        // exclusive wakes everyone.
        unsafe {
            bindings::__wake_up(
                self.head.get(),
                bindings::TASK_NORMAL,
                0,
                core::ptr::null_mut(),
            )
        };
    }
}
