// SPDX-License-Identifier: GPL-2.0

//! Lock benchmarks, run with `echo lock > /sys/kernel/debug/tsfs/bench`. Results are
//! printed on the kernel log as `bench:` lines; every comparison is measured side by
//! side in the same run, and the ratios are what matter (absolute times under QEMU
//! TCG mean little).

use super::{
    harness::{Shared, StreamConfig, TestLock},
    state::{GateMode, State},
};
use crate::kapi::{
    kthread::KThread,
    time::{cond_resched, now_ns, sleep_ms},
};
use core::sync::atomic::{
    AtomicU64,
    Ordering::{Relaxed, SeqCst},
};
use kernel::{c_str, prelude::*, sync::Arc};

const UNCONTENDED_ITERS: u64 = 2_000_000;
const ROUNDS: usize = 7;
const WAIT_TRIALS: usize = 30;
const STARVED_CAP_MS: u64 = 1000;
const MIXED_MS: u32 = 1000;

/// Runs every lock benchmark.
pub(crate) fn run_lock_benchmarks() -> Result {
    uncontended()?;
    pr_info!(
        "bench: wait of one waiter while a stream keeps the other state held (ms, {} trials)\n",
        WAIT_TRIALS
    );
    pr_info!(
        "bench:   {:<34} {:>8} {:>8} {:>8}\n",
        "lock",
        "p50",
        "p99",
        "max"
    );
    wait_under_stream("TwoStateLock gate on", &Shared::new(GateMode::On, 0)?)?;
    wait_under_stream(
        "TwoStateLock deadline 10 ms",
        &Shared::new(GateMode::Deadline, 10)?,
    )?;
    wait_under_stream("TwoStateLock gate off", &Shared::new(GateMode::Off, 0)?)?;
    wait_under_stream("rwsem (writer under readers)", &Shared::new_rwsem()?)?;
    hammering()?;
    mixed_throughput()?;
    Ok(())
}

/// Nanoseconds per acquire+release of `f`'s lock, `UNCONTENDED_ITERS` times.
fn time_loop(mut f: impl FnMut()) -> u64 {
    let start = now_ns();
    for i in 0..UNCONTENDED_ITERS {
        f();
        // Under lockdep a round takes long enough to trip the soft-lockup watchdog.
        if i % 4096 == 0 {
            cond_resched();
        }
    }
    now_ns().saturating_sub(start) / UNCONTENDED_ITERS
}

/// Insertion sort: the inputs are a few dozen numbers, and core's sort carries
/// panic paths that objtool flags in a module.
fn sort(v: &mut [u64]) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && v[j - 1] > v[j] {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

fn median(v: &mut [u64]) -> u64 {
    sort(v);
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// The fastest round: the least disturbed by other work on the machine.
fn best(v: &[u64]) -> u64 {
    v.iter().copied().min().unwrap_or(0)
}

/// Uncontended acquire+release: TwoStateLock vs the rwsem read side (and, for
/// completeness, *block* vs the write side), rounds interleaved so that both see
/// the same machine conditions.
fn uncontended() -> Result {
    let tsl = Shared::new(GateMode::On, 0)?;
    let rw = Shared::new_rwsem()?;
    let (mut add, mut read, mut block, mut write) =
        ([0; ROUNDS], [0; ROUNDS], [0; ROUNDS], [0; ROUNDS]);
    for r in 0..ROUNDS {
        add[r] = time_loop(|| drop(tsl.lock.lock(State::Add)));
        read[r] = time_loop(|| drop(rw.lock.read()));
        block[r] = time_loop(|| drop(tsl.lock.lock(State::Block)));
        write[r] = time_loop(|| drop(rw.lock.write()));
        cond_resched();
    }
    pr_info!(
        "bench: uncontended acquire+release, ns/op, best and median of {} rounds x {} (lockdep {}):\n",
        ROUNDS,
        UNCONTENDED_ITERS,
        if cfg!(CONFIG_LOCKDEP) { "on for both" } else { "off" }
    );
    compare("TwoStateLock add", &mut add, "rwsem read", &mut read);
    compare("TwoStateLock block", &mut block, "rwsem write", &mut write);
    Ok(())
}

/// Prints best and median of two sets of rounds and their ratios.
fn compare(a_name: &str, a: &mut [u64], b_name: &str, b: &mut [u64]) {
    let (a_best, b_best) = (best(a), best(b));
    let (a_med, b_med) = (median(a), median(b));
    pr_info!(
        "bench:   {} {} / {} {} = {} (best); medians {} / {} = {}\n",
        a_name,
        a_best,
        b_name,
        b_best,
        Ratio(a_best, b_best),
        a_med,
        b_med,
        Ratio(a_med, b_med)
    );
}

/// `a / b` printed with two decimals.
struct Ratio(u64, u64);

impl core::fmt::Display for Ratio {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.1 == 0 {
            return write!(f, "n/a");
        }
        let hundredths = self.0 * 100 / self.1;
        write!(f, "{}.{:02}x", hundredths / 100, hundredths % 100)
    }
}

/// Milliseconds with one decimal.
struct Ms(u64);

impl core::fmt::Display for Ms {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let tenths = self.0 / 100_000;
        write!(f, "{:>6}.{}", tenths / 10, tenths % 10)
    }
}

/// p50/p99/max wait of a *block* waiter under a continuous *add* stream.
fn wait_under_stream<L: TestLock>(name: &str, sh: &Arc<Shared<L>>) -> Result {
    let stream = sh.start_stream(State::Add, StreamConfig::default())?;
    sleep_ms(50);
    let mut waits = KVec::new();
    let mut starved = false;
    for _ in 0..WAIT_TRIALS {
        match sh.measure_wait(State::Block, STARVED_CAP_MS)? {
            Some(ns) => waits.push(ns, GFP_KERNEL)?,
            None => {
                starved = true;
                break;
            }
        }
        sleep_ms(10);
    }
    sh.stop_stream(stream);
    if starved {
        pr_info!(
            "bench:   {:<34} starved: no entry within {} ms\n",
            name,
            STARVED_CAP_MS
        );
        return Ok(());
    }
    sort(&mut waits);
    let at = |q: usize| {
        waits
            .get((waits.len() * q / 100).min(waits.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    pr_info!(
        "bench:   {:<34} {} {} {}\n",
        name,
        Ms(at(50)),
        Ms(at(99)),
        Ms(at(100))
    );
    Ok(())
}

/// Acquisitions per second of one thread per entry of `states`, each taking its
/// state, spinning `spins` times inside, and releasing, for `MIXED_MS`.
fn throughput<L: TestLock>(sh: &Arc<Shared<L>>, states: &[State], spins: u32) -> Result<u64> {
    let ops = Arc::new(AtomicU64::new(0), GFP_KERNEL)?;
    let mut threads = KVec::new();
    sh.stop.store(false, SeqCst);
    for &s in states {
        let (sh, ops) = (sh.clone(), ops.clone());
        let t = KThread::spawn(c_str!("tsfs-bench"), move || {
            // Counted locally: a shared counter would add a contended line of its own.
            let mut n = 0u64;
            while !sh.stop.load(Relaxed) {
                let held = sh.lock.acquire(s);
                // With no work inside, not even the exclusion check's shared
                // counters: only the lock's own cache line is measured.
                if spins != 0 {
                    sh.hold(s, spins);
                }
                drop(held);
                n += 1;
                if n % 64 == 0 {
                    cond_resched();
                }
            }
            ops.fetch_add(n, SeqCst);
        })?;
        threads.push(t, GFP_KERNEL)?;
    }
    sleep_ms(MIXED_MS);
    sh.stop.store(true, SeqCst);
    drop(threads);
    Ok(ops.load(SeqCst) * 1000 / u64::from(MIXED_MS))
}

/// 2, 4 and 8 threads hammering *add* (no work inside) vs `down_read`.
fn hammering() -> Result {
    pr_info!("bench: threads hammering one shared state (no work inside), acquisitions/s:\n");
    for n in [2usize, 4, 8] {
        let states: KVec<State> = {
            let mut v = KVec::new();
            for _ in 0..n {
                v.push(State::Add, GFP_KERNEL)?;
            }
            v
        };
        let tsl = throughput(&Shared::new(GateMode::On, 0)?, &states, 0)?;
        let rw = throughput(&Shared::new_rwsem()?, &states, 0)?;
        pr_info!(
            "bench:   {} threads: TwoStateLock add {}, rwsem read {}, ratio {}\n",
            n,
            tsl,
            rw,
            Ratio(tsl, rw)
        );
    }
    Ok(())
}

fn mixed_throughput() -> Result {
    let plan = [State::Add, State::Add, State::Block];
    let on = throughput(&Shared::new(GateMode::On, 0)?, &plan, 50)?;
    let off = throughput(&Shared::new(GateMode::Off, 0)?, &plan, 50)?;
    let rwsem = throughput(&Shared::new_rwsem()?, &plan, 50)?;
    pr_info!("bench: mixed throughput, 2 add + 1 block threads, ops/s: gate on {}, gate off {}, rwsem {}\n", on, off, rwsem);
    pr_info!(
        "bench:   gate on / gate off = {}, gate on / rwsem = {}\n",
        Ratio(on, off),
        Ratio(on, rwsem)
    );
    Ok(())
}
