//! The module's layering, checked on its sources: the unsafe layer (`kapi/`) never
//! names the filesystem or the lock logic (`crate::fs`, `crate::locking`), so it can
//! be reviewed on its own and the compiler sees dependencies go one way only; and
//! the filesystem (`fs/`) has no `unsafe` at all.

use std::{
    fs,
    path::{Path, PathBuf},
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, recursively, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `line` contains `word` as a whole identifier path segment.
fn has_word(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + word.len()..].chars().next();
        !before.is_some_and(is_ident_char) && !after.is_some_and(is_ident_char)
    })
}

/// Lines (1-based) of `src` that name the crate's `fs` or `locking` modules:
/// `crate::fs`, `crate::locking`, a `crate::{...}` group naming either, or a path
/// climbing out of `kapi` with `super`.
fn names_fs_or_locking(src: &str) -> Vec<usize> {
    let mut bad = Vec::new();
    for (n, line) in src.lines().enumerate() {
        let direct = has_word(line, "crate::fs") || has_word(line, "crate::locking");
        let grouped = line.match_indices("crate::{").any(|(i, _)| {
            let group = &line[i..];
            let group = &group[..group.find('}').unwrap_or(group.len())];
            has_word(group, "fs") || has_word(group, "locking")
        });
        let climbs = line.contains("super::super::super");
        if direct || grouped || climbs {
            bad.push(n + 1);
        }
    }
    bad
}

/// Lines (1-based) of `src` whose code (what precedes a `//` comment) uses
/// `unsafe`.
fn uses_unsafe(src: &str) -> Vec<usize> {
    src.lines()
        .enumerate()
        .filter(|(_, line)| has_word(line.split("//").next().unwrap_or(""), "unsafe"))
        .map(|(n, _)| n + 1)
        .collect()
}

/// `file:line` for every line of every `.rs` file under `dir` that `check` flags.
fn violations(dir: &str, check: fn(&str) -> Vec<usize>) -> Vec<String> {
    let files = rust_files(&root().join(dir));
    assert!(!files.is_empty(), "no Rust files under {dir}/");
    let mut out = Vec::new();
    for f in files {
        let src = fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for line in check(&src) {
            out.push(format!(
                "{}:{line}",
                f.strip_prefix(root()).unwrap_or(&f).display()
            ));
        }
    }
    out
}

#[test]
fn kapi_never_names_fs_or_locking() {
    let bad = violations("kapi", names_fs_or_locking);
    assert!(
        bad.is_empty(),
        "kapi/ names crate::fs or crate::locking at: {bad:?}"
    );
}

#[test]
fn fs_has_no_unsafe() {
    let bad = violations("fs", uses_unsafe);
    assert!(bad.is_empty(), "fs/ uses unsafe at: {bad:?}");
}

#[test]
fn the_checks_catch_planted_violations() {
    assert_eq!(names_fs_or_locking("use crate::fs::SbInfo;"), [1]);
    assert_eq!(
        names_fs_or_locking("ok\nlet l = crate::locking::State::Add;"),
        [2]
    );
    assert_eq!(names_fs_or_locking("use crate::{format, fs::dio};"), [1]);
    assert_eq!(names_fs_or_locking("use super::super::super::fs;"), [1]);
    assert!(names_fs_or_locking("use crate::kapi::fs::{FileSystem, INode};").is_empty());
    assert!(names_fs_or_locking("use crate::fsck; use crate::{format, kapi};").is_empty());
    assert_eq!(uses_unsafe("fn f() {\n    let x = unsafe { g() };\n}"), [2]);
    assert_eq!(uses_unsafe("unsafe fn f() {}"), [1]);
    assert!(uses_unsafe("// no unsafe here\nlet unsafe_count = 0;").is_empty());
}
