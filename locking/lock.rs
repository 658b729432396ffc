// SPDX-License-Identifier: GPL-2.0

//! `TwoStateLock` and its guards: the kernel's instantiation of the protocol
//! (`protocol.rs`) over its atomics, a spinlock and two wait queues, plus lockdep
//! and statistics.
//!
//! Uncontended acquire is one compare-and-swap, release one fetch-sub; neither
//! writes anything else shared (statistics of uncontended acquisitions are kept
//! only with `CONFIG_LOCK_STAT`).
//!
//! # Lockdep model
//!
//! Each lock has one `lockdep_map`, and both states are acquired as non-recursive
//! shared (read) acquisitions, as `down_read` on a fair rwsem. With the gate, a
//! queued waiter of one state blocks new arrivals of the other, so:
//! - any cycle through this lock and another lock is a real deadlock, and lockdep
//!   reports it ("possible circular locking dependency"), whichever states are used;
//! - any re-acquisition by a holder (*add* under *block*, as a DIO faulting its own
//!   mapping would do, or *add* under *add*) can deadlock behind a waiter, and lockdep
//!   reports it ("possible recursive locking").
//!
//! The one legal re-acquisition is [`Guard::nested`], which skips the gate and is
//! reported as a recursive read, which lockdep accepts under a held read. Two locks
//! of one class (two inodes) are taken with [`lock_two`], in address order, the
//! second as subclass 1.
//!
//! Every acquisition and release is reported at the lock's caller (`caller_ip`),
//! `lock_acquired` on every acquisition (as `LOCK_CONTENDED` does), and the release
//! before the word changes.

use super::{
    protocol::{self, Env, Fault, Sleep, Waiters, Woke},
    state::{GateMode, State},
    stats::Stats,
};
use crate::kapi::{
    bug,
    sync::{
        lockdep::{self, caller_ip},
        wait::{self, WaitQueue},
    },
    time::{jiffies_from_ms, might_sleep, now_ns},
};
use core::{
    marker::PhantomData,
    ptr::from_ref,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
};
use kernel::{
    c_str,
    prelude::*,
    str::CStr,
    sync::{
        lock::{spinlock::SpinLockBackend, Guard as SpinGuard},
        SpinLock,
    },
};

/// A sleeping lock with two shared, mutually exclusive states.
///
/// # Invariants
///
/// `word` changes only as `protocol.rs` changes it, and `waiters` is consistent
/// with it (see `protocol::Waiters`).
#[pin_data]
pub(crate) struct TwoStateLock {
    word: AtomicU64,
    /// Grants per state; a waiter knows it is granted when this moves.
    generation: [AtomicU64; 2],
    mode: GateMode,
    /// With [`GateMode::Deadline`]: how long a waiter waits before closing its gate.
    deadline_ns: u64,
    #[pin]
    waiters: SpinLock<Waiters>,
    #[pin]
    queues: [WaitQueue; 2],
    #[pin]
    dep_map: lockdep::Map,
    stats: &'static Stats,
}

/// Creates a [`TwoStateLock`] initialiser with its own lockdep class, named after the
/// call site (or the given name): `new_two_state_lock!(GateMode::On, 0)`.
#[macro_export]
macro_rules! new_two_state_lock {
    ($mode:expr, $deadline_ms:expr $(, $name:literal)?) => {
        $crate::locking::TwoStateLock::new(
            $mode,
            $deadline_ms,
            kernel::optional_name!($($name)?),
            $crate::tsfs_static_class_key!(),
            $crate::tsfs_static_lock_stats!(),
        )
    };
}

impl TwoStateLock {
    /// A new unlocked lock. Use [`new_two_state_lock!`], which supplies a lockdep
    /// class and statistics per call site.
    pub(crate) fn new(
        mode: GateMode,
        deadline_ms: u32,
        name: &'static CStr,
        key: &'static lockdep::ClassKey,
        stats: &'static Stats,
    ) -> impl PinInit<Self> {
        stats.register(name);
        pin_init!(Self {
            word: AtomicU64::new(super::state::UNLOCKED),
            generation: [AtomicU64::new(0), AtomicU64::new(0)],
            mode,
            deadline_ns: u64::from(deadline_ms) * 1_000_000,
            waiters <- kernel::new_spinlock!(Waiters::new(), "tsfs_lock_waiters"),
            queues <- kernel::init::pin_init_array_from_fn(|_| WaitQueue::new()),
            dep_map <- lockdep::Map::new(name, key),
            stats,
        })
    }

    /// Takes the lock in state `s`, sleeping (uninterruptibly) as long as needed.
    #[inline(always)]
    pub(crate) fn lock(&self, s: State) -> Guard<'_> {
        self.lock_nested(s, 0)
    }

    /// [`TwoStateLock::lock`] as lockdep subclass `subclass` (below 8), for a second
    /// lock of the same class held at once; see [`lock_two`].
    #[inline(always)]
    pub(crate) fn lock_nested(&self, s: State, subclass: u32) -> Guard<'_> {
        might_sleep();
        let ip = caller_ip();
        self.dep_map.acquire(lockdep::Acquire::Shared, subclass, ip);
        if !protocol::try_acquire(self, s) {
            // Uninterruptible waits are never killed.
            let _ = self.lock_slow(s, Sleep::Uninterruptible, ip);
        }
        self.acquired(s, ip);
        self.guard(s, subclass)
    }

    /// Takes the lock in state `s` if that needs no waiting.
    #[inline(always)]
    pub(crate) fn try_lock(&self, s: State) -> Option<Guard<'_>> {
        if !protocol::try_acquire(self, s) {
            return None;
        }
        let ip = caller_ip();
        self.dep_map.acquire(lockdep::Acquire::TryShared, 0, ip);
        self.acquired(s, ip);
        Some(self.guard(s, 0))
    }

    /// Takes the lock in state `s`; gives up with `EINTR` if a fatal signal arrives
    /// while waiting, leaving no trace in the lock.
    #[inline(always)]
    pub(crate) fn lock_killable(&self, s: State) -> Result<Guard<'_>> {
        might_sleep();
        let ip = caller_ip();
        self.dep_map.acquire(lockdep::Acquire::Shared, 0, ip);
        if !protocol::try_acquire(self, s) && self.lock_slow(s, Sleep::Killable, ip).is_err() {
            self.dep_map.release(ip);
            return Err(EINTR);
        }
        self.acquired(s, ip);
        Ok(self.guard(s, 0))
    }

    #[inline(never)]
    fn lock_slow(&self, s: State, how: Sleep, ip: usize) -> Result<(), protocol::Killed> {
        self.dep_map.contended(ip);
        protocol::slow_acquire(self, s, how)
    }

    #[inline(always)]
    fn acquired(&self, s: State, ip: usize) {
        self.dep_map.acquired(ip);
        if cfg!(CONFIG_LOCK_STAT) {
            self.stats.count_acquired(s);
        }
    }

    /// Per-state statistics of this lock's class.
    pub(crate) fn stats(&self) -> &'static Stats {
        self.stats
    }

    /// The raw state word, for tests and debugfs.
    pub(crate) fn word(&self) -> u64 {
        self.word.load(Ordering::Relaxed)
    }

    fn guard(&self, s: State, subclass: u32) -> Guard<'_> {
        Guard {
            lock: self,
            state: s,
            subclass,
            _not_send: PhantomData,
        }
    }

    fn queue(&self, s: State) -> &WaitQueue {
        match s {
            State::Add => &self.queues[0],
            State::Block => &self.queues[1],
        }
    }
}

/// Takes two locks of one class in state `s` (such as two inodes' page-cache
/// locks), the lower address first, the second as lockdep subclass 1, so that any
/// two tasks order them alike. The same lock twice is taken once (`None` second).
pub(crate) fn lock_two<'a>(
    a: &'a TwoStateLock,
    b: &'a TwoStateLock,
    s: State,
) -> (Guard<'a>, Option<Guard<'a>>) {
    if core::ptr::eq(a, b) {
        return (a.lock(s), None);
    }
    let (first, second) = if from_ref(a) < from_ref(b) {
        (a, b)
    } else {
        (b, a)
    };
    let g = first.lock(s);
    (g, Some(second.lock_nested(s, 1)))
}

/// One flag per [`Fault`]: each is warned about once.
static WARNED: [AtomicBool; 4] = [const { AtomicBool::new(false) }; 4];

impl Env for TwoStateLock {
    type Atomic = AtomicU64;
    type WaitGuard<'a> = SpinGuard<'a, Waiters, SpinLockBackend>;

    #[inline(always)]
    fn word(&self) -> &AtomicU64 {
        &self.word
    }

    fn generation(&self, s: State) -> &AtomicU64 {
        match s {
            State::Add => &self.generation[0],
            State::Block => &self.generation[1],
        }
    }

    fn mode(&self) -> GateMode {
        self.mode
    }

    fn deadline_ns(&self) -> u64 {
        self.deadline_ns
    }

    fn now_ns(&self) -> u64 {
        now_ns()
    }

    fn lock_waiters(&self) -> Self::WaitGuard<'_> {
        self.waiters.lock()
    }

    fn wait_event(
        &self,
        s: State,
        how: Sleep,
        until_ns: Option<u64>,
        done: impl FnMut() -> bool,
    ) -> Woke {
        let how = match how {
            Sleep::Uninterruptible => wait::Sleep::Uninterruptible,
            Sleep::Killable => wait::Sleep::Killable,
        };
        // Rounded up to whole milliseconds, and at least one jiffy.
        let timeout = until_ns.map(|t| {
            let ms = t.saturating_sub(now_ns()).div_ceil(1_000_000);
            jiffies_from_ms(u32::try_from(ms).unwrap_or(u32::MAX))
        });
        match self.queue(s).wait_event(how, timeout, done) {
            wait::Woke::Done => Woke::Done,
            wait::Woke::TimedOut => Woke::TimedOut,
            wait::Woke::Killed => Woke::Killed,
        }
    }

    fn wake_all(&self, s: State) {
        self.queue(s).wake_all();
    }

    fn fault(&self, f: Fault) {
        let (i, msg) = match f {
            Fault::NestedOverflow => (
                0,
                c_str!("TwoStateLock: nested acquire past the holder limit refused"),
            ),
            Fault::ReleaseUnderflow => (
                1,
                c_str!("TwoStateLock: release of a state not held refused"),
            ),
            Fault::Inconsistent => (
                2,
                c_str!("TwoStateLock: inconsistent state word on release"),
            ),
            Fault::QueueUnderflow => (3, c_str!("TwoStateLock: waiter left an empty queue")),
        };
        if let Some(once) = WARNED.get(i) {
            bug::warn_once(once, msg);
        }
    }

    fn on_acquired_after_wait(&self, s: State, waited_ns: u64) {
        self.stats.count_slow(s, waited_ns);
    }

    fn on_gate_closed(&self, s: State) {
        self.stats.count_gate_closed(s);
    }

    fn on_phase(&self, s: State, _n: u64) {
        self.stats.count_phase(s);
    }
}

/// Holds a [`TwoStateLock`] in one state; releases it on drop. Not `Send`: lockdep
/// and the lock's owner tracking assume the acquiring task releases.
#[must_use = "the lock is released when the guard is dropped"]
pub(crate) struct Guard<'a> {
    lock: &'a TwoStateLock,
    state: State,
    subclass: u32,
    _not_send: PhantomData<*mut ()>,
}

impl Guard<'_> {
    /// Takes the same state again, without waiting on the gate (which would wait for
    /// this very holder): the only legal recursion; lockdep reports any other. The
    /// nested hold borrows this one, so it cannot outlive it. `None` (with a warning)
    /// if the holder count is at its limit.
    #[inline(always)]
    pub(crate) fn nested(&self) -> Option<Guard<'_>> {
        if !protocol::acquire_nested(self.lock, self.state) {
            return None;
        }
        let ip = caller_ip();
        let dep_map = &self.lock.dep_map;
        dep_map.acquire(lockdep::Acquire::SharedRecursive, self.subclass, ip);
        self.lock.acquired(self.state, ip);
        Some(self.lock.guard(self.state, self.subclass))
    }

    /// The state held.
    #[allow(dead_code)]
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// The lock held.
    pub(super) fn lock(&self) -> &TwoStateLock {
        self.lock
    }

    /// Reports the release to lockdep but keeps the word held: the first half of a
    /// hand-over (`handoff.rs`), whose `Handoff` releases the word.
    #[inline(always)]
    pub(super) fn forget_for_handoff(self) {
        self.lock.dep_map.release(caller_ip());
        core::mem::forget(self);
    }
}

impl Drop for Guard<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.lock.dep_map.release(caller_ip());
        protocol::release(self.lock, self.state);
    }
}
