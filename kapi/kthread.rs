// SPDX-License-Identifier: GPL-2.0

//! Kernel threads running Rust closures (used by the in-kernel lock tests and
//! benchmarks).

use super::time::sleep_us;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::{bindings, c_str, prelude::*, str::CStr, sync::Arc};

extern "C" {
    fn tsfs_allow_sigkill();
}

/// A running kernel thread; joined on drop.
///
/// # Invariants
///
/// `task` is a kthread created by `kthread_create_on_node` and woken, on which this
/// object holds a task reference until it is joined.
pub(crate) struct KThread {
    task: *mut bindings::task_struct,
    /// Set by the thread before it runs its closure. `kthread_stop` on a thread that
    /// has not started yet would skip the closure altogether, so joining waits for
    /// this first.
    started: Arc<AtomicBool>,
}

// SAFETY: the task pointer may be stopped and signalled from any thread.
unsafe impl Send for KThread {}
// SAFETY: `&KThread` only allows `kill`, which is thread-safe.
unsafe impl Sync for KThread {}

/// Runs the closure boxed by [`KThread::spawn`].
///
/// # Safety
///
/// `data` must come from `KBox::into_raw` of a `KBox<(Arc<AtomicBool>, F)>`, and be
/// used once.
unsafe extern "C" fn run<F: FnOnce() + Send + 'static>(
    data: *mut kernel::ffi::c_void,
) -> kernel::ffi::c_int {
    // SAFETY: the caller passes the pointer `spawn` made with `KBox::into_raw`, once.
    let boxed = unsafe { KBox::from_raw(data.cast::<(Arc<AtomicBool>, F)>()) };
    let (started, f) = KBox::into_inner(boxed);
    started.store(true, Ordering::Release);
    f();
    0
}

impl KThread {
    /// Starts `f` in a new kernel thread named `name`.
    pub(crate) fn spawn<F: FnOnce() + Send + 'static>(name: &CStr, f: F) -> Result<Self> {
        let started = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
        let data = KBox::into_raw(KBox::new((started.clone(), f), GFP_KERNEL)?)
            .cast::<kernel::ffi::c_void>();
        // SAFETY: `run::<F>` matches `data`; the format "%s" takes the one NUL-terminated
        // string argument `name`.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(run::<F>),
                data,
                bindings::NUMA_NO_NODE,
                c_str!("%s").as_char_ptr(),
                name.as_char_ptr(),
            )
        };
        if let Err(e) = kernel::error::from_err_ptr(task) {
            // SAFETY: the thread was not created, so `data` was never handed over.
            drop(unsafe { KBox::from_raw(data.cast::<(Arc<AtomicBool>, F)>()) });
            return Err(e);
        }
        // SAFETY: `task` is a live kthread; the reference keeps it valid until
        // `kthread_stop_put`.
        unsafe { bindings::get_task_struct(task) };
        // SAFETY: `task` is a new, not yet woken kthread.
        unsafe { bindings::wake_up_process(task) };
        // INVARIANT: created, referenced and woken.
        Ok(KThread { task, started })
    }

    /// Sends SIGKILL (the thread must have called [`allow_kill`]).
    pub(crate) fn kill(&self) {
        // SAFETY: `task` is valid (type invariant); priv 1 = sent by the kernel.
        unsafe { bindings::send_sig(bindings::SIGKILL as _, self.task, 1) };
    }
}

impl Drop for KThread {
    fn drop(&mut self) {
        while !self.started.load(Ordering::Acquire) {
            sleep_us(100);
        }
        // SAFETY: `task` is valid and referenced (type invariant); the closure has
        // started, so this waits for it to return, then drops our reference.
        unsafe { bindings::kthread_stop_put(self.task) };
    }
}

/// Lets the calling kernel thread receive SIGKILL, so killable waits can be tested.
pub(crate) fn allow_kill() {
    // SAFETY: changes only the calling thread's signal disposition.
    unsafe { tsfs_allow_sigkill() };
}
