// SPDX-License-Identifier: GPL-2.0

//! Asynchronous completion of a direct IO round: what the submitter must keep
//! until the device IO completes (the pinned user pages, and the filesystem's
//! `hold`, such as a lock hold and an inode reference) lives in a heap context,
//! which the completion releases from a work item.
//!
//! iomap's `end_io` receives only the `kiocb`, and `kiocb::private` is iomap's
//! own (polled and caller-completed IO), so contexts are found in a small
//! lock-free table keyed by the `kiocb`'s address: a request in flight owns its
//! `kiocb`, and the entry is taken before iomap calls `ki_complete`, after which
//! the `kiocb` may be reused. `end_io` runs in interrupt context for reads, so it
//! only takes the entry and queues the work item (`queue_work` is IRQ-safe); the
//! work unpins (dirtying a read's pages, which sleeps) and drops `hold`.
//!
//! The filesystem's `hold` may keep an inode reference; the filesystem makes
//! unmount wait for its holds. Module unload waits until every context has been
//! released ([`wait_idle`]).

use crate::kapi::{time::sleep_us, uio::Pinned};
use core::{
    pin::Pin,
    ptr::null_mut,
    sync::atomic::{AtomicPtr, AtomicUsize, Ordering::*},
};
use kernel::{
    bindings,
    ffi::{c_int, c_uint},
    prelude::*,
    workqueue::{self, impl_has_work, new_work, Work, WorkItem},
};

/// Contexts not yet released, over all mounts.
static INFLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Waits until no asynchronous direct IO context is left (at module unload, after
/// every unmount: this waits for the work items that release them).
pub(crate) fn wait_idle() {
    while INFLIGHT.load(Acquire) != 0 {
        sleep_us(1000);
    }
}

/// What an asynchronous round keeps until its completion.
#[pin_data]
pub(in crate::kapi) struct Inflight<H: Send + 'static> {
    /// Dropped first: unpinned (a read's pages dirtied).
    pinned: Pinned,
    /// Then the filesystem's hold.
    hold: H,
    #[pin]
    work: Work<Inflight<H>>,
}

impl_has_work! {
    impl{H: Send + 'static} HasWork<Inflight<H>> for Inflight<H> { self.work }
}

impl<H: Send + 'static> WorkItem for Inflight<H> {
    type Pointer = Pin<KBox<Self>>;

    fn run(this: Pin<KBox<Self>>) {
        drop(this);
        INFLIGHT.fetch_sub(1, Release);
    }
}

// SAFETY: the pinned pages are owned by the context alone (their pointers are not
// shared), and `H` is `Send`.
unsafe impl<H: Send + 'static> Send for Inflight<H> {}

impl<H: Send + 'static> Inflight<H> {
    /// A new context on the heap, counted until released.
    pub(in crate::kapi) fn new(
        pinned: Pinned,
        hold: H,
        flags: kernel::alloc::Flags,
    ) -> Result<*mut Self> {
        let ctx = KBox::pin_init(
            pin_init!(Inflight {
                pinned,
                hold,
                work <- new_work!("tsfs_dio_done"),
            }),
            flags,
        )?;
        INFLIGHT.fetch_add(1, Relaxed);
        // SAFETY: the context is not moved out of its box: `release` and `finish`
        // rebuild the pinned box from this pointer.
        Ok(KBox::into_raw(unsafe { Pin::into_inner_unchecked(ctx) }))
    }

    /// A kernel iterator over the context's pinned pages.
    ///
    /// # Safety
    ///
    /// `ctx` comes from [`Inflight::new`] and is not released yet.
    pub(in crate::kapi) unsafe fn iter(ctx: *mut Self) -> bindings::iov_iter {
        // SAFETY: `ctx` is live (the caller's guarantee); the reference ends here.
        unsafe { (*ctx).pinned.raw_iter() }
    }

    /// Releases the context in this task.
    ///
    /// # Safety
    ///
    /// `ctx` comes from [`Inflight::new`], and the caller owns it (not in the
    /// table, or taken from it by [`take`]); not used after.
    pub(in crate::kapi) unsafe fn release(ctx: *mut Self) {
        // SAFETY: as the caller guarantees; the box was pinned and never moved.
        drop(unsafe { Pin::new_unchecked(KBox::from_raw(ctx)) });
        INFLIGHT.fetch_sub(1, Release);
    }

    /// Queues the release of a context (any context, interrupts included).
    ///
    /// # Safety
    ///
    /// As for [`Inflight::release`]; `ctx` is a `*mut Inflight<H>` passed as `*mut ()`.
    unsafe fn finish(ctx: *mut ()) {
        // SAFETY: as the caller guarantees.
        let ctx = unsafe { Pin::new_unchecked(KBox::from_raw(ctx.cast::<Self>())) };
        workqueue::system().enqueue(ctx);
    }

    /// Records `ctx` as the context of the request `iocb`; false if the table has
    /// no room (the caller then completes the round synchronously).
    ///
    /// # Safety
    ///
    /// `ctx` comes from [`Inflight::new`], owned by the caller, who hands it to the
    /// table on success; `iocb` is the live request it serves, and no other
    /// context is recorded for it.
    pub(in crate::kapi) unsafe fn record(iocb: *mut bindings::kiocb, ctx: *mut Self) -> bool {
        let finish: unsafe fn(*mut ()) = Self::finish;
        for slot in bucket(iocb).iter() {
            // Claim a free slot by its context field; the key, set last, publishes it.
            if slot
                .ctx
                .compare_exchange(null_mut(), ctx.cast(), Acquire, Relaxed)
                .is_ok()
            {
                slot.finish.store(finish as *mut (), Relaxed);
                slot.key.store(iocb, Release);
                return true;
            }
        }
        false
    }
}

/// One entry: a request in flight and its context.
struct Slot {
    /// The request; null when free. Set last, cleared first.
    key: AtomicPtr<bindings::kiocb>,
    /// The context; non-null while the slot is claimed.
    ctx: AtomicPtr<()>,
    /// Its `Inflight::<H>::finish`, as a pointer.
    finish: AtomicPtr<()>,
}

impl Slot {
    const fn new() -> Self {
        Slot {
            key: AtomicPtr::new(null_mut()),
            ctx: AtomicPtr::new(null_mut()),
            finish: AtomicPtr::new(null_mut()),
        }
    }
}

const BUCKETS: usize = 128;
const WAYS: usize = 8;

static TABLE: [[Slot; WAYS]; BUCKETS] = [const { [const { Slot::new() }; WAYS] }; BUCKETS];

fn bucket(iocb: *mut bindings::kiocb) -> &'static [Slot; WAYS] {
    // Requests are allocated objects: drop the low bits before hashing.
    let i = (iocb as usize >> 6).wrapping_mul(0x9E37_79B9) % BUCKETS;
    TABLE.get(i).unwrap_or(&TABLE[0])
}

/// Takes the context of `iocb` out of the table: its pointer and its `finish`.
fn take(iocb: *mut bindings::kiocb) -> Option<(*mut (), *mut ())> {
    for slot in bucket(iocb).iter() {
        if slot.key.load(Acquire) == iocb
            && slot
                .key
                .compare_exchange(iocb, null_mut(), AcqRel, Relaxed)
                .is_ok()
        {
            let ctx = slot.ctx.load(Acquire);
            let finish = slot.finish.load(Relaxed);
            // Frees the slot.
            slot.ctx.store(null_mut(), Release);
            return Some((ctx, finish));
        }
    }
    None
}

/// Takes the context of `iocb` back from the table in the submitter (the round
/// completed synchronously): true if it was still there, and so is the caller's.
pub(in crate::kapi) fn take_back(iocb: *mut bindings::kiocb) -> bool {
    take(iocb).is_some()
}

/// The request `iocb` is over (iomap's `end_io`, any context): queues the release
/// of its context, if it has one.
pub(in crate::kapi) fn complete(iocb: *mut bindings::kiocb) {
    if let Some((ctx, finish)) = take(iocb) {
        // SAFETY: `finish` was stored by `Inflight::<H>::record` as its
        // `Inflight::<H>::finish`, for `ctx`, an `Inflight<H>`; taking the entry made
        // the context ours.
        unsafe {
            let finish: unsafe fn(*mut ()) = core::mem::transmute(finish);
            finish(ctx);
        }
    }
}

/// `end_io` of an asynchronous direct read: releases its context.
///
/// # Safety
///
/// Called by iomap with the request being completed.
unsafe extern "C" fn read_end_io(
    iocb: *mut bindings::kiocb,
    _size: isize,
    error: c_int,
    _flags: c_uint,
) -> c_int {
    complete(iocb);
    error
}

/// The completion operations of an asynchronous direct read.
const READ_OPS: bindings::iomap_dio_ops = {
    // SAFETY: all-zero is a valid `iomap_dio_ops` (no callbacks, no bio set).
    let mut ops: bindings::iomap_dio_ops = unsafe { core::mem::zeroed() };
    ops.end_io = Some(read_end_io);
    ops
};

/// The completion operations of an asynchronous direct read (static).
pub(in crate::kapi) fn read_ops() -> *const bindings::iomap_dio_ops {
    &READ_OPS
}
