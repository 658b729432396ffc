// SPDX-License-Identifier: GPL-2.0

//! debugfs directories.

use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::{bindings, error::from_result, prelude::*, str::CStr, sync::Arc, uaccess::UserSlice};

/// What a debugfs file shows when read and does when written.
pub(crate) trait FileOps: Sync + 'static {
    /// Appends the file's contents to `out`.
    fn show(&self, out: &mut TextBuf) -> Result {
        let _ = out;
        Err(EINVAL)
    }

    /// Acts on what was written (at most [`MAX_WRITE`] bytes).
    fn store(&self, input: &[u8]) -> Result {
        let _ = input;
        Err(EINVAL)
    }
}

/// Largest write a debugfs file accepts.
pub(crate) const MAX_WRITE: usize = 4096;

/// A growable text buffer that `write!` can target.
pub(crate) struct TextBuf(pub(crate) KVec<u8>);

impl core::fmt::Write for TextBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| core::fmt::Error)
    }
}

/// A debugfs directory that is removed, with everything below it, on drop.
///
/// debugfs is diagnostics only: when it cannot create the directory (debugfs off,
/// out of memory), the kernel convention is to carry on without it, so creation
/// never fails; files created under a failed directory are silently absent.
///
/// # Invariants
///
/// `dentry` is either a directory returned by `debugfs_create_dir` that this
/// object alone removes, or an error pointer, which `debugfs_remove` ignores.
pub(crate) struct Dir {
    dentry: *mut bindings::dentry,
}

// SAFETY: a dentry pointer may be used and released from any thread; debugfs does
// its own locking.
unsafe impl Send for Dir {}
// SAFETY: `&Dir` only hands out the pointer as a parent, which debugfs allows concurrently.
unsafe impl Sync for Dir {}

/// The module's own directory (`/sys/kernel/debug/tsfs`), for per-object
/// directories below it; set while the module's [`Dir::new_module_root`] lives.
static MODULE_ROOT: AtomicPtr<bindings::dentry> = AtomicPtr::new(core::ptr::null_mut());

impl Dir {
    /// Creates the module's directory `name` at the debugfs root; per-object
    /// directories ([`OwnedDir::new_in_root`]) go below it while it lives.
    pub(crate) fn new_module_root(name: &CStr) -> Self {
        let dir = Dir::new(name, None);
        MODULE_ROOT.store(dir.dentry, Ordering::Release);
        dir
    }

    /// Creates directory `name` under `parent`, or at the debugfs root.
    pub(crate) fn new(name: &CStr, parent: Option<&Dir>) -> Self {
        let parent = parent.map_or(core::ptr::null_mut(), |p| p.dentry);
        // SAFETY: `name` is a valid NUL-terminated string for the duration of the call,
        // and `parent` is null or a directory kept alive by the `Dir` borrowed here.
        let dentry = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), parent) };
        // INVARIANT: `debugfs_create_dir` returns a new directory or an error pointer.
        Dir { dentry }
    }

    /// Creates file `name` (permissions `mode`) served by `data`. debugfs removes the
    /// file with the directory, and waits for running reads and writes first.
    pub(crate) fn create_file<T: FileOps>(&self, name: &CStr, mode: u16, data: &'static T) {
        // SAFETY: `data` is `'static`, so it outlives the file.
        unsafe { self.create_file_raw(name, mode, core::ptr::from_ref(data)) }
    }

    /// Creates file `name` served by `*data`.
    ///
    /// # Safety
    ///
    /// `data` must stay valid until this directory is removed.
    unsafe fn create_file_raw<T: FileOps>(&self, name: &CStr, mode: u16, data: *const T) {
        let data = data.cast_mut().cast::<kernel::ffi::c_void>();
        // SAFETY: `name` is NUL-terminated; `self.dentry` is a directory or an error
        // pointer (type invariant), both fine for debugfs; `data` outlives the file
        // (caller's guarantee) and is used only as `&T` by the static `Fops::<T>`.
        unsafe {
            bindings::debugfs_create_file(
                name.as_char_ptr(),
                mode,
                self.dentry,
                data,
                &Fops::<T>::FOPS,
            )
        };
    }
}

/// A debugfs directory whose files are served by one shared object, which lives
/// at least as long as the directory (for per-mount files, whose data dies with
/// the mount).
///
/// # Invariants
///
/// Files of `dir` only point at `*data`; `dir` is dropped (removed, after waiting
/// for running file operations) before `data`.
pub(crate) struct OwnedDir<T: FileOps + Send> {
    // Declared first: dropped first.
    dir: Dir,
    data: Arc<T>,
}

impl<T: FileOps + Send> OwnedDir<T> {
    /// Creates directory `name` under the module's directory, serving files from
    /// `data`. Callers are objects (mounts) that cannot outlive the module.
    pub(crate) fn new_in_root(name: &CStr, data: Arc<T>) -> Self {
        let parent = MODULE_ROOT.load(Ordering::Acquire);
        // SAFETY: `name` is NUL-terminated; `parent` is the module's directory, alive
        // while the module is (it outlives every mount), or null (the debugfs root).
        let dentry = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), parent) };
        // INVARIANT: a new directory (or an error pointer), files only from `data`.
        OwnedDir {
            dir: Dir { dentry },
            data,
        }
    }

    /// Creates file `name` served by the shared object.
    pub(crate) fn create_file(&self, name: &CStr, mode: u16) {
        // SAFETY: `data` lives until after `dir` is removed (type invariant).
        unsafe {
            self.dir
                .create_file_raw(name, mode, core::ptr::from_ref(&*self.data))
        }
    }
}

/// The `file_operations` of a [`FileOps`] type.
struct Fops<T>(core::marker::PhantomData<T>);

impl<T: FileOps> Fops<T> {
    const FOPS: bindings::file_operations = {
        // SAFETY: all-zero is a valid `file_operations` (no callbacks).
        let mut f: bindings::file_operations = unsafe { core::mem::zeroed() };
        f.open = Some(bindings::simple_open);
        f.read = Some(read::<T>);
        f.write = Some(write::<T>);
        f.llseek = Some(bindings::default_llseek);
        f
    };
}

/// # Safety
///
/// Called by the VFS on a file created by [`Dir::create_file::<T>`], whose
/// `private_data` (set by `simple_open`) is the `&'static T`.
unsafe extern "C" fn read<T: FileOps>(
    file: *mut bindings::file,
    buf: *mut kernel::ffi::c_char,
    count: usize,
    ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: `file` is valid and its `private_data` is a `&'static T` (see above).
    let data = unsafe { &*(*file).private_data.cast::<T>() };
    from_result(|| {
        let mut text = TextBuf(KVec::new());
        data.show(&mut text)?;
        // SAFETY: `buf` is a user pointer of `count` bytes and `ppos` a valid
        // position, both from the VFS; `text` is a valid kernel buffer of the given
        // length.
        Ok(unsafe {
            bindings::simple_read_from_buffer(
                buf.cast(),
                count,
                ppos,
                text.0.as_ptr().cast(),
                text.0.len(),
            )
        })
    })
}

/// # Safety
///
/// As for [`read`].
unsafe extern "C" fn write<T: FileOps>(
    file: *mut bindings::file,
    buf: *const kernel::ffi::c_char,
    count: usize,
    _ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: `file` is valid and its `private_data` is a `&'static T` (see above).
    let data = unsafe { &*(*file).private_data.cast::<T>() };
    from_result(|| {
        if count > MAX_WRITE {
            return Err(EINVAL);
        }
        let mut input = KVec::new();
        UserSlice::new(buf as usize, count).read_all(&mut input, GFP_KERNEL)?;
        data.store(&input)?;
        Ok(count as isize)
    })
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = MODULE_ROOT.compare_exchange(
            self.dentry,
            core::ptr::null_mut(),
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
        // SAFETY: by the type invariant, `dentry` is ours to remove, or an error pointer
        // that `debugfs_remove` ignores.
        unsafe { bindings::debugfs_remove(self.dentry) };
    }
}
