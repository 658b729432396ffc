// SPDX-License-Identifier: GPL-2.0

//! Handing a hold of a [`TwoStateLock`] over to a completion: an asynchronous
//! direct IO takes *block* in the submitting task and keeps it until its device
//! IO completes, which releases it from a work item.
//!
//! Lockdep stays exact: the acquisition is reported in the submitting task as
//! usual, so every dependency on what that task holds is recorded; the hand-over
//! reports the release in that same task, so lockdep sees no lock held on the
//! return to user space and no "bad unlock balance" later. The completion then
//! changes only the lock word, without telling lockdep (as the VFS does for the
//! freeze protection of an asynchronous write, and rwsem's `*_non_owner`
//! variants). The release takes the waiter spinlock, which is not IRQ-safe: a
//! [`Handoff`] is dropped in process context (a work item), never in an interrupt.

use super::{lock::Guard, protocol, State, TwoStateLock};

/// Something that owns a [`TwoStateLock`] and keeps it alive as long as it lives
/// (such as a reference to the inode the lock is in).
pub(crate) trait LockHome: Send {
    /// The lock.
    fn lock(&self) -> &TwoStateLock;
}

/// A hold of a [`TwoStateLock`] that no task owns any more; released on drop.
///
/// # Invariants
///
/// `home.lock()` is held in `state`; lockdep was told of the release when the hold
/// was handed over ([`Guard::into_handoff`]), so the drop changes only the word.
#[must_use = "the lock is released when the hand-over is dropped"]
pub(crate) struct Handoff<H: LockHome> {
    home: H,
    state: State,
}

impl<H: LockHome> Handoff<H> {
    /// The state held.
    #[allow(dead_code)]
    pub(crate) fn state(&self) -> State {
        self.state
    }
}

impl<H: LockHome> Drop for Handoff<H> {
    fn drop(&mut self) {
        // Lockdep heard of the release at the hand-over (type invariant).
        protocol::release(self.home.lock(), self.state);
    }
}

impl Guard<'_> {
    /// Hands this hold over to whoever will drop the [`Handoff`] (a completion),
    /// which `home` keeps the lock alive for. Reports the release to lockdep now, in
    /// the acquiring task. Gives both back if `home` holds another lock.
    #[inline(always)]
    pub(crate) fn into_handoff<H: LockHome>(self, home: H) -> Result<Handoff<H>, (Self, H)> {
        if !core::ptr::eq(home.lock(), self.lock()) {
            return Err((self, home));
        }
        let state = self.state();
        self.forget_for_handoff();
        // INVARIANT: the lock is held in `state` (it was by the guard, which is gone
        // without releasing the word) and lockdep heard of the release.
        Ok(Handoff { home, state })
    }
}
