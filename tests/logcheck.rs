//! The kernel-log checker must catch every kind of report the guest tests rely
//! on it for, and must not flag the lines a healthy lockdep kernel prints.

use tsfs::logcheck::{fatal_findings, findings};

fn sample(name: &str) -> String {
    let path = format!("{}/tests/logcheck/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn clean_boot_with_lockdep_banner_is_clean() {
    let log = sample("clean.log");
    assert_eq!(findings(&log), vec![]);
}

#[test]
fn circular_dependency_is_caught() {
    let log = sample("lockdep-cycle.log");
    let f = findings(&log);
    assert_eq!(f.len(), 1);
    assert!(f[0].line.contains("possible circular locking dependency"));
}

#[test]
fn warning_is_caught() {
    let log = sample("warning.log");
    let f = findings(&log);
    assert!(f.iter().any(|f| f.line.contains("WARNING: CPU: 1")));
}

#[test]
fn hung_task_is_caught() {
    let log = sample("hung-task.log");
    let f = findings(&log);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].line_no, 1);
}

#[test]
fn oops_and_bug_are_caught() {
    let log = sample("oops.log");
    let f = findings(&log);
    assert_eq!(f.len(), 2, "{f:?}");
}

#[test]
fn recursive_locking_and_soft_lockup_are_caught() {
    let log = "x\nWARNING: possible recursive locking detected\ny\n\
               watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [t:1]\n";
    assert_eq!(findings(log).len(), 2);
}

#[test]
fn expected_lockdep_report_is_not_fatal_but_a_bug_is() {
    let log = sample("lockdep-cycle.log");
    assert_eq!(fatal_findings(&log), vec![]);
    let oops = sample("oops.log");
    assert_eq!(fatal_findings(&oops).len(), 2);
    let hung = sample("hung-task.log");
    assert_eq!(fatal_findings(&hung).len(), 1);
}
