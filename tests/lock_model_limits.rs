//! The lock at its limits: the state word (`locking/state.rs`) driven to
//! `MAX_HOLDERS` and back, and the protocol (`locking/protocol.rs`, through the
//! userspace model) refusing what would overflow or underflow, with a fault report
//! and an intact word, never an unwakeable waiter.
#![cfg(not(loom))]

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tsfs::lock_model::{Fault, GateMode, ModelLock, State};
use tsfs::lock_state::{self as st, MAX_HOLDERS, UNLOCKED};

const ADD: State = State::Add;
const BLOCK: State = State::Block;

/// Holds taken one by one near both ends of the range.
const EDGE: u64 = 1 << 16;

/// Holds from 0 to `MAX_HOLDERS` and back, through the state functions only:
/// each step is consistent, the limit refuses arrivals and nested holds without
/// touching the other field, and the releases come back to `UNLOCKED`.
#[test]
fn state_word_to_max_holders_and_back() {
    for s in [ADD, BLOCK] {
        let mut w = UNLOCKED;
        for (from, to) in [(0, EDGE), (MAX_HOLDERS - EDGE, MAX_HOLDERS)] {
            // The middle of the range is skipped: the functions are the same there.
            w = from * st::one(s);
            for n in from..to {
                w = st::try_acquire(w, s).unwrap_or_else(|| panic!("{s:?} refused at {n}"));
            }
            assert_eq!(st::holders(w, s), to);
            assert!(!st::is_inconsistent(w));
        }
        assert_eq!(st::holders(w, s), MAX_HOLDERS);
        assert_eq!(st::holders(w, s.other()), 0);
        assert!(!st::is_inconsistent(w));
        assert!(!st::may_enter(w, s));
        assert_eq!(st::try_acquire(w, s), None, "arrival past the limit");
        assert_eq!(st::acquire_nested(w, s), None, "nested hold past the limit");
        // A full state parks arrivals as waiters of their own state ...
        let parked = st::mark_waiting(w, s, true).expect("a full state must park");
        assert!(st::has_waiters(parked, s) && !st::is_inconsistent(parked));
        // ... which no release but the last hands the lock to,
        assert!(!st::release_must_grant(parked, s));
        // and a grant that would overflow is refused, leaving them queued.
        assert_eq!(st::grant(parked, s, 1), None);
        // Back down.
        for (from, to) in [(MAX_HOLDERS, MAX_HOLDERS - EDGE), (EDGE, 0)] {
            w = from * st::one(s);
            for n in (to..from).rev() {
                assert!(!st::release_needs_slow_path(w, s), "{s:?} release at {n}");
                assert!(!st::release_must_grant(w, s));
                w -= st::one(s);
            }
        }
        assert_eq!(w, UNLOCKED);
        // The last release of a parked word must hand over.
        let last = st::one(s) | st::waiting_bit(s);
        assert!(st::release_must_grant(last, s));
        assert_eq!(
            st::grant(last - st::one(s), s, 3),
            Some(3 * st::one(s)),
            "the parked arrivals are granted together"
        );
    }
}

/// A release with nothing held, or on an inconsistent word, takes the slow path
/// (which refuses it) instead of corrupting the word.
#[test]
fn state_word_release_checks() {
    for s in [ADD, BLOCK] {
        assert!(
            st::release_needs_slow_path(UNLOCKED, s),
            "underflow not caught"
        );
        assert!(st::release_needs_slow_path(st::one(s.other()), s));
        let both = st::one(s) | st::one(s.other());
        assert!(st::is_inconsistent(both));
        assert!(st::release_needs_slow_path(both + st::one(s), s));
        assert!(!st::release_needs_slow_path(2 * st::one(s), s));
    }
}

/// Waits until `f` holds, for at most 5 s.
fn eventually(what: &str, f: impl Fn() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(5), "never: {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// At `MAX_HOLDERS`: a nested acquire is refused with a fault and leaves the word
/// alone; an arrival parks (in every gate mode) and the last release grants it.
#[test]
fn full_state_parks_until_last_release() {
    for mode in [GateMode::On, GateMode::Deadline, GateMode::Off] {
        let lock = Arc::new(ModelLock::with_mode_deadline(mode, 1_000_000));
        lock.add_phantom_holds(ADD, MAX_HOLDERS - 1);
        let g = lock.lock(ADD);
        let full = lock.word();
        assert_eq!(st::holders(full, ADD), MAX_HOLDERS);
        assert!(g.nested().is_none(), "{mode:?}: nested past the limit");
        assert_eq!(lock.faults(), [Fault::NestedOverflow]);
        assert_eq!(
            lock.word(),
            full,
            "{mode:?}: refused nested changed the word"
        );
        assert!(lock.try_lock(ADD).is_none());
        let l2 = lock.clone();
        let arrival = thread::spawn(move || drop(l2.lock(ADD)));
        eventually("the arrival parks", || lock.queued(ADD) == 1);
        assert!(st::has_waiters(lock.word(), ADD));
        // Not the last release: still parked.
        lock.drop_phantom_holds(ADD, MAX_HOLDERS - 1);
        thread::sleep(Duration::from_millis(20));
        assert_eq!(
            lock.queued(ADD),
            1,
            "{mode:?}: granted before the last release"
        );
        // The last release grants it.
        drop(g);
        arrival.join().unwrap();
        assert_eq!(lock.word(), UNLOCKED, "{mode:?}");
        assert_eq!(lock.faults(), [Fault::NestedOverflow]);
    }
}

/// A release of a state that is not held (a caller bug the guards rule out) is
/// refused with a fault, and the word is left as it was.
#[test]
fn release_underflow_refused() {
    let lock = ModelLock::new(GateMode::On);
    let g = lock.lock(BLOCK);
    let before = lock.word();
    lock.release_unowned(ADD);
    assert_eq!(lock.word(), before, "underflow changed the word");
    assert_eq!(lock.faults(), [Fault::ReleaseUnderflow]);
    drop(g);
    assert_eq!(lock.word(), UNLOCKED);
    assert!(lock.try_lock(ADD).is_some());
}
