// SPDX-License-Identifier: GPL-2.0

//! `TwoStateLock` and its guards.
//!
//! The word (see `state.rs`) carries both holder counts and the waiting and gate
//! bits. Uncontended acquire is one compare-and-swap, release one fetch-sub. Waiters
//! sleep on a per-state wait queue; the last holder of a state hands the lock to
//! every queued waiter of the other state at once (a phase), adding their holds to
//! the word for them, so they never re-race with new arrivals.
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
//! reported as a recursive read, which lockdep accepts under a held read.

use super::{
    state::{self, GateMode, State},
    stats::Stats,
};
use crate::kapi::{
    lockdep,
    time::{jiffies_from_ms, now_ns},
    wait::{Sleep, WaitGuard, Waitable, Woke},
};
use core::{
    marker::PhantomData,
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::{prelude::*, str::CStr};

/// Waiter bookkeeping, protected by the wait lock.
struct Waiters {
    /// Number of tasks queued per state.
    queued: [u64; 2],
    /// Bumped each time a state's waiters are granted; a waiter is granted when the
    /// generation it queued under has passed.
    generation: [u64; 2],
}

/// A sleeping lock with two shared, mutually exclusive states.
///
/// # Invariants
///
/// - `word` never has holders of both states (`state.rs` transitions only).
/// - Every queued waiter of state `s` is counted in `waiters.queued[s]`, and
///   `state::has_waiters(word, s)` holds exactly while that count is non-zero.
#[pin_data]
pub(crate) struct TwoStateLock {
    word: AtomicU64,
    mode: GateMode,
    /// With [`GateMode::Deadline`]: how long a waiter waits before closing its gate.
    deadline_ms: u32,
    #[pin]
    waiters: Waitable<Waiters>,
    #[pin]
    dep_map: lockdep::Map,
    stats: Stats,
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
        )
    };
}

impl TwoStateLock {
    /// A new unlocked lock. Use [`new_two_state_lock!`], which supplies a lockdep
    /// class per call site.
    pub(crate) fn new(
        mode: GateMode,
        deadline_ms: u32,
        name: &'static CStr,
        key: &'static lockdep::ClassKey,
    ) -> impl PinInit<Self> {
        pin_init!(Self {
            word: AtomicU64::new(state::UNLOCKED),
            mode,
            deadline_ms,
            waiters <- Waitable::new(Waiters { queued: [0; 2], generation: [0; 2] }),
            dep_map <- lockdep::Map::new(name, key),
            stats: Stats::new(),
        })
    }

    /// Takes the lock in state `s`, sleeping (uninterruptibly) as long as needed.
    #[inline]
    pub(crate) fn lock(&self, s: State) -> Guard<'_> {
        self.dep_map.acquire(lockdep::Acquire::Shared);
        if !self.fast_acquire(s) {
            // Uninterruptible waits are never killed.
            let _ = self.slow_acquire(s, Sleep::Uninterruptible);
        }
        self.guard(s)
    }

    /// Takes the lock in state `s` if that needs no waiting.
    #[inline]
    pub(crate) fn try_lock(&self, s: State) -> Option<Guard<'_>> {
        if !self.fast_acquire(s) {
            return None;
        }
        self.dep_map.acquire(lockdep::Acquire::TryShared);
        Some(self.guard(s))
    }

    /// Takes the lock in state `s`; gives up with `EINTR` if a fatal signal arrives
    /// while waiting, leaving no trace in the lock.
    pub(crate) fn lock_killable(&self, s: State) -> Result<Guard<'_>> {
        self.dep_map.acquire(lockdep::Acquire::Shared);
        if !self.fast_acquire(s) && self.slow_acquire(s, Sleep::Killable).is_err() {
            self.dep_map.release();
            return Err(EINTR);
        }
        Ok(self.guard(s))
    }

    /// Per-state statistics.
    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The raw state word, for tests and debugfs.
    pub(crate) fn word(&self) -> u64 {
        self.word.load(Ordering::Relaxed)
    }

    fn guard(&self, s: State) -> Guard<'_> {
        Guard {
            lock: self,
            state: s,
            _not_send: PhantomData,
        }
    }

    /// One CAS when uncontended; false when `s` may not be entered now.
    #[inline]
    fn fast_acquire(&self, s: State) -> bool {
        let mut w = self.word.load(Ordering::Relaxed);
        loop {
            let Some(new) = state::try_acquire(w, s) else {
                return false;
            };
            match self
                .word
                .compare_exchange_weak(w, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.stats.count_fast(s);
                    return true;
                }
                Err(cur) => w = cur,
            }
        }
    }

    /// Applies `f` to the word until the CAS succeeds or `f` says no (`None`).
    fn update(&self, f: impl Fn(u64) -> Option<u64>) -> Option<u64> {
        self.word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, f)
            .ok()
    }

    /// Queues for `s` and sleeps until granted. Err only if killed (`how` Killable).
    fn slow_acquire(&self, s: State, how: Sleep) -> Result {
        self.dep_map.contended();
        let start = now_ns();
        let mut ws = self.waiters.lock();
        // Enter right away if the door opened meanwhile; otherwise mark us waiting.
        let close_now = self.mode == GateMode::On;
        loop {
            let w = self.word.load(Ordering::Acquire);
            if let Some(new) = state::try_acquire(w, s) {
                if self
                    .word
                    .compare_exchange(w, new, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    drop(ws);
                    self.finish_wait(s, start);
                    return Ok(());
                }
                continue;
            }
            if let Some(new) = state::mark_waiting(w, s, close_now) {
                if self
                    .word
                    .compare_exchange(w, new, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    if close_now && !state::gate_closed(w, s) {
                        self.stats.count_gate_closed(s);
                    }
                    break;
                }
            }
        }
        let i = s.index();
        ws.queued[i] += 1;
        let generation = ws.generation[i];
        let mut timeout = match self.mode {
            GateMode::Deadline => Some(jiffies_from_ms(self.deadline_ms)),
            _ => None,
        };
        loop {
            let woke = ws.sleep(i, how, timeout);
            if ws.generation[i] != generation {
                // Granted: our hold is already in the word.
                drop(ws);
                self.finish_wait(s, start);
                return Ok(());
            }
            match woke {
                Woke::Killed => {
                    self.leave_queue(&mut ws, s);
                    return Err(EINTR);
                }
                Woke::TimedOut if timeout.is_some() => {
                    let old = self
                        .word
                        .fetch_or(state::close_gate(0, s), Ordering::AcqRel);
                    if !state::gate_closed(old, s) {
                        self.stats.count_gate_closed(s);
                    }
                    timeout = None;
                }
                _ => {}
            }
        }
    }

    fn finish_wait(&self, s: State, start: u64) {
        self.stats.count_slow(s, now_ns().saturating_sub(start));
        self.dep_map.acquired();
    }

    /// A killed waiter of `s` leaves. If it was the last, its waiting and gate bits
    /// go, and the other state's waiters, which its gate may have held back, are
    /// granted if they can be.
    fn leave_queue(&self, ws: &mut WaitGuard<'_, Waiters>, s: State) {
        let i = s.index();
        ws.queued[i] = ws.queued[i].saturating_sub(1);
        if ws.queued[i] == 0 {
            self.update(|w| Some(state::clear_waiting(w, s)));
            self.grant_locked(ws, s.other());
        }
    }

    /// Hands state `u` to all its queued waiters, if the other state is free.
    fn grant_locked(&self, ws: &mut WaitGuard<'_, Waiters>, u: State) {
        let i = u.index();
        let n = ws.queued[i];
        if n == 0 || self.update(|w| state::grant(w, u, n)).is_none() {
            return;
        }
        ws.queued[i] = 0;
        ws.generation[i] = ws.generation[i].wrapping_add(1);
        self.stats.count_phase(u);
        ws.wake_all(i);
    }

    #[inline]
    fn unlock(&self, s: State) {
        let old = self.word.fetch_sub(state::one(s), Ordering::Release);
        if state::release_must_grant(old, s) {
            let mut ws = self.waiters.lock();
            self.grant_locked(&mut ws, s.other());
        }
        self.dep_map.release();
    }

    /// Takes `s` again for a task that holds it.
    fn acquire_nested(&self, s: State) {
        // The caller holds `s`, so `acquire_nested` can only fail on overflow, which
        // needs 2^28 holds: a bug worth a warning, not a crash.
        if self.update(|w| state::acquire_nested(w, s)).is_none() {
            pr_warn!("TwoStateLock: nested acquire overflow\n");
        }
        self.stats.count_fast(s);
        self.dep_map.acquire(lockdep::Acquire::SharedRecursive);
    }
}

/// Holds a [`TwoStateLock`] in one state; releases it on drop. Not `Send`: lockdep
/// and the lock's owner tracking assume the acquiring task releases.
pub(crate) struct Guard<'a> {
    lock: &'a TwoStateLock,
    state: State,
    _not_send: PhantomData<*mut ()>,
}

impl Guard<'_> {
    /// Takes the same state again, without waiting on the gate (which would wait for
    /// this very holder). The only legal recursion; lockdep reports any other.
    pub(crate) fn nested(&self) -> Self {
        self.lock.acquire_nested(self.state);
        self.lock.guard(self.state)
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.lock.unlock(self.state);
    }
}
