//! The error cases: misaligned O_DIRECT must fail with EINVAL (offset, length, memory,
//! one misaligned vector segment, and a misaligned self-mapped buffer), and a buffer
//! the kernel cannot fault in must fail with EFAULT (unmapped, PROT_NONE, read-only for
//! a read, and a file mapping past EOF). Nothing may change the file. A buffer whose
//! second page is unmapped may fail with EFAULT or write the first page only.

use std::path::Path;

use crate::fail::{check, Context, Fail, Res};
use crate::fixture::{anon, Ctx, TestFile};
use crate::pattern;
use crate::sys::{self, Mapping, Region, Share, PAGE};

const PAGES: usize = 4;

fn expect_errno(what: &str, r: std::io::Result<usize>, want: i32) -> Res {
    match r {
        Err(ref e) if sys::errno(e) == want => Ok(()),
        other => Err(check!(
            "{what}: returned {}, expected {}",
            sys::outcome(&other),
            sys::errno_name(want)
        )),
    }
}

pub fn misaligned(ctx: &Ctx, path: &Path) -> Res<String> {
    let f = TestFile::with_pattern(ctx, path, PAGES, ctx.seed(1))?;
    let fm = f.map(0, PAGES, Share::Shared)?;
    let a = anon(2)?;
    a.write(0, &pattern::pages(ctx.seed(2), 0, 2));
    let page = a.pages(0, 1);
    let cases: Vec<(&str, std::io::Result<usize>)> = vec![
        ("write at offset 1", sys::pwrite(&f.dio, page, 1)),
        (
            "write of 100 bytes",
            sys::pwrite(&f.dio, a.region(0, 100), 0),
        ),
        (
            "write from memory at +1 byte",
            sys::pwrite(&f.dio, page.shifted(1, PAGE), 0),
        ),
        ("read at offset 1", sys::pread(&f.dio, page, 1)),
        ("read of 100 bytes", sys::pread(&f.dio, a.region(0, 100), 0)),
        (
            "read into memory at +1 byte",
            sys::pread(&f.dio, page.shifted(1, PAGE), 0),
        ),
        (
            "pwritev with segments of 100 and 3996 bytes",
            sys::pwritev(
                &f.dio,
                &[a.region(0, 100), a.region(PAGE, PAGE - 100)],
                0,
                0,
            ),
        ),
        (
            "write from the file's own mapping at +1 byte",
            sys::pwrite(&f.dio, fm.region(1, PAGE), 0),
        ),
        (
            "read into the file's own mapping at +1 byte",
            sys::pread(&f.dio, fm.region(PAGE + 1, PAGE), PAGE as u64),
        ),
    ];
    let n = cases.len();
    for (what, r) in cases {
        expect_errno(&format!("misaligned O_DIRECT {what}"), r, libc::EINVAL)?;
    }
    f.verify(ctx, "after the misaligned IO")?;
    f.verify_map(&fm, 0, "after the misaligned IO")?;
    Ok(format!(
        "misaligned: {n} misaligned O_DIRECT calls all failed with EINVAL; file unchanged"
    ))
}

pub fn badptr(ctx: &Ctx, path: &Path) -> Res<String> {
    let mut f = TestFile::with_pattern(ctx, path, PAGES, ctx.seed(1))?;
    // Three inaccessible pages with the middle one unmapped: a hole nothing else uses.
    let none = Mapping::inaccessible(3 * PAGE).setup("reserving 3 pages of address space")?;
    let hole = none.addr() + PAGE;
    // SAFETY: unmaps one page inside our own PROT_NONE reservation; nothing refers to it.
    if unsafe { libc::munmap(hole as *mut libc::c_void, PAGE) } != 0 {
        return Err(Fail::Setup(format!(
            "munmap of one reserved page: {}",
            std::io::Error::last_os_error()
        )));
    }
    let unmapped = Region::unchecked(hole, PAGE);
    let prot_none = Region::unchecked(none.addr(), PAGE);
    let ro = Mapping::file_prot(&f.plain, 0, PAGES * PAGE, Share::Shared, libc::PROT_READ)
        .setup("read-only mapping of the file")?;
    // A mapping reaching two pages past EOF: touching those pages is SIGBUS.
    let past = f.map(0, PAGES + 2, Share::Shared)?;

    let cases: Vec<(&str, std::io::Result<usize>)> = vec![
        (
            "write from an unmapped address",
            sys::pwrite(&f.dio, unmapped, 0),
        ),
        (
            "read into an unmapped address",
            sys::pread(&f.dio, unmapped, 0),
        ),
        (
            "write from PROT_NONE memory",
            sys::pwrite(&f.dio, prot_none, 0),
        ),
        (
            "read into PROT_NONE memory",
            sys::pread(&f.dio, prot_none, 0),
        ),
        (
            "read into a read-only mapping of the same range",
            sys::pread(&f.dio, ro.pages(1, 1), PAGE as u64),
        ),
        (
            "write from a mapping of the file past EOF",
            sys::pwrite(&f.dio, past.pages(PAGES + 1, 1), 0),
        ),
    ];
    let n = cases.len();
    for (what, r) in cases {
        expect_errno(&format!("O_DIRECT {what}"), r, libc::EFAULT)?;
    }
    // The PROT_NONE reservation's last page is not needed any more.
    // SAFETY: unmaps the third page of our own reservation.
    unsafe { libc::munmap((none.addr() + 2 * PAGE) as *mut libc::c_void, PAGE) };

    // Half good, half unmapped: a short count (the good page) or EFAULT.
    let a = anon(2)?;
    let data = pattern::pages(ctx.seed(2), 2, 1);
    a.write(0, &data);
    // SAFETY: unmaps the second page of our own anonymous buffer.
    if unsafe { libc::munmap((a.addr() + PAGE) as *mut libc::c_void, PAGE) } != 0 {
        return Err(Fail::Setup(format!(
            "munmap of the second anonymous page: {}",
            std::io::Error::last_os_error()
        )));
    }
    let half = Region::unchecked(a.addr(), 2 * PAGE);
    let r = sys::pwrite(&f.dio, half, (2 * PAGE) as u64);
    let partial = match r {
        // A failed write may still have written part of its range (POSIX leaves it
        // unspecified): the page may hold the old or the new data.
        Err(ref e) if sys::errno(e) == libc::EFAULT => {
            let got = f.read_back(ctx, "after the half-unmapped write")?;
            let page = got.get(2 * PAGE..3 * PAGE).unwrap_or(&[]);
            if page == data.as_slice() {
                f.set(2 * PAGE, &data);
                "EFAULT, the good page written anyway"
            } else {
                "EFAULT, nothing written"
            }
        }
        Ok(n) if n == PAGE => {
            f.set(2 * PAGE, &data);
            "a short count of the good page"
        }
        other => {
            return Err(check!(
                "O_DIRECT write of a buffer whose second page is unmapped: returned {}, expected \
                 EFAULT or {PAGE} bytes",
                sys::outcome(&other)
            ))
        }
    };
    // Pages were unmapped behind these mappings' backs: unmap what is left of them
    // page by page rather than letting Drop unmap ranges that may since be reused.
    release_page(a, 0);
    release_page(none, 0);
    f.verify(ctx, "after the bad-address IO")?;
    f.verify_map(&past, 0, "after the bad-address IO")?;
    Ok(format!(
        "badptr: {n} O_DIRECT calls with buffers that cannot be faulted in all failed with EFAULT; \
         half-unmapped buffer: {partial}; file otherwise unchanged"
    ))
}

/// Unmaps page `p` of `m` and forgets `m` (other pages of it were unmapped already).
fn release_page(m: Mapping, p: usize) {
    // SAFETY: page p of our own mapping, still mapped; nothing refers to it now.
    unsafe { libc::munmap((m.addr() + p * PAGE) as *mut libc::c_void, PAGE) };
    std::mem::forget(m);
}
