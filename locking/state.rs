// SPDX-License-Identifier: GPL-2.0

//! The state word of `TwoStateLock` and every transition on it.
//!
//! Plain Rust with no kernel dependencies, like the protocol that applies these
//! functions (`protocol.rs`), which both the kernel lock and the userspace model
//! (`src/lock_model.rs`, checked under loom) run.
//!
//! # The word
//!
//! ```text
//!  bits 0..28   number of *add* holders
//!  bits 28..56  number of *block* holders
//!  bit  56      WAITING_ADD:   add waiters are queued
//!  bit  57      WAITING_BLOCK: block waiters are queued
//!  bit  58      GATE_ADD:      a queued add waiter closes the door to new block acquirers
//!  bit  59      GATE_BLOCK:    a queued block waiter closes the door to new add acquirers
//! ```
//!
//! # Rules
//!
//! - Mutual exclusion: a transition never yields a word with both holder counts
//!   non-zero.
//! - A new acquirer of state `s` gets in only if nobody holds the other state and the
//!   other state's gate is open. Gates stop *arrivals* only, never a hand-off.
//! - A gate is only closed while its state has waiters (`GATE_x` implies `WAITING_x`).
//! - Hand-off: whoever drops the last holder of a state while waiters are queued
//!   must grant them, all at once (a phase), under the wait-queue lock: the other
//!   state's waiters first, else the state's own (arrivals parked while it was full).
//!   [`grant`] adds their holds to the word on their behalf, so they never re-race.
//! - The wait-queue lock serialises every transition that sets or clears a waiting
//!   or gate bit, and every grant; fast-path acquire and release are lock-free.

/// The two states of the lock. Holders of one state share it; the states exclude
/// each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Shared by page faults and buffered IO.
    Add,
    /// Shared by direct IO.
    Block,
}

impl State {
    /// The other state.
    pub const fn other(self) -> State {
        match self {
            State::Add => State::Block,
            State::Block => State::Add,
        }
    }

    /// Index for per-state arrays (0 = add, 1 = block).
    pub const fn index(self) -> usize {
        match self {
            State::Add => 0,
            State::Block => 1,
        }
    }
}

/// When a waiter closes the door to the other state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateMode {
    /// As soon as it queues: bounded wait (the default).
    On,
    /// Only after it has waited a set time (like rwsem's hand-off): more throughput,
    /// looser bound.
    Deadline,
    /// Never: the unfair baseline, kept for tests and benchmarks only.
    Off,
}

const COUNT_BITS: u32 = 28;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// Largest number of holders of one state.
pub const MAX_HOLDERS: u64 = COUNT_MASK;

const WAITING_ADD: u64 = 1 << 56;
const WAITING_BLOCK: u64 = 1 << 57;
const GATE_ADD: u64 = 1 << 58;
const GATE_BLOCK: u64 = 1 << 59;

/// The unlocked word: no holders, no waiters.
pub const UNLOCKED: u64 = 0;

const fn shift(s: State) -> u32 {
    match s {
        State::Add => 0,
        State::Block => COUNT_BITS,
    }
}

/// What one holder of `s` adds to the word.
pub const fn one(s: State) -> u64 {
    1 << shift(s)
}

/// The waiting bit of `s`.
pub const fn waiting_bit(s: State) -> u64 {
    match s {
        State::Add => WAITING_ADD,
        State::Block => WAITING_BLOCK,
    }
}

/// The gate bit that waiters of `s` close.
pub const fn gate_bit(s: State) -> u64 {
    match s {
        State::Add => GATE_ADD,
        State::Block => GATE_BLOCK,
    }
}

/// Number of holders of `s` in `w`.
pub const fn holders(w: u64, s: State) -> u64 {
    (w >> shift(s)) & COUNT_MASK
}

/// Whether `s` has queued waiters.
pub const fn has_waiters(w: u64, s: State) -> bool {
    w & waiting_bit(s) != 0
}

/// Whether waiters of `s` have closed the gate.
pub const fn gate_closed(w: u64, s: State) -> bool {
    w & gate_bit(s) != 0
}

/// Whether a new acquirer of `s` may enter now. At [`MAX_HOLDERS`] it may not: it
/// queues as a waiter of `s`, which the last release of `s` grants.
pub const fn may_enter(w: u64, s: State) -> bool {
    holders(w, s.other()) == 0 && !gate_closed(w, s.other()) && holders(w, s) < MAX_HOLDERS
}

/// Acquire `s` as a new arrival: the word after, or `None` if the caller must wait.
pub const fn try_acquire(w: u64, s: State) -> Option<u64> {
    if may_enter(w, s) {
        Some(w + one(s))
    } else {
        None
    }
}

/// Acquire `s` again for a task that already holds it: gates do not apply, since
/// waiting here would wait for the caller itself. `None` if `s` is not held
/// (a caller bug) or the count would overflow.
pub const fn acquire_nested(w: u64, s: State) -> Option<u64> {
    let h = holders(w, s);
    if h == 0 || h >= MAX_HOLDERS {
        None
    } else {
        Some(w + one(s))
    }
}

/// Given the word *before* a release of `s` (the value `fetch_sub(one(s))`
/// returned), whether the releaser must hand the lock over: it dropped the last
/// holder of `s` while waiters are queued, of the other state or of `s` itself
/// (arrivals parked while `s` was full, see [`may_enter`]).
pub const fn release_must_grant(old: u64, s: State) -> bool {
    holders(old, s) == 1 && old & (WAITING_ADD | WAITING_BLOCK) != 0
}

/// Given the word before a release of `s`, whether the releaser must take the slow
/// path: to hand the lock over, or because the release was wrong (`s` not held, or
/// the word inconsistent). Register arithmetic only, so the fast path stays one
/// atomic operation.
pub const fn release_needs_slow_path(old: u64, s: State) -> bool {
    holders(old, s) == 0 || release_must_grant(old, s) || is_inconsistent(old)
}

/// Under the wait-queue lock, a task about to queue for `s`: the word with `s`'s
/// waiting bit set (and its gate closed if `close_gate`), or `None` if `s` may be
/// entered right now, in which case the caller must [`try_acquire`] instead.
pub const fn mark_waiting(w: u64, s: State, close_gate: bool) -> Option<u64> {
    if may_enter(w, s) {
        return None;
    }
    let gate = if close_gate { gate_bit(s) } else { 0 };
    Some(w | waiting_bit(s) | gate)
}

/// Under the wait-queue lock, a waiter of `s` in deadline mode has waited long
/// enough: close its gate.
pub const fn close_gate(w: u64, s: State) -> u64 {
    w | waiting_bit(s) | gate_bit(s)
}

/// Under the wait-queue lock, hand `s` to all `n` queued waiters of `s` (a phase):
/// the word with their holds added and `s`'s waiting and gate bits cleared, or
/// `None` while the other state is still held (its last releaser will grant).
/// Arrivals queued behind a closed gate of the other state are granted too: gates
/// stop arrivals, never a hand-off.
pub const fn grant(w: u64, s: State, n: u64) -> Option<u64> {
    if holders(w, s.other()) != 0 || n > MAX_HOLDERS - holders(w, s) {
        return None;
    }
    Some((w + n * one(s)) & !(waiting_bit(s) | gate_bit(s)))
}

/// Under the wait-queue lock, the last queued waiter of `s` left without being
/// granted (killed): clear `s`'s waiting and gate bits.
pub const fn clear_waiting(w: u64, s: State) -> u64 {
    w & !(waiting_bit(s) | gate_bit(s))
}

/// Whether `w` breaks an invariant: both states held, or a gate closed without
/// waiters. Used by tests and debug assertions.
pub const fn is_inconsistent(w: u64) -> bool {
    (holders(w, State::Add) != 0 && holders(w, State::Block) != 0)
        || (gate_closed(w, State::Add) && !has_waiters(w, State::Add))
        || (gate_closed(w, State::Block) && !has_waiters(w, State::Block))
}
