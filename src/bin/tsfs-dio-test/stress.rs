//! One file, for a while: 4 threads doing O_DIRECT reads, 2 doing O_DIRECT
//! overwrites, 2 faulting its mapping (loads, stores, and dropping the mapping's
//! pages), and one truncating it down and up again. Every byte any of them sees must
//! be zero or the pattern of one of the seeds written, at its own place (torn pages
//! are allowed; misplaced, stale or foreign data is not); every write must be whole;
//! and at the end the file, read back through fresh descriptors, passes the same test.

use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use tsfs::rng::Rng;

use crate::fail::{check, Context, Fail, Res};
use crate::fixture::{anon, expect_full, Ctx, TestFile};
use crate::pattern;
use crate::sys::{self, Mapping, Share, PAGE};

const PAGES: usize = 256;
/// The fault threads use the first MAPPED pages, which truncation never removes.
const MAPPED: usize = PAGES / 2;
/// Most pages one DIO moves.
const MAX_IO: usize = 8;
const SEEDS: u16 = 16;

#[derive(Default)]
struct Counts {
    reads: AtomicU64,
    writes: AtomicU64,
    faults: AtomicU64,
    truncates: AtomicU64,
}

pub fn run(ctx: &Ctx, path: &Path, seconds: f64) -> Res<String> {
    let f = TestFile::with_pattern(ctx, path, PAGES, ctx.seed(1))?;
    let mut seeds = vec![ctx.seed(1)];
    seeds.extend((0..SEEDS).map(|k| ctx.seed(10 + k)));
    let map = f.map(0, MAPPED, Share::Shared)?;
    let stop = AtomicBool::new(false);
    let counts = Counts::default();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let base = u64::from(ctx.seed);

    let results: Vec<Res> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for k in 0..4 {
            let (f, seeds, stop, counts) = (&f, &seeds, &stop, &counts);
            handles.push(s.spawn(move || reader(f, seeds, stop, counts, base + k)));
        }
        for k in 0..2 {
            let (f, seeds, stop, counts) = (&f, &seeds, &stop, &counts);
            handles.push(s.spawn(move || overwriter(f, seeds, stop, counts, base + 10 + k)));
        }
        for k in 0..2 {
            let (map, seeds, stop, counts) = (&map, &seeds, &stop, &counts);
            handles.push(s.spawn(move || faulter(map, seeds, stop, counts, base + 20 + k)));
        }
        {
            let (f, stop, counts) = (&f, &stop, &counts);
            handles.push(s.spawn(move || truncater(f, stop, counts, base + 30)));
        }
        while Instant::now() < deadline && !stop.load(Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Relaxed);
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Fail::Setup("a thread panicked".into())))
            })
            .collect()
    });
    for r in results {
        r?;
    }
    f.plain
        .set_len((PAGES * PAGE) as u64)
        .checked("the final ftruncate up")?;
    let got = f.read_back(ctx, "after the stress")?;
    if got.len() != PAGES * PAGE {
        return Err(check!(
            "size {} after the final ftruncate to {}",
            got.len(),
            PAGES * PAGE
        ));
    }
    pattern::check_words(&got, 0, &seeds)
        .map_err(|e| check!("{} read back after the stress: {e}", f.path.display()))?;
    pattern::check_words(&map.read(0, MAPPED * PAGE), 0, &seeds).map_err(|e| {
        check!(
            "{} through its mapping after the stress: {e}",
            f.path.display()
        )
    })?;
    Ok(format!(
        "stress: {seconds:.0} s of 4 DIO readers, 2 DIO overwriters, 2 faulting threads and a \
         truncater on one file: {} reads, {} writes, {} faults, {} truncations; every byte seen \
         and read back was zeros or a written pattern in place",
        counts.reads.load(Relaxed),
        counts.writes.load(Relaxed),
        counts.faults.load(Relaxed),
        counts.truncates.load(Relaxed),
    ))
}

/// Runs `body` until `stop`; on a failure, sets `stop` so the others end too.
fn until_stop(stop: &AtomicBool, mut body: impl FnMut() -> Res) -> Res {
    while !stop.load(Relaxed) {
        if let Err(e) = body() {
            stop.store(true, Relaxed);
            return Err(e);
        }
    }
    Ok(())
}

/// Runs `io(rng, buffer, first page, pages)` on random ranges of up to `MAX_IO`
/// pages until `stop`.
fn dio_loop(
    stop: &AtomicBool,
    seed: u64,
    mut io: impl FnMut(&mut Rng, &Mapping, usize, usize) -> Res,
) -> Res {
    let mut rng = Rng::new(seed);
    let buf = anon(MAX_IO)?;
    until_stop(stop, || {
        let n = 1 + rng.below(MAX_IO as u64) as usize;
        let p = rng.below((PAGES - n + 1) as u64) as usize;
        io(&mut rng, &buf, p, n)
    })
}

fn reader(f: &TestFile, seeds: &[u16], stop: &AtomicBool, c: &Counts, seed: u64) -> Res {
    dio_loop(stop, seed, |_, buf, p, n| {
        let r = sys::pread(&f.dio, buf.pages(0, n), (p * PAGE) as u64);
        let got = match r {
            Ok(k) if k <= n * PAGE => k,
            other => {
                return Err(check!(
                    "O_DIRECT read of pages {p}..{}: {}",
                    p + n,
                    sys::outcome(&other)
                ))
            }
        };
        let data = buf.read(0, got / 8 * 8);
        pattern::check_words(&data, (p * PAGE) as u64, seeds)
            .map_err(|e| check!("O_DIRECT read of pages {p}..{}: {e}", p + n))?;
        c.reads.fetch_add(1, Relaxed);
        Ok(())
    })
}

fn overwriter(f: &TestFile, seeds: &[u16], stop: &AtomicBool, c: &Counts, seed: u64) -> Res {
    dio_loop(stop, seed, |rng, buf, p, n| {
        let s = seeds[1 + rng.below(u64::from(SEEDS)) as usize];
        buf.write(0, &pattern::pages(s, p as u32, n));
        expect_full(
            &format!("O_DIRECT write of pages {p}..{}", p + n),
            sys::pwrite(&f.dio, buf.pages(0, n), (p * PAGE) as u64),
            n * PAGE,
        )?;
        c.writes.fetch_add(1, Relaxed);
        Ok(())
    })
}

fn faulter(map: &Mapping, seeds: &[u16], stop: &AtomicBool, c: &Counts, seed: u64) -> Res {
    let mut rng = Rng::new(seed);
    let mut k = 0u64;
    until_stop(stop, || {
        let p = rng.below(MAPPED as u64) as usize;
        pattern::check_words(&map.read(p * PAGE, PAGE), (p * PAGE) as u64, seeds)
            .map_err(|e| check!("load through the mapping of page {p}: {e}"))?;
        if rng.below(4) == 0 {
            let s = seeds[1 + rng.below(u64::from(SEEDS)) as usize];
            map.write(p * PAGE, &pattern::pages(s, p as u32, 1));
        }
        k += 1;
        if k % 64 == 0 {
            // Drop our page table entries, so the next accesses fault again.
            // SAFETY: our own shared file mapping; its contents stay in the file.
            unsafe {
                libc::madvise(
                    map.addr() as *mut libc::c_void,
                    map.len(),
                    libc::MADV_DONTNEED,
                )
            };
        }
        c.faults.fetch_add(1, Relaxed);
        Ok(())
    })
}

fn truncater(f: &TestFile, stop: &AtomicBool, c: &Counts, seed: u64) -> Res {
    let mut rng = Rng::new(seed);
    let fd = f.plain.as_raw_fd();
    let full = (PAGES * PAGE) as u64;
    until_stop(stop, || {
        // Word-aligned, so truncation zeroes whole pattern words.
        let size = ((MAPPED * PAGE) as u64 + rng.below(full - (MAPPED * PAGE) as u64)) & !7;
        for to in [size, full] {
            // SAFETY: plain syscall on our descriptor.
            if unsafe { libc::ftruncate(fd, to as libc::off_t) } != 0 {
                return Err(check!(
                    "ftruncate to {to}: {}",
                    std::io::Error::last_os_error()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        c.truncates.fetch_add(1, Relaxed);
        Ok(())
    })
}
