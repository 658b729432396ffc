//! `tsfs-logcheck LOG [--expect PATTERN]...`
//!
//! Without `--expect`: exits 0 if the kernel log is clean, 1 (listing the lines)
//! if it shows a lockdep report, WARNING, BUG, Oops, panic, soft lockup or hung task.
//! With `--expect`: the log must contain every PATTERN (a test that provokes a
//! report on purpose); lockdep reports and warnings are then expected, but a BUG,
//! Oops, panic, soft lockup or hung task still fails.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: tsfs-logcheck LOG [--expect PATTERN]...");
        return ExitCode::from(2);
    };
    let mut expected = Vec::new();
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--expect", Some(p)) => expected.push(p),
            _ => {
                eprintln!("usage: tsfs-logcheck LOG [--expect PATTERN]...");
                return ExitCode::from(2);
            }
        }
    }
    let log = match std::fs::read(&path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            eprintln!("tsfs-logcheck: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    if !expected.is_empty() {
        let missing: Vec<_> = expected
            .iter()
            .filter(|p| !log.contains(p.as_str()))
            .collect();
        for p in &missing {
            eprintln!("tsfs-logcheck: {path}: expected report not found: {p}");
        }
        return if missing.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let found = tsfs::logcheck::findings(&log);
    for f in &found {
        eprintln!("{path}:{}: {}", f.line_no, f.line);
    }
    if found.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "tsfs-logcheck: {path}: {} report line(s): the kernel log is not clean",
            found.len()
        );
        ExitCode::FAILURE
    }
}
