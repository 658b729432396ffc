//! Scenario 9c: asynchronous DIO through Linux native AIO. A batch of writes in
//! flight together (from anonymous memory, a page onto itself, a range onto itself,
//! a forward-overlapping range, another page, and a vectored write mixing a
//! self-mapped and an anonymous segment), then a batch of reads (into the range's own
//! mapping, into anonymous memory, into the mapping of other pages, vectored). The
//! ranges in one batch are chosen so that no IO's source is another's destination,
//! which keeps the expected result exact.

use std::os::fd::AsRawFd;
use std::path::Path;

use crate::aio_sys::{iocb, iocbv, Aio, IoEvent, Iocb};
use crate::aio_sys::{IOCB_CMD_PREAD, IOCB_CMD_PREADV, IOCB_CMD_PWRITE, IOCB_CMD_PWRITEV};
use crate::fail::{check, Context, Res};
use crate::fixture::{anon, verify_mem, Ctx, TestFile};
use crate::pattern;
use crate::sys::{self, Share, PAGE};

const PAGES: usize = 64;

pub struct Op {
    pub what: String,
    pub iocb: Iocb,
    pub len: usize,
}

pub fn op(what: &str, iocb: Iocb, len: usize) -> Op {
    Op {
        what: what.to_string(),
        iocb,
        len,
    }
}

/// Submits every op at once and waits for all of them; each must complete in full.
pub fn batch(aio: &Aio, name: &str, ops: &[Op]) -> Res {
    let mut iocbs: Vec<Iocb> = ops
        .iter()
        .enumerate()
        .map(|(i, o)| Iocb {
            aio_data: i as u64,
            ..o.iocb
        })
        .collect();
    let mut submitted = 0;
    while submitted < iocbs.len() {
        let k = aio.submit(&mut iocbs[submitted..]).checked(format!(
            "io_submit of the {name} batch ({submitted} of {} in)",
            ops.len()
        ))?;
        if k == 0 {
            return Err(check!("io_submit of the {name} batch took no IO"));
        }
        submitted += k;
    }
    let mut results: Vec<Option<i64>> = vec![None; ops.len()];
    let mut events = vec![IoEvent::default(); ops.len()];
    let mut reaped = 0;
    while reaped < ops.len() {
        let k = aio
            .getevents(1, &mut events[..ops.len() - reaped])
            .checked(format!("io_getevents for the {name} batch"))?;
        for e in &events[..k] {
            results[e.data as usize] = Some(e.res);
        }
        reaped += k;
    }
    expect_all_full(ops.iter().map(|o| (o.what.as_str(), o.len)), &results)
}

/// Requires that each IO (what, length) completed with its full length (`results`:
/// its completion's result, in the same order).
pub fn expect_all_full<'a>(
    ios: impl Iterator<Item = (&'a str, usize)>,
    results: &[Option<i64>],
) -> Res {
    for ((what, len), r) in ios.zip(results) {
        match *r {
            Some(n) if n == len as i64 => {}
            Some(n) if n < 0 => {
                let e = -n as i32;
                return Err(check!(
                    "{what}: completed with {} ({}), expected the full {len} bytes",
                    sys::errno_name(e),
                    std::io::Error::from_raw_os_error(e),
                ));
            }
            Some(n) => {
                return Err(check!(
                    "{what}: completed with {n} bytes, expected the full {len}"
                ))
            }
            None => return Err(check!("{what}: no completion event")),
        }
    }
    Ok(())
}

pub fn run(ctx: &Ctx, path: &Path) -> Res<String> {
    let mut f = TestFile::with_pattern(ctx, path, PAGES, ctx.seed(1))?;
    let fd = f.dio.as_raw_fd();
    let fm = f.map(0, PAGES, Share::Shared)?;
    let a = anon(5)?;
    a.write(0, &pattern::pages(ctx.seed(2), 200, 5));
    let aio = Aio::new(16).setup("io_setup")?;
    let off = |p: usize| (p * PAGE) as u64;

    // Writes: (what, destination page, data expected there)
    let v1 = [fm.pages(57, 1).iovec(), a.pages(4, 1).iovec()];
    let writes = [
        op(
            "AIO write of 4 anonymous pages to pages 0..4",
            iocb(IOCB_CMD_PWRITE, fd, a.pages(0, 4), off(0), 0),
            4 * PAGE,
        ),
        op(
            "AIO write of page 8 from its own mapping",
            iocb(IOCB_CMD_PWRITE, fd, fm.pages(8, 1), off(8), 0),
            PAGE,
        ),
        op(
            "AIO write of pages 16..24 from their own mapping",
            iocb(IOCB_CMD_PWRITE, fd, fm.pages(16, 8), off(16), 0),
            8 * PAGE,
        ),
        op(
            "AIO write of pages 32..40 from the mapping of pages 33..41",
            iocb(IOCB_CMD_PWRITE, fd, fm.pages(33, 8), off(32), 0),
            8 * PAGE,
        ),
        op(
            "AIO write of page 48 from the mapping of page 50",
            iocb(IOCB_CMD_PWRITE, fd, fm.pages(50, 1), off(48), 0),
            PAGE,
        ),
        op(
            "AIO writev of pages 57..59 from [page 57's own mapping, anonymous]",
            iocbv(IOCB_CMD_PWRITEV, fd, &v1, off(57), 0),
            2 * PAGE,
        ),
    ];
    let before = f.image.clone();
    let page = |p: usize| before[p * PAGE..(p + 1) * PAGE].to_vec();
    let expect_writes: Vec<(usize, Vec<u8>)> = vec![
        (0, a.read(0, 4 * PAGE)),
        (8, page(8)),
        (16, before[16 * PAGE..24 * PAGE].to_vec()),
        (32, before[33 * PAGE..41 * PAGE].to_vec()),
        (48, page(50)),
        (57, [page(57), a.read(4 * PAGE, PAGE)].concat()),
    ];
    batch(&aio, "write", &writes)?;
    for (p, data) in expect_writes {
        f.set(p * PAGE, &data);
    }
    f.verify(ctx, "after the AIO writes")?;
    f.verify_map(&fm, 0, "after the AIO writes")?;

    let b = anon(4)?;
    let c = anon(1)?;
    let v2 = [c.pages(0, 1).iovec(), fm.pages(33, 1).iovec()];
    let reads = [
        op(
            "AIO read of pages 16..24 into their own mapping",
            iocb(IOCB_CMD_PREAD, fd, fm.pages(16, 8), off(16), 0),
            8 * PAGE,
        ),
        op(
            "AIO read of pages 0..4 into anonymous memory",
            iocb(IOCB_CMD_PREAD, fd, b.pages(0, 4), off(0), 0),
            4 * PAGE,
        ),
        op(
            "AIO read of pages 60..62 into the mapping of pages 44..46",
            iocb(IOCB_CMD_PREAD, fd, fm.pages(44, 2), off(60), 0),
            2 * PAGE,
        ),
        op(
            "AIO readv of pages 32..34 into [anonymous, page 33's own mapping]",
            iocbv(IOCB_CMD_PREADV, fd, &v2, off(32), 0),
            2 * PAGE,
        ),
    ];
    let before = f.image.clone();
    batch(&aio, "read", &reads)?;
    verify_mem(
        "anonymous buffer of the AIO read of pages 0..4",
        &b,
        0,
        &before[..4 * PAGE],
        0,
    )?;
    verify_mem(
        "anonymous segment of the AIO readv of page 32",
        &c,
        0,
        &before[32 * PAGE..33 * PAGE],
        off(32),
    )?;
    f.set(44 * PAGE, &before[60 * PAGE..62 * PAGE]);
    fm.msync().checked("msync after the AIO reads")?;
    f.verify(ctx, "after the AIO reads")?;
    f.verify_map(&fm, 0, "after the AIO reads")?;
    Ok(format!(
        "aio: {} AIO writes and {} AIO reads in flight together, from and into anonymous memory, \
         self-mapped and other-page-mapped buffers: full counts, data right",
        writes.len(),
        reads.len()
    ))
}
