// SPDX-License-Identifier: GPL-2.0

//! In-kernel tests of `TwoStateLock`, reported in KTAP on the kernel log.
//!
//! Run with `echo lock > /sys/kernel/debug/tsfs/selftest`; the write fails with EIO
//! if any case failed. `lockdep-cycle` and `lockdep-recursion` provoke the reports
//! lockdep must give (each needs a boot of its own: lockdep stops after one report).

use super::{
    harness::{Shared, StreamConfig},
    lock_two, owners,
    state::{self, GateMode, State},
    LockHome, TwoStateLock,
};
use crate::kapi::{
    debugfs::TextBuf,
    kthread::{self, KThread},
    time::{cond_resched, sleep_ms},
};
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::SeqCst};
use kernel::{c_str, new_mutex, prelude::*, sync::Arc};

/// The bound claimed for a waiter's wait while the other state is held continuously
/// by a stream: the holders present when it queued hold for at most
/// `partner_wait + hold` = 22 ms (see [`StreamConfig`]), plus wake-up latency, which
/// under QEMU TCG on a busy 2-core host has been seen to add up to ~150 ms. Typical
/// measured maxima are 25 to 40 ms; with the gate off the wait exceeds 1000 ms.
pub(crate) const WAIT_BOUND_MS: u64 = 250;
/// With the gate off, a waiter that has not got in after this long is starved.
const STARVED_MS: u64 = 1000;
const TRIALS: usize = 10;

struct Ktap {
    n: u32,
    failed: u32,
}

impl Ktap {
    fn start(cases: u32) -> Self {
        pr_info!("KTAP version 1\n");
        pr_info!("1..{}\n", cases);
        Ktap { n: 0, failed: 0 }
    }

    fn case(&mut self, name: &str, ok: bool) {
        self.n += 1;
        if ok {
            pr_info!("ok {} {}\n", self.n, name);
        } else {
            self.failed += 1;
            pr_info!("not ok {} {}\n", self.n, name);
        }
    }
}

/// Runs the lock test suite; Err(EIO) if a case failed.
pub(crate) fn run_lock_suite() -> Result {
    let mut t = Ktap::start(12);
    t.case("mutual_exclusion_gate_on", mutual_exclusion(GateMode::On)?);
    t.case(
        "mutual_exclusion_gate_off",
        mutual_exclusion(GateMode::Off)?,
    );
    t.case(
        "block_waiter_bounded_under_add_stream",
        bounded_wait(State::Add, GateMode::On)?,
    );
    t.case(
        "add_waiter_bounded_under_block_stream",
        bounded_wait(State::Block, GateMode::On)?,
    );
    t.case(
        "block_waiter_bounded_deadline_mode",
        bounded_wait(State::Add, GateMode::Deadline)?,
    );
    t.case(
        "gate_off_block_waiter_starves",
        starves_without_gate(State::Add)?,
    );
    t.case(
        "gate_off_add_waiter_starves",
        starves_without_gate(State::Block)?,
    );
    t.case("killed_waiter_leaves_lock_usable", killed_waiter()?);
    t.case("nested_acquire_passes_closed_gate", nested_acquire()?);
    t.case("owner_records_name_the_holding_task_only", owner_records()?);
    t.case("lock_two_takes_both_once_each", lock_two_both()?);
    t.case("handoff_released_by_another_task", handoff()?);
    log_stats();
    pr_info!(
        "# lock suite: {} passed, {} failed\n",
        t.n - t.failed,
        t.failed
    );
    if t.failed == 0 {
        Ok(())
    } else {
        Err(EIO)
    }
}

/// Three threads of each state hammer the lock; nobody may ever see the other
/// state inside, and every thread must get in many times.
fn mutual_exclusion(mode: GateMode) -> Result<bool> {
    let sh = Shared::new(mode, 10)?;
    let counts: Arc<[AtomicU64; 6]> = Arc::new(Default::default(), GFP_KERNEL)?;
    let mut threads = KVec::new();
    for i in 0..6 {
        let s = if i % 2 == 0 { State::Add } else { State::Block };
        let (sh, counts) = (sh.clone(), counts.clone());
        threads.push(
            KThread::spawn(c_str!("tsfs-excl"), move || {
                let mut n = 0u64;
                while !sh.stop.load(SeqCst) {
                    let g = sh.lock.lock(s);
                    sh.hold(s, 20);
                    drop(g);
                    cond_resched();
                    n += 1;
                }
                if let Some(c) = counts.get(i) {
                    c.store(n, SeqCst);
                }
            })?,
            GFP_KERNEL,
        )?;
    }
    sleep_ms(1500);
    sh.stop.store(true, SeqCst);
    drop(threads);
    let (mut min, mut max) = (u64::MAX, 0);
    for c in counts.iter() {
        let v = c.load(SeqCst);
        min = min.min(v);
        max = max.max(v);
    }
    let violations = sh.violations.load(SeqCst);
    pr_info!(
        "# {:?}: violations {} per-thread acquisitions min {} max {}\n",
        mode,
        violations,
        min,
        max
    );
    Ok(violations == 0 && min > 0 && sh.lock.word() == state::UNLOCKED)
}

/// Prints every lock class's statistics as KTAP diagnostics.
fn log_stats() {
    let mut text = TextBuf(KVec::new());
    if super::stats::write_all(&mut text).is_ok() {
        for line in text.0.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            pr_info!("# {}\n", kernel::str::BStr::from_bytes(line));
        }
    }
}

/// A stream of `held` holders keeps that state continuously held; waiters of the
/// other state must each get in within [`WAIT_BOUND_MS`].
fn bounded_wait(held: State, mode: GateMode) -> Result<bool> {
    let sh = Shared::new(mode, 10)?;
    // Statistics are per lock class, shared by every test lock: count the difference.
    let closures_before = sh.lock.stats().snapshot(held.other()).gate_closures;
    let stream = sh.start_stream(held, StreamConfig::default())?;
    sleep_ms(100);
    let mut max_ns = 0;
    let mut all_in = true;
    for _ in 0..TRIALS {
        match sh.measure_wait(held.other(), WAIT_BOUND_MS * 5)? {
            Some(ns) => max_ns = max_ns.max(ns),
            None => all_in = false,
        }
        sleep_ms(20);
    }
    let stream_ops = sh.stop_stream(stream);
    let gate_closures = sh.lock.stats().snapshot(held.other()).gate_closures - closures_before;
    pr_info!(
        "# {:?} waiter under {:?} stream ({:?}): max wait {} us over {} trials, bound {} ms; stream acquisitions {}, gate closures {}\n",
        held.other(),
        held,
        mode,
        max_ns / 1000,
        TRIALS,
        WAIT_BOUND_MS,
        stream_ops,
        gate_closures
    );
    Ok(all_in
        && max_ns <= WAIT_BOUND_MS * 1_000_000
        && sh.violations.load(SeqCst) == 0
        && gate_closures > 0
        && sh.lock.word() == state::UNLOCKED)
}

/// The same stream with the gate off: the waiter must NOT get in (the test can see
/// starvation), and must get in once the stream stops.
fn starves_without_gate(held: State) -> Result<bool> {
    let sh = Shared::new(GateMode::Off, 0)?;
    let stream = sh.start_stream(held, StreamConfig::default())?;
    sleep_ms(100);
    let waiter = sh.spawn_waiter(held.other())?;
    let got_in = waiter.wait_done(STARVED_MS);
    let stream_ops = sh.stop_stream(stream);
    let finally_in = waiter.wait_done(2000);
    pr_info!(
        "# gate off: {:?} waiter {} within {} ms under a {:?} stream ({} stream acquisitions); in after the stream stopped: {}\n",
        held.other(),
        if got_in { "got in" } else { "starved" },
        STARVED_MS,
        held,
        stream_ops,
        finally_in
    );
    drop(waiter);
    Ok(!got_in && finally_in && sh.lock.word() == state::UNLOCKED)
}

/// A killable waiter is killed while queued: it returns EINTR, its waiting and gate
/// bits are gone, and the lock works for both states afterwards.
fn killed_waiter() -> Result<bool> {
    let sh = Shared::new(GateMode::On, 0)?;
    let result = Arc::new(AtomicI32::new(1), GFP_KERNEL)?;
    let held = sh.lock.lock(State::Block);
    let (sh2, r2) = (sh.clone(), result.clone());
    let waiter = KThread::spawn(c_str!("tsfs-killable"), move || {
        kthread::allow_kill();
        let r = sh2.lock.lock_killable(State::Add).map(drop);
        r2.store(r.err().map_or(0, |e| e.to_errno()), SeqCst);
    })?;
    sleep_ms(100);
    let w = sh.lock.word();
    let queued = state::has_waiters(w, State::Add) && state::gate_closed(w, State::Add);
    waiter.kill();
    drop(waiter);
    let after_kill = sh.lock.word();
    drop(held);
    let usable = sh.lock.try_lock(State::Add).is_some() && sh.lock.try_lock(State::Block).is_some();
    let r = result.load(SeqCst);
    pr_info!(
        "# waiter queued with gate closed: {}; lock_killable returned {}; word after kill {:#x}\n",
        queued,
        r,
        after_kill
    );
    Ok(queued
        && r == EINTR.to_errno()
        && after_kill == state::one(State::Block)
        && usable
        && sh.lock.word() == state::UNLOCKED)
}

/// A holder of *add* takes it again while a *block* waiter has closed the gate: the
/// nested acquire must not wait, and the waiter gets in after both are released.
fn nested_acquire() -> Result<bool> {
    let sh = Shared::new(GateMode::On, 0)?;
    let outer = sh.lock.lock(State::Add);
    let waiter = sh.spawn_waiter(State::Block)?;
    sleep_ms(100);
    let gate = state::gate_closed(sh.lock.word(), State::Block);
    let inner = outer.nested();
    let both = inner.is_some() && state::holders(sh.lock.word(), State::Add) == 2;
    drop(inner);
    drop(outer);
    let got_in = waiter.wait_done(2000);
    pr_info!(
        "# gate closed: {}; nested hold taken: {}; waiter in afterwards: {}\n",
        gate,
        both,
        got_in
    );
    drop(waiter);
    Ok(gate && both && got_in && sh.lock.word() == state::UNLOCKED)
}

/// `lock_two` holds both locks (the same one once), in either argument order.
fn lock_two_both() -> Result<bool> {
    let (a, b) = (Shared::new(GateMode::On, 0)?, Shared::new(GateMode::On, 0)?);
    let mut ok = true;
    for (x, y) in [(&a.lock, &b.lock), (&b.lock, &a.lock)] {
        let (g1, g2) = lock_two(x, y, State::Block);
        ok &= g2.is_some()
            && a.lock.word() == state::one(State::Block)
            && b.lock.word() == state::one(State::Block);
        drop((g1, g2));
    }
    let (g1, g2) = lock_two(&a.lock, &a.lock, State::Add);
    ok &= g2.is_none() && a.lock.word() == state::one(State::Add);
    drop((g1, g2));
    pr_info!("# lock_two: both held once each: {}\n", ok);
    Ok(ok && a.lock.word() == state::UNLOCKED && b.lock.word() == state::UNLOCKED)
}

/// A test lock kept alive by a reference, for hand-overs.
struct Home(Arc<Shared<TwoStateLock>>);

impl LockHome for Home {
    fn lock(&self) -> &TwoStateLock {
        &self.0.lock
    }
}

/// A hold handed over by this task and released by another (as an asynchronous
/// direct IO's completion releases *block*): the lock stays held after the
/// hand-over, a queued *add* waiter gets in only once the other task drops it, and
/// a hand-over to another lock's home is refused with the hold intact. Lockdep
/// must see a balanced acquire and release in this task: any report (bad unlock
/// balance, lock held on return) fails the suite.
fn handoff() -> Result<bool> {
    let (sh, other) = (Shared::new(GateMode::On, 0)?, Shared::new(GateMode::On, 0)?);
    let g = sh.lock.lock(State::Block);
    let g = match g.into_handoff(Home(other.clone())) {
        Err((g, _)) => g,
        Ok(_) => return Ok(false),
    };
    let refused =
        sh.lock.word() == state::one(State::Block) && other.lock.word() == state::UNLOCKED;
    let Ok(h) = g.into_handoff(Home(sh.clone())) else {
        return Ok(false);
    };
    let held = sh.lock.word() == state::one(State::Block);
    let waiter = sh.spawn_waiter(State::Add)?;
    let waited = !waiter.wait_done(100);
    let releaser = KThread::spawn(c_str!("tsfs-handoff"), move || {
        sleep_ms(50);
        drop(h);
    })?;
    let got_in = waiter.wait_done(2000);
    drop(releaser);
    drop(waiter);
    pr_info!(
        "# hand-over to another lock refused: {}; held after hand-over: {}; waiter waited: {}; in after release elsewhere: {}\n",
        refused,
        held,
        waited,
        got_in
    );
    Ok(refused && held && waited && got_in && sh.lock.word() == state::UNLOCKED)
}

/// A task's record of holding the lock is visible to that task only, names the
/// state, and is gone after it is dropped.
fn owner_records() -> Result<bool> {
    let sh = Shared::new(GateMode::On, 0)?;
    let before = owners::current_holds(&sh.lock);
    let g = sh.lock.lock(State::Block);
    let rec = owners::Record::new(&sh.lock, State::Block);
    let mine = owners::current_holds(&sh.lock);
    let seen_elsewhere = Arc::new(AtomicI32::new(-1), GFP_KERNEL)?;
    let (sh2, seen2) = (sh.clone(), seen_elsewhere.clone());
    drop(KThread::spawn(c_str!("tsfs-owners"), move || {
        seen2.store(
            i32::from(owners::current_holds(&sh2.lock).is_some()),
            SeqCst,
        );
    })?);
    drop(rec);
    let after = owners::current_holds(&sh.lock);
    drop(g);
    let other = owners::current_holds(&Shared::new(GateMode::On, 0)?.lock);
    pr_info!(
        "# before {:?}, while recorded {:?}, from another task {}, after drop {:?}, other lock {:?}\n",
        before,
        mine,
        seen_elsewhere.load(SeqCst),
        after,
        other
    );
    Ok(before.is_none()
        && mine == Some(State::Block)
        && seen_elsewhere.load(SeqCst) == 0
        && after.is_none()
        && other.is_none())
}

/// Provokes an add/block cycle against a mutex, in one task so nothing hangs:
/// lockdep must report "possible circular locking dependency".
pub(crate) fn provoke_cycle() -> Result {
    let sh = Shared::new(GateMode::On, 0)?;
    let m = Arc::pin_init(new_mutex!((), "tsfs_test_mutex"), GFP_KERNEL)?;
    pr_info!("lockdep test: add -> mutex, then mutex -> block\n");
    {
        let _a = sh.lock.lock(State::Add);
        let _m = m.lock();
    }
    {
        let _m = m.lock();
        let _b = sh.lock.lock(State::Block);
    }
    Ok(())
}

/// Provokes taking *add* while holding *block* (what a DIO faulting its own mapping
/// would do): lockdep must report "possible recursive locking". The attempt really
/// blocks, so it runs in a thread that is killed afterwards.
pub(crate) fn provoke_recursion() -> Result {
    let sh = Shared::new(GateMode::On, 0)?;
    let done = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
    let (sh2, done2) = (sh.clone(), done.clone());
    pr_info!("lockdep test: add while holding block\n");
    let t = KThread::spawn(c_str!("tsfs-recurse"), move || {
        kthread::allow_kill();
        let _b = sh2.lock.lock(State::Block);
        let r = sh2.lock.lock_killable(State::Add).map(drop);
        done2.store(r.is_err(), SeqCst);
    })?;
    sleep_ms(300);
    t.kill();
    drop(t);
    pr_info!(
        "lockdep test: recursive waiter killed: {}\n",
        done.load(SeqCst)
    );
    Ok(())
}

/// Legal use that lockdep must accept: consistent order with another lock, the
/// nested acquire, and two locks of one class taken with `lock_two`.
pub(crate) fn legal_use() -> Result {
    let sh = Shared::new(GateMode::On, 0)?;
    let other = Shared::new(GateMode::On, 0)?;
    let m = Arc::pin_init(new_mutex!((), "tsfs_test_mutex_ok"), GFP_KERNEL)?;
    for s in [State::Add, State::Block] {
        let g = sh.lock.lock(s);
        let _n = g.nested();
        let _m = m.lock();
    }
    for s in [State::Add, State::Block] {
        let _both = lock_two(&sh.lock, &other.lock, s);
        let _m = m.lock();
    }
    Ok(())
}
