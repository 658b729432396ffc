//! Helpers shared by the host tests: unique temporary images, running the real
//! `mkfs.tsfs` and `fsck.tsfs` binaries, and a populated sample image.

#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use tsfs::format::ROOT_INO;
use tsfs::image::Image;

pub const MKFS: &str = env!("CARGO_BIN_EXE_mkfs-tsfs");
pub const FSCK: &str = env!("CARGO_BIN_EXE_fsck-tsfs");

/// A path under the temporary directory, unique per process and call, removed on drop.
pub struct TempImage {
    pub path: PathBuf,
}

impl TempImage {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("tsfs-test-{tag}-{}-{n}.img", std::process::id()));
        let _ = std::fs::remove_file(&path);
        Self { path }
    }
}

impl Drop for TempImage {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Runs a binary; returns its exit code and stdout + stderr.
pub fn run(bin: &str, args: &[&str], path: &Path) -> (i32, String) {
    let out = Command::new(bin)
        .args(args)
        .arg(path)
        .output()
        .expect("run binary");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().expect("exit code"), text)
}

/// `mkfs.tsfs -q ARGS PATH`, which must succeed.
pub fn mkfs(path: &Path, args: &[&str]) {
    let mut all = vec!["-q"];
    all.extend_from_slice(args);
    let (code, text) = run(MKFS, &all, path);
    assert_eq!(code, 0, "mkfs failed: {text}");
}

/// `fsck.tsfs -n PATH`: exit code and output.
pub fn fsck(path: &Path) -> (i32, String) {
    run(FSCK, &["-n"], path)
}

/// Asserts fsck exits 4 and reports a line containing every one of `needles`.
pub fn assert_fsck_finds(path: &Path, needles: &[&str]) {
    let (code, text) = fsck(path);
    println!("{text}"); // shown with --nocapture
    assert_eq!(code, 4, "fsck should report errors:\n{text}");
    let hit = text
        .lines()
        .any(|line| needles.iter().all(|n| line.contains(n)));
    assert!(hit, "no line with {needles:?} in fsck output:\n{text}");
}

/// Inode numbers of the sample image's contents.
pub struct Sample {
    pub a: u32,
    pub b: u32,
    pub dir: u32,
    pub c: u32,
    pub sub: u32,
    pub sparse: u32,
}

/// An 8 MiB image holding /a (3 blocks), /b (1 block), /dir/c, /dir/sub/,
/// /dir/a-link (a hard link to /a) and /sparse (20 one-block extents, so an
/// extent block), which fsck passes.
pub fn sample(tag: &str) -> (TempImage, Sample) {
    let img = TempImage::new(tag);
    mkfs(&img.path, &["-s", "8M"]);
    let mut image = Image::open(&img.path).expect("open image");
    let a = image
        .create_file(ROOT_INO, "a", &[0xaa; 3 * 4096 - 100])
        .unwrap();
    let b = image.create_file(ROOT_INO, "b", b"hello").unwrap();
    let dir = image.mkdir(ROOT_INO, "dir").unwrap();
    let c = image.create_file(dir, "c", &[7; 5000]).unwrap();
    let sub = image.mkdir(dir, "sub").unwrap();
    image.link(dir, "a-link", a).unwrap();
    let piece = [0x55u8; 4096];
    let pieces: Vec<(u32, &[u8])> = (0..20).map(|i| (i * 2, &piece[..])).collect();
    let sparse = image
        .create_sparse_file(ROOT_INO, "sparse", 40 * 4096, &pieces)
        .unwrap();
    image.flush().unwrap();
    let (code, text) = fsck(&img.path);
    assert_eq!(code, 0, "sample image should be clean:\n{text}");
    (
        img,
        Sample {
            a,
            b,
            dir,
            c,
            sub,
            sparse,
        },
    )
}
