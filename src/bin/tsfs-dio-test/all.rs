//! `all DIR`: every scenario, each in its own child process (its own time limit and
//! exit status) on fresh files in DIR, one line per scenario and a closing
//! "N passed, M failed".

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every scenario's arguments; FILE names are relative to DIR.
pub fn scenarios() -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let mut all = vec![
        s(&["anon", "anon"]),
        s(&["other-page", "op", "--shared"]),
        s(&["other-page", "op", "--private"]),
        s(&["other-page", "op", "--shared", "--buffered"]),
        s(&["other-page", "op", "--private", "--buffered"]),
        s(&["self-page", "sp", "--shared", "--untouched"]),
        s(&["self-page", "sp", "--shared", "--touched"]),
        s(&["self-page", "sp", "--private", "--untouched"]),
        s(&["self-page", "sp", "--private", "--touched"]),
    ];
    for (n, shift) in SELF_RANGES {
        let (n, shift) = (n.to_string(), shift.to_string());
        all.push(s(&["self-range", "sr", "--pages", &n, "--shift", &shift]));
    }
    all.extend([
        s(&["vectored", "vec", "vec-other"]),
        s(&["read-self", "rs"]),
        s(&["read-self", "rs", "--hole"]),
        s(&["cross", "ring-a", "ring-b"]),
        s(&["ring", "ring-a", "ring-b", "ring-c"]),
        s(&["redirty", "redirty"]),
        s(&["extend", "extend"]),
        s(&["dsync", "dsync"]),
        s(&["aio", "aio"]),
        s(&["nowait", "nowait"]),
        s(&["nowait-alloc", "nowait-alloc"]),
        s(&["qd32", "qd32", "--engine=aio"]),
        s(&["qd32", "qd32", "--engine=uring"]),
        s(&["sector", "sector"]),
        s(&["misaligned", "misaligned"]),
        s(&["badptr", "badptr"]),
    ]);
    all
}

/// (pages, shift) pairs for self-range: 2 to 64 pages and more than 1 MiB; exact,
/// forward and backward overlap by one page, by half, and by all but one page.
pub const SELF_RANGES: [(usize, i64); 15] = [
    (2, 0),
    (2, 1),
    (2, -1),
    (8, 3),
    (8, -3),
    (64, 0),
    (64, 32),
    (64, -32),
    (64, 63),
    (64, -63),
    (300, 0),
    (300, 1),
    (300, -1),
    (300, 150),
    (300, -150),
];

/// Which arguments of a scenario are file names (to be placed in DIR).
fn is_file_arg(i: usize, a: &str) -> bool {
    i > 0 && !a.starts_with("--") && a.parse::<i64>().is_err()
}

/// A scenario's arguments with its file names placed in `dir`, and those files.
fn in_dir(dir: &Path, args: &[String]) -> (Vec<String>, Vec<PathBuf>) {
    let mut files = Vec::new();
    let argv = args
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if is_file_arg(i, a) {
                let p = dir.join(a);
                files.push(p.clone());
                p.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    (argv, files)
}

/// `list DIR`: every scenario's command line (arguments after the program name),
/// one per line, for scripts that run them one by one.
pub fn list(dir: &Path) {
    for args in scenarios() {
        println!("{}", in_dir(dir, &args).0.join(" "));
    }
}

pub fn run(dir: &Path, global: &[String], timeout: u32) -> i32 {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("all: cannot find my own executable: {e}");
            return 2;
        }
    };
    if !dir.is_dir() {
        eprintln!("all: {} is not a directory", dir.display());
        return 2;
    }
    let (mut passed, mut failed) = (0, 0);
    for args in scenarios() {
        let (argv, files) = in_dir(dir, &args);
        for p in &files {
            let _ = std::fs::remove_file(p);
        }
        let name = args.join(" ");
        let (code, out) = run_child(
            &exe,
            global,
            &argv,
            Duration::from_secs(u64::from(timeout) + 30),
        );
        if code == Some(0) {
            passed += 1;
            println!("PASS  {}", out.trim());
        } else {
            failed += 1;
            let how = code.map_or("killed: did not exit".to_string(), |c| format!("exit {c}"));
            println!(
                "FAIL  {name} ({how}): {}",
                out.trim().replace('\n', "\n      ")
            );
        }
        for p in files {
            let _ = std::fs::remove_file(p);
        }
    }
    println!("{passed} passed, {failed} failed");
    i32::from(failed > 0)
}

/// Runs one scenario; returns its exit code (None if it had to be killed) and output.
fn run_child(
    exe: &Path,
    global: &[String],
    argv: &[String],
    limit: Duration,
) -> (Option<i32>, String) {
    let mut child = match Command::new(exe)
        .args(global)
        .args(argv)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return (Some(2), format!("cannot start {}: {e}", exe.display())),
    };
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut s| {
        std::thread::spawn(move || {
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            out
        })
    })
    .collect();
    let start = Instant::now();
    let mut killed_at = None;
    let code = loop {
        match child.try_wait() {
            Ok(Some(st)) if killed_at.is_none() => break st.code(),
            Ok(Some(_)) => break None,
            Ok(None) if killed_at.is_none() && start.elapsed() > limit => {
                let _ = child.kill();
                killed_at = Some(Instant::now());
            }
            // Killed but not gone (stuck in the kernel): give up on it.
            Ok(None) if killed_at.is_some_and(|t| t.elapsed() > Duration::from_secs(10)) => {
                return (
                    None,
                    "killed after its time limit; it did not exit (stuck in the kernel?)".into(),
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return (None, format!("waiting for it failed: {e}")),
        }
    };
    let out: Vec<String> = readers
        .into_iter()
        .map(|r| r.join().unwrap_or_default())
        .collect();
    (code, out.concat())
}
