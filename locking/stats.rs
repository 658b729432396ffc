// SPDX-License-Identifier: GPL-2.0

//! Per-state statistics of `TwoStateLock`s, per lock class (construction site),
//! like lock_stat. Shown in `/sys/kernel/debug/tsfs/lock_stats`.

use super::state::State;
use core::{
    fmt::Write,
    ptr::null_mut,
    sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering::Relaxed},
};
use kernel::str::CStr;

/// Most lock classes shown in debugfs; later ones still count, unlisted.
const MAX_CLASSES: usize = 32;

/// The classes that have constructed a lock, for the debugfs listing.
static REGISTRY: [AtomicPtr<Stats>; MAX_CLASSES] =
    [const { AtomicPtr::new(null_mut()) }; MAX_CLASSES];

/// Wait-time histogram buckets: bucket `b` counts waits below `2^b` microseconds
/// (the last one: everything longer).
pub(crate) const BUCKETS: usize = 24;

/// Counters of one state.
struct PerState {
    /// Acquisitions, counted only with `CONFIG_LOCK_STAT` (as lock_stat counts),
    /// so that without it an uncontended acquire writes nothing but the lock word.
    /// Without a locked instruction: concurrent increments may be lost, so this is
    /// a close lower bound.
    acquisitions: AtomicU64,
    /// Acquisitions that had to wait (exact).
    contended: AtomicU64,
    /// Times a waiter of this state closed the gate to the other state.
    gate_closures: AtomicU64,
    /// Phases: times this state's waiters were granted together.
    phases: AtomicU64,
    max_wait_ns: AtomicU64,
    wait_hist: [AtomicU64; BUCKETS],
}

impl PerState {
    const fn new() -> Self {
        #[allow(clippy::declare_interior_mutable_const)]
        const ZERO: AtomicU64 = AtomicU64::new(0);
        PerState {
            acquisitions: ZERO,
            contended: ZERO,
            gate_closures: ZERO,
            phases: ZERO,
            max_wait_ns: ZERO,
            wait_hist: [ZERO; BUCKETS],
        }
    }
}

/// Statistics of both states, for one lock class.
pub(crate) struct Stats {
    states: [PerState; 2],
    name: AtomicPtr<u8>,
    registered: AtomicBool,
}

/// Defines the static [`Stats`] of a lock class at the call site.
#[macro_export]
macro_rules! tsfs_static_lock_stats {
    () => {{
        static STATS: $crate::locking::Stats = $crate::locking::Stats::new();
        &STATS
    }};
}

/// A copy of one state's counters.
#[derive(Clone, Copy, Default)]
#[allow(dead_code)]
pub(crate) struct Snapshot {
    pub(crate) acquisitions: u64,
    pub(crate) contended: u64,
    pub(crate) gate_closures: u64,
    pub(crate) phases: u64,
    pub(crate) max_wait_ns: u64,
}

fn bucket(wait_ns: u64) -> usize {
    let us = wait_ns / 1000;
    let b = (u64::BITS - us.leading_zeros()) as usize;
    b.min(BUCKETS - 1)
}

impl Stats {
    pub(crate) const fn new() -> Self {
        Stats {
            states: [PerState::new(), PerState::new()],
            name: AtomicPtr::new(null_mut()),
            registered: AtomicBool::new(false),
        }
    }

    /// Lists this class (named `name`) in debugfs; only the first call counts.
    pub(crate) fn register(&'static self, name: &'static CStr) {
        if self.registered.swap(true, Relaxed) {
            return;
        }
        self.name
            .store(name.as_char_ptr().cast_mut().cast(), Relaxed);
        let me = core::ptr::from_ref(self).cast_mut();
        for slot in REGISTRY.iter() {
            if slot
                .compare_exchange(null_mut(), me, Relaxed, Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    fn of(&self, s: State) -> &PerState {
        match s {
            State::Add => &self.states[0],
            State::Block => &self.states[1],
        }
    }

    /// Counts an acquisition (call only with `CONFIG_LOCK_STAT`).
    #[inline]
    pub(crate) fn count_acquired(&self, s: State) {
        let c = &self.of(s).acquisitions;
        c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
    }

    pub(crate) fn count_slow(&self, s: State, wait_ns: u64) {
        let p = self.of(s);
        p.contended.fetch_add(1, Relaxed);
        p.max_wait_ns.fetch_max(wait_ns, Relaxed);
        if let Some(h) = p.wait_hist.get(bucket(wait_ns)) {
            h.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn count_gate_closed(&self, s: State) {
        self.of(s).gate_closures.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_phase(&self, s: State) {
        self.of(s).phases.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self, s: State) -> Snapshot {
        let p = self.of(s);
        let contended = p.contended.load(Relaxed);
        Snapshot {
            acquisitions: p.acquisitions.load(Relaxed),
            contended,
            gate_closures: p.gate_closures.load(Relaxed),
            phases: p.phases.load(Relaxed),
            max_wait_ns: p.max_wait_ns.load(Relaxed),
        }
    }

    /// Writes a human-readable report of both states.
    pub(crate) fn write_report(&self, out: &mut impl Write) -> core::fmt::Result {
        for s in [State::Add, State::Block] {
            let n = self.snapshot(s);
            writeln!(
                out,
                "{:?}: acquisitions {} contended {} gate_closures {} phases {} max_wait_us {}",
                s,
                n.acquisitions,
                n.contended,
                n.gate_closures,
                n.phases,
                n.max_wait_ns / 1000
            )?;
            write!(out, "{:?} wait histogram (us, <2^b):", s)?;
            for (b, h) in self.of(s).wait_hist.iter().enumerate() {
                let v = h.load(Relaxed);
                if v != 0 {
                    write!(out, " <{}:{}", 1u64 << b, v)?;
                }
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

/// Writes the report of every registered lock class.
pub(crate) fn write_all(out: &mut impl Write) -> core::fmt::Result {
    for slot in REGISTRY.iter() {
        let p = slot.load(Relaxed);
        if p.is_null() {
            continue;
        }
        // SAFETY: only `&'static Stats` are stored in the registry.
        let stats = unsafe { &*p };
        let name = stats.name.load(Relaxed);
        if !name.is_null() {
            // SAFETY: `name` was stored from a `&'static CStr` by `register`.
            let name = unsafe { CStr::from_char_ptr(name.cast()) };
            writeln!(out, "class {}", name)?;
        }
        stats.write_report(out)?;
    }
    Ok(())
}
