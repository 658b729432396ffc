//! fsck.tsfs -y on randomly damaged copies of the sample image (the damage
//! `tsfs-corrupt` does in the guest suite): it never fails operationally or
//! panics, its repairs converge (a second -y finds nothing more to repair),
//! and -n then agrees with it.

mod common;

use std::process::Command;

use common::{run, sample, TempImage, FSCK};

const CORRUPT: &str = env!("CARGO_BIN_EXE_tsfs-corrupt");
const SEEDS: u64 = 60;

#[test]
fn repairs_of_random_damage_converge() {
    let (base, _) = sample("rand-base");
    let copy = TempImage::new("rand-copy");
    let (mut repaired, mut clean) = (0, 0);
    for seed in 1..=SEEDS {
        std::fs::write(&copy.path, b"").unwrap();
        let out = Command::new(CORRUPT)
            .arg("write")
            .arg("--base")
            .arg(&base.path)
            .arg("--out")
            .arg(&copy.path)
            .args(["--seed", &seed.to_string()])
            .output()
            .unwrap();
        assert!(out.status.success(), "tsfs-corrupt seed {seed} failed");
        let what = String::from_utf8_lossy(&out.stdout);
        let (first, text1) = run(FSCK, &["-y"], &copy.path);
        assert!(
            matches!(first, 0 | 1 | 4 | 5),
            "{what}-y exited {first}:\n{text1}"
        );
        let (second, text2) = run(FSCK, &["-y"], &copy.path);
        assert!(
            matches!(second, 0 | 4),
            "{what}a second -y still repaired (exit {second}):\n{text1}\n---\n{text2}"
        );
        let (check, text3) = run(FSCK, &["-n"], &copy.path);
        assert_eq!(check, second, "{what}-n disagrees:\n{text2}\n---\n{text3}");
        repaired += u32::from(first & 1 == 1);
        clean += u32::from(second == 0);
    }
    println!("{SEEDS} damaged images: {repaired} repaired, {clean} clean after -y");
    assert!(repaired > 0, "no damage was ever repaired");
}
