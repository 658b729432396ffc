// SPDX-License-Identifier: GPL-2.0

//! The whole `TwoStateLock` protocol: fast path, slow path, release, grant, leaving
//! the queue and the deadline gate.
//!
//! Plain Rust with no kernel dependencies, generic over the world it runs in
//! ([`Env`]: the atomic word, the wait lock, the wait queues, the clock and the
//! statistics hooks). The kernel lock (`lock.rs`) instantiates it over its atomics,
//! spinlock and wait queues; the userspace model (`src/lock_model.rs`) over loom's (or
//! std's), so the loom models check this very code.
//!
//! # Memory ordering
//!
//! - Acquire on every transition that lets a task in (fast path, slow-path retry,
//!   grant); Release on the fetch-sub of a release.
//! - A grant takes the hand-off from *every* holder of the previous phase (their
//!   Release fetch-subs) with its Acquire compare-exchange, and passes it to the
//!   granted waiters by a Release store of the state's generation, which each waiter
//!   reads with Acquire: waiters learn of their grant without the wait lock.
//! - Every other word change is made under the wait lock or by a holder: Relaxed.
//!
//! # Waking
//!
//! A waiter queues under the wait lock, drops it, and sleeps on its state's wait
//! queue until its state's generation moves (`Env::wait_event`, which checks the
//! condition after queueing, so a wake-up that follows the change is never lost). A
//! granter bumps the generation under the wait lock and wakes the queue after
//! dropping it.

use super::state::{self, GateMode, State};
use core::ops::DerefMut;
use core::sync::atomic::Ordering::{self, Acquire, Relaxed, Release};

/// The operations the protocol needs on a 64-bit atomic (the kernel's
/// `core::sync::atomic::AtomicU64`, or loom's).
pub trait Atomic {
    /// Loads the value.
    fn load(&self, order: Ordering) -> u64;
    /// Stores `v`.
    fn store(&self, v: u64, order: Ordering);
    /// Compare-exchange, never failing spuriously.
    fn compare_exchange(&self, cur: u64, new: u64, ok: Ordering, err: Ordering)
        -> Result<u64, u64>;
    /// Compare-exchange that may fail spuriously.
    fn compare_exchange_weak(
        &self,
        cur: u64,
        new: u64,
        ok: Ordering,
        err: Ordering,
    ) -> Result<u64, u64>;
    /// Adds `v` (wrapping); returns the value before.
    fn fetch_add(&self, v: u64, order: Ordering) -> u64;
    /// Subtracts `v` (wrapping); returns the value before.
    fn fetch_sub(&self, v: u64, order: Ordering) -> u64;
    /// Ors `v` in; returns the value before.
    fn fetch_or(&self, v: u64, order: Ordering) -> u64;
}

/// Implements [`Atomic`] for a type with the methods of `AtomicU64`.
#[macro_export]
macro_rules! impl_lock_atomic {
    ($t:ty, $proto:path) => {
        impl $proto for $t {
            #[inline(always)]
            fn load(&self, o: core::sync::atomic::Ordering) -> u64 {
                <$t>::load(self, o)
            }
            #[inline(always)]
            fn store(&self, v: u64, o: core::sync::atomic::Ordering) {
                <$t>::store(self, v, o)
            }
            #[inline(always)]
            fn compare_exchange(
                &self,
                c: u64,
                n: u64,
                ok: core::sync::atomic::Ordering,
                err: core::sync::atomic::Ordering,
            ) -> Result<u64, u64> {
                <$t>::compare_exchange(self, c, n, ok, err)
            }
            #[inline(always)]
            fn compare_exchange_weak(
                &self,
                c: u64,
                n: u64,
                ok: core::sync::atomic::Ordering,
                err: core::sync::atomic::Ordering,
            ) -> Result<u64, u64> {
                <$t>::compare_exchange_weak(self, c, n, ok, err)
            }
            #[inline(always)]
            fn fetch_add(&self, v: u64, o: core::sync::atomic::Ordering) -> u64 {
                <$t>::fetch_add(self, v, o)
            }
            #[inline(always)]
            fn fetch_sub(&self, v: u64, o: core::sync::atomic::Ordering) -> u64 {
                <$t>::fetch_sub(self, v, o)
            }
            #[inline(always)]
            fn fetch_or(&self, v: u64, o: core::sync::atomic::Ordering) -> u64 {
                <$t>::fetch_or(self, v, o)
            }
        }
    };
}

impl_lock_atomic!(core::sync::atomic::AtomicU64, Atomic);

/// What the wait lock protects.
///
/// # Invariants
///
/// `queued[s]` counts the queued, not yet granted, waiters of `s`, and
/// `state::has_waiters(word, s)` holds exactly while it is non-zero.
pub struct Waiters {
    queued: [u64; 2],
    /// Identifies waiters in traces.
    next_ticket: u64,
}

impl Waiters {
    /// No waiters.
    pub const fn new() -> Self {
        Waiters {
            queued: [0; 2],
            next_ticket: 0,
        }
    }

    /// Queued waiters of `s`.
    pub fn queued(&self, s: State) -> u64 {
        self.queued[s.index()]
    }
}

impl Default for Waiters {
    fn default() -> Self {
        Self::new()
    }
}

/// How a waiter sleeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sleep {
    /// Until granted.
    Uninterruptible,
    /// Until granted or a fatal signal arrives.
    Killable,
}

/// Why [`Env::wait_event`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Woke {
    /// The condition holds.
    Done,
    /// The deadline passed first.
    TimedOut,
    /// A fatal signal arrived first (only with [`Sleep::Killable`]).
    Killed,
}

/// A killable wait was killed before the lock was granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Killed;

/// Something that must never happen, refused without harm; the kernel warns once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A nested acquire would overflow the holder count.
    NestedOverflow,
    /// A release of a state that is not held (undone).
    ReleaseUnderflow,
    /// A release left an inconsistent word.
    Inconsistent,
    /// A waiter left a queue that was empty.
    QueueUnderflow,
}

/// A change of the word, for the model's trace ([`Env::record`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A new arrival entered `s` (fast path, or the slow path's retry).
    Acquire(State),
    /// A holder of `s` took it again.
    Nested(State),
    /// A holder of `s` released it.
    Release(State),
    /// A release found `s` not held and undid its subtraction.
    Undo(State),
    /// Waiter `ticket` queued for `s` (setting the waiting bit, and the gate if
    /// `gate`), under generation `generation` of `s`.
    Queue {
        /// The state waited for.
        state: State,
        /// The waiter.
        ticket: u64,
        /// `s`'s generation when it queued.
        generation: u64,
        /// Whether it closed its gate at once.
        gate: bool,
    },
    /// Deadline mode: waiter `ticket` of `s` closed its gate.
    CloseGate {
        /// The state waited for.
        state: State,
        /// The waiter.
        ticket: u64,
    },
    /// `n` queued waiters of `s` were granted; `s`'s generation became `generation`.
    Grant {
        /// The state granted.
        state: State,
        /// Waiters granted.
        n: u64,
        /// The new generation.
        generation: u64,
    },
    /// Waiter `ticket` of `s` was killed before being granted (no word change).
    Killed {
        /// The state waited for.
        state: State,
        /// The waiter.
        ticket: u64,
    },
    /// The last queued waiter of `s` left: its waiting and gate bits were cleared.
    ClearWaiting(State),
}

/// The world the protocol runs in.
pub trait Env {
    /// The atomic type of the word and the generations.
    type Atomic: Atomic;
    /// Holds the wait lock.
    type WaitGuard<'a>: DerefMut<Target = Waiters>
    where
        Self: 'a;

    /// The state word (see `state.rs`).
    fn word(&self) -> &Self::Atomic;
    /// Grants of `s` so far; changed only under the wait lock.
    fn generation(&self, s: State) -> &Self::Atomic;
    /// The gate mode.
    fn mode(&self) -> GateMode;
    /// With [`GateMode::Deadline`]: how long a waiter waits before closing its gate.
    fn deadline_ns(&self) -> u64;
    /// The clock, in nanoseconds.
    fn now_ns(&self) -> u64;
    /// Takes the wait lock.
    fn lock_waiters(&self) -> Self::WaitGuard<'_>;
    /// Sleeps on `s`'s wait queue until `done()` (checked after queueing on it, so
    /// a [`Env::wake_all`] after `done` turns true is never lost), until the clock
    /// passes `until_ns`, or until killed.
    fn wait_event(
        &self,
        s: State,
        how: Sleep,
        until_ns: Option<u64>,
        done: impl FnMut() -> bool,
    ) -> Woke;
    /// Wakes every sleeper on `s`'s wait queue. Called without the wait lock.
    fn wake_all(&self, s: State);
    /// Reports a refused fault.
    fn fault(&self, f: Fault);

    /// An acquisition of `s` has to wait.
    #[inline(always)]
    fn on_contended(&self, _s: State) {}
    /// A waiter of `s` got in after `waited_ns`.
    #[inline(always)]
    fn on_acquired_after_wait(&self, _s: State, _waited_ns: u64) {}
    /// A waiter of `s` closed its gate.
    #[inline(always)]
    fn on_gate_closed(&self, _s: State) {}
    /// `n` waiters of `s` were granted together.
    #[inline(always)]
    fn on_phase(&self, _s: State, _n: u64) {}
    /// Performs `change`, a change of the word, which returns the word before and
    /// after if it happened; a model records it as `op`.
    #[inline(always)]
    fn record(&self, op: Op, change: impl FnOnce() -> Option<(u64, u64)>) {
        let _ = (op, change());
    }
}

/// Compare-exchanges the word from `cur` to `new`, recording `op` on success.
#[inline(always)]
fn cas<E: Env>(e: &E, op: Op, weak: bool, cur: u64, new: u64, ok: Ordering) -> Result<(), u64> {
    let mut r = Ok(());
    e.record(op, || {
        let w = e.word();
        let res = if weak {
            w.compare_exchange_weak(cur, new, ok, Relaxed)
        } else {
            w.compare_exchange(cur, new, ok, Relaxed)
        };
        r = res.map(drop);
        r.is_ok().then_some((cur, new))
    });
    r
}

/// Applies `f` to the word until it sticks (Relaxed: under the wait lock).
fn update<E: Env>(e: &E, op: Op, f: impl Fn(u64) -> u64) {
    let mut w = e.word().load(Relaxed);
    while let Err(actual) = cas(e, op, false, w, f(w), Relaxed) {
        w = actual;
    }
}

/// The fast path: enters `s` if that needs no waiting. One compare-exchange when
/// uncontended: the first is tried on the unlocked word without loading it (as
/// `down_write` does), and a failed one returns the word for the next try.
#[inline(always)]
pub fn try_acquire<E: Env>(e: &E, s: State) -> bool {
    let mut w = state::UNLOCKED;
    loop {
        let Some(new) = state::try_acquire(w, s) else {
            return false;
        };
        match cas(e, Op::Acquire(s), true, w, new, Acquire) {
            Ok(()) => return true,
            Err(actual) => w = actual,
        }
    }
}

/// Takes `s` again for a holder of `s`, past any closed gate. False (and a fault)
/// if the holder count is at its limit.
pub fn acquire_nested<E: Env>(e: &E, s: State) -> bool {
    let mut w = e.word().load(Relaxed);
    loop {
        let Some(new) = state::acquire_nested(w, s) else {
            e.fault(Fault::NestedOverflow);
            return false;
        };
        match cas(e, Op::Nested(s), true, w, new, Relaxed) {
            Ok(()) => return true,
            Err(actual) => w = actual,
        }
    }
}

/// Releases one hold of `s`: one fetch-sub, and the slow path only to hand the lock
/// over.
#[inline(always)]
pub fn release<E: Env>(e: &E, s: State) {
    let mut old = 0;
    e.record(Op::Release(s), || {
        old = e.word().fetch_sub(state::one(s), Release);
        Some((old, old.wrapping_sub(state::one(s))))
    });
    if state::release_needs_slow_path(old, s) {
        release_slow(e, s, old);
    }
}

/// The release of `s` that changed the word from `old` needs a look under the wait
/// lock: it dropped the last holder with waiters queued, or it was wrong.
#[inline(never)]
fn release_slow<E: Env>(e: &E, s: State, old: u64) {
    if state::holders(old, s) == 0 {
        // Nothing to release: undo the borrow from the neighbouring field.
        e.fault(Fault::ReleaseUnderflow);
        e.record(Op::Undo(s), || {
            let cur = e.word().fetch_add(state::one(s), Relaxed);
            Some((cur, cur.wrapping_add(state::one(s))))
        });
        return;
    }
    if state::is_inconsistent(old) {
        e.fault(Fault::Inconsistent);
    }
    if !state::release_must_grant(old, s) {
        return;
    }
    let mut ws = e.lock_waiters();
    let woken = grant_next(e, &mut ws, s);
    drop(ws);
    if let Some(u) = woken {
        e.wake_all(u);
    }
}

/// Under the wait lock, after the last holder of `s` left: grants the other state's
/// waiters, or else `s`'s own (arrivals parked while `s` was full). Returns the
/// state to wake.
fn grant_next<E: Env>(e: &E, ws: &mut Waiters, s: State) -> Option<State> {
    [s.other(), s]
        .into_iter()
        .find(|&u| ws.queued[u.index()] != 0)
        .filter(|&u| grant_locked(e, ws, u))
}

/// Under the wait lock: hands `u` to all its queued waiters at once (a phase), if
/// the other state is free. Waiters that cannot be granted stay queued, their bits
/// set, for the next last release to grant. True if a phase was granted.
fn grant_locked<E: Env>(e: &E, ws: &mut Waiters, u: State) -> bool {
    let i = u.index();
    let n = ws.queued[i];
    if n == 0 {
        return false;
    }
    let generation = e.generation(u).load(Relaxed).wrapping_add(1);
    let op = Op::Grant {
        state: u,
        n,
        generation,
    };
    let mut w = e.word().load(Relaxed);
    loop {
        let Some(new) = state::grant(w, u, n) else {
            return false;
        };
        // Acquire: every hold of the previous phase was released before this.
        match cas(e, op, false, w, new, Acquire) {
            Ok(()) => break,
            Err(actual) => w = actual,
        }
    }
    ws.queued[i] = 0;
    // Release: passes the hand-off on to the granted waiters.
    e.generation(u).store(generation, Release);
    e.on_phase(u, n);
    true
}

/// The slow path: queues for `s` and sleeps until granted. `Err` only if killed
/// (`how` is [`Sleep::Killable`]), leaving no trace in the lock.
pub fn slow_acquire<E: Env>(e: &E, s: State, how: Sleep) -> Result<(), Killed> {
    e.on_contended(s);
    let start = e.now_ns();
    let close_now = e.mode() == GateMode::On;
    let mut ws = e.lock_waiters();
    let ticket = ws.next_ticket;
    let generation = e.generation(s).load(Relaxed);
    // Enter if the door opened meanwhile; otherwise mark us waiting.
    let mut w = e.word().load(Relaxed);
    loop {
        let (new, op, order) = match state::try_acquire(w, s) {
            Some(new) => (new, Op::Acquire(s), Acquire),
            None => {
                let new = state::mark_waiting(w, s, close_now).unwrap_or(w);
                let op = Op::Queue {
                    state: s,
                    ticket,
                    generation,
                    gate: close_now,
                };
                (new, op, Relaxed)
            }
        };
        match cas(e, op, false, w, new, order) {
            Ok(()) if order == Acquire => {
                drop(ws);
                e.on_acquired_after_wait(s, e.now_ns().saturating_sub(start));
                return Ok(());
            }
            Ok(()) => break,
            Err(actual) => w = actual,
        }
    }
    if close_now && !state::gate_closed(w, s) {
        e.on_gate_closed(s);
    }
    ws.next_ticket = ticket.wrapping_add(1);
    ws.queued[s.index()] += 1;
    drop(ws);

    let granted = || e.generation(s).load(Acquire) != generation;
    let mut gate_at = match e.mode() {
        GateMode::Deadline => Some(start.saturating_add(e.deadline_ns())),
        _ => None,
    };
    loop {
        let woke = e.wait_event(s, how, gate_at, granted);
        if woke == Woke::Done {
            break;
        }
        let mut ws = e.lock_waiters();
        if granted() {
            // Granted meanwhile: the hold is ours, keep it.
            break;
        }
        if woke == Woke::Killed {
            let wake = leave_queue(e, &mut ws, s, ticket);
            drop(ws);
            if let Some(u) = wake {
                e.wake_all(u);
            }
            return Err(Killed);
        }
        // Timed out: close the gate (we are still queued, so `s` has waiters).
        let mut old = 0;
        e.record(Op::CloseGate { state: s, ticket }, || {
            let bits = state::close_gate(0, s);
            old = e.word().fetch_or(bits, Relaxed);
            Some((old, old | bits))
        });
        if !state::gate_closed(old, s) {
            e.on_gate_closed(s);
        }
        gate_at = None;
    }
    e.on_acquired_after_wait(s, e.now_ns().saturating_sub(start));
    Ok(())
}

/// Under the wait lock, waiter `ticket` of `s` leaves without being granted. If it
/// was the last, its waiting and gate bits go, and the other state's waiters, which
/// its gate may have held back, are granted if they can be. Returns the state to
/// wake.
fn leave_queue<E: Env>(e: &E, ws: &mut Waiters, s: State, ticket: u64) -> Option<State> {
    e.record(Op::Killed { state: s, ticket }, || Some((0, 0)));
    let i = s.index();
    if ws.queued[i] == 0 {
        e.fault(Fault::QueueUnderflow);
        return None;
    }
    ws.queued[i] -= 1;
    if ws.queued[i] != 0 {
        return None;
    }
    update(e, Op::ClearWaiting(s), |w| state::clear_waiting(w, s));
    grant_locked(e, ws, s.other()).then_some(s.other())
}
