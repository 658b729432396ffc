//! `tsfs-workload run --dir DIR --seconds S --state FILE [...]`: a mixed file
//! system workload (writes, appends, truncates, writes through shared mappings,
//! punched holes, fsyncs, renames across directories, unlinks and re-creates,
//! cache drops) run by several threads, each on its own files, for S seconds.
//! Every file's expected contents are kept in memory and checked through a
//! second descriptor during the run and at its end; the expected contents go to
//! FILE.
//!
//! `tsfs-workload verify --dir DIR --state FILE`: checks that DIR holds exactly
//! the files FILE describes, with those contents (after a remount, say).
//!
//! `tsfs-workload race --dir DIR --seconds S`: threads racing on the same two
//! files: buffered writes, truncates (never below 64 KiB), writes and reads
//! through shared mappings of the first 64 KiB (so they never fault past the
//! end), reads, fsyncs. Page faults and truncation meet on the inode's page
//! cache lock in its two states. Contents cannot be predicted; a file whose
//! first 64 KiB is only ever written through the mapping and with one pattern
//! per byte is checked at the end.
//!
//! Both print their figures; the exit status is 0 only if every check passed.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use tsfs::rng::Rng;

#[derive(Parser, Debug)]
#[command(name = "tsfs-workload")]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the workload.
    Run {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        #[arg(long)]
        state: PathBuf,
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Files per thread.
        #[arg(long, default_value_t = 24)]
        files: usize,
        /// Largest file, in bytes.
        #[arg(long, default_value_t = 512 * 1024)]
        max_size: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Stop each thread after this many operations too: what its files go
        /// through then depends only on the seed.
        #[arg(long)]
        ops: Option<u64>,
    },
    /// Check a directory against a state file.
    Verify {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        state: PathBuf,
    },
    /// Race threads on the same files.
    Race {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// One file as the workload expects it to be.
struct Model {
    /// Path relative to the workload directory.
    rel: PathBuf,
    data: Vec<u8>,
}

#[derive(Default, Clone, Copy)]
struct Stats {
    writes: u64,
    appends: u64,
    truncates: u64,
    mmap_writes: u64,
    mmap_reads: u64,
    reads: u64,
    fsyncs: u64,
    renames: u64,
    recreates: u64,
    cache_drops: u64,
    punches: u64,
    /// The most extents one file had after a punch (FIEMAP).
    most_extents: u32,
    bytes_written: u64,
    bytes_mapped: u64,
    bytes_checked: u64,
    mismatches: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.writes += o.writes;
        self.appends += o.appends;
        self.truncates += o.truncates;
        self.mmap_writes += o.mmap_writes;
        self.mmap_reads += o.mmap_reads;
        self.reads += o.reads;
        self.fsyncs += o.fsyncs;
        self.renames += o.renames;
        self.recreates += o.recreates;
        self.cache_drops += o.cache_drops;
        self.punches += o.punches;
        self.most_extents = self.most_extents.max(o.most_extents);
        self.bytes_written += o.bytes_written;
        self.bytes_mapped += o.bytes_mapped;
        self.bytes_checked += o.bytes_checked;
        self.mismatches += o.mismatches;
    }

    fn ops(&self) -> u64 {
        self.writes
            + self.appends
            + self.truncates
            + self.mmap_writes
            + self.mmap_reads
            + self.reads
            + self.fsyncs
            + self.renames
            + self.recreates
            + self.cache_drops
            + self.punches
    }
}

fn ctx<T>(r: io::Result<T>, what: impl FnOnce() -> String) -> io::Result<T> {
    r.map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", what())))
}

/// A shared, writable mapping of a whole file; unmapped on drop.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(file: &File, len: usize) -> io::Result<Self> {
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh shared mapping of an open file; the kernel checks the
        // arguments and returns MAP_FAILED on error.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` maps `len` bytes of a file this thread alone changes, for
        // as long as `self` lives.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    fn msync(&self) -> io::Result<()> {
        // SAFETY: the range is our live mapping.
        if unsafe { libc::msync(self.ptr.cast(), self.len, libc::MS_SYNC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the range is our live mapping, not used after this.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// How many extents `file` has: FIEMAP with no room for them counts them.
fn extent_count(file: &File) -> io::Result<u32> {
    use std::os::fd::AsRawFd;
    // struct fiemap without extents: fm_start, fm_length, then fm_flags,
    // fm_mapped_extents, fm_extent_count, fm_reserved.
    #[repr(C)]
    struct Fiemap {
        start: u64,
        length: u64,
        flags: u32,
        mapped_extents: u32,
        extent_count: u32,
        reserved: u32,
    }
    // _IOWR('f', 11, struct fiemap)
    const FS_IOC_FIEMAP: libc::c_ulong = 0xC020_660B;
    let mut fm = Fiemap {
        start: 0,
        length: u64::MAX,
        flags: 0,
        mapped_extents: 0,
        extent_count: 0,
        reserved: 0,
    };
    // SAFETY: FS_IOC_FIEMAP reads and writes a struct fiemap, which `fm` is
    // (extent_count 0: no extent array follows).
    if unsafe { libc::ioctl(file.as_raw_fd(), FS_IOC_FIEMAP, &mut fm) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fm.mapped_extents)
}

/// Reads `path` whole through a new descriptor and compares it with `want`.
fn check_file(path: &Path, want: &[u8]) -> io::Result<bool> {
    let mut got = Vec::with_capacity(want.len());
    ctx(
        File::open(path).and_then(|mut f| f.read_to_end(&mut got)),
        || format!("reading {}", path.display()),
    )?;
    if got == want {
        return Ok(true);
    }
    let first = got.iter().zip(want).position(|(a, b)| a != b);
    eprintln!(
        "MISMATCH {}: size {} (want {}), first differing byte {:?}",
        path.display(),
        got.len(),
        want.len(),
        first
    );
    Ok(false)
}

struct Worker<'a> {
    root: &'a Path,
    id: usize,
    rng: Rng,
    files: Vec<Model>,
    max_size: u64,
    stats: Stats,
}

impl Worker<'_> {
    fn path(&self, m: &Model) -> PathBuf {
        self.root.join(&m.rel)
    }

    fn open(&self, i: usize) -> io::Result<File> {
        let p = self.path(&self.files[i]);
        ctx(OpenOptions::new().read(true).write(true).open(&p), || {
            format!("opening {}", p.display())
        })
    }

    fn write(&mut self, i: usize, append: bool) -> io::Result<()> {
        let size = self.files[i].data.len() as u64;
        let len = self.rng.len(self.max_size / 4);
        let pos = if append {
            size
        } else {
            self.rng.below(self.max_size.saturating_sub(len) + 1)
        };
        if pos + len > self.max_size {
            return Ok(());
        }
        let mut buf = vec![0u8; len as usize];
        self.rng.fill(&mut buf);
        let f = self.open(i)?;
        ctx(f.write_all_at(&buf, pos), || format!("pwrite {pos}+{len}"))?;
        let m = &mut self.files[i].data;
        let end = (pos + len) as usize;
        if m.len() < end {
            m.resize(end, 0);
        }
        m[pos as usize..end].copy_from_slice(&buf);
        if append {
            self.stats.appends += 1;
        } else {
            self.stats.writes += 1;
        }
        self.stats.bytes_written += len;
        Ok(())
    }

    fn truncate(&mut self, i: usize) -> io::Result<()> {
        let size = match self.rng.below(4) {
            0 => 0,
            1 => self.files[i].data.len() as u64 / 2,
            _ => self.rng.below(self.max_size + 1),
        };
        let f = self.open(i)?;
        ctx(f.set_len(size), || format!("truncate to {size}"))?;
        self.files[i].data.resize(size as usize, 0);
        self.stats.truncates += 1;
        Ok(())
    }

    fn mmap_write(&mut self, i: usize) -> io::Result<()> {
        let size = self.files[i].data.len();
        if size == 0 {
            return self.truncate(i);
        }
        let len = (self.rng.len(65536) as usize).min(size);
        let pos = self.rng.below((size - len) as u64 + 1) as usize;
        let mut buf = vec![0u8; len];
        self.rng.fill(&mut buf);
        let f = self.open(i)?;
        let mut map = ctx(Mapping::new(&f, size), || format!("mmap {size}"))?;
        map.bytes()[pos..pos + len].copy_from_slice(&buf);
        if self.rng.below(2) == 0 {
            ctx(map.msync(), || "msync".into())?;
        }
        drop(map);
        self.files[i].data[pos..pos + len].copy_from_slice(&buf);
        self.stats.mmap_writes += 1;
        self.stats.bytes_mapped += len as u64;
        Ok(())
    }

    fn mmap_read(&mut self, i: usize) -> io::Result<()> {
        let size = self.files[i].data.len();
        if size == 0 {
            return Ok(());
        }
        let f = self.open(i)?;
        let mut map = ctx(Mapping::new(&f, size), || format!("mmap {size}"))?;
        if map.bytes() != self.files[i].data.as_slice() {
            eprintln!("MISMATCH {} through a mapping", self.files[i].rel.display());
            self.stats.mismatches += 1;
        }
        self.stats.mmap_reads += 1;
        self.stats.bytes_checked += size as u64;
        Ok(())
    }

    fn read(&mut self, i: usize) -> io::Result<()> {
        let p = self.path(&self.files[i]);
        if !check_file(&p, &self.files[i].data)? {
            self.stats.mismatches += 1;
        }
        self.stats.reads += 1;
        self.stats.bytes_checked += self.files[i].data.len() as u64;
        Ok(())
    }

    fn fsync(&mut self, i: usize) -> io::Result<()> {
        let f = self.open(i)?;
        ctx(f.sync_all(), || "fsync".into())?;
        self.stats.fsyncs += 1;
        Ok(())
    }

    /// Moves the file between the thread's directory and its subdirectory.
    fn rename(&mut self, i: usize) -> io::Result<()> {
        let name = self.files[i].rel.file_name().map(|n| n.to_owned());
        let Some(name) = name else { return Ok(()) };
        let here = self.files[i].rel.parent().map(Path::to_path_buf);
        let top = PathBuf::from(format!("t{}", self.id));
        let to = if here.as_deref() == Some(top.as_path()) {
            top.join("sub").join(name)
        } else {
            top.join(name)
        };
        let from = self.path(&self.files[i]);
        let dest = self.root.join(&to);
        ctx(fs::rename(&from, &dest), || {
            format!("rename {} to {}", from.display(), dest.display())
        })?;
        self.files[i].rel = to;
        self.stats.renames += 1;
        Ok(())
    }

    fn recreate(&mut self, i: usize) -> io::Result<()> {
        let p = self.path(&self.files[i]);
        ctx(fs::remove_file(&p), || format!("unlink {}", p.display()))?;
        ctx(File::create(&p), || format!("create {}", p.display()))?;
        self.files[i].data.clear();
        self.stats.recreates += 1;
        Ok(())
    }

    /// Punches holes: one random range, or every other block over a random
    /// range (each punch then splits an extent, so a large file gets an
    /// extent index block).
    fn punch(&mut self, i: usize) -> io::Result<()> {
        const BLOCK: u64 = 4096;
        let size = self.files[i].data.len() as u64;
        if size < 2 * BLOCK {
            return self.write(i, false);
        }
        let f = self.open(i)?;
        let ranges: Vec<(u64, u64)> = if self.rng.below(2) == 0 {
            let len = self.rng.len(size / 2);
            vec![(self.rng.below(size - len + 1), len)]
        } else {
            // From near the start, so that a large file gets hundreds of extents.
            let blocks = size / BLOCK;
            let first = self.rng.below(blocks / 8 + 1);
            (first..blocks)
                .step_by(2)
                .map(|b| (b * BLOCK, BLOCK))
                .collect()
        };
        for (pos, len) in ranges {
            use std::os::fd::AsRawFd;
            let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
            // SAFETY: fallocate on our open descriptor; the kernel checks the
            // arguments.
            let rc = unsafe { libc::fallocate(f.as_raw_fd(), mode, pos as i64, len as i64) };
            if rc != 0 {
                let e = io::Error::last_os_error();
                return Err(io::Error::new(e.kind(), format!("punch {pos}+{len}: {e}")));
            }
            let end = ((pos + len) as usize).min(self.files[i].data.len());
            self.files[i].data[pos as usize..end].fill(0);
            self.stats.punches += 1;
        }
        let extents = ctx(extent_count(&f), || "FIEMAP".into())?;
        self.stats.most_extents = self.stats.most_extents.max(extents);
        Ok(())
    }

    fn drop_caches(&mut self) -> io::Result<()> {
        ctx(fs::write("/proc/sys/vm/drop_caches", b"3"), || {
            "drop caches".into()
        })?;
        self.stats.cache_drops += 1;
        Ok(())
    }

    fn step(&mut self) -> io::Result<()> {
        let i = self.rng.below(self.files.len() as u64) as usize;
        match self.rng.below(100) {
            0..=24 => self.write(i, false),
            25..=34 => self.write(i, true),
            35..=44 => self.truncate(i),
            45..=59 => self.mmap_write(i),
            60..=64 => self.mmap_read(i),
            65..=79 => self.read(i),
            80..=82 => self.fsync(i),
            83..=86 => self.rename(i),
            87..=89 => self.punch(i),
            90..=96 => self.recreate(i),
            97 if self.id == 0 => self.drop_caches(),
            _ => self.read(i),
        }
    }
}

/// When each thread of `run` stops: after `seconds`, or after `ops` operations.
#[derive(Clone, Copy)]
struct Limit {
    seconds: u64,
    ops: u64,
}

fn run(
    root: &Path,
    limit: Limit,
    state: &Path,
    threads: usize,
    files: usize,
    max_size: u64,
    seed: u64,
) -> io::Result<bool> {
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let results: Vec<io::Result<(Vec<Model>, Stats)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|id| {
                let stop = &stop;
                s.spawn(move || -> io::Result<(Vec<Model>, Stats)> {
                    let top = PathBuf::from(format!("t{id}"));
                    ctx(fs::create_dir_all(root.join(&top).join("sub")), || {
                        "mkdir".into()
                    })?;
                    let mut w = Worker {
                        root,
                        id,
                        rng: Rng::new(seed.wrapping_mul(1000) + id as u64),
                        files: Vec::new(),
                        max_size,
                        stats: Stats::default(),
                    };
                    for n in 0..files {
                        let rel = top.join(format!("f{n}"));
                        ctx(File::create(root.join(&rel)), || "create".into())?;
                        w.files.push(Model {
                            rel,
                            data: Vec::new(),
                        });
                    }
                    let deadline = Instant::now() + Duration::from_secs(limit.seconds);
                    let mut done = 0;
                    while done < limit.ops
                        && Instant::now() < deadline
                        && !stop.load(Ordering::Relaxed)
                    {
                        if let Err(e) = w.step() {
                            stop.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                        done += 1;
                    }
                    for i in 0..w.files.len() {
                        w.read(i)?;
                    }
                    Ok((w.files, w.stats))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("thread panicked")))
            })
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut total = Stats::default();
    let mut all = Vec::new();
    let mut ok = true;
    for r in results {
        match r {
            Ok((files, stats)) => {
                total.add(&stats);
                all.extend(files);
            }
            Err(e) => {
                eprintln!("workload error: {e}");
                ok = false;
            }
        }
    }
    let bytes: u64 = all.iter().map(|m| m.data.len() as u64).sum();
    println!(
        "workload: {threads} threads, {} files, {elapsed:.1} s, {} ops ({:.0}/s)",
        all.len(),
        total.ops(),
        total.ops() as f64 / elapsed
    );
    println!(
        "workload: {} writes, {} appends, {} truncates, {} mmap writes, {} mmap reads, {} reads, {} fsyncs, {} renames, {} unlink+create, {} cache drops, {} punches (most extents in one file after one: {})",
        total.writes, total.appends, total.truncates, total.mmap_writes, total.mmap_reads,
        total.reads, total.fsyncs, total.renames, total.recreates, total.cache_drops, total.punches, total.most_extents
    );
    println!(
        "workload: {:.1} MiB written by write(), {:.1} MiB through mappings, {:.1} MiB checked, {} mismatches; {:.1} MiB in the files at the end",
        total.bytes_written as f64 / 1048576.0,
        total.bytes_mapped as f64 / 1048576.0,
        total.bytes_checked as f64 / 1048576.0,
        total.mismatches,
        bytes as f64 / 1048576.0
    );
    save_state(state, &all)?;
    Ok(ok && total.mismatches == 0)
}

fn save_state(path: &Path, files: &[Model]) -> io::Result<()> {
    let mut out = io::BufWriter::new(File::create(path)?);
    for m in files {
        let rel = m.rel.to_string_lossy();
        out.write_all(&(rel.len() as u32).to_le_bytes())?;
        out.write_all(rel.as_bytes())?;
        out.write_all(&(m.data.len() as u64).to_le_bytes())?;
        out.write_all(&m.data)?;
    }
    out.flush()
}

fn load_state(path: &Path) -> io::Result<BTreeMap<PathBuf, Vec<u8>>> {
    let data = fs::read(path)?;
    let mut files = BTreeMap::new();
    let mut rest = data.as_slice();
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "truncated state file");
    let mut take = |n: usize| -> io::Result<&[u8]> {
        let head = rest.get(..n).ok_or_else(bad)?;
        rest = &rest[n..];
        Ok(head)
    };
    let mut remaining = data.len();
    while remaining > 0 {
        let n = u32::from_le_bytes(take(4)?.try_into().map_err(|_| bad())?) as usize;
        let name = String::from_utf8_lossy(take(n)?).into_owned();
        let len = u64::from_le_bytes(take(8)?.try_into().map_err(|_| bad())?) as usize;
        let body = take(len)?.to_vec();
        remaining -= 4 + n + 8 + len;
        files.insert(PathBuf::from(name), body);
    }
    Ok(files)
}

/// Regular files under `dir`, relative to `root`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let p = entry.path();
        if entry.file_type()?.is_dir() {
            walk(root, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
    Ok(())
}

fn verify(root: &Path, state: &Path) -> io::Result<bool> {
    let want = load_state(state)?;
    let mut found = Vec::new();
    walk(root, root, &mut found)?;
    let mut ok = true;
    for rel in &found {
        if !want.contains_key(rel) {
            eprintln!("UNEXPECTED file {}", rel.display());
            ok = false;
        }
    }
    let mut bytes = 0u64;
    for (rel, data) in &want {
        bytes += data.len() as u64;
        match check_file(&root.join(rel), data) {
            Ok(true) => {}
            Ok(false) => ok = false,
            Err(e) => {
                eprintln!("{e}");
                ok = false;
            }
        }
    }
    println!(
        "verify: {} files, {:.1} MiB: {}",
        want.len(),
        bytes as f64 / 1048576.0,
        if ok { "all match" } else { "MISMATCHES" }
    );
    Ok(ok)
}

/// The part of the raced files that mappings write: never truncated away.
const RACE_MAPPED: u64 = 64 * 1024;
/// Largest size the racing truncates and writes reach.
const RACE_MAX: u64 = 1024 * 1024;

#[derive(Default)]
struct RaceCounts {
    ops: u64,
    errors: u64,
}

/// One racing thread: `role` picks what it does to `files`.
fn race_thread(
    role: usize,
    files: &[PathBuf],
    deadline: Instant,
    seed: u64,
) -> io::Result<RaceCounts> {
    let mut rng = Rng::new(seed);
    let mut counts = RaceCounts::default();
    let handles = files
        .iter()
        .map(|p| OpenOptions::new().read(true).write(true).open(p))
        .collect::<io::Result<Vec<File>>>()?;
    while Instant::now() < deadline {
        // File 0 takes everything; file 1 is written in its first 64 KiB only
        // through its mapping, so that part can be checked at the end.
        let i = rng.below(handles.len() as u64) as usize;
        let f = &handles[i];
        let result = match role {
            0 if i == 0 => {
                let len = rng.len(65536);
                let pos = rng.below(RACE_MAX - len);
                let mut buf = vec![0u8; len as usize];
                rng.fill(&mut buf);
                f.write_all_at(&buf, pos)
            }
            0 | 1 => f.set_len(RACE_MAPPED + rng.below(RACE_MAX - RACE_MAPPED)),
            2 | 3 => Mapping::new(f, RACE_MAPPED as usize).and_then(|mut map| {
                let len = rng.len(8192) as usize;
                let pos = rng.below(RACE_MAPPED - len as u64) as usize;
                // File 1's bytes at `pos` only ever hold `pos as u8` or 0.
                for (k, b) in map.bytes()[pos..pos + len].iter_mut().enumerate() {
                    *b = if i == 1 {
                        (pos + k) as u8
                    } else {
                        rng.next() as u8
                    };
                }
                if rng.below(4) == 0 {
                    map.msync()
                } else {
                    Ok(())
                }
            }),
            _ => {
                let mut buf = vec![0u8; rng.len(65536) as usize];
                let pos = rng.below(RACE_MAX);
                let r = f.read_at(&mut buf, pos).map(|_| ());
                if rng.below(16) == 0 {
                    f.sync_all()
                } else {
                    r
                }
            }
        };
        counts.ops += 1;
        if let Err(e) = result {
            eprintln!("race: thread {role}: {e}");
            counts.errors += 1;
        }
    }
    Ok(counts)
}

fn race(dir: &Path, seconds: u64, seed: u64) -> io::Result<bool> {
    let files: Vec<PathBuf> = (0..2).map(|i| dir.join(format!("race{i}"))).collect();
    for p in &files {
        File::create(p)?.set_len(RACE_MAPPED)?;
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let results: Vec<io::Result<RaceCounts>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..5)
            .map(|role| {
                let files = &files;
                s.spawn(move || race_thread(role, files, deadline, seed * 100 + role as u64))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("thread panicked")))
            })
            .collect()
    });
    let mut total = RaceCounts::default();
    for r in results {
        let c = r?;
        total.ops += c.ops;
        total.errors += c.errors;
    }
    let mut head = vec![0u8; RACE_MAPPED as usize];
    File::open(&files[1])?.read_exact(&mut head)?;
    let bad = head
        .iter()
        .enumerate()
        .filter(|&(k, &b)| b != 0 && b != k as u8)
        .count();
    println!(
        "race: 5 threads on 2 files for {seconds} s: {} ops, {} errors; mapped-only region: {} bad bytes",
        total.ops, total.errors, bad
    );
    Ok(total.errors == 0 && bad == 0)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match &args.cmd {
        Cmd::Run {
            dir,
            seconds,
            state,
            threads,
            files,
            max_size,
            seed,
            ops,
        } => {
            let limit = Limit {
                seconds: *seconds,
                ops: ops.unwrap_or(u64::MAX),
            };
            run(dir, limit, state, *threads, *files, *max_size, *seed)
        }
        Cmd::Verify { dir, state } => verify(dir, state),
        Cmd::Race { dir, seconds, seed } => race(dir, *seconds, *seed),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("tsfs-workload: {e}");
            ExitCode::from(2)
        }
    }
}
