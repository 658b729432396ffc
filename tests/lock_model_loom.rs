//! Loom checks of the `TwoStateLock` protocol (`locking/protocol.rs`, the code the
//! kernel module runs), instantiated over loom by `src/lock_model.rs`.
//!
//! Run (a separate target dir, so the normal build is not redone):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test --release --target-dir target/loom \
//!     --test lock_model_loom -- --nocapture --test-threads=1
//! ```
//!
//! Each test prints the number of interleavings loom explored, its preemption bound
//! and the time taken.
//!
//! Models of two threads are explored exhaustively (`EXHAUSTIVE`). Larger ones are
//! explored exhaustively up to a bound on preemptions (switches away from a thread
//! that could have gone on), given per test. Switches where a thread blocks (on the
//! mutex or a condition variable) are not preemptions and are always explored.
//! `LOOM_MAX_PREEMPTIONS=n` in the environment overrides the bound of every test.
//!
//! What every model checks, on every interleaving:
//! - mutual exclusion: each holder bumps an "inside" counter for its state and
//!   asserts the other state's is 0; and it writes its own `loom::cell::UnsafeCell`
//!   and reads those of the other threads in the other state, so loom reports
//!   any access of one state's critical section that does not happen-before the
//!   other state's (an ordering too weak on a grant or release would show here);
//! - no lost wake-up: every thread returns (loom fails a model in which all
//!   threads are blocked);
//! - the bypass bound, on a trace of every word change in modification order
//!   (`check_trace`): each step is the `state.rs` function of its kind, no word is
//!   inconsistent, waiters are granted in phases, and once a waiter's gate is closed
//!   no new arrival of the other state enters and at most one phase of it is granted
//!   before the waiter is;
//! - no fault (refused misuse) was reported, and the lock is left unlocked and
//!   usable.
//!
//! Interleavings explored (one run on a loaded 2-core machine; the whole file
//! takes about 4 minutes):
//!
//! ```text
//! model                                    threads bound   interleavings
//! mutual_exclusion_add_block_add                 3     3           2,931
//! mutual_exclusion_two_rounds                    2     -         208,038
//! mutual_exclusion_gate_off                      3     3          11,764
//! mutual_exclusion_gate_off_two_rounds           2     -         208,038
//! mutual_exclusion_deadline                      3     3         113,241
//! no_lost_wakeup_block_waits_for_two_adds        3     3          13,707
//! no_lost_wakeup_phases_both_ways                4     2           4,246
//! no_lost_wakeup_with_try_lock_and_ticks         3     3           5,926
//! bypass_bounded_gate_on                         3     3           4,800
//! bypass_bounded_deadline                        3     3          41,083
//! bypass_detected_gate_off                       3     3           4,945
//! killed_waiter_leaves_lock_usable               3     3          13,899
//! killed_waiter_after_release                    3     3           6,260
//! killed_waiters_traced                          3     3          12,144
//! killed_waiter_two_threads (On)                 2     -          46,597
//! killed_waiter_two_threads (Deadline)           2     -         396,657
//! killed_waiter_two_threads (Off)                2     -          46,597
//! nested_acquire_with_waiter_queued              3     3          14,937
//! nested_acquire_two_threads                     2     -           1,458
//! full_state_parks_arrivals                      3     3           2,161
//! ```
//!
//! `full_state_parks_arrivals` starts from a word with phantom holds (see
//! `ModelLock::add_phantom_holds`), so its trace cannot be replayed from
//! `UNLOCKED`: it checks exclusion, wake-ups and the faults, not the bypass bound.
#![cfg(loom)]

use loom::cell::UnsafeCell;
use loom::sync::atomic::AtomicUsize;
use loom::sync::Arc;
use loom::thread;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;
use tsfs::lock_model::{check_trace, Cancel, Fault, GateMode, ModelLock, State, TraceStats};
use tsfs::lock_state;

const ADD: State = State::Add;
const BLOCK: State = State::Block;

/// The default preemption bound (for models of three threads).
const PREEMPTIONS: Option<usize> = Some(3);

/// No preemption bound: every interleaving (models of two threads).
const EXHAUSTIVE: Option<usize> = None;

/// Explore `f` with loom and print how many interleavings that took.
fn explore<F: Fn() + Sync + Send + 'static>(name: &str, preemptions: Option<usize>, f: F) {
    static ITERATIONS: StdAtomicUsize = StdAtomicUsize::new(0);
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = preemptions;
    }
    let bound = builder.preemption_bound;
    let start = Instant::now();
    let before = ITERATIONS.load(Relaxed);
    builder.check(move || {
        ITERATIONS.fetch_add(1, Relaxed);
        f();
    });
    // Tests may run in parallel: count this test's iterations only approximately
    // then; run with --test-threads=1 for exact numbers.
    let n = ITERATIONS.load(Relaxed) - before;
    println!(
        "loom {name}: {n} interleavings, preemption bound {bound:?}, {:.2?}",
        start.elapsed()
    );
}

/// The lock (traced) and what the critical sections check.
struct Shared {
    lock: ModelLock,
    mode: GateMode,
    inside: [AtomicUsize; 2],
    /// Per thread and state: written by that thread while it holds that state.
    cells: Vec<[UnsafeCell<u64>; 2]>,
}

// SAFETY: the cells are accessed as `critical` describes, which the lock makes
// data-race free if it is correct; loom checks each access.
unsafe impl Sync for Shared {}

impl Shared {
    fn new(mode: GateMode, threads: usize) -> Arc<Shared> {
        Self::with_deadline(mode, 1, threads)
    }

    /// In deadline mode, waiters close their gate after `deadline_ns` of the model
    /// clock, which only `ModelLock::tick` advances.
    fn with_deadline(mode: GateMode, deadline_ns: u64, threads: usize) -> Arc<Shared> {
        Arc::new(Shared {
            lock: ModelLock::new_traced(mode, deadline_ns),
            mode,
            inside: [AtomicUsize::new(0), AtomicUsize::new(0)],
            cells: (0..threads)
                .map(|_| [UnsafeCell::new(0), UnsafeCell::new(0)])
                .collect(),
        })
    }

    /// The body of a critical section of thread `me` holding `s`.
    ///
    /// The "inside" counters are `Relaxed` on purpose: stronger orderings would
    /// synchronise the threads by themselves and hide an ordering missing in the
    /// lock from the cell checks. (Relaxed, the assertion cannot fail wrongly: if
    /// the lock orders the other state's exit before our entry, coherence makes us
    /// see it. A violation it misses through a stale read, the cells catch.)
    fn critical(&self, me: usize, s: State) {
        self.inside[s.index()].fetch_add(1, Relaxed);
        assert_eq!(
            self.inside[s.other().index()].load(Relaxed),
            0,
            "thread {me} holds {s:?} while {:?} is held",
            s.other()
        );
        // SAFETY: only thread `me` writes its cells, and only while it holds `s`;
        // other threads read them only while holding the other state. Loom checks
        // that the lock orders those accesses.
        self.cells[me][s.index()].with_mut(|p| unsafe { *p += 1 });
        for (t, cells) in self.cells.iter().enumerate() {
            if t != me {
                // SAFETY: as above.
                let _ = cells[s.other().index()].with(|p| unsafe { *p });
            }
        }
        self.inside[s.index()].fetch_sub(1, Relaxed);
    }

    /// Lock `s`, run a critical section, unlock.
    fn hold(&self, me: usize, s: State) {
        let _g = self.lock.lock(s);
        self.critical(me, s);
    }

    /// After every thread has returned: the lock is free and works, no fault was
    /// reported, and the trace keeps every rule and the bypass bound.
    fn finish(&self) -> TraceStats {
        assert_eq!(self.lock.word(), lock_state::UNLOCKED, "lock left held");
        for s in [ADD, BLOCK] {
            let g = self.lock.try_lock(s).expect("free lock refused try_lock");
            drop(g.nested().expect("nested acquire refused"));
        }
        assert_eq!(self.lock.word(), lock_state::UNLOCKED);
        assert_eq!(self.lock.faults(), []);
        let trace = self.lock.take_trace();
        match check_trace(&trace, self.mode) {
            Ok(stats) => stats,
            Err(e) => panic!("{e}\ntrace: {trace:#x?}"),
        }
    }
}

fn spawn(f: impl FnOnce() + Send + 'static) -> thread::JoinHandle<()> {
    thread::spawn(f)
}

/// Threads each taking their states in turn, with a critical section each time.
fn run_mix(mode: GateMode, plan: &'static [&'static [State]]) -> TraceStats {
    let sh = Shared::new(mode, plan.len());
    let handles: Vec<_> = plan
        .iter()
        .enumerate()
        .skip(1)
        .map(|(me, states)| {
            let sh = sh.clone();
            spawn(move || {
                for &s in states.iter() {
                    sh.hold(me, s);
                }
            })
        })
        .collect();
    for &s in plan[0] {
        sh.hold(0, s);
    }
    for h in handles {
        h.join().unwrap();
    }
    sh.finish()
}

// (a) Mutual exclusion, gate on.

#[test]
fn mutual_exclusion_add_block_add() {
    explore("mutual_exclusion_add_block_add", PREEMPTIONS, || {
        run_mix(GateMode::On, &[&[ADD], &[BLOCK], &[ADD]]);
    });
}

#[test]
fn mutual_exclusion_two_rounds() {
    explore("mutual_exclusion_two_rounds", EXHAUSTIVE, || {
        run_mix(GateMode::On, &[&[ADD, BLOCK], &[BLOCK, ADD]]);
    });
}

// (b) No lost wake-up: every thread finishes, whatever the order of releases,
// queueings and grants (loom fails a model that ends with threads blocked).

#[test]
fn no_lost_wakeup_block_waits_for_two_adds() {
    explore(
        "no_lost_wakeup_block_waits_for_two_adds",
        PREEMPTIONS,
        || {
            run_mix(GateMode::On, &[&[ADD, ADD], &[BLOCK], &[ADD]]);
        },
    );
}

#[test]
fn no_lost_wakeup_phases_both_ways() {
    // Four threads: preemption bound 2.
    explore("no_lost_wakeup_phases_both_ways", Some(2), || {
        run_mix(GateMode::On, &[&[BLOCK], &[ADD], &[BLOCK], &[ADD]]);
    });
}

#[test]
fn no_lost_wakeup_with_try_lock_and_ticks() {
    // try_lock never waits; ticks (timer interrupts) wake sleepers spuriously.
    explore(
        "no_lost_wakeup_with_try_lock_and_ticks",
        PREEMPTIONS,
        || {
            let sh = Shared::new(GateMode::On, 3);
            let sh1 = sh.clone();
            let t1 = spawn(move || sh1.hold(1, BLOCK));
            let sh2 = sh.clone();
            let t2 = spawn(move || {
                if let Some(_g) = sh2.lock.try_lock(ADD) {
                    sh2.critical(2, ADD);
                }
                sh2.lock.tick(1);
            });
            sh.hold(0, ADD);
            t1.join().unwrap();
            t2.join().unwrap();
            sh.finish();
        },
    );
}

// (c) Bounded bypass, on a trace of every word change.

/// Thread 0 takes add once (and ticks while holding it if `tick`), thread 1 block
/// once, thread 2 add twice; the trace must keep the bypass bound.
fn bypass_model(mode: GateMode, tick: bool) -> TraceStats {
    let sh = Shared::new(mode, 3);
    let sh1 = sh.clone();
    let waiter = spawn(move || sh1.hold(1, BLOCK));
    let sh2 = sh.clone();
    let adder = spawn(move || {
        sh2.hold(2, ADD);
        sh2.hold(2, ADD);
    });
    {
        let _g = sh.lock.lock(ADD);
        sh.critical(0, ADD);
        if tick {
            sh.lock.tick(1);
        }
    }
    waiter.join().unwrap();
    adder.join().unwrap();
    sh.finish()
}

#[test]
fn bypass_bounded_gate_on() {
    explore("bypass_bounded_gate_on", PREEMPTIONS, || {
        let stats = bypass_model(GateMode::On, false);
        assert_eq!(stats.max_arrivals_while_queued, 0);
    });
}

#[test]
fn bypass_bounded_deadline() {
    // Thread 0 ticks while holding add: if the block waiter is asleep by then, its
    // deadline (one tick) expires and it closes its gate.
    static GATES: StdAtomicUsize = StdAtomicUsize::new(0);
    static ARRIVALS: StdAtomicUsize = StdAtomicUsize::new(0);
    explore("bypass_bounded_deadline", PREEMPTIONS, || {
        let stats = bypass_model(GateMode::Deadline, true);
        GATES.fetch_max(stats.deadline_gates, Relaxed);
        ARRIVALS.fetch_max(stats.max_arrivals_while_queued, Relaxed);
    });
    // Both sides of the deadline were explored: a gate closed by a tick, and an
    // arrival let in before it.
    assert!(GATES.load(Relaxed) > 0, "no deadline ever expired");
    assert!(ARRIVALS.load(Relaxed) > 0, "no arrival before a deadline");
}

/// The bypass measure does catch an unfair lock: without a gate, some interleaving
/// lets an add arrival in after the block waiter queued (never with the gate, as
/// `bypass_bounded_gate_on` asserts).
#[test]
fn bypass_detected_gate_off() {
    static SEEN: StdAtomicUsize = StdAtomicUsize::new(0);
    explore("bypass_detected_gate_off", PREEMPTIONS, || {
        let stats = bypass_model(GateMode::Off, false);
        SEEN.fetch_max(stats.max_arrivals_while_queued, Relaxed);
    });
    assert!(
        SEEN.load(Relaxed) > 0,
        "no interleaving let an arrival bypass a waiter with the gate off"
    );
}

// (d) A killed waiter leaves the lock usable.

#[test]
fn killed_waiter_leaves_lock_usable() {
    // Thread 0 holds add; a killable block waiter queues and closes the gate; an add
    // arrival queues behind that gate. The kill comes while add is still held, or
    // after: either the waiter was granted (Ok) or it leaves and the add waiter it
    // held back is granted.
    explore("killed_waiter_leaves_lock_usable", PREEMPTIONS, || {
        let sh = Shared::new(GateMode::On, 3);
        let cancel = Arc::new(Cancel::new());
        let (sh1, c1) = (sh.clone(), cancel.clone());
        let killable = spawn(move || {
            if let Ok(_g) = sh1.lock.lock_killable(BLOCK, &c1) {
                sh1.critical(1, BLOCK);
            }
        });
        let sh2 = sh.clone();
        let adder = spawn(move || sh2.hold(2, ADD));
        {
            let _g = sh.lock.lock(ADD);
            sh.critical(0, ADD);
            sh.lock.kill(&cancel);
        }
        killable.join().unwrap();
        adder.join().unwrap();
        sh.finish();
    });
}

#[test]
fn killed_waiter_after_release() {
    // The kill races with the release that grants the killable waiter.
    explore("killed_waiter_after_release", PREEMPTIONS, || {
        let sh = Shared::new(GateMode::On, 3);
        let cancel = Arc::new(Cancel::new());
        let (sh1, c1) = (sh.clone(), cancel.clone());
        let killable = spawn(move || {
            if let Ok(_g) = sh1.lock.lock_killable(ADD, &c1) {
                sh1.critical(1, ADD);
            }
        });
        let sh2 = sh.clone();
        let blocker = spawn(move || sh2.hold(2, BLOCK));
        sh.hold(0, BLOCK);
        sh.lock.kill(&cancel);
        killable.join().unwrap();
        blocker.join().unwrap();
        sh.finish();
    });
}

#[test]
fn killed_waiters_traced() {
    // Two killable waiters of one state, one killed: the other stays queued (the
    // trace checks the phase accounting), and everything finishes.
    explore("killed_waiters_traced", PREEMPTIONS, || {
        let sh = Shared::new(GateMode::On, 3);
        let cancel = Arc::new(Cancel::new());
        let (sh1, c1) = (sh.clone(), cancel.clone());
        let killed = spawn(move || {
            if let Ok(_g) = sh1.lock.lock_killable(BLOCK, &c1) {
                sh1.critical(1, BLOCK);
            }
        });
        let sh2 = sh.clone();
        let other = spawn(move || {
            let never = Cancel::new();
            let _g = sh2.lock.lock_killable(BLOCK, &never).unwrap();
            sh2.critical(2, BLOCK);
        });
        {
            let _g = sh.lock.lock(ADD);
            sh.critical(0, ADD);
            sh.lock.kill(&cancel);
        }
        killed.join().unwrap();
        other.join().unwrap();
        sh.finish();
    });
}

#[test]
fn killed_waiter_two_threads() {
    // Every interleaving, in each mode (the deadline after one tick): the kill and
    // the tick race with the release that grants the killable waiter.
    for mode in [GateMode::On, GateMode::Deadline, GateMode::Off] {
        explore(
            &format!("killed_waiter_two_threads {mode:?}"),
            EXHAUSTIVE,
            move || {
                let sh = Shared::new(mode, 2);
                let cancel = Arc::new(Cancel::new());
                let (sh1, c1) = (sh.clone(), cancel.clone());
                let killable = spawn(move || {
                    if let Ok(_g) = sh1.lock.lock_killable(BLOCK, &c1) {
                        sh1.critical(1, BLOCK);
                    }
                });
                {
                    let _g = sh.lock.lock(ADD);
                    sh.critical(0, ADD);
                    sh.lock.tick(1);
                }
                sh.lock.kill(&cancel);
                killable.join().unwrap();
                sh.finish();
            },
        );
    }
}

// (e) Nested acquire while a waiter of the other state is queued.

#[test]
fn nested_acquire_with_waiter_queued() {
    explore("nested_acquire_with_waiter_queued", PREEMPTIONS, || {
        let sh = Shared::new(GateMode::On, 3);
        let sh1 = sh.clone();
        let blocker = spawn(move || sh1.hold(1, BLOCK));
        let sh2 = sh.clone();
        let adder = spawn(move || sh2.hold(2, ADD));
        {
            let g = sh.lock.lock(ADD);
            sh.critical(0, ADD);
            // The block waiter may have closed the gate by now: a plain lock(ADD)
            // here could wait for ourselves, the nested acquire must not.
            let g2 = g.nested().expect("nested acquire refused");
            sh.critical(0, ADD);
            drop(g2);
            sh.critical(0, ADD);
            drop(g);
        }
        blocker.join().unwrap();
        adder.join().unwrap();
        sh.finish();
    });
}

#[test]
fn nested_acquire_two_threads() {
    // Every interleaving: the block waiter queues (closing the gate) before or after
    // the nested acquire, and is granted by the last release.
    explore("nested_acquire_two_threads", EXHAUSTIVE, || {
        let sh = Shared::new(GateMode::On, 2);
        let sh1 = sh.clone();
        let blocker = spawn(move || sh1.hold(1, BLOCK));
        {
            let g = sh.lock.lock(ADD);
            sh.critical(0, ADD);
            let g2 = g.nested().expect("nested acquire refused");
            sh.critical(0, ADD);
            drop(g2);
            drop(g);
        }
        blocker.join().unwrap();
        sh.finish();
    });
}

// (f) Without the gate (and with the deadline gate), still mutual exclusion and
// no lost wake-up.

#[test]
fn mutual_exclusion_gate_off() {
    explore("mutual_exclusion_gate_off", PREEMPTIONS, || {
        run_mix(GateMode::Off, &[&[ADD, ADD], &[BLOCK], &[ADD]]);
    });
}

#[test]
fn mutual_exclusion_gate_off_two_rounds() {
    explore("mutual_exclusion_gate_off_two_rounds", EXHAUSTIVE, || {
        run_mix(GateMode::Off, &[&[ADD, BLOCK], &[BLOCK, ADD]]);
    });
}

#[test]
fn mutual_exclusion_deadline() {
    // Deadline one tick: thread 0 ticks the clock while holding add, so the block
    // waiter's deadline passes (if it has queued by then) and its timeout path
    // closes the gate.
    explore("mutual_exclusion_deadline", PREEMPTIONS, || {
        let sh = Shared::new(GateMode::Deadline, 3);
        let sh1 = sh.clone();
        let blocker = spawn(move || sh1.hold(1, BLOCK));
        let sh2 = sh.clone();
        let adder = spawn(move || sh2.hold(2, ADD));
        {
            let _g = sh.lock.lock(ADD);
            sh.critical(0, ADD);
            sh.lock.tick(1);
        }
        sh.hold(0, ADD);
        blocker.join().unwrap();
        adder.join().unwrap();
        sh.finish();
    });
}

// (g) The limits: a full state parks arrivals, and its last release grants them.

#[test]
fn full_state_parks_arrivals() {
    // Thread 0 holds add with the count at MAX_HOLDERS (the rest phantom holds of
    // tasks not modelled); thread 1's add arrival finds it full (and parks) or, if
    // it comes after the phantom holds leave, enters. Thread 0's release is then
    // the last, and must grant the parked arrival. Thread 2 wants block.
    explore("full_state_parks_arrivals", PREEMPTIONS, || {
        let sh = Shared::new(GateMode::On, 3);
        sh.lock.add_phantom_holds(ADD, lock_state::MAX_HOLDERS - 1);
        let g = sh.lock.lock(ADD);
        assert!(g.nested().is_none(), "nested acquire past MAX_HOLDERS");
        assert!(sh.lock.try_lock(ADD).is_none(), "try_lock past MAX_HOLDERS");
        let sh1 = sh.clone();
        let arrival = spawn(move || sh1.hold(1, ADD));
        let sh2 = sh.clone();
        let blocker = spawn(move || sh2.hold(2, BLOCK));
        sh.critical(0, ADD);
        sh.lock.drop_phantom_holds(ADD, lock_state::MAX_HOLDERS - 1);
        drop(g);
        arrival.join().unwrap();
        blocker.join().unwrap();
        // The one fault: the refused nested acquire.
        let faults = sh.lock.faults();
        assert_eq!(faults, [Fault::NestedOverflow]);
        sh.lock.clear_faults();
        // The trace starts from the phantom word, so it is not replayed (see the
        // header); `finish` checks its own steps from here.
        sh.lock.take_trace();
        sh.finish();
    });
}
