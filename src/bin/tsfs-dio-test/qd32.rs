//! Queue depth 32: 32 O_DIRECT writes in flight together, then 32 reads, through Linux
//! AIO or io_uring, with anonymous, other-page-mapped and self-mapped buffers. Page
//! ranges are chosen so that no IO's source is another's destination, so the expected
//! result is exact; every IO must complete in full.
//!
//! Layout (pages of a 128-page file): writes to 0..12 from anonymous memory, to 32..42
//! from their own mapping (just stored to, so dirty), to 64..74 from the mapping of
//! 96..106; reads of 0..12 into anonymous memory, of 32..42 into their own mapping, of
//! 64..74 into the mapping of 112..122.

use std::os::fd::AsRawFd;
use std::path::Path;

use crate::aio;
use crate::aio_sys::{iocb, Aio, IOCB_CMD_PREAD, IOCB_CMD_PWRITE};
use crate::fail::{check, Context, Res};
use crate::fixture::{anon, verify_mem, Ctx, TestFile};
use crate::pattern;
use crate::sys::{Mapping, Region, Share, PAGE};

const PAGES: usize = 128;
const DEPTH: usize = 32;
const ANON: usize = 12;
const SELF: usize = 10;
const OTHER: usize = 10;
const _: () = assert!(ANON + SELF + OTHER == DEPTH);

/// Which asynchronous interface submits the IOs.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Engine {
    /// Linux native AIO (io_submit).
    Aio,
    /// io_uring.
    Uring,
}

/// One IO of a batch: a write or read of `buf` at file page `page`.
struct Op<'a> {
    what: String,
    write: bool,
    buf: Region<'a>,
    page: usize,
}

/// The ops of one batch: pages `0..ANON` from or into anonymous memory `a`, pages
/// `32..32 + SELF` from or into their own mapping, and pages `64..64 + OTHER` from or
/// into the mapping of the pages `other` further on (`fm` maps the whole file).
fn plan<'a>(write: bool, a: &'a Mapping, fm: &'a Mapping, other: usize) -> Vec<Op<'a>> {
    let verb = if write { "write" } else { "read" };
    let from = if write { "from" } else { "into" };
    let mut ops = Vec::new();
    let mut add = |what: String, buf, page| {
        ops.push(Op {
            what,
            write,
            buf,
            page,
        })
    };
    for i in 0..ANON {
        add(
            format!("{verb} of page {i} {from} anonymous memory"),
            a.pages(i, 1),
            i,
        );
    }
    for i in 32..32 + SELF {
        add(
            format!("{verb} of page {i} {from} its own mapping"),
            fm.pages(i, 1),
            i,
        );
    }
    for i in 64..64 + OTHER {
        let src = i + other;
        let what = format!("{verb} of page {i} {from} the mapping of page {src}");
        add(what, fm.pages(src, 1), i);
    }
    ops
}

/// Submits every op at once (one call), waits for all; each must complete in full.
fn batch(engine: Engine, fd: i32, name: &str, ops: &[Op<'_>]) -> Res {
    match engine {
        Engine::Aio => {
            let aio_ops: Vec<aio::Op> = ops
                .iter()
                .map(|o| {
                    let cmd = if o.write {
                        IOCB_CMD_PWRITE
                    } else {
                        IOCB_CMD_PREAD
                    };
                    let off = (o.page * PAGE) as u64;
                    aio::op(&o.what, iocb(cmd, fd, o.buf, off, 0), o.buf.len())
                })
                .collect();
            aio::batch(&Aio::new(DEPTH as u32).setup("io_setup")?, name, &aio_ops)
        }
        Engine::Uring => {
            let results = batch_uring(fd, name, ops)?;
            aio::expect_all_full(ops.iter().map(|o| (o.what.as_str(), o.buf.len())), &results)
        }
    }
}

fn batch_uring(fd: i32, name: &str, ops: &[Op<'_>]) -> Res<Vec<Option<i64>>> {
    use io_uring::{opcode, types, IoUring};
    let mut ring = IoUring::new(DEPTH as u32).setup("io_uring_setup")?;
    for (i, o) in ops.iter().enumerate() {
        let off = (o.page * PAGE) as u64;
        let len = o.buf.len() as u32;
        let ptr = o.buf.addr() as *mut u8;
        let sqe = if o.write {
            opcode::Write::new(types::Fd(fd), ptr, len)
                .offset(off)
                .build()
        } else {
            opcode::Read::new(types::Fd(fd), ptr, len)
                .offset(off)
                .build()
        };
        // SAFETY: the buffer is a live mapping that outlives the IO: we wait for every
        // completion below before returning.
        unsafe { ring.submission().push(&sqe.user_data(i as u64)) }
            .map_err(|e| check!("queueing the {name} batch: {e}"))?;
    }
    let mut results = vec![None; ops.len()];
    let mut reaped = 0;
    while reaped < ops.len() {
        ring.submit_and_wait(1)
            .checked(format!("io_uring_enter for the {name} batch"))?;
        for cqe in ring.completion() {
            if let Some(r) = results.get_mut(cqe.user_data() as usize) {
                *r = Some(i64::from(cqe.result()));
            }
            reaped += 1;
        }
    }
    Ok(results)
}

pub fn run(ctx: &Ctx, path: &Path, engine: Engine) -> Res<String> {
    let mut f = TestFile::with_pattern(ctx, path, PAGES, ctx.seed(1))?;
    let fd = f.dio.as_raw_fd();
    let fm = f.map(0, PAGES, Share::Shared)?;
    let a = anon(ANON)?;
    let a_data = pattern::pages(ctx.seed(2), 0, ANON);
    a.write(0, &a_data);
    // Dirty the self-mapped source pages with new data through the mapping.
    let dirty = pattern::pages(ctx.seed(3), 32, SELF);
    fm.write(32 * PAGE, &dirty);
    f.set(32 * PAGE, &dirty);

    let writes = plan(true, &a, &fm, 32);
    let before = f.image.clone();
    batch(engine, fd, "write", &writes)?;
    f.set(0, &a_data);
    f.set(64 * PAGE, &before[96 * PAGE..(96 + OTHER) * PAGE]);
    fm.msync().checked("msync after the writes")?;
    f.verify(ctx, "after the queue-depth-32 writes")?;
    f.verify_map(&fm, 0, "after the queue-depth-32 writes")?;

    let b = anon(ANON)?;
    let reads = plan(false, &b, &fm, 48);
    let before = f.image.clone();
    batch(engine, fd, "read", &reads)?;
    verify_mem(
        "anonymous buffer of the reads of pages 0..12",
        &b,
        0,
        &before[..ANON * PAGE],
        0,
    )?;
    f.set(112 * PAGE, &before[64 * PAGE..(64 + OTHER) * PAGE]);
    fm.msync().checked("msync after the reads")?;
    f.verify(ctx, "after the queue-depth-32 reads")?;
    f.verify_map(&fm, 0, "after the queue-depth-32 reads")?;
    Ok(format!(
        "qd32 ({engine:?}): {DEPTH} writes then {DEPTH} reads in flight together ({ANON} \
         anonymous, {SELF} self-mapped, {OTHER} other-page-mapped pages each): full counts, \
         data right"
    ))
}
