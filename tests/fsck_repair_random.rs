//! fsck.tsfs -y on randomly damaged copies of the sample image (the damage
//! `tsfs-corrupt` does in the guest suite): it never fails operationally or
//! panics, its repairs converge (a second -y finds nothing more to repair),
//! and -n then agrees with it. Then the same with files that have an extent
//! index, and damage aimed at the index.

mod common;

use std::path::Path;
use std::process::Command;

use common::{fragmented_file, run, sample, Sample, TempImage, FSCK};
use tsfs::image::Image;

const CORRUPT: &str = env!("CARGO_BIN_EXE_tsfs-corrupt");
const SEEDS: u64 = 60;

/// Writes the damaged copy of `base` for `seed` (with `args` added) to
/// `copy`; returns what tsfs-corrupt says it hit.
fn corrupt(base: &Path, copy: &Path, seed: u64, args: &[&str]) -> String {
    std::fs::write(copy, b"").unwrap();
    let out = Command::new(CORRUPT)
        .arg("write")
        .arg("--base")
        .arg(base)
        .arg("--out")
        .arg(copy)
        .args(["--seed", &seed.to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tsfs-corrupt seed {seed} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs -y twice, then -n, on `copy` (damaged as `what` says): the repairs
/// converge and -n agrees. Returns the exit codes of the two -y runs.
fn repair_twice(copy: &Path, what: &str) -> (i32, i32) {
    let (first, text1) = run(FSCK, &["-y"], copy);
    assert!(
        matches!(first, 0 | 1 | 4 | 5),
        "{what}-y exited {first}:\n{text1}"
    );
    let (second, text2) = run(FSCK, &["-y"], copy);
    assert!(
        matches!(second, 0 | 4),
        "{what}a second -y still repaired (exit {second}):\n{text1}\n---\n{text2}"
    );
    let (check, text3) = run(FSCK, &["-n"], copy);
    assert_eq!(check, second, "{what}-n disagrees:\n{text2}\n---\n{text3}");
    (first, second)
}

#[test]
fn repairs_of_random_damage_converge() {
    let (base, _) = sample("rand-base");
    let copy = TempImage::new("rand-copy");
    let (mut repaired, mut clean) = (0, 0);
    for seed in 1..=SEEDS {
        let what = corrupt(&base.path, &copy.path, seed, &[]);
        let (first, second) = repair_twice(&copy.path, &what);
        repaired += u32::from(first & 1 == 1);
        clean += u32::from(second == 0);
    }
    println!("{SEEDS} damaged images: {repaired} repaired, {clean} clean after -y");
    assert!(repaired > 0, "no damage was ever repaired");
}

/// The sample image with `/frag` (520 extents: an index and three extent
/// blocks) and `/other` (300: an index and two), both clean.
fn indexed_sample(tag: &str) -> (TempImage, Sample) {
    let (img, s) = sample(tag);
    let mut image = Image::open(&img.path).unwrap();
    fragmented_file(&mut image, "frag", 520);
    fragmented_file(&mut image, "other", 300);
    let (code, text) = common::fsck(&img.path);
    assert_eq!(code, 0, "{text}");
    (img, s)
}

/// The sample's own files' contents.
fn sample_contents(path: &Path, s: &Sample) -> Vec<Vec<u8>> {
    let image = Image::open(path).unwrap();
    [s.a, s.b, s.c, s.sparse]
        .into_iter()
        .map(|ino| image.read_file(ino).unwrap())
        .collect()
}

#[test]
fn repairs_of_random_damage_with_extent_indexes_converge() {
    let (base, _) = indexed_sample("rand-ix-base");
    let copy = TempImage::new("rand-ix-copy");
    let (mut repaired, mut index_hit) = (0, 0);
    for seed in 1..=SEEDS {
        let what = corrupt(&base.path, &copy.path, seed, &[]);
        index_hit += u32::from(what.contains("extent index block"));
        let (first, _) = repair_twice(&copy.path, &what);
        repaired += u32::from(first & 1 == 1);
    }
    println!("{SEEDS} damaged images: {repaired} repaired, {index_hit} with an index damaged");
    assert!(repaired > 0, "no damage was ever repaired");
    assert!(index_hit > 0, "the random choice never picked an index");
}

/// Damages of `kind` alone, one per image: each is repaired by -y, leaving
/// the image clean and the sample's files as they were. Returns how many
/// images -n found damaged first.
fn index_damage_is_repaired(kind: &str) -> u32 {
    let (base, s) = indexed_sample(&format!("ix-{kind}-base"));
    let copy = TempImage::new(&format!("ix-{kind}-copy"));
    let before = sample_contents(&base.path, &s);
    let mut found = 0;
    for seed in 1..=30 {
        let what = corrupt(
            &base.path,
            &copy.path,
            seed,
            &["--kind", kind, "--flips", "1"],
        );
        assert!(what.contains("extent index block"), "{what}");
        let (code, text) = run(FSCK, &["-n"], &copy.path);
        found += u32::from(code == 4);
        let (first, second) = repair_twice(&copy.path, &what);
        assert_eq!(
            second, 0,
            "{what}not clean after -y (exit {first}):\n{text}"
        );
        assert!(
            sample_contents(&copy.path, &s) == before,
            "{what}a file whose blocks were not damaged changed"
        );
    }
    found
}

#[test]
fn flipped_bytes_in_an_extent_index_are_repaired() {
    let found = index_damage_is_repaired("index");
    // A flip in a reserved byte with the checksum recomputed harms nothing.
    assert!(found >= 20, "only {found} of 30 flips found");
}

#[test]
fn index_entries_pointed_elsewhere_are_found_and_repaired() {
    assert_eq!(index_damage_is_repaired("index-entry"), 30);
}

#[test]
fn a_kind_the_image_lacks_is_refused() {
    let (base, _) = sample("kind-none");
    let copy = TempImage::new("kind-none-copy");
    std::fs::write(&copy.path, b"").unwrap();
    let out = Command::new(CORRUPT)
        .arg("write")
        .arg("--base")
        .arg(&base.path)
        .arg("--out")
        .arg(&copy.path)
        .args(["--seed", "1", "--kind", "index-entry"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the sample has no extent index");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no IndexEntry target"));
    assert_eq!(std::fs::read(&copy.path).unwrap(), b"", "nothing written");
}
