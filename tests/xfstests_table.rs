//! `scripts/xfstests --table` on a made-up results directory: every way a test can
//! end (passed, failed, not run, timed out, stopped by the end of the run, never
//! reached) is read from ./check's own files and counted in the right column.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A results directory as `scripts/xfstests` leaves it, removed when dropped.
struct Results(PathBuf);

impl Drop for Results {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// The sample run in a directory named after `tag` (tests run in parallel).
fn sample(tag: &str) -> Results {
    let dir = std::env::temp_dir().join(format!("tsfs-xfstests-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let tests = [
        "generic/001",
        "generic/004",
        "generic/013",
        "generic/095",
        "generic/313",
        "generic/990",
    ];
    write(&dir, "tests", &(tests.join("\n") + "\n"));
    let t = dir.join("tsfs");
    write(&t, "check.time", "generic/001 12\ngeneric/013 40\n");
    write(&t, "generic/004.notrun", "O_TMPFILE is not supported\n");
    write(
        &t,
        "generic/313.out.bad",
        "QA output created by 313\nctime not updated after truncate\n",
    );
    write(&t, "timeouts", "generic/095\n");
    write(
        &t,
        "check.out",
        "generic/001 12s\ngeneric/004 [not run] O_TMPFILE is not supported\ngeneric/013 40s\n\
         generic/095 \ngeneric/313 - output mismatch\ngeneric/990       \n",
    );
    write(&t, "generic/990.full", "");
    let e = dir.join("ext4");
    // ./check was stopped: check.time lacks generic/004, check.out has it.
    write(&e, "check.time", "generic/001 9\n");
    write(
        &e,
        "check.out",
        "generic/001 9s\ngeneric/004 3s\ngeneric/013 \n",
    );
    write(&e, "generic/013.dmesg", "WARNING: CPU: 1\n");
    Results(dir)
}

/// `scripts/xfstests --table DIRS...`'s output; the script must succeed.
fn table(dirs: &[&Path]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/xfstests");
    let out = Command::new(script)
        .arg("--table")
        .args(dirs)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn table_counts_every_outcome() {
    let results = sample("table");
    let text = table(&[&results.0]);
    assert!(
        text.contains("tsfs: 2 passed, 1 failed, 1 not run, 1 timed out, 1 stopped by the end of the run (of 6)"),
        "{text}"
    );
    assert!(
        text.contains("ext4: 2 passed, 1 failed, 0 not run, 0 timed out, 3 not reached (of 6)"),
        "{text}"
    );
    let row = text.lines().find(|l| l.starts_with("generic/001")).unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols, ["generic/001", "pass", "12s", "pass", "9s"], "{text}");
    assert!(
        text.contains("generic/004  notrun   O_TMPFILE is not supported"),
        "{text}"
    );
    assert!(text.contains("generic/095  timeout"), "{text}");
    assert!(text.contains("generic/990  stopped"), "{text}");
    assert!(
        text.contains("generic/013  fail     kernel warning in dmesg"),
        "{text}"
    );
    assert!(
        text.contains("generic/313  fail     output differs"),
        "{text}"
    );
}

/// A second run that reran one test on tsfs, and an ext4-only run: one table, later
/// runs replacing earlier results, tests of every run in order.
#[test]
fn table_merges_runs() {
    let first = sample("merge");
    let second = Results(first.0.with_extension("rerun"));
    let _ = fs::remove_dir_all(&second.0);
    write(&second.0, "tests", "generic/313\ngeneric/729\n");
    let t = second.0.join("tsfs");
    write(&t, "check.time", "generic/313 30\ngeneric/729 41\n");
    write(&t, "check.out", "generic/313 30s\ngeneric/729 41s\n");
    let text = table(&[&first.0, &second.0]);
    assert!(
        text.contains("tsfs: 4 passed, 0 failed, 1 not run, 1 timed out, 1 stopped by the end of the run (of 7)"),
        "{text}"
    );
    assert!(
        text.contains("ext4: 2 passed, 1 failed, 0 not run, 0 timed out, 4 not reached (of 7)"),
        "{text}"
    );
    let row = text.lines().find(|l| l.starts_with("generic/313")).unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols, ["generic/313", "pass", "30s", "-"], "{text}");
    let last = text.lines().rfind(|l| l.starts_with("generic/"));
    assert!(last.is_some_and(|l| l.starts_with("generic/729")), "{text}");
}
