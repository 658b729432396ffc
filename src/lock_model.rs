//! Userspace model of the kernel's `TwoStateLock`, for checking its protocol.
//!
//! The protocol is not copied here: [`crate::locking::protocol`] is
//! `locking/protocol.rs`, the very file the kernel module builds, and this module
//! only instantiates it ([`Env`]) over loom's atomics, mutex and condition
//! variables (built with `--cfg loom`) or std's (for stress tests), where the kernel
//! uses its atomics, a spinlock and wait queues:
//!
//! - the wait lock is a [`Mutex`];
//! - each state's wait queue is an event count (a [`Mutex`]ed counter and a
//!   [`Condvar`]): a sleeper reads the count, checks its condition, and sleeps only
//!   while the count is unchanged, as the kernel's `prepare_to_wait_event` and
//!   `schedule` do;
//! - the clock: under loom a counter that only [`ModelLock::tick`] (a timer)
//!   advances, so a deadline expires exactly when a tick passes it, in some
//!   interleavings and not in others; outside loom the real clock;
//! - a fatal signal is a [`Cancel`] delivered by [`ModelLock::kill`];
//! - faults (refused misuse, which the kernel warns about) are counted
//!   ([`ModelLock::faults`]).
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

use crate::locking::protocol::{self, Env, Sleep, Waiters, Woke};
pub use crate::locking::protocol::{Fault, Killed, Op};
use crate::locking::state;
pub use crate::locking::state::{GateMode, State};

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

#[cfg(loom)]
crate::impl_lock_atomic!(loom::sync::atomic::AtomicU64, protocol::Atomic);

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

/// A wait queue: an event count.
struct WaitQueue {
    events: Mutex<u64>,
    cv: Condvar,
}

impl WaitQueue {
    fn new() -> Self {
        WaitQueue {
            events: Mutex::new(0),
            cv: Condvar::new(),
        }
    }

    fn wake_all(&self) {
        *self.events.lock().unwrap() += 1;
        self.cv.notify_all();
    }
}

/// The model of `TwoStateLock`.
pub struct ModelLock {
    word: AtomicU64,
    generation: [AtomicU64; 2],
    mode: GateMode,
    deadline_ns: u64,
    waiters: Mutex<Waiters>,
    queues: [WaitQueue; 2],
    /// Under loom, the clock (advanced by [`ModelLock::tick`]).
    #[cfg(loom)]
    clock: AtomicU64,
    #[cfg(not(loom))]
    epoch: std::time::Instant,
    faults: std::sync::Mutex<Vec<Fault>>,
    trace: Option<std::sync::Mutex<Vec<Event>>>,
}

/// The protocol's view of a [`ModelLock`] for one call: the lock and the caller's
/// kill request.
struct Call<'a> {
    lock: &'a ModelLock,
    cancel: Option<&'a Cancel>,
}

impl<'a> Env for Call<'a> {
    type Atomic = AtomicU64;
    type WaitGuard<'b>
        = MutexGuard<'b, Waiters>
    where
        Self: 'b;

    fn word(&self) -> &AtomicU64 {
        &self.lock.word
    }

    fn generation(&self, s: State) -> &AtomicU64 {
        &self.lock.generation[s.index()]
    }

    fn mode(&self) -> GateMode {
        self.lock.mode
    }

    fn deadline_ns(&self) -> u64 {
        self.lock.deadline_ns
    }

    fn now_ns(&self) -> u64 {
        self.lock.now_ns()
    }

    fn lock_waiters(&self) -> MutexGuard<'_, Waiters> {
        self.lock.waiters.lock().unwrap()
    }

    fn wait_event(
        &self,
        s: State,
        how: Sleep,
        until_ns: Option<u64>,
        mut done: impl FnMut() -> bool,
    ) -> Woke {
        let q = &self.lock.queues[s.index()];
        loop {
            // Queue (read the event count), then check the condition.
            let seen = *q.events.lock().unwrap();
            if done() {
                return Woke::Done;
            }
            if how == Sleep::Killable && self.cancel.is_some_and(Cancel::is_killed) {
                return Woke::Killed;
            }
            if until_ns.is_some_and(|t| self.lock.now_ns() >= t) {
                return Woke::TimedOut;
            }
            let mut events = q.events.lock().unwrap();
            while *events == seen {
                #[cfg(loom)]
                {
                    events = q.cv.wait(events).unwrap();
                }
                #[cfg(not(loom))]
                match until_ns {
                    None => events = q.cv.wait(events).unwrap(),
                    Some(t) => {
                        let left = t.saturating_sub(self.lock.now_ns());
                        let (g, r) =
                            q.cv.wait_timeout(events, std::time::Duration::from_nanos(left))
                                .unwrap();
                        events = g;
                        if r.timed_out() {
                            break;
                        }
                    }
                }
            }
        }
    }

    fn wake_all(&self, s: State) {
        self.lock.queues[s.index()].wake_all();
    }

    fn fault(&self, f: Fault) {
        self.lock.faults.lock().unwrap().push(f);
    }

    /// Outside loom the record lock is held across `change`, so the record is in
    /// the word's modification order. Under loom it must not be (loom may switch
    /// threads inside `change`, and a `std` lock held across that would block the
    /// one OS thread loom runs its threads on), and need not be: loom switches
    /// threads only inside its own operations, so nothing runs between `change`
    /// and the record.
    fn record(&self, op: Op, change: impl FnOnce() -> Option<(u64, u64)>) {
        let Some(t) = &self.lock.trace else {
            let _ = change();
            return;
        };
        #[cfg(not(loom))]
        let mut held = t.lock().unwrap();
        if let Some((old, new)) = change() {
            #[cfg(loom)]
            let mut held = t.lock().unwrap();
            held.push(Event { op, old, new });
        }
    }
}

/// A hold of one state; released on drop. Not `Send`, like the kernel's guard.
#[must_use = "the lock is released when the guard is dropped"]
pub struct Guard<'a> {
    lock: &'a ModelLock,
    state: State,
    _not_send: PhantomData<*const ()>,
}

impl Guard<'_> {
    /// The state held.
    pub fn state(&self) -> State {
        self.state
    }

    /// Take the held state once more (the kernel's nested acquire): never waits,
    /// even if the gate of the other state is closed. `None` (and a fault) at the
    /// holder limit. The nested hold borrows this one, so it ends first.
    pub fn nested(&self) -> Option<Guard<'_>> {
        protocol::acquire_nested(&self.lock.call(None), self.state)
            .then(|| self.lock.guard(self.state))
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        protocol::release(&self.lock.call(None), self.state);
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
        Self::build(mode, 0, false)
    }

    /// An unlocked lock in [`GateMode::Deadline`] whose waiters close their gate
    /// after `deadline_ns` of waiting (of the model clock under loom).
    pub fn with_deadline(deadline_ns: u64) -> Self {
        Self::build(GateMode::Deadline, deadline_ns, false)
    }

    /// An unlocked lock in `mode`, with the deadline used in deadline mode.
    pub fn with_mode_deadline(mode: GateMode, deadline_ns: u64) -> Self {
        Self::build(mode, deadline_ns, false)
    }

    /// An unlocked lock that records a trace (see [`ModelLock::take_trace`]).
    pub fn new_traced(mode: GateMode, deadline_ns: u64) -> Self {
        Self::build(mode, deadline_ns, true)
    }

    fn build(mode: GateMode, deadline_ns: u64, traced: bool) -> Self {
        ModelLock {
            word: AtomicU64::new(state::UNLOCKED),
            generation: [AtomicU64::new(0), AtomicU64::new(0)],
            mode,
            deadline_ns,
            waiters: Mutex::new(Waiters::new()),
            queues: [WaitQueue::new(), WaitQueue::new()],
            #[cfg(loom)]
            clock: AtomicU64::new(0),
            #[cfg(not(loom))]
            epoch: std::time::Instant::now(),
            faults: std::sync::Mutex::new(Vec::new()),
            trace: traced.then(|| std::sync::Mutex::new(Vec::new())),
        }
    }

    fn call<'a>(&'a self, cancel: Option<&'a Cancel>) -> Call<'a> {
        Call { lock: self, cancel }
    }

    #[cfg(loom)]
    fn now_ns(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    #[cfg(not(loom))]
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// The gate mode.
    pub fn mode(&self) -> GateMode {
        self.mode
    }

    /// The current word (for tests).
    pub fn word(&self) -> u64 {
        self.word.load(Ordering::SeqCst)
    }

    /// The faults refused so far (which the kernel warns about).
    pub fn faults(&self) -> Vec<Fault> {
        self.faults.lock().unwrap().clone()
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
        let call = self.call(None);
        if !protocol::try_acquire(&call, s) {
            // An uninterruptible wait is never killed.
            let _ = protocol::slow_acquire(&call, s, Sleep::Uninterruptible);
        }
        self.guard(s)
    }

    /// Acquire `s` if that needs no waiting.
    pub fn try_lock(&self, s: State) -> Option<Guard<'_>> {
        protocol::try_acquire(&self.call(None), s).then(|| self.guard(s))
    }

    /// Acquire `s`, unless `cancel` is killed (see [`ModelLock::kill`]) before the
    /// lock is granted.
    pub fn lock_killable(&self, s: State, cancel: &Cancel) -> Result<Guard<'_>, Killed> {
        let call = self.call(Some(cancel));
        if !protocol::try_acquire(&call, s) {
            protocol::slow_acquire(&call, s, Sleep::Killable)?;
        }
        Ok(self.guard(s))
    }

    /// Deliver a kill to `cancel` and wake the lock's sleepers so that the killed
    /// one notices (as a signal wakes a killable sleeper).
    pub fn kill(&self, cancel: &Cancel) {
        cancel.0.store(true, Ordering::SeqCst);
        self.queues.iter().for_each(WaitQueue::wake_all);
    }

    /// A timer: advance the clock (under loom; outside it the clock is real) by
    /// `ns`, and wake every sleeper, as a timeout would (a sleeper whose deadline has
    /// not passed, not being granted, goes back to sleep: a spurious wake-up).
    pub fn tick(&self, ns: u64) {
        #[cfg(loom)]
        self.clock.fetch_add(ns, Ordering::SeqCst);
        #[cfg(not(loom))]
        let _ = ns;
        self.queues.iter().for_each(WaitQueue::wake_all);
    }

    /// Test set-up for the limits: `n` holds of `s` that no guard owns, as if taken
    /// by tasks not modelled. Only on an unlocked lock.
    pub fn add_phantom_holds(&self, s: State, n: u64) {
        assert_eq!(self.word(), state::UNLOCKED);
        self.word.store(n * state::one(s), Ordering::SeqCst);
    }

    /// Test set-up for the limits: those tasks release `n` holds of `s` at once,
    /// while at least one modelled hold remains (so this is never the last release,
    /// which only the protocol's release may do).
    pub fn drop_phantom_holds(&self, s: State, n: u64) {
        let old = self.word.fetch_sub(n * state::one(s), Ordering::SeqCst);
        assert!(
            state::holders(old, s) > n,
            "phantom release would be the last"
        );
    }

    /// A release of `s` without a guard, as a buggy caller would make: runs the
    /// protocol's release (for tests of its checks).
    pub fn release_unowned(&self, s: State) {
        protocol::release(&self.call(None), s);
    }

    /// Forgets the faults recorded so far (after a test has checked them).
    pub fn clear_faults(&self) {
        self.faults.lock().unwrap().clear();
    }

    /// Queued waiters of `s` (for tests).
    pub fn queued(&self, s: State) -> u64 {
        self.waiters.lock().unwrap().queued(s)
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
    /// Gates closed at a deadline (`GateMode::Deadline`).
    pub deadline_gates: usize,
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
    /// A waiter still queued, with what it has seen since it queued.
    struct Waiter {
        state: State,
        ticket: u64,
        generation: u64,
        gate_closed: bool,
        overtaken: usize,
        arrivals_queued: usize,
        arrivals: usize,
        phases: usize,
    }
    fn err<T>(at: usize, what: String) -> Result<T, TraceError> {
        Err(TraceError { at, what })
    }
    let mut stats = TraceStats::default();
    let mut open: Vec<Waiter> = Vec::new();
    let mut word = state::UNLOCKED;
    let mut generation = [0u64; 2];
    /// A waiter leaves: check and account what it saw.
    fn leave(wt: Waiter, at: usize, stats: &mut TraceStats) -> Result<(), TraceError> {
        stats.max_overtaken = stats.max_overtaken.max(wt.overtaken);
        stats.max_arrivals_while_queued = stats.max_arrivals_while_queued.max(wt.arrivals_queued);
        stats.max_bypass_arrivals = stats.max_bypass_arrivals.max(wt.arrivals);
        stats.max_bypass_phases = stats.max_bypass_phases.max(wt.phases);
        if wt.arrivals > 0 || wt.phases > 1 {
            return err(
                at,
                format!(
                    "{:?} waiter {} bypassed by {} arrivals and {} phases of {:?} after its gate closed",
                    wt.state,
                    wt.ticket,
                    wt.arrivals,
                    wt.phases,
                    wt.state.other()
                ),
            );
        }
        Ok(())
    }
    for (i, e) in trace.iter().enumerate() {
        if let Op::Killed { state: s, ticket } = e.op {
            let Some(k) = open
                .iter()
                .position(|wt| wt.ticket == ticket && wt.state == s)
            else {
                return err(i, format!("kill of waiter {ticket}, not waiting"));
            };
            let wt = open.swap_remove(k);
            if generation[ix(s)] != wt.generation {
                return err(i, format!("kill of waiter {ticket} that was granted"));
            }
            stats.killed += 1;
            leave(wt, i, &mut stats)?;
            continue;
        }
        if e.old != word {
            return err(
                i,
                format!("step from {:#018x}, but the word was {word:#018x}", e.old),
            );
        }
        let expect = match e.op {
            Op::Acquire(s) => {
                for wt in open.iter_mut().filter(|wt| wt.state == s.other()) {
                    wt.overtaken += 1;
                    wt.arrivals_queued += 1;
                    wt.arrivals += usize::from(wt.gate_closed);
                }
                state::try_acquire(e.old, s)
            }
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
                if open.iter().any(|wt| wt.ticket == ticket) {
                    return err(i, format!("waiter {ticket} queued twice"));
                }
                open.push(Waiter {
                    state: s,
                    ticket,
                    generation: g,
                    gate_closed: gate,
                    overtaken: 0,
                    arrivals_queued: 0,
                    arrivals: 0,
                    phases: 0,
                });
                stats.waiters += 1;
                state::mark_waiting(e.old, s, gate)
            }
            Op::CloseGate { state: s, ticket } => {
                if mode != GateMode::Deadline {
                    return err(i, format!("deadline gate closed in {mode:?}"));
                }
                match open
                    .iter_mut()
                    .find(|wt| wt.ticket == ticket && wt.state == s)
                {
                    Some(wt) if !wt.gate_closed => {
                        wt.gate_closed = true;
                        stats.deadline_gates += 1;
                    }
                    _ => return err(i, format!("gate closed by waiter {ticket}, not waiting")),
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
                for wt in open.iter_mut().filter(|wt| wt.state == s.other()) {
                    wt.overtaken += n as usize;
                    wt.phases += usize::from(wt.gate_closed);
                }
                let mut granted = 0;
                let mut k = 0;
                while k < open.len() {
                    if open[k].state != s {
                        k += 1;
                        continue;
                    }
                    let wt = open.swap_remove(k);
                    if wt.generation != generation[ix(s)] {
                        return err(i, format!("waiter {} was skipped", wt.ticket));
                    }
                    granted += 1;
                    leave(wt, i, &mut stats)?;
                }
                if granted != n {
                    return err(i, format!("grant of {n} to {granted} queued waiters"));
                }
                generation[ix(s)] = g;
                stats.grants += 1;
                state::grant(e.old, s, n)
            }
            Op::ClearWaiting(s) => {
                if open.iter().any(|wt| wt.state == s) {
                    return err(i, format!("{s:?} waiting bits cleared with waiters queued"));
                }
                Some(state::clear_waiting(e.old, s))
            }
            Op::Undo(s) => return err(i, format!("release of {s:?}, not held")),
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
    if let Some(wt) = open.first() {
        return err(trace.len(), format!("waiter {} never left", wt.ticket));
    }
    Ok(stats)
}
