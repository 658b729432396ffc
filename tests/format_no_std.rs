//! `src/format.rs` is included by the kernel module: it must build as part of a
//! `#![no_std]` crate with the kernel's documentation and idiom lints as errors,
//! and use nothing the kernel forbids there.

use std::path::Path;
use std::process::Command;

const FORMAT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/format.rs");

#[test]
fn format_builds_as_no_std() {
    let dir = std::env::temp_dir().join(format!("tsfs-nostd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let root = dir.join("lib.rs");
    std::fs::write(
        &root,
        format!("#![no_std]\n//! no_std build of the tsfs format.\n#[path = {FORMAT:?}]\npub mod format;\n"),
    )
    .unwrap();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "--crate-name",
            "tsfs_format",
        ])
        .args([
            "-D",
            "warnings",
            "-D",
            "missing_docs",
            "-D",
            "rust_2018_idioms",
        ])
        .args(["-D", "unreachable_pub", "-D", "unsafe_code"])
        .arg("--out-dir")
        .arg(&dir)
        .arg(&root)
        .output()
        .expect("run rustc");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "format.rs does not build as no_std:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn format_avoids_std_alloc_unsafe_and_panics() {
    let text = std::fs::read_to_string(Path::new(FORMAT)).unwrap();
    // Code only: comments may mention what the code must not do.
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    for banned in [
        "std::",
        "alloc::",
        "unsafe",
        ".unwrap()",
        ".expect(",
        "panic!",
        "unreachable!",
        "transmute",
        "f32",
        "f64",
    ] {
        assert!(!code.contains(banned), "src/format.rs uses {banned:?}");
    }
}
