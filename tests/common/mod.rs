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

/// Block `i` of the file [`fragmented_file`] makes: its number, then a byte
/// that differs from its neighbours'.
fn fragment(i: u32) -> Vec<u8> {
    let mut block = vec![(i % 251) as u8 + 1; 4096];
    block[..4].copy_from_slice(&i.to_le_bytes());
    block
}

/// Makes `/name`, a file of `extents` one-block extents at even file blocks
/// (odd ones are holes), and flushes; with more than 264 extents it has an
/// extent index. Returns its inode and contents.
pub fn fragmented_file(image: &mut Image, name: &str, extents: u32) -> (u32, Vec<u8>) {
    let blocks: Vec<Vec<u8>> = (0..extents).map(fragment).collect();
    let pieces: Vec<(u32, &[u8])> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| (2 * i as u32, &b[..]))
        .collect();
    let size = u64::from(2 * extents - 1) * 4096;
    let ino = image
        .create_sparse_file(ROOT_INO, name, size, &pieces)
        .unwrap();
    image.flush().unwrap();
    let mut data = vec![0u8; size as usize];
    for (i, b) in blocks.iter().enumerate() {
        data[2 * i * 4096..(2 * i + 1) * 4096].copy_from_slice(b);
    }
    assert_eq!(image.read_file(ino).unwrap(), data);
    (ino, data)
}

/// The extent index block of inode `ino` and the extent blocks it lists.
pub fn index_of(image: &Image, ino: u32) -> (u64, Vec<u64>) {
    let inode = image.read_inode(ino).unwrap();
    let blocks = image.extent_blocks(ino, &inode).unwrap();
    (blocks.index.expect("an extent index"), blocks.leaves)
}

/// Rewrites inode `ino`'s extent index block `index` (with a good checksum)
/// to list `leaves`.
pub fn rewrite_index(image: &Image, ino: u32, index: u64, leaves: &[u64]) {
    let mut block = vec![0u8; 4096];
    tsfs::format::write_extent_index(&mut block, image.seed(), ino, leaves).unwrap();
    image.device().write_blocks(index, &block).unwrap();
}

/// Flips one byte of block `block`, its checksum left as it was.
pub fn flip_byte(image: &Image, block: u64, at: usize) {
    let mut data = image.device().read_block(block).unwrap();
    data[at] ^= 0x5a;
    image.device().write_blocks(block, &data).unwrap();
}
