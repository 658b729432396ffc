//! `tsfs-dio-test`: direct IO whose user buffer is a mapping of the file being read or
//! written (DESIGN.md, "Scenarios the tests must cover", 1 to 9). Each subcommand is
//! one scenario on files it creates afresh; it prints one summary line and exits
//! 0 when every count and every byte is right, 1 on a wrong count, errno or byte
//! (saying where and what), 2 on a usage or setup error, 3 when it ran out of time.
//!
//! Data is checked against a model of the file through a fresh descriptor opened
//! after sync and `echo 3 > /proc/sys/vm/drop_caches` (a buffered read, and an
//! O_DIRECT read that must agree with it), and through the mapping the IO used.
//! Every page carries a pattern naming its seed and page number, so a misplaced or
//! stale page is named in the message. It runs on any filesystem with O_DIRECT:
//! ext4 now, tsfs later.

mod aio;
mod aio_sys;
mod all;
mod anon;
mod dsync;
mod edge;
mod errors;
mod extend;
mod fail;
mod fixture;
mod nowait;
mod other_page;
mod pattern;
mod qd32;
mod read_self;
mod redirty;
mod ring;
mod sector;
mod self_page;
mod self_range;
mod shift;
mod stress;
mod sys;
mod vectored;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use fail::Res;
use fixture::Ctx;
use sys::Share;

#[derive(Parser)]
#[command(
    name = "tsfs-dio-test",
    about = "Direct IO from and into mappings of the file being transferred (tsfs DIO scenarios)",
    after_help = "Exit status: 0 pass, 1 wrong count/errno/data, 2 usage or setup error, 3 timed out."
)]
struct Cli {
    /// Time limit for the scenario, in seconds (SIGALRM ends it with exit status 3).
    #[arg(long, global = true, default_value_t = 120, value_name = "SECS")]
    timeout: u32,
    /// Do not drop the page cache before reading back (checks still use a fresh descriptor).
    #[arg(long, global = true)]
    no_drop_caches: bool,
    /// Base of the pattern seeds (default: from the clock and pid; printed on failure).
    #[arg(long, global = true)]
    seed: Option<u16>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct ShareArg {
    /// Map the file MAP_SHARED.
    #[arg(long)]
    shared: bool,
    /// Map the file MAP_PRIVATE.
    #[arg(long)]
    private: bool,
}

impl ShareArg {
    fn share(&self) -> Share {
        if self.private {
            Share::Private
        } else {
            Share::Shared
        }
    }
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct TouchArg {
    /// Read and store to the page through the mapping before the DIO.
    #[arg(long)]
    touched: bool,
    /// Leave the mapping unfaulted until the DIO faults it in.
    #[arg(long)]
    untouched: bool,
}

#[derive(Args)]
struct Concurrency {
    /// IOs per thread at most.
    #[arg(long, default_value_t = 400)]
    iterations: usize,
    /// Seconds of concurrent IO at most.
    #[arg(long, default_value_t = 4.0)]
    seconds: f64,
}

#[derive(Subcommand)]
enum Cmd {
    /// 1: DIO write then read of several sizes from anonymous memory.
    Anon { file: PathBuf },
    /// 2: IO between a page's mapping and a different page of the same file.
    OtherPage {
        file: PathBuf,
        #[command(flatten)]
        share: ShareArg,
        /// Buffered IO instead of O_DIRECT.
        #[arg(long)]
        buffered: bool,
    },
    /// 3: DIO write of a mapped page onto the offset it maps.
    SelfPage {
        file: PathBuf,
        #[command(flatten)]
        share: ShareArg,
        #[command(flatten)]
        touch: TouchArg,
    },
    /// 4: DIO write of N pages from the mapping of the range S pages away (S may be negative).
    SelfRange {
        file: PathBuf,
        #[arg(long, value_name = "N")]
        pages: usize,
        #[arg(long, value_name = "S", allow_negative_numbers = true)]
        shift: i64,
    },
    /// 5: pwritev/preadv mixing anonymous, self-mapped and OTHER-mapped segments.
    Vectored { file: PathBuf, other: PathBuf },
    /// 6: DIO read into a mapping of the range read (--hole: of a sparse file's holes).
    ReadSelf {
        file: PathBuf,
        #[arg(long)]
        hole: bool,
    },
    /// 7: two threads, each DIO'ing its file from/into a mapping of the other's.
    Cross {
        a: PathBuf,
        b: PathBuf,
        #[command(flatten)]
        limits: Concurrency,
    },
    /// 7: three threads in a ring, each DIO'ing its file from/into a mapping of the next.
    Ring {
        a: PathBuf,
        b: PathBuf,
        c: PathBuf,
        #[command(flatten)]
        limits: Concurrency,
    },
    /// 8: DIO writes from a mapping that another thread keeps rewriting; caches dropped.
    Redirty {
        file: PathBuf,
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// 9: EOF-extending DIO writes from mappings of the file.
    Extend { file: PathBuf },
    /// 9: self-mapped DIO with O_DSYNC.
    Dsync { file: PathBuf },
    /// 9: asynchronous DIO (Linux AIO) with self-mapped buffers.
    Aio { file: PathBuf },
    /// 9: RWF_NOWAIT DIO: full count or EAGAIN, never blocking.
    Nowait { file: PathBuf },
    /// 11: 32 writes then 32 reads in flight (AIO or io_uring), every buffer kind.
    Qd32 {
        file: PathBuf,
        #[arg(long, value_enum)]
        engine: qd32::Engine,
    },
    /// 12: DIO readers and overwriters of one file, faults on its mapping, truncates.
    Stress {
        file: PathBuf,
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
    },
    /// 13: extending DIO write on a nearly full file system (run on a small, empty one).
    Enospc {
        file: PathBuf,
        /// Open with O_DSYNC.
        #[arg(long)]
        dsync: bool,
    },
    /// 13: extending DIO write whose bios fail part-way (fail_make_request).
    Eio {
        file: PathBuf,
        /// The disk under FILE, as named in /sys/block.
        #[arg(long)]
        dev: String,
        /// Open with O_DSYNC.
        #[arg(long)]
        dsync: bool,
    },
    /// RWF_NOWAIT writes that must allocate get EAGAIN and allocate nothing.
    NowaitAlloc { file: PathBuf },
    /// O_DIRECT aligned to the logical sector (STATX_DIOALIGN), not the block.
    Sector { file: PathBuf },
    /// Misaligned O_DIRECT fails with EINVAL.
    Misaligned { file: PathBuf },
    /// O_DIRECT from or into memory that cannot be faulted in fails with EFAULT.
    Badptr { file: PathBuf },
    /// Every scenario on fresh files in DIR; ends with "N passed, M failed".
    All { dir: PathBuf },
    /// Print every scenario's arguments (files in DIR), one line each, for scripts.
    List { dir: PathBuf },
}

impl Cmd {
    fn name(&self) -> &'static str {
        match self {
            Cmd::Anon { .. } => "anon",
            Cmd::OtherPage { .. } => "other-page",
            Cmd::SelfPage { .. } => "self-page",
            Cmd::SelfRange { .. } => "self-range",
            Cmd::Vectored { .. } => "vectored",
            Cmd::ReadSelf { .. } => "read-self",
            Cmd::Cross { .. } => "cross",
            Cmd::Ring { .. } => "ring",
            Cmd::Redirty { .. } => "redirty",
            Cmd::Extend { .. } => "extend",
            Cmd::Dsync { .. } => "dsync",
            Cmd::Aio { .. } => "aio",
            Cmd::Nowait { .. } => "nowait",
            Cmd::Qd32 { .. } => "qd32",
            Cmd::Stress { .. } => "stress",
            Cmd::Enospc { .. } => "enospc",
            Cmd::Eio { .. } => "eio",
            Cmd::NowaitAlloc { .. } => "nowait-alloc",
            Cmd::Sector { .. } => "sector",
            Cmd::Misaligned { .. } => "misaligned",
            Cmd::Badptr { .. } => "badptr",
            Cmd::All { .. } => "all",
            Cmd::List { .. } => "list",
        }
    }
}

fn default_seed() -> u16 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ d.as_secs() as u32)
        .unwrap_or(0);
    let s = (t ^ std::process::id().wrapping_mul(2_654_435_761)) as u16;
    s.max(1)
}

fn run(ctx: &Ctx, cmd: &Cmd) -> Res<String> {
    let limits = |l: &Concurrency| ring::Limits {
        iterations: l.iterations,
        seconds: l.seconds,
    };
    match cmd {
        Cmd::Anon { file } => anon::run(ctx, file),
        Cmd::OtherPage {
            file,
            share,
            buffered,
        } => other_page::run(ctx, file, share.share(), *buffered),
        Cmd::SelfPage { file, share, touch } => {
            self_page::run(ctx, file, share.share(), touch.touched)
        }
        Cmd::SelfRange { file, pages, shift } => self_range::run(ctx, file, *pages, *shift),
        Cmd::Vectored { file, other } => vectored::run(ctx, file, other),
        Cmd::ReadSelf { file, hole } => read_self::run(ctx, file, *hole),
        Cmd::Cross { a, b, limits: l } => ring::run(ctx, &[a.clone(), b.clone()], &limits(l)),
        Cmd::Ring { a, b, c, limits: l } => {
            ring::run(ctx, &[a.clone(), b.clone(), c.clone()], &limits(l))
        }
        Cmd::Redirty { file, seconds } => redirty::run(ctx, file, *seconds),
        Cmd::Extend { file } => extend::run(ctx, file),
        Cmd::Dsync { file } => dsync::run(ctx, file),
        Cmd::Aio { file } => aio::run(ctx, file),
        Cmd::Nowait { file } => nowait::run(ctx, file),
        Cmd::Qd32 { file, engine } => qd32::run(ctx, file, *engine),
        Cmd::Stress { file, seconds } => stress::run(ctx, file, *seconds),
        Cmd::Enospc { file, dsync } => edge::enospc(ctx, file, *dsync),
        Cmd::Eio { file, dev, dsync } => edge::eio(ctx, file, dev, *dsync),
        Cmd::NowaitAlloc { file } => edge::nowait_alloc(ctx, file),
        Cmd::Sector { file } => sector::run(ctx, file),
        Cmd::Misaligned { file } => errors::misaligned(ctx, file),
        Cmd::Badptr { file } => errors::badptr(ctx, file),
        Cmd::All { .. } | Cmd::List { .. } => unreachable!("handled in main"),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let seed = cli.seed.unwrap_or_else(default_seed);
    if let Cmd::List { dir } = &cli.cmd {
        all::list(dir);
        return ExitCode::SUCCESS;
    }
    if let Cmd::All { dir } = &cli.cmd {
        let mut global = vec!["--timeout".to_string(), cli.timeout.to_string()];
        if cli.no_drop_caches {
            global.push("--no-drop-caches".into());
        }
        if let Some(s) = cli.seed {
            global.extend(["--seed".to_string(), s.to_string()]);
        }
        return ExitCode::from(all::run(dir, &global, cli.timeout) as u8);
    }
    let name = cli.cmd.name();
    sys::arm_alarm(cli.timeout, name);
    let ctx = Ctx {
        drop_caches: !cli.no_drop_caches,
        seed,
        oflags: 0,
    };
    match run(&ctx, &cli.cmd) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: {e} (seed {seed}; rerun with --seed {seed})");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
