//! `fsck.tsfs [-n | -y | -p] [-f] [-v] DEVICE_OR_FILE`: check a tsfs, and
//! repair it with `-y` or `-p`.
//!
//! Exit status as fsck(8), the sum of: 1 errors corrected, 4 errors left
//! uncorrected; or 0 no errors, 8 operational error (cannot open, read or
//! write), 16 usage error.

use std::fs::OpenOptions;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use tsfs::device::Device;
use tsfs::fsck::{repair, Mode, Outcome};

const EXIT_CLEAN: u8 = 0;
const EXIT_CORRECTED: u8 = 1;
const EXIT_UNCORRECTED: u8 = 4;
const EXIT_OPERATIONAL: u8 = 8;
const EXIT_USAGE: u8 = 16;

/// Check a tsfs file system on a block device or an image file, and repair it
/// with -y or -p.
///
/// Without -y or -p nothing is written. Repairs: leaked blocks and inodes,
/// blocks marked free that are in use, wrong free counts and link counts,
/// blocks mapped past the end of a file, directory entries naming free
/// inodes; with -y also files that no directory names, reconnected into
/// /lost+found, and block maps whose extent blocks (or extent index) are
/// damaged, rebuilt from the extents that can still be read. Other problems
/// are left uncorrected. A block device is opened
/// exclusively for repair, so a mounted file system is never repaired.
#[derive(Parser, Debug)]
#[command(name = "fsck.tsfs", bin_name = "fsck.tsfs", version)]
struct Args {
    /// Check only: open the device read-only and answer "no" to every repair
    /// (the default).
    #[arg(short = 'n', conflicts_with_all = ["yes", "preen"])]
    no: bool,
    /// Check even if the file system seems clean (it is always checked).
    #[arg(short = 'f')]
    force: bool,
    /// Answer "yes" to every repair.
    #[arg(short = 'y', conflicts_with = "preen")]
    yes: bool,
    /// Preen: make the repairs that lose nothing readable, if every problem
    /// found has one; otherwise change nothing (exit status 4).
    #[arg(short = 'p', short_alias = 'a')]
    preen: bool,
    /// Print notes and usage figures too.
    #[arg(short = 'v')]
    verbose: bool,
    /// File system type, as `fsck -t tsfs` may pass it; must be "tsfs".
    #[arg(short = 't', hide = true)]
    fs_type: Option<String>,
    /// Block device or image file.
    device: PathBuf,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_CLEAN
            });
        }
    };
    if let Some(t) = args.fs_type.as_deref().filter(|t| *t != "tsfs") {
        eprintln!("fsck.tsfs: this fsck checks tsfs, not {t}");
        return ExitCode::from(EXIT_USAGE);
    }
    let mode = match (args.yes, args.preen) {
        (true, _) => Mode::Yes,
        (_, true) => Mode::Preen,
        _ => Mode::Check,
    };
    let name = args.device.display().to_string();
    let outcome = open(&args.device, mode != Mode::Check).and_then(|dev| repair(dev, mode));
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("fsck.tsfs: {name}: {e}");
            return ExitCode::from(EXIT_OPERATIONAL);
        }
    };
    print_outcome(&name, &outcome, mode, args.verbose);
    let mut code = EXIT_CLEAN;
    if !outcome.fixed.is_empty() {
        code |= EXIT_CORRECTED;
    }
    if !outcome.report.is_clean() {
        code |= EXIT_UNCORRECTED;
    }
    ExitCode::from(code)
}

/// Opens `path`, read-only unless `writable`. A block device opened for
/// writing is opened exclusively: that fails (`EBUSY`) while it is mounted.
fn open(path: &Path, writable: bool) -> std::io::Result<Device> {
    if !writable {
        return Device::open(path, false);
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    if std::fs::metadata(path)?.file_type().is_block_device() {
        options.custom_flags(libc::O_EXCL);
    }
    Device::from_file(options.open(path)?)
}

fn print_outcome(name: &str, outcome: &Outcome, mode: Mode, verbose: bool) {
    for problem in &outcome.fixed {
        println!("{name}: {}: fixed", problem.text);
    }
    let report = &outcome.report;
    for problem in &report.errors {
        println!("{name}: {}", problem.text);
    }
    if verbose {
        for line in &report.notes {
            println!("{name}: note: {line}");
        }
    }
    if outcome.marked_clean {
        println!("{name}: marked clean");
    }
    let usage = report.summary.map(|s| {
        format!(
            "{}/{} inodes, {}/{} blocks, {} files, {} directories",
            s.inodes_used, s.inodes_total, s.blocks_used, s.blocks_total, s.files, s.directories
        )
    });
    let fixed = match outcome.fixed.len() {
        0 => String::new(),
        n => format!("{n} problem(s) fixed, "),
    };
    if report.is_clean() {
        match usage {
            Some(usage) => println!("{name}: {fixed}clean, {usage}"),
            None => println!("{name}: {fixed}clean"),
        }
        return;
    }
    if let (true, Some(usage)) = (verbose, usage) {
        println!("{name}: {usage}");
    }
    if outcome.halted {
        println!("{name}: UNEXPECTED INCONSISTENCY: run fsck.tsfs -y (not -p or -a)");
    }
    let repairable = report.fixes().count();
    let hint = match mode {
        Mode::Check if repairable > 0 => format!(" ({repairable} can be repaired with -y)"),
        _ => String::new(),
    };
    println!(
        "{name}: {fixed}{} problem(s) found, left uncorrected{hint}",
        report.errors.len()
    );
}
