// SPDX-License-Identifier: GPL-2.0

//! Kernel threads running Rust closures (used by the in-kernel lock tests and
//! benchmarks).

use kernel::{bindings, c_str, prelude::*, str::CStr};

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
}

// SAFETY: the task pointer may be stopped and signalled from any thread.
unsafe impl Send for KThread {}
// SAFETY: `&KThread` only allows `kill`, which is thread-safe.
unsafe impl Sync for KThread {}

/// Runs the closure boxed by [`KThread::spawn`].
///
/// # Safety
///
/// `data` must come from `KBox::into_raw` of a `KBox<F>`, and be used once.
unsafe extern "C" fn run<F: FnOnce() + Send + 'static>(
    data: *mut kernel::ffi::c_void,
) -> kernel::ffi::c_int {
    // SAFETY: the caller passes the pointer `spawn` made with `KBox::into_raw`, once.
    let f = unsafe { KBox::from_raw(data.cast::<F>()) };
    KBox::into_inner(f)();
    0
}

impl KThread {
    /// Starts `f` in a new kernel thread named `name`.
    pub(crate) fn spawn<F: FnOnce() + Send + 'static>(name: &CStr, f: F) -> Result<Self> {
        let data = KBox::into_raw(KBox::new(f, GFP_KERNEL)?).cast::<kernel::ffi::c_void>();
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
            drop(unsafe { KBox::from_raw(data.cast::<F>()) });
            return Err(e);
        }
        // SAFETY: `task` is a live kthread; the reference keeps it valid until
        // `kthread_stop_put`.
        unsafe { bindings::get_task_struct(task) };
        // SAFETY: `task` is a new, not yet woken kthread.
        unsafe { bindings::wake_up_process(task) };
        // INVARIANT: created, referenced and woken.
        Ok(KThread { task })
    }

    /// Sends SIGKILL (the thread must have called [`allow_kill`]).
    pub(crate) fn kill(&self) {
        // SAFETY: `task` is valid (type invariant); priv 1 = sent by the kernel.
        unsafe { bindings::send_sig(bindings::SIGKILL as _, self.task, 1) };
    }
}

impl Drop for KThread {
    fn drop(&mut self) {
        // SAFETY: `task` is valid and referenced (type invariant); this waits for the
        // thread function to return and drops our reference.
        unsafe { bindings::kthread_stop_put(self.task) };
    }
}

/// Lets the calling kernel thread receive SIGKILL, so killable waits can be tested.
pub(crate) fn allow_kill() {
    // SAFETY: changes only the calling thread's signal disposition.
    unsafe { tsfs_allow_sigkill() };
}
