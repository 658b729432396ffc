//! Scenario 8: one thread keeps storing new generations of the pattern through a
//! shared mapping of the DIO range, another DIO-writes random parts of that range
//! from the same mapping onto itself, and a third drops the page cache every few
//! milliseconds. It must finish (the alarm catches a hang), every DIO must return
//! its full count, and since DIO writes never change the memory, the file must end
//! up holding exactly the writer's last complete generation: anything older is a
//! store through the mapping that the kernel lost.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::fail::{Fail, Res};
use crate::fixture::{eio_note, expect_full, msync_after_race, Ctx, TestFile};
use crate::pattern;
use crate::ring::Rng;
use crate::sys::{self, Mapping, Share, PAGE};

const PAGES: usize = 32;
/// The first RANGE pages are mapped, rewritten and DIO'd; the rest must not change.
const RANGE: usize = 16;

fn generation_seed(ctx: &Ctx, g: u16) -> u16 {
    ctx.seed(20 + g)
}

pub fn run(ctx: &Ctx, path: &Path, seconds: f64) -> Res<String> {
    let mut f = TestFile::with_pattern(ctx, path, PAGES, ctx.seed(1))?;
    let map = f.map(0, RANGE, Share::Shared)?;
    let stop = AtomicBool::new(false);
    let last_gen = AtomicU16::new(0);
    let drops = AtomicUsize::new(0);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);

    let (dio, writer) = std::thread::scope(|s| {
        let writer = s.spawn(|| writer(ctx, &map, &stop, &last_gen));
        let dropper = s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                if std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok() {
                    drops.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let dio = dio_loop(ctx, &f, &map, deadline, &stop);
        stop.store(true, Ordering::SeqCst);
        let writer = writer
            .join()
            .unwrap_or_else(|_| Err(Fail::Setup("the writer thread panicked".into())));
        let _ = dropper.join();
        (dio, writer)
    });
    let dios = dio?;
    let passes = writer?;
    let g = last_gen.load(Ordering::SeqCst);

    let mut notes = Vec::new();
    if msync_after_race(&map, "the mapping after the run")? {
        notes.push(path.display().to_string());
    }
    let seed = generation_seed(ctx, g);
    f.set(0, &pattern::pages(seed, 0, RANGE));
    let when = format!("after the run (the writer's last complete generation is {g}, seed {seed})");
    f.verify(ctx, &when)?;
    f.verify_map(&map, 0, &when)?;
    let drops = drops.load(Ordering::SeqCst);
    let drops = if ctx.drop_caches && drops > 0 {
        format!("{drops} cache drops")
    } else {
        "no cache drops (disabled or not permitted)".to_string()
    };
    Ok(format!(
        "redirty: {dios} DIO writes of a mapped range onto itself while {passes} passes stored new \
         data through the mapping, {drops}: no hang, full counts, the last generation intact{}",
        eio_note(&notes)
    ))
}

/// Stores generation after generation of the pattern into every page of the mapping
/// until told to stop; returns how many full passes it made.
fn writer(ctx: &Ctx, map: &Mapping, stop: &AtomicBool, last: &AtomicU16) -> Res<usize> {
    let mut g: u16 = 0;
    // At least one pass, then until told to stop; `stop` is only looked at between
    // passes, so the memory always ends holding one whole generation.
    loop {
        g = g.wrapping_add(1);
        let seed = generation_seed(ctx, g);
        for p in 0..RANGE {
            map.write(p * PAGE, &pattern::pages(seed, p as u32, 1));
        }
        last.store(g, Ordering::SeqCst);
        if stop.load(Ordering::SeqCst) {
            return Ok(g as usize);
        }
    }
}

fn dio_loop(
    ctx: &Ctx,
    f: &TestFile,
    map: &Mapping,
    deadline: Instant,
    stop: &AtomicBool,
) -> Res<usize> {
    let mut rng = Rng::new(u64::from(ctx.seed) * 7919);
    let mut n_ios = 0;
    while Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
        // Every fourth write covers the whole range; the others a random part of it.
        let (first, n) = if n_ios % 4 == 0 {
            (0, RANGE)
        } else {
            let n = 1 + rng.below(RANGE);
            (rng.below(RANGE - n + 1), n)
        };
        let what = format!(
            "DIO write {n_ios} of pages {first}..{} from their own mapping while it is being rewritten",
            first + n
        );
        expect_full(
            &what,
            sys::pwrite(&f.dio, map.pages(first, n), (first * PAGE) as u64),
            n * PAGE,
        )?;
        n_ios += 1;
    }
    Ok(n_ios)
}
