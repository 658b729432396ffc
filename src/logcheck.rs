//! Finds kernel-log lines that mean a test went wrong.
//!
//! A lockdep kernel prints harmless lines that mention "lockdep" at every boot
//! ("RCU lockdep checking is enabled", "MAX_LOCKDEP_KEYS"), so matching on the word
//! is useless. This matches the headers of real reports instead.

/// Substrings that start a report the tests must never produce.
const REPORT_HEADERS: &[&str] = &[
    "WARNING: possible circular locking dependency detected",
    "WARNING: possible recursive locking detected",
    "WARNING: inconsistent lock state",
    "WARNING: possible irq lock inversion dependency detected",
    "WARNING: suspicious RCU usage",
    "WARNING: bad unlock balance detected",
    "WARNING: held lock freed",
    "WARNING: lock held when returning to user space",
    "WARNING: Nested lock was not taken",
    "WARNING: CPU:",
    "BUG:",
    "kernel BUG at",
    "Oops:",
    "Oops -",
    "general protection fault",
    "Kernel panic",
    "rust_panic",
    "panicked at",
    "DEBUG_LOCKS_WARN_ON",
    "watchdog: BUG: soft lockup",
    "INFO: rcu_sched detected stalls",
    "rcu: INFO: rcu_preempt detected stalls",
    "Call Trace:",
];

/// One offending line: its 1-based number and text.
#[derive(Debug, PartialEq, Eq)]
pub struct Finding<'a> {
    pub line_no: usize,
    pub line: &'a str,
}

/// Returns true if `line` reports a hung task ("INFO: task X:123 blocked for more than").
fn is_hung_task(line: &str) -> bool {
    match line.find("INFO: task ") {
        Some(i) => line[i..].contains(" blocked for more than "),
        None => false,
    }
}

/// Returns true if `line` starts (or is part of) a report that means failure.
pub fn is_report(line: &str) -> bool {
    is_hung_task(line) || REPORT_HEADERS.iter().any(|h| line.contains(h))
}

/// All offending lines of `log`, in order.
pub fn findings(log: &str) -> Vec<Finding<'_>> {
    log.lines()
        .enumerate()
        .filter(|(_, l)| is_report(l))
        .map(|(i, l)| Finding {
            line_no: i + 1,
            line: l,
        })
        .collect()
}

/// Substrings of reports that fail a run even when a lockdep report is expected.
const FATAL_HEADERS: &[&str] = &[
    "BUG:",
    "kernel BUG at",
    "Oops:",
    "Kernel panic",
    "panicked at",
];

/// Lines that fail a run even when it provokes a lockdep report on purpose: BUGs,
/// Oopses, panics, soft lockups and hung tasks.
pub fn fatal_findings(log: &str) -> Vec<Finding<'_>> {
    log.lines()
        .enumerate()
        .filter(|(_, l)| is_hung_task(l) || FATAL_HEADERS.iter().any(|h| l.contains(h)))
        .map(|(i, l)| Finding {
            line_no: i + 1,
            line: l,
        })
        .collect()
}
