//! Scenario 7: files in a ring (two for `cross`, three for `ring`), one thread per
//! file, each DIO-writing its file from a shared mapping of the next file and
//! DIO-reading its file into that mapping, concurrently, many times: no deadlock
//! (the alarm catches one), every IO complete, and afterwards every page a whole
//! pattern page with the right page number (pages only ever move between files at
//! the same offset). Then each file is copied once more from the next, alone, and
//! checked exactly.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::fail::{check, Fail, Res};
use crate::fixture::{eio_note, expect_full, msync_after_race, Ctx, TestFile};
use crate::pattern::{self, Kind};
use crate::sys::{self, Mapping, Share, PAGE};

const PAGES: usize = 16;

/// A small deterministic random source (xorshift64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

pub struct Limits {
    pub iterations: usize,
    pub seconds: f64,
}

pub fn run(ctx: &Ctx, paths: &[PathBuf], limits: &Limits) -> Res<String> {
    let k = paths.len();
    let mut files = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        files.push(TestFile::with_pattern(
            ctx,
            p,
            PAGES,
            ctx.seed(i as u16 + 1),
        )?);
    }
    let maps: Vec<Mapping> = files
        .iter()
        .map(|f| f.map(0, PAGES, Share::Shared))
        .collect::<Res<_>>()?;
    let stop = AtomicBool::new(false);
    let deadline = Instant::now() + Duration::from_secs_f64(limits.seconds);
    let start = Instant::now();
    let results: Vec<Res<usize>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..k)
            .map(|i| {
                let (f, next, stop) = (&files[i], &maps[(i + 1) % k], &stop);
                let seed = u64::from(ctx.seed) << 8 | i as u64;
                s.spawn(move || {
                    let r = worker(
                        f,
                        next,
                        (i + 1) % k,
                        seed,
                        limits.iterations,
                        deadline,
                        stop,
                    );
                    if r.is_err() {
                        stop.store(true, Ordering::SeqCst);
                    }
                    r
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Fail::Setup("a worker thread panicked".into())))
            })
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut ios = 0;
    for r in results {
        ios += r?;
    }

    // Every page of every file: a whole pattern page of one of the files, at its offset.
    let seeds: Vec<u16> = (0..k).map(|i| ctx.seed(i as u16 + 1)).collect();
    let mut notes = Vec::new();
    for (f, m) in files.iter().zip(&maps) {
        if msync_after_race(m, &format!("the mapping of {}", f.path.display()))? {
            notes.push(f.path.display().to_string());
        }
        let got = f.read_back(ctx, "after the concurrent phase")?;
        for (q, page) in got.chunks(PAGE).enumerate() {
            match pattern::kind(page) {
                Kind::Pattern { seed, page: p } if p as usize == q && seeds.contains(&seed) => {}
                _ => {
                    return Err(check!(
                        "{} page {q} after the concurrent phase holds {}; expected a whole page {q} of seeds {seeds:?}",
                        f.path.display(),
                        pattern::describe(page)
                    ))
                }
            }
        }
        crate::fixture::verify_mem(
            &format!(
                "{} through its mapping after the concurrent phase",
                f.path.display()
            ),
            m,
            0,
            &got,
            0,
        )?;
    }

    // Alone now: each file DIO-written once more from the whole mapping of the next.
    for i in 0..k {
        let next = (i + 1) % k;
        let src = files[next].read_back(ctx, "before the final copy")?;
        let what = format!(
            "final DIO write of {} from the mapping of {}",
            files[i].path.display(),
            files[next].path.display()
        );
        expect_full(
            &what,
            sys::pwrite(&files[i].dio, maps[next].pages(0, PAGES), 0),
            PAGES * PAGE,
        )?;
        files[i].image = src;
        files[i].verify(ctx, &format!("after the {what}"))?;
        files[i].verify_map(&maps[i], 0, &format!("after the {what}"))?;
    }
    let name = if k == 2 { "cross" } else { "ring" };
    Ok(format!(
        "{name}: {k} files, each DIO-written from and read into a mapping of the next by its own \
         thread: {ios} IOs in {elapsed:.1} s, no deadlock, all full counts; every page whole and \
         in place; final copies exact{}",
        eio_note(&notes)
    ))
}

fn worker(
    f: &TestFile,
    next: &Mapping,
    next_index: usize,
    seed: u64,
    iterations: usize,
    deadline: Instant,
    stop: &AtomicBool,
) -> Res<usize> {
    let mut rng = Rng::new(seed);
    let mut done = 0;
    for it in 0..iterations {
        if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
            break;
        }
        let n = 1 + rng.below(PAGES);
        let first = rng.below(PAGES - n + 1);
        let buf = next.pages(first, n);
        let off = (first * PAGE) as u64;
        let (op, r) = if it % 2 == 0 {
            ("write from", sys::pwrite(&f.dio, buf, off))
        } else {
            ("read into", sys::pread(&f.dio, buf, off))
        };
        let what = format!(
            "iteration {it}: DIO {op} pages {first}..{} of {} / the mapping of file {next_index}",
            first + n,
            f.path.display()
        );
        expect_full(&what, r, n * PAGE)?;
        done += 1;
    }
    Ok(done)
}
