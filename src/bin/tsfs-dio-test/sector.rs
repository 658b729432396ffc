//! O_DIRECT aligned to the device's logical block size rather than the file system
//! block: statx must report the alignments (STATX_DIOALIGN), and writes and reads of
//! whole sectors anywhere in a block must work: overwrites inside a block (the rest
//! of it kept), across a block boundary, into a hole (the rest of the block reads as
//! zeros), past EOF leaving a gap, and appends at an unaligned EOF; reads at sector
//! offsets, and a short read at EOF. Memory is sector- but not page-aligned. An
//! offset that is not a multiple of the sector stays EINVAL.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::fail::{check, Fail, Res};
use crate::fixture::{anon, expect_full, Ctx, TestFile};
use crate::pattern;
use crate::sys::{self, PAGE};

/// `len` bytes of `seed`'s pattern as they lie in a file from byte `off`.
fn file_bytes(seed: u16, off: usize, len: usize) -> Vec<u8> {
    let first = off / PAGE;
    let pages = (off + len).div_ceil(PAGE) - first;
    let p = pattern::pages(seed, first as u32, pages);
    p[off % PAGE..off % PAGE + len].to_vec()
}

/// (memory alignment, file offset alignment) from statx(STATX_DIOALIGN).
fn dio_align(path: &Path) -> Res<(usize, usize)> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|e| Fail::Setup(format!("path {}: {e}", path.display())))?;
    // SAFETY: zeroed statx is a valid value to be overwritten.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a statx to fill.
    let r = unsafe { libc::statx(libc::AT_FDCWD, c.as_ptr(), 0, libc::STATX_DIOALIGN, &mut st) };
    if r != 0 {
        return Err(check!(
            "statx(STATX_DIOALIGN) of {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    if st.stx_mask & libc::STATX_DIOALIGN == 0 {
        return Err(check!(
            "statx of {} does not report STATX_DIOALIGN",
            path.display()
        ));
    }
    Ok((
        st.stx_dio_mem_align as usize,
        st.stx_dio_offset_align as usize,
    ))
}

pub fn run(ctx: &Ctx, path: &Path) -> Res<String> {
    const PAGES: usize = 8;
    const HOLE_END: usize = 12;
    let mut f = TestFile::with_pattern(ctx, path, PAGES, ctx.seed(1))?;
    let (mem, s) = dio_align(path)?;
    if !s.is_power_of_two() || s >= PAGE || mem == 0 || mem > s || !mem.is_power_of_two() {
        return Err(check!(
            "STATX_DIOALIGN: memory {mem}, offset {s}; expected powers of two, the offset \
             alignment a sector below the {PAGE}-byte block, the memory one at most that"
        ));
    }
    f.plain
        .set_len((HOLE_END * PAGE) as u64)
        .map_err(|e| Fail::Setup(format!("ftruncate up: {e}")))?;
    f.image.resize(HOLE_END * PAGE, 0);
    // Sector-aligned, not page-aligned memory.
    let buf = anon(4)?;
    let mut n = 0;
    let writes = [
        ("one sector inside block 0", 3 * s, s),
        ("three sectors across blocks 0 and 1", PAGE - s, 3 * s),
        ("one sector into the hole at block 9", 9 * PAGE + 2 * s, s),
        (
            "five sectors past EOF leaving a gap",
            HOLE_END * PAGE + s,
            5 * s,
        ),
    ];
    for (k, (what, off, len)) in writes.into_iter().enumerate() {
        let data = file_bytes(ctx.seed(2 + k as u16), off, len);
        buf.write(s, &data);
        expect_full(
            &format!("O_DIRECT write of {what} (offset {off}, {len} bytes)"),
            sys::pwrite(&f.dio, buf.region(s, len), off as u64),
            len,
        )?;
        f.set(off, &data);
        n += 1;
    }
    // Appends at the unaligned EOF: the partial block's head must stay.
    for k in 0..2 {
        let off = f.image.len();
        let data = file_bytes(ctx.seed(10 + k), off, s);
        buf.write(s, &data);
        expect_full(
            &format!("O_DIRECT append of one sector at EOF {off}"),
            sys::pwrite(&f.dio, buf.region(s, s), off as u64),
            s,
        )?;
        f.set(off, &data);
        n += 1;
    }
    let reads = [
        ("three sectors across blocks 0 and 1", PAGE - s, 3 * s),
        ("two sectors around the hole write", 9 * PAGE + s, 2 * s),
        (
            "four sectors from one sector before EOF",
            f.image.len() - s,
            4 * s,
        ),
    ];
    for (what, off, len) in reads {
        let want = &f.image[off..(off + len).min(f.image.len())];
        let r = sys::pread(&f.dio, buf.region(s, len), off as u64);
        match r {
            Ok(k) if k == want.len() => {}
            other => {
                return Err(check!(
                    "O_DIRECT read of {what} (offset {off}, {len} bytes): returned {}, expected \
                     {} bytes",
                    sys::outcome(&other),
                    want.len()
                ))
            }
        }
        pattern::compare(
            &format!("O_DIRECT read of {what}"),
            &buf.read(s, want.len()),
            want,
            off as u64,
        )
        .map_err(Fail::Check)?;
        n += 1;
    }
    if s > 1 {
        let r = sys::pwrite(&f.dio, buf.region(s, s), (s / 2) as u64);
        if !matches!(r, Err(ref e) if sys::errno(e) == libc::EINVAL) {
            return Err(check!(
                "O_DIRECT write at offset {} (half a sector): returned {}, expected EINVAL",
                s / 2,
                sys::outcome(&r)
            ));
        }
    }
    f.verify(ctx, "after the sector-aligned IO")?;
    Ok(format!(
        "sector: STATX_DIOALIGN says memory {mem}, offset {s}; {n} O_DIRECT writes and reads \
         at {s}-byte granularity (inside a block, across blocks, into a hole, past EOF, \
         appends at an unaligned EOF): counts and data right"
    ))
}
