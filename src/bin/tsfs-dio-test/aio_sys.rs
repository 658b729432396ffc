//! Linux native AIO through raw system calls (io_setup, io_submit, io_getevents,
//! io_destroy): the libc crate has the call numbers but not the structures, so
//! they are spelled out here as linux/aio_abi.h lays them out (x86-64, little endian).

use std::io;

use crate::sys::Region;

pub const IOCB_CMD_PREAD: u16 = 0;
pub const IOCB_CMD_PWRITE: u16 = 1;
pub const IOCB_CMD_PREADV: u16 = 7;
pub const IOCB_CMD_PWRITEV: u16 = 8;

/// struct iocb
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Iocb {
    pub aio_data: u64,
    pub aio_key: u32,
    pub aio_rw_flags: i32,
    pub aio_lio_opcode: u16,
    pub aio_reqprio: i16,
    pub aio_fildes: u32,
    pub aio_buf: u64,
    pub aio_nbytes: u64,
    pub aio_offset: i64,
    pub aio_reserved2: u64,
    pub aio_flags: u32,
    pub aio_resfd: u32,
}

/// struct io_event
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct IoEvent {
    pub data: u64,
    pub obj: u64,
    pub res: i64,
    pub res2: i64,
}

/// An AIO context, destroyed on drop.
pub struct Aio(libc::c_ulong);

impl Aio {
    pub fn new(nr: u32) -> io::Result<Self> {
        let mut ctx: libc::c_ulong = 0;
        // SAFETY: io_setup writes the context id into ctx.
        let r = unsafe {
            libc::syscall(
                libc::SYS_io_setup,
                nr as libc::c_long,
                &mut ctx as *mut libc::c_ulong,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Aio(ctx))
    }

    /// Submits all of `iocbs`; returns how many the kernel took.
    pub fn submit(&self, iocbs: &mut [Iocb]) -> io::Result<usize> {
        let mut ptrs: Vec<*mut Iocb> = iocbs.iter_mut().map(|c| c as *mut Iocb).collect();
        // SAFETY: the iocbs and the buffers they name stay alive until the caller has
        // reaped their events (the caller waits before returning).
        let r = unsafe {
            libc::syscall(
                libc::SYS_io_submit,
                self.0,
                ptrs.len() as libc::c_long,
                ptrs.as_mut_ptr(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(r as usize)
    }

    /// Waits for at least `min` and at most `events.len()` completions.
    pub fn getevents(&self, min: usize, events: &mut [IoEvent]) -> io::Result<usize> {
        // SAFETY: events is writable for events.len() entries; no timeout (the alarm
        // bounds the wait).
        let r = unsafe {
            libc::syscall(
                libc::SYS_io_getevents,
                self.0,
                min as libc::c_long,
                events.len() as libc::c_long,
                events.as_mut_ptr(),
                std::ptr::null_mut::<libc::timespec>(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(r as usize)
    }
}

impl Drop for Aio {
    fn drop(&mut self) {
        // SAFETY: our context; outstanding IO (only after a failure) is cancelled.
        unsafe { libc::syscall(libc::SYS_io_destroy, self.0) };
    }
}

/// An iocb for a one-buffer read or write.
pub fn iocb(op: u16, fd: i32, buf: Region<'_>, off: u64, data: u64) -> Iocb {
    Iocb {
        aio_data: data,
        aio_lio_opcode: op,
        aio_fildes: fd as u32,
        aio_buf: buf.addr(),
        aio_nbytes: buf.len() as u64,
        aio_offset: off as i64,
        ..Iocb::default()
    }
}

/// An iocb for a vectored read or write; `iov` must outlive the IO.
pub fn iocbv(op: u16, fd: i32, iov: &[libc::iovec], off: u64, data: u64) -> Iocb {
    Iocb {
        aio_data: data,
        aio_lio_opcode: op,
        aio_fildes: fd as u32,
        aio_buf: iov.as_ptr() as u64,
        aio_nbytes: iov.len() as u64,
        aio_offset: off as i64,
        ..Iocb::default()
    }
}
