// SPDX-License-Identifier: GPL-2.0

//! Building blocks shared by the in-kernel lock tests and benchmarks: a lock with
//! exclusion checking, a stream of holders that keeps one state continuously held,
//! and waiters whose wait is timed.

use super::{
    state::{GateMode, State},
    Guard, TwoStateLock,
};
use crate::kapi::{
    kthread::KThread,
    sync::rwsem::{RwSem, RwSemGuard},
    time::{now_ns, sleep_us},
};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use kernel::{c_str, prelude::*, sync::Arc};

/// A lock the tests and benchmarks drive in either state: `TwoStateLock`, or an
/// rwsem as the baseline (*add* = read, *block* = write).
pub(crate) trait TestLock: Send + Sync + 'static {
    /// Held while alive.
    type Held<'a>
    where
        Self: 'a;
    /// Takes the lock in state `s`.
    fn acquire(&self, s: State) -> Self::Held<'_>;
}

impl TestLock for TwoStateLock {
    type Held<'a> = Guard<'a>;
    #[inline]
    fn acquire(&self, s: State) -> Guard<'_> {
        self.lock(s)
    }
}

impl TestLock for RwSem {
    type Held<'a> = RwSemGuard<'a>;
    #[inline]
    fn acquire(&self, s: State) -> RwSemGuard<'_> {
        match s {
            State::Add => self.read(),
            State::Block => self.write(),
        }
    }
}

/// A lock under test, with counters that catch a broken exclusion.
#[pin_data]
pub(crate) struct Shared<L> {
    #[pin]
    pub(crate) lock: L,
    /// Holders inside, per state, as counted by the test code itself.
    pub(crate) inside: [AtomicU64; 2],
    /// Times a holder saw the other state inside.
    pub(crate) violations: AtomicU64,
    /// Tells streams and hammering threads to finish.
    pub(crate) stop: AtomicBool,
}

/// How a stream keeps its state held: `threads` holders, each holding `hold_us`,
/// then keeping the hold until another holder is inside (so the state is never
/// free), but at most `partner_wait_us` more.
#[derive(Clone, Copy)]
pub(crate) struct StreamConfig {
    pub(crate) threads: usize,
    pub(crate) hold_us: u32,
    pub(crate) partner_wait_us: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            threads: 3,
            hold_us: 2000,
            partner_wait_us: 20_000,
        }
    }
}

/// A running stream.
pub(crate) struct Stream {
    threads: KVec<KThread>,
    ops: Arc<AtomicU64>,
}

/// A thread waiting for (then briefly holding) one state.
pub(crate) struct Waiter {
    _thread: KThread,
    /// Nanoseconds it waited, once it got in (0 before).
    waited_ns: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
}

impl Waiter {
    /// Polls for up to `ms` milliseconds; whether the waiter got in.
    pub(crate) fn wait_done(&self, ms: u64) -> bool {
        let end = now_ns() + ms * 1_000_000;
        while !self.done.load(SeqCst) {
            if now_ns() > end {
                return false;
            }
            sleep_us(500);
        }
        true
    }

    /// Nanoseconds waited (valid once done).
    pub(crate) fn waited_ns(&self) -> u64 {
        self.waited_ns.load(SeqCst)
    }
}

fn idx(s: State) -> usize {
    s.index()
}

impl Shared<TwoStateLock> {
    /// A new `TwoStateLock` in `mode` (gate deadline `deadline_ms` in deadline mode).
    pub(crate) fn new(mode: GateMode, deadline_ms: u32) -> Result<Arc<Self>> {
        Self::with(crate::new_two_state_lock!(
            mode,
            deadline_ms,
            "tsfs_test_lock"
        ))
    }
}

impl Shared<RwSem> {
    /// A new rwsem, the baseline.
    pub(crate) fn new_rwsem() -> Result<Arc<Self>> {
        Self::with(RwSem::new(
            c_str!("tsfs_test_rwsem"),
            crate::tsfs_static_class_key!(),
        ))
    }
}

impl<L: TestLock> Shared<L> {
    fn with(lock: impl PinInit<L>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Shared {
                lock <- lock,
                inside: [AtomicU64::new(0), AtomicU64::new(0)],
                violations: AtomicU64::new(0),
                stop: AtomicBool::new(false),
            }),
            GFP_KERNEL,
        )
    }

    fn enter(&self, s: State) {
        self.inside[idx(s)].fetch_add(1, SeqCst);
        if self.inside[idx(s.other())].load(SeqCst) != 0 {
            self.violations.fetch_add(1, SeqCst);
        }
    }

    fn exit(&self, s: State) {
        self.inside[idx(s)].fetch_sub(1, SeqCst);
    }

    /// Called with `s` held: records the hold, checks exclusion, spins `spins` times.
    pub(crate) fn hold(&self, s: State, spins: u32) {
        self.enter(s);
        for _ in 0..spins {
            core::hint::spin_loop();
        }
        self.exit(s);
    }

    /// Starts a stream keeping `s` continuously held.
    pub(crate) fn start_stream(self: &Arc<Self>, s: State, cfg: StreamConfig) -> Result<Stream> {
        self.stop.store(false, SeqCst);
        let ops = Arc::new(AtomicU64::new(0), GFP_KERNEL)?;
        let mut threads = KVec::new();
        for _ in 0..cfg.threads {
            let (sh, ops) = (self.clone(), ops.clone());
            let t = KThread::spawn(c_str!("tsfs-stream"), move || {
                while !sh.stop.load(SeqCst) {
                    let g = sh.lock.acquire(s);
                    sh.enter(s);
                    sleep_us(cfg.hold_us);
                    let until = now_ns() + cfg.partner_wait_us * 1000;
                    while sh.inside[idx(s)].load(SeqCst) < 2
                        && !sh.stop.load(SeqCst)
                        && now_ns() < until
                    {
                        sleep_us(50);
                    }
                    sh.exit(s);
                    drop(g);
                    ops.fetch_add(1, SeqCst);
                }
            })?;
            threads.push(t, GFP_KERNEL)?;
            // Stagger the holders so their holds overlap.
            sleep_us(cfg.hold_us.checked_div(cfg.threads as u32).unwrap_or(0));
        }
        Ok(Stream { threads, ops })
    }

    /// Stops a stream; the number of holds it took.
    pub(crate) fn stop_stream(&self, stream: Stream) -> u64 {
        self.stop.store(true, SeqCst);
        drop(stream.threads);
        stream.ops.load(SeqCst)
    }

    /// Starts a thread that takes `s` once, timing its wait.
    pub(crate) fn spawn_waiter(self: &Arc<Self>, s: State) -> Result<Waiter> {
        let waited_ns = Arc::new(AtomicU64::new(0), GFP_KERNEL)?;
        let done = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
        let (sh, w, d) = (self.clone(), waited_ns.clone(), done.clone());
        let thread = KThread::spawn(c_str!("tsfs-waiter"), move || {
            let start = now_ns();
            let g = sh.lock.acquire(s);
            w.store(now_ns().saturating_sub(start).max(1), SeqCst);
            sh.hold(s, 10);
            drop(g);
            d.store(true, SeqCst);
        })?;
        Ok(Waiter {
            _thread: thread,
            waited_ns,
            done,
        })
    }

    /// Times one waiter of `s`; `None` if it did not get in within `cap_ms`
    /// (it is then left to finish when the caller stops what holds it back).
    pub(crate) fn measure_wait(self: &Arc<Self>, s: State, cap_ms: u64) -> Result<Option<u64>> {
        let w = self.spawn_waiter(s)?;
        if w.wait_done(cap_ms) {
            Ok(Some(w.waited_ns()))
        } else {
            // Stop the stream so the waiter gets in and dropping `w` can join it.
            self.stop.store(true, SeqCst);
            Ok(None)
        }
    }
}
