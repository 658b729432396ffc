//! Thin wrappers over the system calls the scenarios use: mappings, single-shot
//! positional IO (never retried, so a short count stays visible), cache dropping and
//! the time limit.

use std::fs::{File, OpenOptions};
use std::io;
use std::marker::PhantomData;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::ptr;

pub const PAGE: usize = 4096;

/// A memory mapping (anonymous or of a file), unmapped on drop. The memory is only
/// reached through raw pointers (the kernel writes it behind our back during IO), so
/// sharing it between threads is sound.
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

/// How a file is mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Share {
    Shared,
    Private,
}

impl Share {
    pub fn name(self) -> &'static str {
        match self {
            Share::Shared => "MAP_SHARED",
            Share::Private => "MAP_PRIVATE",
        }
    }
}

impl Mapping {
    fn map(
        len: usize,
        prot: libc::c_int,
        flags: libc::c_int,
        fd: libc::c_int,
        off: u64,
    ) -> io::Result<Self> {
        let off =
            libc::off_t::try_from(off).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: a fresh mapping chosen by the kernel; it aliases nothing of ours.
        let p = unsafe { libc::mmap(ptr::null_mut(), len, prot, flags, fd, off) };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { ptr: p.cast(), len })
    }

    /// Page-aligned anonymous read-write memory.
    pub fn anon(len: usize) -> io::Result<Self> {
        Self::map(
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    }

    /// Read-write mapping of `len` bytes of `file` from byte `off`.
    pub fn file(file: &File, off: u64, len: usize, share: Share) -> io::Result<Self> {
        Self::file_prot(file, off, len, share, libc::PROT_READ | libc::PROT_WRITE)
    }

    pub fn file_prot(
        file: &File,
        off: u64,
        len: usize,
        share: Share,
        prot: libc::c_int,
    ) -> io::Result<Self> {
        let flags = match share {
            Share::Shared => libc::MAP_SHARED,
            Share::Private => libc::MAP_PRIVATE,
        };
        Self::map(len, prot, flags, file.as_raw_fd(), off)
    }

    /// Address space that is reserved but inaccessible (PROT_NONE).
    pub fn inaccessible(len: usize) -> io::Result<Self> {
        Self::map(
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn addr(&self) -> usize {
        self.ptr as usize
    }

    /// `len` bytes from byte `off`, as an IO buffer.
    pub fn region(&self, off: usize, len: usize) -> Region<'_> {
        assert!(
            off.checked_add(len).is_some_and(|end| end <= self.len),
            "region {off}+{len} outside a mapping of {} bytes",
            self.len
        );
        Region {
            // SAFETY: in bounds, checked above.
            ptr: unsafe { self.ptr.add(off) },
            len,
            _m: PhantomData,
        }
    }

    /// Pages `first..first+n` (in pages), as an IO buffer.
    pub fn pages(&self, first: usize, n: usize) -> Region<'_> {
        self.region(first * PAGE, n * PAGE)
    }

    /// A copy of `len` bytes from `off`, read through the mapping.
    pub fn read(&self, off: usize, len: usize) -> Vec<u8> {
        let r = self.region(off, len);
        let mut v = vec![0u8; len];
        // SAFETY: the region is mapped and readable; v is ours.
        unsafe { ptr::copy_nonoverlapping(r.ptr, v.as_mut_ptr(), len) };
        v
    }

    /// Stores `data` at `off` through the mapping.
    pub fn write(&self, off: usize, data: &[u8]) {
        let r = self.region(off, data.len());
        // SAFETY: the region is mapped writable (the callers map read-write).
        unsafe { ptr::copy_nonoverlapping(data.as_ptr(), r.ptr, data.len()) };
    }

    /// msync(MS_SYNC) of the whole mapping.
    pub fn msync(&self) -> io::Result<()> {
        // SAFETY: our own mapping.
        cvt(unsafe { libc::msync(self.ptr.cast(), self.len, libc::MS_SYNC) }).map(drop)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: we mapped it; no Region outlives the mapping (lifetime-bound).
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// An IO buffer: a pointer and length, tied to the mapping it lies in.
#[derive(Clone, Copy)]
pub struct Region<'a> {
    ptr: *mut u8,
    len: usize,
    _m: PhantomData<&'a Mapping>,
}

impl Region<'static> {
    /// A buffer at an arbitrary address, for tests of bad addresses: the kernel must
    /// reject it; we never touch it ourselves.
    pub fn unchecked(addr: usize, len: usize) -> Self {
        Region {
            ptr: addr as *mut u8,
            len,
            _m: PhantomData,
        }
    }
}

impl Region<'_> {
    pub fn len(&self) -> usize {
        self.len
    }

    /// The same buffer moved by `delta` bytes and resized (for misalignment tests).
    pub fn shifted(&self, delta: usize, len: usize) -> Self {
        Region {
            ptr: self.ptr.wrapping_add(delta),
            len,
            _m: PhantomData,
        }
    }

    /// The buffer's address, for raw interfaces (Linux AIO).
    pub fn addr(&self) -> u64 {
        self.ptr as u64
    }

    pub fn iovec(&self) -> libc::iovec {
        libc::iovec {
            iov_base: self.ptr.cast(),
            iov_len: self.len,
        }
    }
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_size(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

fn off_t(off: u64) -> libc::off_t {
    off as libc::off_t
}

/// One pwrite(2) call: the count it returned, not retried.
pub fn pwrite(f: &File, buf: Region<'_>, off: u64) -> io::Result<usize> {
    // SAFETY: the kernel validates the buffer; a bad one is EFAULT, not UB for us.
    cvt_size(unsafe { libc::pwrite(f.as_raw_fd(), buf.ptr.cast(), buf.len, off_t(off)) })
}

/// One pread(2) call.
pub fn pread(f: &File, buf: Region<'_>, off: u64) -> io::Result<usize> {
    // SAFETY: as pwrite; the kernel writes only inside the region.
    cvt_size(unsafe { libc::pread(f.as_raw_fd(), buf.ptr.cast(), buf.len, off_t(off)) })
}

/// One pwritev2(2) call (flags 0 is plain pwritev).
pub fn pwritev(f: &File, bufs: &[Region<'_>], off: u64, flags: libc::c_int) -> io::Result<usize> {
    let iov: Vec<libc::iovec> = bufs.iter().map(Region::iovec).collect();
    // SAFETY: iov describes regions of live mappings.
    cvt_size(unsafe {
        libc::pwritev2(
            f.as_raw_fd(),
            iov.as_ptr(),
            iov.len() as libc::c_int,
            off_t(off),
            flags,
        )
    })
}

/// One preadv2(2) call (flags 0 is plain preadv).
pub fn preadv(f: &File, bufs: &[Region<'_>], off: u64, flags: libc::c_int) -> io::Result<usize> {
    let iov: Vec<libc::iovec> = bufs.iter().map(Region::iovec).collect();
    // SAFETY: as pwritev.
    cvt_size(unsafe {
        libc::preadv2(
            f.as_raw_fd(),
            iov.as_ptr(),
            iov.len() as libc::c_int,
            off_t(off),
            flags,
        )
    })
}

/// Opens `path` read-write with extra `flags` (O_DIRECT, O_DSYNC...), creating it
/// (truncated) if `create`.
pub fn open(path: &Path, flags: libc::c_int, create: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).custom_flags(flags);
    if create {
        o.create(true).truncate(true);
    }
    o.open(path)
}

/// sync(2), then drops clean page cache (echo 3 > /proc/sys/vm/drop_caches) if
/// `drop` and we may; failure to drop (not root) is ignored.
pub fn sync_and_drop_caches(drop: bool) {
    // SAFETY: plain syscall.
    unsafe { libc::sync() };
    if drop {
        let _ = std::fs::write("/proc/sys/vm/drop_caches", "3\n");
    }
}

/// Arms SIGALRM to end the process with exit status 3 and "timed out" after `secs`.
pub fn arm_alarm(secs: u32, what: &str) {
    let msg = format!("timed out after {secs} s: {what}\n");
    // Leaked on purpose: the handler reads it at any time until exit.
    let msg: &'static [u8] = Box::leak(msg.into_bytes().into_boxed_slice());
    ALARM_MSG.store(msg.as_ptr().cast_mut(), std::sync::atomic::Ordering::SeqCst);
    ALARM_LEN.store(msg.len(), std::sync::atomic::Ordering::SeqCst);
    let handler: extern "C" fn(libc::c_int) = on_alarm;
    // SAFETY: the handler only calls async-signal-safe write(2) and _exit(2).
    unsafe {
        libc::signal(libc::SIGALRM, handler as libc::sighandler_t);
        libc::alarm(secs);
    }
}

static ALARM_MSG: std::sync::atomic::AtomicPtr<u8> =
    std::sync::atomic::AtomicPtr::new(ptr::null_mut());
static ALARM_LEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

extern "C" fn on_alarm(_: libc::c_int) {
    let p = ALARM_MSG.load(std::sync::atomic::Ordering::SeqCst);
    let n = ALARM_LEN.load(std::sync::atomic::Ordering::SeqCst);
    // SAFETY: async-signal-safe calls on a leaked, immutable buffer.
    unsafe {
        if !p.is_null() {
            libc::write(2, p.cast(), n);
        }
        libc::_exit(3);
    }
}

/// The errno of an IO error, for comparisons.
pub fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

/// A short name for an errno ("EINVAL").
pub fn errno_name(e: i32) -> String {
    let name = match e {
        libc::EINVAL => "EINVAL",
        libc::EFAULT => "EFAULT",
        libc::EAGAIN => "EAGAIN",
        libc::EIO => "EIO",
        libc::ENOSPC => "ENOSPC",
        libc::EBUSY => "EBUSY",
        libc::EINTR => "EINTR",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ENOTBLK => "ENOTBLK",
        libc::ENOSYS => "ENOSYS",
        _ => return format!("errno {e}"),
    };
    name.to_string()
}

/// Describes the outcome of one IO call: "4096 bytes" or "EFAULT (Bad address)".
pub fn outcome(r: &io::Result<usize>) -> String {
    match r {
        Ok(n) => format!("{n} bytes"),
        Err(e) => format!("{} ({e})", errno_name(errno(e))),
    }
}

/// One pwrite(2) call from a byte slice.
pub fn pwrite_slice(f: &File, buf: &[u8], off: u64) -> io::Result<usize> {
    // SAFETY: the slice is readable for its length.
    cvt_size(unsafe { libc::pwrite(f.as_raw_fd(), buf.as_ptr().cast(), buf.len(), off_t(off)) })
}
