//! `fsck.tsfs [-n] [-f] [-y] [-p] [-v] DEVICE_OR_FILE`: check a tsfs.
//!
//! Exit status as fsck(8): 0 no errors, 4 errors left uncorrected, 8
//! operational error (cannot open or read), 16 usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tsfs::device::Device;
use tsfs::fsck::{check, Report};

const EXIT_CLEAN: u8 = 0;
const EXIT_UNCORRECTED: u8 = 4;
const EXIT_OPERATIONAL: u8 = 8;
const EXIT_USAGE: u8 = 16;

/// Check a tsfs file system on a block device or an image file.
///
/// fsck.tsfs only checks: it never writes to the device, whatever the options,
/// and every problem is left uncorrected (exit status 4). -y, -p/-a and -f are
/// accepted for compatibility with fsck(8) and scripts.
#[derive(Parser, Debug)]
#[command(name = "fsck.tsfs", bin_name = "fsck.tsfs", version)]
struct Args {
    /// Open the device read-only and answer "no" to every repair (the default
    /// anyway: fsck.tsfs does not repair).
    #[arg(short = 'n')]
    no: bool,
    /// Check even if the file system seems clean (it is always checked).
    #[arg(short = 'f')]
    force: bool,
    /// Answer "yes" to every repair (accepted; nothing is repaired).
    #[arg(short = 'y')]
    yes: bool,
    /// Repair automatically what is safe (accepted; nothing is repaired).
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
    let name = args.device.display().to_string();
    let report = match Device::open(&args.device, false).and_then(|dev| check(&dev)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("fsck.tsfs: {name}: {e}");
            return ExitCode::from(EXIT_OPERATIONAL);
        }
    };
    print_report(&name, &report, args.verbose);
    ExitCode::from(if report.is_clean() {
        EXIT_CLEAN
    } else {
        EXIT_UNCORRECTED
    })
}

fn print_report(name: &str, report: &Report, verbose: bool) {
    for line in &report.errors {
        println!("{name}: {line}");
    }
    if verbose {
        for line in &report.notes {
            println!("{name}: note: {line}");
        }
    }
    let usage = report.summary.map(|s| {
        format!(
            "{}/{} inodes, {}/{} blocks, {} files, {} directories",
            s.inodes_used, s.inodes_total, s.blocks_used, s.blocks_total, s.files, s.directories
        )
    });
    match (report.is_clean(), usage) {
        (true, Some(usage)) => println!("{name}: clean, {usage}"),
        (true, None) => println!("{name}: clean"),
        (false, usage) => {
            if let (true, Some(usage)) = (verbose, usage) {
                println!("{name}: {usage}");
            }
            println!(
                "{name}: {} problem(s) found, left uncorrected",
                report.errors.len()
            );
        }
    }
}
