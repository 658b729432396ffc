// SPDX-License-Identifier: GPL-2.0

//! Clocks and sleeping.

use kernel::{
    bindings,
    time::{msecs_to_jiffies, Ktime},
};

/// Monotonic time in nanoseconds.
pub(crate) fn now_ns() -> u64 {
    u64::try_from(Ktime::ktime_get().to_ns()).unwrap_or(0)
}

/// `ms` milliseconds in jiffies (at least one).
pub(crate) fn jiffies_from_ms(ms: u32) -> usize {
    (msecs_to_jiffies(ms) as usize).max(1)
}

/// Sleeps for about `ms` milliseconds (jiffy granularity).
pub(crate) fn sleep_ms(ms: u32) {
    // SAFETY: `msleep` may sleep, which callers of this function allow.
    unsafe { bindings::msleep(ms) };
}

/// Sleeps for `us` microseconds or a little more (hrtimer based, unlike `msleep`,
/// whose granularity is a jiffy).
pub(crate) fn sleep_us(us: u32) {
    let min = us as kernel::ffi::c_ulong;
    // SAFETY: `usleep_range_state` may sleep, which callers of this function allow.
    unsafe { bindings::usleep_range_state(min, min + min / 4 + 1, bindings::TASK_UNINTERRUPTIBLE) };
}

extern "C" {
    fn tsfs_cond_resched();
}

/// Lets the scheduler run something else if it wants to (the test kernel is not
/// preemptible, so long loops in kernel threads must offer this).
pub(crate) fn cond_resched() {
    // SAFETY: callable from any sleepable context, which callers of this are.
    unsafe { tsfs_cond_resched() };
}

extern "C" {
    fn tsfs_might_sleep();
}

/// Debug check (`might_sleep()`): reports a caller in atomic context, where sleeping
/// is a bug, even when this particular call would not have slept.
#[inline]
pub(crate) fn might_sleep() {
    // Without these options `might_sleep()` is empty.
    if !cfg!(any(
        CONFIG_DEBUG_ATOMIC_SLEEP,
        CONFIG_PREEMPT_VOLUNTARY_BUILD
    )) {
        return;
    }
    // SAFETY: only checks the current context; callable anywhere.
    unsafe { tsfs_might_sleep() };
}
