// SPDX-License-Identifier: GPL-2.0

//! Per-state statistics of a `TwoStateLock`, shown in debugfs.

use super::state::State;
use core::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering::Relaxed},
};

/// Wait-time histogram buckets: bucket `b` counts waits below `2^b` microseconds
/// (the last one: everything longer).
pub(crate) const BUCKETS: usize = 24;

/// Counters of one state.
struct PerState {
    /// Acquisitions that did not wait. Counted without a locked instruction so the
    /// fast path stays one atomic RMW: concurrent increments may be lost, so this is
    /// a close lower bound.
    fast: AtomicU64,
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
            fast: ZERO,
            contended: ZERO,
            gate_closures: ZERO,
            phases: ZERO,
            max_wait_ns: ZERO,
            wait_hist: [ZERO; BUCKETS],
        }
    }
}

/// Statistics of both states.
pub(crate) struct Stats([PerState; 2]);

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
        Stats([PerState::new(), PerState::new()])
    }

    fn of(&self, s: State) -> &PerState {
        match s {
            State::Add => &self.0[0],
            State::Block => &self.0[1],
        }
    }

    #[inline]
    pub(crate) fn count_fast(&self, s: State) {
        let c = &self.of(s).fast;
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
            acquisitions: p.fast.load(Relaxed) + contended,
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
