// SPDX-License-Identifier: GPL-2.0

//! Which tasks hold which `TwoStateLock`, in which state: for the page-fault path,
//! which must not take *add* on an inode whose lock the faulting task already holds
//! (in *block*, a DIO touching its own mapping: deadlock; in *add*, a buffered IO
//! faulting in its own mapping: a recursion that a queued waiter turns into a
//! deadlock). 6.12's `task_struct` has no field for this, so records live in a small
//! table, hashed by task.
//!
//! Only IO paths that may fault on their own file register; a record lives exactly
//! as long as the hold it describes (an RAII [`Record`] created after the lock is
//! taken and dropped before it is released).

use super::{State, TwoStateLock};
use crate::kapi::time::sleep_us;
use core::{
    marker::PhantomData,
    ptr::{from_ref, null_mut},
    sync::atomic::{AtomicPtr, AtomicU8, Ordering::*},
};
use kernel::task::Task;

const BUCKETS: usize = 64;
const WAYS: usize = 4;

struct Slot {
    /// The holding task; null when the slot is free. Set last, cleared first.
    task: AtomicPtr<Task>,
    lock: AtomicPtr<TwoStateLock>,
    state: AtomicU8,
}

impl Slot {
    const fn new() -> Self {
        Slot {
            task: AtomicPtr::new(null_mut()),
            lock: AtomicPtr::new(null_mut()),
            state: AtomicU8::new(0),
        }
    }
}

static TABLE: [[Slot; WAYS]; BUCKETS] = [const { [const { Slot::new() }; WAYS] }; BUCKETS];

/// The current task's identity (its `task_struct`'s address; never dereferenced).
fn current_task() -> *mut Task {
    from_ref(kernel::current!()).cast_mut()
}

fn bucket(task: *mut Task) -> &'static [Slot; WAYS] {
    // Task structs are large and aligned: drop the low bits before hashing.
    let i = (task as usize >> 10).wrapping_mul(0x9E37_79B9) % BUCKETS;
    TABLE.get(i).unwrap_or(&TABLE[0])
}

fn encode(s: State) -> u8 {
    match s {
        State::Add => 1,
        State::Block => 2,
    }
}

/// The current task's record of holding a lock; removed on drop. Not `Send`: the
/// task that made it removes it.
pub(crate) struct Record {
    slot: &'static Slot,
    _not_send: PhantomData<*mut ()>,
}

impl Record {
    /// Records that the current task holds `lock` in `s` (the caller must hold it).
    /// Sleeps briefly if the current task's bucket is full (only with more than
    /// `WAYS` such tasks hashed together at once).
    pub(crate) fn new(lock: &TwoStateLock, s: State) -> Record {
        loop {
            if let Some(r) = Record::try_new(lock, s) {
                return r;
            }
            sleep_us(100);
        }
    }

    /// [`Record::new`] without sleeping: `None` if the current task's bucket is
    /// full (for `RWF_NOWAIT`, which then answers `EAGAIN`).
    pub(crate) fn try_new(lock: &TwoStateLock, s: State) -> Option<Record> {
        let task = current_task();
        for slot in bucket(task).iter() {
            // Claim a free slot by its lock field (the task field stays null, so
            // lookups ignore it until it is complete).
            if slot
                .lock
                .compare_exchange(null_mut(), from_ref(lock).cast_mut(), Acquire, Relaxed)
                .is_ok()
            {
                slot.state.store(encode(s), Relaxed);
                slot.task.store(task, Release);
                return Some(Record {
                    slot,
                    _not_send: PhantomData,
                });
            }
        }
        None
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        self.slot.task.store(null_mut(), Release);
        self.slot.lock.store(null_mut(), Release);
    }
}

/// The state in which the current task holds `lock`, if it has recorded a hold.
pub(crate) fn current_holds(lock: &TwoStateLock) -> Option<State> {
    let task = current_task();
    let lock = from_ref(lock).cast_mut();
    for slot in bucket(task).iter() {
        // Only the current task writes or clears a slot naming it, so a match on the
        // task field is stable while we read the rest.
        if slot.task.load(Acquire) == task && slot.lock.load(Relaxed) == lock {
            return match slot.state.load(Relaxed) {
                1 => Some(State::Add),
                2 => Some(State::Block),
                _ => None,
            };
        }
    }
    None
}
