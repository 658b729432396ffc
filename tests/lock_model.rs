//! Stress and starvation tests of the `TwoStateLock` model (`src/lock_model.rs`)
//! with real threads. The exhaustive checks are in `lock_model_loom.rs`.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use tsfs::lock_model::{check_trace, Cancel, GateMode, ModelLock, State};
use tsfs::lock_state;

const ADD: State = State::Add;
const BLOCK: State = State::Block;

/// Per-state "inside" counters and a count of exclusion violations seen.
#[derive(Default)]
struct Inside {
    count: [AtomicUsize; 2],
    violations: AtomicUsize,
}

impl Inside {
    fn critical(&self, s: State) {
        self.count[s.index()].fetch_add(1, SeqCst);
        if self.count[s.other().index()].load(SeqCst) != 0 {
            self.violations.fetch_add(1, SeqCst);
        }
        std::hint::spin_loop();
        self.count[s.index()].fetch_sub(1, SeqCst);
    }
}

/// Eight threads, four per state, for `run`: plain, nested, try and killable
/// acquires, with a killer thread; returns each thread's acquisitions.
fn stress(lock: ModelLock, run: Duration) -> (Vec<u64>, usize, Arc<ModelLock>) {
    const THREADS: usize = 8;
    let lock = Arc::new(lock);
    let inside = Arc::new(Inside::default());
    let stop = Arc::new(AtomicBool::new(false));
    // The kill requests of the killable threads, replaced at each attempt.
    let cancels: Arc<Vec<Mutex<Arc<Cancel>>>> = Arc::new(
        (0..THREADS)
            .map(|_| Mutex::new(Arc::new(Cancel::new())))
            .collect(),
    );
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (lock, inside, stop, cancels) =
                (lock.clone(), inside.clone(), stop.clone(), cancels.clone());
            thread::spawn(move || {
                let s = if t % 2 == 0 { ADD } else { BLOCK };
                let mut done = 0u64;
                let mut i = 0u64;
                while !stop.load(SeqCst) {
                    i += 1;
                    let got = if t >= 6 {
                        let cancel = Arc::new(Cancel::new());
                        *cancels[t].lock().unwrap() = cancel.clone();
                        lock.lock_killable(s, &cancel).ok()
                    } else if i % 5 == 0 {
                        lock.try_lock(s)
                    } else {
                        Some(lock.lock(s))
                    };
                    let Some(g) = got else { continue };
                    inside.critical(s);
                    if i % 7 == 0 {
                        let g2 = g.nested().expect("nested acquire refused");
                        inside.critical(s);
                        drop(g2);
                        inside.critical(s);
                    }
                    drop(g);
                    done += 1;
                    if i % 64 == 0 {
                        thread::yield_now();
                    }
                }
                done
            })
        })
        .collect();
    let killer = {
        let (lock, stop, cancels) = (lock.clone(), stop.clone(), cancels.clone());
        thread::spawn(move || {
            let mut k = 0;
            while !stop.load(SeqCst) {
                let t = 6 + k % 2;
                k += 1;
                let c = cancels[t].lock().unwrap().clone();
                lock.kill(&c);
                thread::sleep(Duration::from_micros(200));
            }
        })
    };
    thread::sleep(run);
    stop.store(true, SeqCst);
    let done: Vec<u64> = workers.into_iter().map(|h| h.join().unwrap()).collect();
    killer.join().unwrap();
    (done, inside.violations.load(SeqCst), lock)
}

fn check_stress(lock: ModelLock, progress: bool) {
    let mode = lock.mode();
    let (done, violations, lock) = stress(lock, Duration::from_millis(500));
    println!("{mode:?}: acquisitions per thread {done:?}");
    assert_eq!(violations, 0, "{mode:?}: both states held at once");
    assert_eq!(
        lock.word(),
        lock_state::UNLOCKED,
        "{mode:?}: lock left held"
    );
    if progress {
        assert!(
            done.iter().all(|&n| n > 0),
            "{mode:?}: a thread made no progress: {done:?}"
        );
    }
    assert!(lock.try_lock(ADD).is_some() && lock.try_lock(BLOCK).is_some());
    assert_eq!(lock.faults(), []);
}

#[test]
fn stress_gate_on() {
    check_stress(ModelLock::new(GateMode::On), true);
}

#[test]
fn stress_deadline() {
    check_stress(ModelLock::with_deadline(5_000_000), true);
}

#[test]
fn stress_gate_off() {
    // Without the gate a thread may starve: only exclusion is checked.
    check_stress(ModelLock::new(GateMode::Off), false);
}

/// A traced run: every word change, in order, checked against `lock_state` and the
/// bypass bound.
fn traced(mode: GateMode) {
    let lock = Arc::new(ModelLock::new_traced(mode, 1_000_000));
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let lock = lock.clone();
            thread::spawn(move || {
                let s = if t % 2 == 0 { ADD } else { BLOCK };
                let never = Cancel::new();
                // Killed in advance: gets the lock only if it need not wait.
                let killed = Cancel::new();
                lock.kill(&killed);
                for i in 0..3000u32 {
                    let g = if t == 3 && i % 2 == 0 {
                        match lock.lock_killable(s, &killed) {
                            Ok(g) => g,
                            Err(_) => continue,
                        }
                    } else if i % 3 == 0 {
                        lock.lock_killable(s, &never).unwrap()
                    } else {
                        lock.lock(s)
                    };
                    if i % 5 == 0 {
                        drop(g.nested().expect("nested acquire refused"));
                    }
                    if i % 100 == 0 {
                        // Hold on a while now and then, so that deadlines expire.
                        thread::sleep(Duration::from_micros(1500));
                    }
                    drop(g);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let trace = lock.take_trace();
    let stats = check_trace(&trace, mode).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
    println!("{mode:?}: {} steps, {stats:?}", trace.len());
    assert!(stats.waiters > 0, "{mode:?}: no contention");
}

#[test]
fn traced_gate_on() {
    traced(GateMode::On);
}

#[test]
fn traced_deadline() {
    traced(GateMode::Deadline);
}

#[test]
fn traced_gate_off() {
    traced(GateMode::Off);
}

/// Four threads hold add back to back: a holder leaves only once another add holder
/// is in, so add is never free on its own. Without a gate new add arrivals always
/// get in, so that lasts until `stop`; with a gate, arrivals queue behind a block
/// waiter, so a holder stops waiting for a successor after `patience`.
struct AddStream {
    stop: Arc<AtomicBool>,
    inside: Arc<AtomicUsize>,
    threads: Vec<thread::JoinHandle<u64>>,
}

impl AddStream {
    fn start(lock: &Arc<ModelLock>, patience: Option<Duration>) -> AddStream {
        let stop = Arc::new(AtomicBool::new(false));
        let inside = Arc::new(AtomicUsize::new(0));
        let threads = (0..4)
            .map(|_| {
                let (lock, stop, inside) = (lock.clone(), stop.clone(), inside.clone());
                thread::spawn(move || {
                    let mut rounds = 0;
                    while !stop.load(SeqCst) {
                        let g = lock.lock(ADD);
                        inside.fetch_add(1, SeqCst);
                        rounds += 1;
                        thread::sleep(Duration::from_micros(500));
                        let since = Instant::now();
                        // Leave only if another holder stays in (or on give-up).
                        while inside
                            .fetch_update(SeqCst, SeqCst, |n| (n >= 2).then(|| n - 1))
                            .is_err()
                        {
                            if stop.load(SeqCst) || patience.is_some_and(|p| since.elapsed() > p) {
                                inside.fetch_sub(1, SeqCst);
                                break;
                            }
                            thread::sleep(Duration::from_micros(100));
                        }
                        drop(g);
                    }
                    rounds
                })
            })
            .collect();
        let s = AddStream {
            stop,
            inside,
            threads,
        };
        // Let the stream settle: two holders in.
        let t = Instant::now();
        while s.inside.load(SeqCst) < 2 {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "add stream never started"
            );
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(20));
        s
    }

    fn stop(self) -> u64 {
        self.stop.store(true, SeqCst);
        self.threads.into_iter().map(|h| h.join().unwrap()).sum()
    }
}

/// Start a block waiter; returns when it got in and how long it waited.
fn block_waiter(lock: &Arc<ModelLock>) -> (Arc<Mutex<Option<Duration>>>, thread::JoinHandle<()>) {
    let got = Arc::new(Mutex::new(None));
    let (lock, got2) = (lock.clone(), got.clone());
    let h = thread::spawn(move || {
        let t = Instant::now();
        let _g = lock.lock(BLOCK);
        *got2.lock().unwrap() = Some(t.elapsed());
    });
    (got, h)
}

fn wait_for(got: &Mutex<Option<Duration>>, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Some(d) = *got.lock().unwrap() {
            return Some(d);
        }
        thread::sleep(Duration::from_millis(1));
    }
    *got.lock().unwrap()
}

/// With the gate, the block waiter waits only for the add holders present when it
/// queued (each gives up on a successor after 20 ms).
#[test]
fn gate_on_bounds_block_wait() {
    let lock = Arc::new(ModelLock::new(GateMode::On));
    let stream = AddStream::start(&lock, Some(Duration::from_millis(20)));
    let (got, h) = block_waiter(&lock);
    // Expected about 20 ms; 2 s leaves room for a loaded machine.
    let waited = wait_for(&got, Duration::from_secs(2));
    let rounds = stream.stop();
    h.join().unwrap();
    println!("gate on: block waited {waited:?}; {rounds} add rounds");
    assert!(waited.is_some(), "block waiter starved with the gate on");
}

/// Deadline mode: the same, once the waiter's deadline (10 ms) passed.
#[test]
fn deadline_bounds_block_wait() {
    let lock = Arc::new(ModelLock::with_deadline(10_000_000));
    let stream = AddStream::start(&lock, Some(Duration::from_millis(20)));
    let (got, h) = block_waiter(&lock);
    let waited = wait_for(&got, Duration::from_secs(2));
    let rounds = stream.stop();
    h.join().unwrap();
    println!("deadline: block waited {waited:?}; {rounds} add rounds");
    assert!(waited.is_some(), "block waiter starved in deadline mode");
}

/// Without the gate the same stream starves the block waiter (this is what the
/// gate is for, and shows the tests above can see starvation).
#[test]
fn gate_off_starves_block_waiter() {
    let lock = Arc::new(ModelLock::new(GateMode::Off));
    let stream = AddStream::start(&lock, None);
    let (got, h) = block_waiter(&lock);
    let waited = wait_for(&got, Duration::from_millis(200));
    let rounds = stream.stop();
    h.join().unwrap();
    println!("gate off: block got in after {waited:?} (expected never); {rounds} add rounds");
    assert!(
        waited.is_none(),
        "block waiter got in while add was held back to back"
    );
    assert!(got.lock().unwrap().is_some());
    assert_eq!(lock.word(), lock_state::UNLOCKED);
}
