//! Userspace model of the kernel's `TwoStateLock`, for checking its algorithm.
//!
//! Every transition of the lock word is a function of [`crate::lock_state`] (which is
//! `locking/state.rs`, the very file the kernel module builds). This module applies
//! them with the same atomics, in the same order and with the same memory orderings
//! as the kernel lock; only the sleeping is different: the kernel's wait queues
//! become one [`Condvar`] per state on the wait-queue [`Mutex`].
//!
//! Built with `--cfg loom`, the atomics, mutex and condition variables are loom's, so
//! `tests/lock_model_loom.rs` checks the algorithm for every interleaving of a few
//! threads (and loom's `UnsafeCell` checks that one phase's critical sections
//! happen-before the next phase's). Built normally they are `std`'s, for stress
//! tests (`tests/lock_model.rs`).
//!
//! # The algorithm
//!
//! - Fast path: `try_acquire` and one `compare_exchange_weak` (Acquire).
//! - Release: `fetch_sub(one(s))` (Release); if [`state::release_must_grant`], take
//!   the wait-queue lock and grant the other state.
//! - The wait-queue lock protects `queued[s]` (queued waiters per state) and
//!   `generation[s]` (incremented at each grant of `s`). A grant adds the holds of
//!   all queued waiters of `s` to the word (a phase), then bumps `generation[s]` and
//!   wakes them; a waiter sleeps until `generation[s]` differs from the value it saw
//!   when it queued, so spurious wake-ups are harmless.
//! - Slow path, under the wait-queue lock: `try_acquire` again, else `mark_waiting`
//!   (closing the gate in [`GateMode::On`]), queue and sleep.
//! - A killed waiter that was not granted leaves the queue; the last one to leave
//!   clears its state's waiting and gate bits and grants the other state's queued
//!   waiters, who may have queued only because of its gate.
//! - [`GateMode::Deadline`]: a waiter closes its gate after it has been woken
//!   `deadline_ticks` times without being granted. The model has no clock: a tick is
//!   any wake-up, [`ModelLock::tick`] (a timer interrupt) or, outside loom, a 1 ms
//!   timed wait.
//!
//! # Trace
//!
//! [`ModelLock::new_traced`] records every read-modify-write of the word, in the
//! word's modification order, with the value before and after, plus the kills.
//! [`check_trace`] replays such a trace: it checks each step against `lock_state`,
//! the invariants after each step, and the fairness bound (see [`check_trace`]).
//! Under loom the record is exact for free (loom never switches threads between an
//! atomic operation and the next loom operation, and the record uses a `std` mutex,
//! which loom does not see); outside loom the record lock is held around the
//! operation, which serialises the traced lock's word operations.

use crate::lock_state as state;
pub use crate::lock_state::{GateMode, State};

#[cfg(loom)]
use loom::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Condvar, Mutex, MutexGuard,
};
use std::fmt;
use std::marker::PhantomData;
#[cfg(not(loom))]
use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Condvar, Mutex, MutexGuard,
};

/// Outside loom, how long a deadline-mode waiter sleeps before it counts a tick.
#[cfg(not(loom))]
const TICK: std::time::Duration = std::time::Duration::from_millis(1);

/// Ticks a deadline-mode waiter waits before closing its gate, unless set with
/// [`ModelLock::with_deadline`].
pub const DEFAULT_DEADLINE_TICKS: u32 = 1;

/// What the wait-queue lock protects.
struct Queue {
    /// Number of queued, not yet granted, waiters per state.
    queued: [u64; 2],
    /// Number of grants per state so far.
    generation: [u64; 2],
    /// Identifies waiters in the trace.
    next_ticket: u64,
}

/// One step of a traced lock: a read-modify-write of the word (with the word before
/// and after), or a kill (which leaves the word alone: `old == new`, not part of the
/// modification order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub op: Op,
    /// The word before.
    pub old: u64,
    /// The word after.
    pub new: u64,
}

/// The kind of a traced step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A new arrival entered `s` (fast path, or the slow path's retry).
    Acquire(State),
    /// A holder of `s` took it again.
    Nested(State),
    /// A holder of `s` released it.
    Release(State),
    /// Waiter `ticket` queued for `s` (setting the waiting bit, and the gate if
    /// `gate`), with `generation[s] == generation`.
    Queue {
        state: State,
        ticket: u64,
        generation: u64,
        gate: bool,
    },
    /// Deadline mode: waiter `ticket` of `s` closed its gate.
    CloseGate { state: State, ticket: u64 },
    /// `n` queued waiters of `s` were granted `s`; `generation[s]` became
    /// `generation`.
    Grant {
        state: State,
        n: u64,
        generation: u64,
    },
    /// Waiter `ticket` of `s` was killed before being granted (not a word change).
    Killed { state: State, ticket: u64 },
    /// The last queued waiter of `s` left: its waiting and gate bits were cleared.
    ClearWaiting(State),
}

/// A kill request for [`ModelLock::lock_killable`], delivered by [`ModelLock::kill`]
/// (the model's fatal signal).
pub struct Cancel(AtomicBool);

impl Cancel {
    /// Not yet killed.
    pub fn new() -> Self {
        Cancel(AtomicBool::new(false))
    }

    /// Whether the kill was delivered.
    pub fn is_killed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Default for Cancel {
    fn default() -> Self {
        Self::new()
    }
}

/// [`ModelLock::lock_killable`] was killed before it was granted the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Killed;

impl fmt::Display for Killed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("killed while waiting for the lock")
    }
}

impl std::error::Error for Killed {}

/// The model of `TwoStateLock`.
pub struct ModelLock {
    word: AtomicU64,
    mode: GateMode,
    deadline_ticks: u32,
    wait: Mutex<Queue>,
    /// Sleepers of each state (index: [`State::index`]).
    wake: [Condvar; 2],
    trace: Option<std::sync::Mutex<Vec<Event>>>,
}

/// A hold of one state; released on drop. Not `Send`, like the kernel's guard.
#[must_use = "the lock is released when the guard is dropped"]
pub struct Guard<'a> {
    lock: &'a ModelLock,
    state: State,
    _not_send: PhantomData<*const ()>,
}

impl<'a> Guard<'a> {
    /// The state held.
    pub fn state(&self) -> State {
        self.state
    }

    /// Take the held state once more (the kernel's explicit nested acquire): never
    /// waits, even if the gate of the other state is closed.
    pub fn nested(&self) -> Guard<'a> {
        self.lock.acquire_nested(self.state);
        self.lock.guard(self.state)
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.lock.release(self.state);
    }
}

impl fmt::Debug for Guard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard").field("state", &self.state).finish()
    }
}

fn ix(s: State) -> usize {
    s.index()
}

impl ModelLock {
    /// An unlocked lock.
    pub fn new(mode: GateMode) -> Self {
        Self::build(mode, DEFAULT_DEADLINE_TICKS, false)
    }

    /// An unlocked lock in [`GateMode::Deadline`] whose waiters close their gate
    /// after `ticks` wake-ups.
    pub fn with_deadline(ticks: u32) -> Self {
        Self::build(GateMode::Deadline, ticks, false)
    }

    /// An unlocked lock that records a trace (see [`ModelLock::take_trace`]).
    pub fn new_traced(mode: GateMode, deadline_ticks: u32) -> Self {
        Self::build(mode, deadline_ticks, true)
    }

    fn build(mode: GateMode, deadline_ticks: u32, traced: bool) -> Self {
        ModelLock {
            word: AtomicU64::new(state::UNLOCKED),
            mode,
            deadline_ticks,
            wait: Mutex::new(Queue {
                queued: [0; 2],
                generation: [0; 2],
                next_ticket: 0,
            }),
            wake: [Condvar::new(), Condvar::new()],
            trace: traced.then(|| std::sync::Mutex::new(Vec::new())),
        }
    }

    /// The gate mode.
    pub fn mode(&self) -> GateMode {
        self.mode
    }

    /// The current word (for tests).
    pub fn word(&self) -> u64 {
        self.word.load(Ordering::SeqCst)
    }

    /// The trace recorded so far (empty unless built with
    /// [`ModelLock::new_traced`]); the record starts afresh.
    pub fn take_trace(&self) -> Vec<Event> {
        match &self.trace {
            Some(t) => std::mem::take(&mut *t.lock().unwrap()),
            None => Vec::new(),
        }
    }

    fn guard(&self, state: State) -> Guard<'_> {
        Guard {
            lock: self,
            state,
            _not_send: PhantomData,
        }
    }

    /// Acquire `s`, sleeping (not killable) as long as needed.
    pub fn lock(&self, s: State) -> Guard<'_> {
        if !self.fast_acquire(s) {
            self.slow_acquire(s, None)
                .expect("a wait without a kill request cannot be killed");
        }
        self.guard(s)
    }

    /// Acquire `s` if that needs no waiting.
    pub fn try_lock(&self, s: State) -> Option<Guard<'_>> {
        self.fast_acquire(s).then(|| self.guard(s))
    }

    /// Acquire `s`, unless `cancel` is killed (see [`ModelLock::kill`]) before the
    /// lock is granted.
    pub fn lock_killable(&self, s: State, cancel: &Cancel) -> Result<Guard<'_>, Killed> {
        if !self.fast_acquire(s) {
            self.slow_acquire(s, Some(cancel))?;
        }
        Ok(self.guard(s))
    }

    /// Deliver a kill to `cancel` and wake the lock's sleepers so that the killed
    /// one notices.
    pub fn kill(&self, cancel: &Cancel) {
        cancel.0.store(true, Ordering::SeqCst);
        let _q = self.wait.lock().unwrap();
        self.wake[0].notify_all();
        self.wake[1].notify_all();
    }

    /// A timer interrupt: wake every sleeper (which, not being granted, goes back to
    /// sleep: a spurious wake-up, and a tick towards its deadline).
    pub fn tick(&self) {
        let _q = self.wait.lock().unwrap();
        self.wake[0].notify_all();
        self.wake[1].notify_all();
    }

    /// Run `f`, an operation on the word, and record the event it yields, if
    /// tracing. Outside loom the record lock is held across `f`, so the record is in
    /// the word's modification order. Under loom it must not be (loom may switch
    /// threads inside `f`, and a `std` lock held across that would block the one OS
    /// thread loom runs its threads on), and need not be: loom switches threads only
    /// inside its own operations, so nothing runs between `f` and the record.
    fn traced<R>(&self, f: impl FnOnce() -> R, event: impl FnOnce(&R) -> Option<Event>) -> R {
        let Some(t) = &self.trace else {
            return f();
        };
        #[cfg(not(loom))]
        let mut held = t.lock().unwrap();
        let r = f();
        if let Some(e) = event(&r) {
            #[cfg(loom)]
            let mut held = t.lock().unwrap();
            held.push(e);
        }
        r
    }

    /// Check the invariants of the word after a change.
    fn check(op: Op, old: u64, new: u64) {
        assert!(
            !state::is_inconsistent(new),
            "inconsistent word after {op:?}: {old:#018x} -> {new:#018x}"
        );
    }

    /// Compare-and-exchange the word, recording `op` on success.
    fn cas(&self, weak: bool, cur: u64, new: u64, success: Ordering, op: Op) -> Result<(), u64> {
        let r = self.traced(
            || {
                if weak {
                    self.word
                        .compare_exchange_weak(cur, new, success, Ordering::Relaxed)
                } else {
                    self.word
                        .compare_exchange(cur, new, success, Ordering::Relaxed)
                }
            },
            |r| r.is_ok().then_some(Event { op, old: cur, new }),
        );
        match r {
            Ok(_) => {
                Self::check(op, cur, new);
                Ok(())
            }
            Err(actual) => Err(actual),
        }
    }

    /// The fast path: true if `s` was acquired.
    fn fast_acquire(&self, s: State) -> bool {
        let mut w = self.word.load(Ordering::Relaxed);
        loop {
            let Some(new) = state::try_acquire(w, s) else {
                return false;
            };
            match self.cas(true, w, new, Ordering::Acquire, Op::Acquire(s)) {
                Ok(()) => return true,
                Err(actual) => w = actual,
            }
        }
    }

    fn acquire_nested(&self, s: State) {
        let mut w = self.word.load(Ordering::Relaxed);
        loop {
            let new = state::acquire_nested(w, s)
                .unwrap_or_else(|| panic!("nested {s:?} acquire on word {w:#018x}"));
            match self.cas(true, w, new, Ordering::Relaxed, Op::Nested(s)) {
                Ok(()) => return,
                Err(actual) => w = actual,
            }
        }
    }

    fn release(&self, s: State) {
        let op = Op::Release(s);
        let old = self.traced(
            || self.word.fetch_sub(state::one(s), Ordering::Release),
            |&old| {
                Some(Event {
                    op,
                    old,
                    new: old.wrapping_sub(state::one(s)),
                })
            },
        );
        assert!(
            state::holders(old, s) != 0,
            "release of {s:?} not held: {old:#018x}"
        );
        Self::check(op, old, old - state::one(s));
        if state::release_must_grant(old, s) {
            let mut q = self.wait.lock().unwrap();
            self.grant_locked(&mut q, s.other());
        }
    }

    /// Under the wait-queue lock: grant `u` to all its queued waiters, if any and if
    /// the other state is not held (else its last releaser will).
    fn grant_locked(&self, q: &mut MutexGuard<'_, Queue>, u: State) {
        let n = q.queued[ix(u)];
        if n == 0 {
            return;
        }
        let generation = q.generation[ix(u)] + 1;
        let op = Op::Grant {
            state: u,
            n,
            generation,
        };
        let mut w = self.word.load(Ordering::Relaxed);
        loop {
            let Some(new) = state::grant(w, u, n) else {
                return;
            };
            // Acquire: the previous phase's releases happen-before the grant, which
            // the wait-queue lock passes on to the woken waiters.
            match self.cas(false, w, new, Ordering::Acquire, op) {
                Ok(()) => break,
                Err(actual) => w = actual,
            }
        }
        q.queued[ix(u)] = 0;
        q.generation[ix(u)] = generation;
        self.wake[ix(u)].notify_all();
    }

    /// Under the wait-queue lock: apply `f` to the word until it sticks.
    fn update_locked(&self, op: Op, f: impl Fn(u64) -> u64) {
        let mut w = self.word.load(Ordering::Relaxed);
        while let Err(actual) = self.cas(false, w, f(w), Ordering::Relaxed, op) {
            w = actual;
        }
    }

    /// The slow path. `Ok` once `s` is held.
    fn slow_acquire(&self, s: State, cancel: Option<&Cancel>) -> Result<(), Killed> {
        let mut q = self.wait.lock().unwrap();
        let close = self.mode == GateMode::On;
        let ticket = q.next_ticket;
        let generation = q.generation[ix(s)];
        let queue_op = Op::Queue {
            state: s,
            ticket,
            generation,
            gate: close,
        };
        let mut w = self.word.load(Ordering::Relaxed);
        loop {
            if let Some(new) = state::try_acquire(w, s) {
                match self.cas(false, w, new, Ordering::Acquire, Op::Acquire(s)) {
                    Ok(()) => return Ok(()),
                    Err(actual) => w = actual,
                }
                continue;
            }
            let Some(new) = state::mark_waiting(w, s, close) else {
                w = self.word.load(Ordering::Relaxed);
                continue;
            };
            match self.cas(false, w, new, Ordering::Relaxed, queue_op) {
                Ok(()) => break,
                Err(actual) => w = actual,
            }
        }
        q.next_ticket += 1;
        q.queued[ix(s)] += 1;

        let mut gate_closed = close || self.mode != GateMode::Deadline;
        let mut wakeups = 0u32;
        loop {
            if q.generation[ix(s)] != generation {
                // Granted: the granter added our hold to the word.
                return Ok(());
            }
            if cancel.is_some_and(Cancel::is_killed) {
                let killed = Op::Killed { state: s, ticket };
                self.traced(
                    || (),
                    |_| {
                        Some(Event {
                            op: killed,
                            old: 0,
                            new: 0,
                        })
                    },
                );
                q.queued[ix(s)] -= 1;
                if q.queued[ix(s)] == 0 {
                    self.update_locked(Op::ClearWaiting(s), |w| state::clear_waiting(w, s));
                    if q.queued[ix(s.other())] > 0 {
                        self.grant_locked(&mut q, s.other());
                    }
                }
                return Err(Killed);
            }
            if !gate_closed && wakeups >= self.deadline_ticks {
                self.update_locked(Op::CloseGate { state: s, ticket }, |w| {
                    state::close_gate(w, s)
                });
                gate_closed = true;
            }
            #[cfg(loom)]
            {
                q = self.wake[ix(s)].wait(q).unwrap();
            }
            #[cfg(not(loom))]
            {
                q = if gate_closed {
                    self.wake[ix(s)].wait(q).unwrap()
                } else {
                    self.wake[ix(s)].wait_timeout(q, TICK).unwrap().0
                };
            }
            wakeups = wakeups.saturating_add(1);
            if wakeups > 0 {
                return Ok(());
            }
        }
    }
}

impl fmt::Debug for ModelLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelLock")
            .field("mode", &self.mode)
            .field("word", &format_args!("{:#018x}", self.word()))
            .finish()
    }
}

/// What [`check_trace`] found in a consistent trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceStats {
    /// Waiters that queued.
    pub waiters: usize,
    /// Phases granted.
    pub grants: usize,
    /// Waiters killed before being granted.
    pub killed: usize,
    /// Over all waiters: most arrivals (fast-path entries) of the other state after
    /// the waiter's gate closed and before it was granted. The bound is 0.
    pub max_bypass_arrivals: usize,
    /// Over all waiters: most phases of the other state granted after the waiter's
    /// gate closed and before it was granted. The bound is 1.
    pub max_bypass_phases: usize,
    /// Over all waiters: most arrivals of the other state after the waiter queued
    /// and before it was granted, gate or no gate: 0 in `GateMode::On`, unbounded in
    /// `GateMode::Off`.
    pub max_arrivals_while_queued: usize,
    /// Over all waiters: most entries of the other state (arrivals and granted
    /// waiters, not nested re-entries) after the waiter queued and before it was
    /// granted, gate or no gate. Unbounded in `GateMode::Off`.
    pub max_overtaken: usize,
}

/// A trace that breaks a rule: the index of the step and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    /// Index in the trace.
    pub at: usize,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trace step {}: {}", self.at, self.what)
    }
}

/// Check a complete trace (all guards dropped, all waiters returned) of a lock in
/// `mode`, taken from [`ModelLock::take_trace`]:
///
/// - the word changes form one chain from `UNLOCKED` back to `UNLOCKED`, each step
///   being exactly the `lock_state` function of its kind, with no inconsistent word;
/// - every waiter is granted or killed exactly once, and a phase grants exactly the
///   waiters queued (and not killed) since the previous phase of its state;
/// - bounded bypass: once a waiter's gate is closed (when it queues in
///   `GateMode::On`, after its deadline in `GateMode::Deadline`, never in
///   `GateMode::Off`), no arrival of the other state enters and at most one phase of
///   the other state is granted before the waiter is granted. Holders present when
///   it queued may still re-enter (nested acquire); those phases' holders are the
///   "holders present plus one phase" of the design.
///
/// Only the first rule broken is reported.
pub fn check_trace(trace: &[Event], mode: GateMode) -> Result<TraceStats, TraceError> {
    struct Waiter {
        state: State,
        ticket: u64,
        generation: u64,
        queued_at: usize,
        gate_at: Option<usize>,
        end: Option<usize>,
    }
    let err = |at: usize, what: String| Err(TraceError { at, what });
    let mut stats = TraceStats::default();
    let mut waiters: Vec<Waiter> = Vec::new();
    let mut word = state::UNLOCKED;
    let mut generation = [0u64; 2];
    for (i, e) in trace.iter().enumerate() {
        if let Op::Killed { state: s, ticket } = e.op {
            let Some(wt) = waiters
                .iter_mut()
                .find(|wt| wt.ticket == ticket && wt.state == s)
            else {
                return err(i, format!("kill of unknown waiter {ticket}"));
            };
            if wt.end.is_some() {
                return err(i, format!("kill of waiter {ticket} that had left"));
            }
            if generation[ix(s)] != wt.generation {
                return err(i, format!("kill of waiter {ticket} that was granted"));
            }
            wt.end = Some(i);
            stats.killed += 1;
            continue;
        }
        if e.old != word {
            return err(
                i,
                format!("step from {:#018x}, but the word was {word:#018x}", e.old),
            );
        }
        let expect = match e.op {
            Op::Acquire(s) => state::try_acquire(e.old, s),
            Op::Nested(s) => state::acquire_nested(e.old, s),
            Op::Release(s) => (state::holders(e.old, s) != 0).then(|| e.old - state::one(s)),
            Op::Queue {
                state: s,
                ticket,
                generation: g,
                gate,
            } => {
                if gate != (mode == GateMode::On) {
                    return err(i, format!("queue with gate {gate} in {mode:?}"));
                }
                if g != generation[ix(s)] {
                    return err(
                        i,
                        format!("queue at generation {g}, is {}", generation[ix(s)]),
                    );
                }
                waiters.push(Waiter {
                    state: s,
                    ticket,
                    generation: g,
                    queued_at: i,
                    gate_at: gate.then_some(i),
                    end: None,
                });
                stats.waiters += 1;
                state::mark_waiting(e.old, s, gate)
            }
            Op::CloseGate { state: s, ticket } => {
                if mode != GateMode::Deadline {
                    return err(i, format!("deadline gate closed in {mode:?}"));
                }
                match waiters
                    .iter_mut()
                    .find(|wt| wt.ticket == ticket && wt.state == s)
                {
                    Some(wt) if wt.end.is_none() && wt.gate_at.is_none() => wt.gate_at = Some(i),
                    _ => return err(i, format!("gate closed by waiter {ticket} not waiting")),
                }
                Some(state::close_gate(e.old, s))
            }
            Op::Grant {
                state: s,
                n,
                generation: g,
            } => {
                if g != generation[ix(s)] + 1 {
                    return err(i, format!("grant to generation {g}"));
                }
                let mut granted = 0;
                for wt in waiters.iter_mut() {
                    if wt.state == s && wt.end.is_none() {
                        if wt.generation != generation[ix(s)] {
                            return err(i, format!("waiter {} was skipped", wt.ticket));
                        }
                        wt.end = Some(i);
                        granted += 1;
                    }
                }
                if granted != n {
                    return err(i, format!("grant of {n} to {granted} queued waiters"));
                }
                generation[ix(s)] = g;
                stats.grants += 1;
                state::grant(e.old, s, n)
            }
            Op::ClearWaiting(s) => {
                if waiters.iter().any(|wt| wt.state == s && wt.end.is_none()) {
                    return err(i, format!("{s:?} waiting bits cleared with waiters queued"));
                }
                Some(state::clear_waiting(e.old, s))
            }
            Op::Killed { .. } => unreachable!(),
        };
        if expect != Some(e.new) {
            return err(
                i,
                format!(
                    "{:?} from {:#018x} gave {:#018x}, lock_state says {expect:#x?}",
                    e.op, e.old, e.new
                ),
            );
        }
        if state::is_inconsistent(e.new) {
            return err(i, format!("inconsistent word {:#018x}", e.new));
        }
        word = e.new;
    }
    if word != state::UNLOCKED {
        return err(trace.len(), format!("final word {word:#018x}"));
    }
    if let Some(wt) = waiters.iter().find(|wt| wt.end.is_none()) {
        return err(trace.len(), format!("waiter {} never left", wt.ticket));
    }
    for wt in &waiters {
        let end = wt.end.unwrap_or(trace.len());
        let other = wt.state.other();
        let (mut overtaken, mut arrivals_queued) = (0, 0);
        let (mut arrivals, mut phases) = (0, 0);
        for (i, e) in trace.iter().enumerate().take(end).skip(wt.queued_at + 1) {
            let gate = wt.gate_at.is_some_and(|g| i > g);
            match e.op {
                Op::Acquire(s) if s == other => {
                    overtaken += 1;
                    arrivals_queued += 1;
                    arrivals += usize::from(gate);
                }
                Op::Grant { state: s, n, .. } if s == other => {
                    overtaken += n as usize;
                    phases += usize::from(gate);
                }
                _ => {}
            }
        }
        stats.max_overtaken = stats.max_overtaken.max(overtaken);
        stats.max_arrivals_while_queued = stats.max_arrivals_while_queued.max(arrivals_queued);
        stats.max_bypass_arrivals = stats.max_bypass_arrivals.max(arrivals);
        stats.max_bypass_phases = stats.max_bypass_phases.max(phases);
        if arrivals > 0 || phases > 1 {
            return err(
                end,
                format!(
                    "{:?} waiter {} bypassed by {arrivals} arrivals and {phases} phases of {other:?} after its gate closed",
                    wt.state, wt.ticket
                ),
            );
        }
    }
    Ok(stats)
}
