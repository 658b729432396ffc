//! `tsfs-corrupt write --base IMAGE --out TARGET --seed N [--flips K]`: writes a
//! copy of the tsfs image IMAGE onto TARGET (an image file or a block device)
//! with K bytes of its metadata flipped (default: 1 to 8, chosen by the seed),
//! and prints one line saying what it hit.
//!
//! `tsfs-corrupt run --base IMAGE --dev DEV --dir MNT --first N --count C`: for
//! each seed from N, writes such a copy onto DEV, runs fsck.tsfs's check on it,
//! and mounts it on MNT (as tsfs). A mount must either fail with `EINVAL`,
//! `EUCLEAN` or `EIO`, or succeed; then the whole tree is walked (every
//! directory listed, every entry `lstat`ed, every file read: what `ls -lR` and
//! `find -exec cat` do), a few changes are made (create, mkdir, `rm -r`, rename),
//! errors being fine, and the file system must unmount. Prints the figures; the
//! exit status is 0 only if every image behaved. (It runs in one process because
//! under QEMU's emulation each process start costs a good part of a second.)
//!
//! Metadata is the super block, both bitmaps, the in-use inodes, and every
//! directory and extent block reachable from the root. Each flip picks one of
//! those kinds, then a byte in it. For one image in three, the checksums of the
//! super block, inodes and extent blocks it damaged are then recomputed, so that
//! the kernel's structural checks are exercised and not only its checksum checks.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tsfs::device::Device;
use tsfs::format::{
    extent_block_checksum, inode_seed, Geometry, Inode, SuperBlock, BLOCK_BYTES, INODES_PER_BLOCK,
    INODE_SIZE, ROOT_INO,
};
use tsfs::image::Image;
use tsfs::rng::Rng;

/// Write damaged copies of a tsfs image.
#[derive(Parser, Debug)]
#[command(name = "tsfs-corrupt")]
struct Args {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Write one damaged copy.
    Write {
        /// The intact image.
        #[arg(long)]
        base: PathBuf,
        /// Where to write the damaged copy.
        #[arg(long)]
        out: PathBuf,
        /// Seed of the choices.
        #[arg(long)]
        seed: u64,
        /// Bytes to flip (default: 1 to 8, from the seed).
        #[arg(long)]
        flips: Option<u32>,
    },
    /// Write, check, mount, walk and unmount damaged copies, one per seed.
    Run {
        /// The intact image.
        #[arg(long)]
        base: PathBuf,
        /// The block device to write the copies to.
        #[arg(long)]
        dev: PathBuf,
        /// Where to mount them.
        #[arg(long)]
        dir: PathBuf,
        /// First seed.
        #[arg(long, default_value_t = 1)]
        first: u64,
        /// Number of images.
        #[arg(long, default_value_t = 200)]
        count: u64,
    },
}

/// Byte ranges of each kind of metadata in the image.
struct Targets {
    superblock: (u64, u64),
    inode_bitmap: (u64, u64),
    block_bitmap: (u64, u64),
    /// (inode number, byte offset) of in-use inodes.
    inodes: Vec<(u32, u64)>,
    dir_blocks: Vec<u64>,
    /// (owner, block) of extent blocks.
    extent_blocks: Vec<(u32, u64)>,
}

fn find_targets(img: &Image) -> io::Result<Targets> {
    let g: Geometry = *img.geometry();
    let block = BLOCK_BYTES as u64;
    let bitmap_bytes = |bits: u64| bits.div_ceil(8).max(1);
    let mut t = Targets {
        superblock: (0, SuperBlock::SIZE as u64),
        inode_bitmap: (
            g.inode_bitmap_start * block,
            bitmap_bytes(u64::from(g.inode_count)),
        ),
        block_bitmap: (g.block_bitmap_start * block, bitmap_bytes(g.total_blocks)),
        inodes: Vec::new(),
        dir_blocks: Vec::new(),
        extent_blocks: Vec::new(),
    };
    for ino in 1..g.inode_count {
        if img.inode_in_use(ino) {
            let table_block = g.inode_table_start + u64::from(ino / INODES_PER_BLOCK);
            let offset = u64::from(ino % INODES_PER_BLOCK) * INODE_SIZE as u64;
            t.inodes.push((ino, table_block * block + offset));
        }
    }
    // Directories and extent blocks reachable from the root.
    let mut seen = BTreeSet::new();
    let mut stack = vec![ROOT_INO];
    while let Some(ino) = stack.pop() {
        if !seen.insert(ino) {
            continue;
        }
        let inode = img.read_inode(ino)?;
        if inode.overflow_block.get() != 0 {
            t.extent_blocks.push((ino, inode.overflow_block.get()));
        }
        if !inode.is_dir() {
            continue;
        }
        for e in img.extents(ino, &inode)? {
            t.dir_blocks.extend(e.disk_block()..e.disk_end());
        }
        for (_, child, _) in img.read_dir(ino)? {
            stack.push(child);
        }
    }
    Ok(t)
}

/// What was damaged, so that checksums can be recomputed afterwards.
#[derive(Default)]
struct Damage {
    superblock: bool,
    inodes: BTreeSet<(u32, u64)>,
    extent_blocks: BTreeSet<(u32, u64)>,
    notes: Vec<String>,
}

fn flip(data: &mut [u8], offset: u64, rng: &mut Rng) {
    let mask = (rng.below(255) + 1) as u8;
    if let Some(b) = data.get_mut(offset as usize) {
        *b ^= mask;
    }
}

fn damage(data: &mut [u8], t: &Targets, rng: &mut Rng, flips: u32) -> Damage {
    let block = BLOCK_BYTES as u64;
    let mut d = Damage::default();
    for _ in 0..flips {
        let (offset, what) = match rng.below(6) {
            0 => {
                d.superblock = true;
                (
                    t.superblock.0 + rng.below(t.superblock.1),
                    "super block".to_string(),
                )
            }
            1 => (
                t.inode_bitmap.0 + rng.below(t.inode_bitmap.1),
                "inode bitmap".to_string(),
            ),
            2 => (
                t.block_bitmap.0 + rng.below(t.block_bitmap.1),
                "block bitmap".to_string(),
            ),
            3 if !t.inodes.is_empty() => {
                let (ino, at) = t.inodes[rng.below(t.inodes.len() as u64) as usize];
                d.inodes.insert((ino, at));
                (at + rng.below(INODE_SIZE as u64), format!("inode {ino}"))
            }
            4 if !t.dir_blocks.is_empty() => {
                let b = t.dir_blocks[rng.below(t.dir_blocks.len() as u64) as usize];
                // Most of a directory slot is padding after the name: aim at the
                // header and the start of the name half of the time.
                let slot = rng.below(8) * 512;
                let within = if rng.below(2) == 0 {
                    rng.below(16)
                } else {
                    rng.below(512)
                };
                (b * block + slot + within, format!("directory block {b}"))
            }
            5 if !t.extent_blocks.is_empty() => {
                let (owner, b) = t.extent_blocks[rng.below(t.extent_blocks.len() as u64) as usize];
                d.extent_blocks.insert((owner, b));
                (
                    b * block + rng.below(16 + 16 * 32),
                    format!("extent block {b}"),
                )
            }
            _ => {
                d.superblock = true;
                (rng.below(t.superblock.1), "super block".to_string())
            }
        };
        flip(data, offset, rng);
        d.notes.push(format!("{what} @{offset}"));
    }
    d
}

/// Recomputes the checksums of what `d` damaged, as a bug (rather than bit rot)
/// would leave it.
fn fix_checksums(data: &mut [u8], d: &Damage) -> Option<()> {
    let sb = SuperBlock::from_bytes(data)?;
    if d.superblock {
        let mut fixed = sb;
        fixed.update_checksum();
        fixed.to_bytes(data)?;
    }
    let seed = sb.checksum_seed();
    for &(ino, at) in &d.inodes {
        let at = at as usize;
        let mut inode = Inode::from_bytes(data.get(at..)?)?;
        inode.update_checksum(seed, ino);
        inode.to_bytes(data.get_mut(at..)?)?;
    }
    for &(owner, b) in &d.extent_blocks {
        let at = b as usize * BLOCK_BYTES;
        let blk = data.get_mut(at..at + BLOCK_BYTES)?;
        let sum = extent_block_checksum(inode_seed(seed, owner), blk)?;
        blk.get_mut(12..16)?.copy_from_slice(&sum.to_le_bytes());
    }
    Some(())
}

/// Writes the damaged copy of `base` (already read into `data`) for `seed` onto
/// `out`, and says what was damaged.
fn write_copy(
    base: &Path,
    mut data: Vec<u8>,
    out: &Path,
    seed: u64,
    flips: Option<u32>,
) -> io::Result<String> {
    let img = Image::from_device(Device::open(base, false)?)?;
    let targets = find_targets(&img)?;
    let mut rng = Rng::new(seed);
    let flips = flips.unwrap_or_else(|| 1 + rng.below(8) as u32);
    let d = damage(&mut data, &targets, &mut rng, flips);
    let refit = rng.below(3) == 0;
    if refit {
        fix_checksums(&mut data, &d);
    }
    let mut f = OpenOptions::new().write(true).open(out)?;
    f.write_all(&data)?;
    f.sync_all()?;
    Ok(format!(
        "seed {seed}: {flips} flip(s){}: {}",
        if refit { ", checksums recomputed" } else { "" },
        d.notes.join(", ")
    ))
}

/// What a walk of a mounted image saw.
#[derive(Default)]
struct Walk {
    entries: u64,
    bytes: u64,
    errors: u64,
}

/// Lists, stats and reads everything under `dir`, as `ls -lR` and
/// `find -type f -exec cat` would; errors are counted, not fatal.
fn walk(dir: &Path, depth: u32, w: &mut Walk) {
    if depth > 64 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        w.errors += 1;
        return;
    };
    for entry in entries {
        let Ok(entry) = entry else {
            w.errors += 1;
            break;
        };
        w.entries += 1;
        let path = entry.path();
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => walk(&path, depth + 1, w),
            Ok(m) if m.is_file() => match fs::read(&path) {
                Ok(data) => w.bytes += data.len() as u64,
                Err(_) => w.errors += 1,
            },
            Ok(_) => {
                let _ = fs::read_link(&path);
            }
            Err(_) => w.errors += 1,
        }
    }
}

/// Changes to make on a damaged file system; failures are fine.
fn change(dir: &Path) {
    let _ = fs::write(dir.join("new-file"), b"new\n");
    let _ = fs::create_dir(dir.join("new-dir"));
    let _ = fs::remove_dir_all(dir.join("wide"));
    let _ = fs::rename(dir.join("d1"), dir.join("d0"));
}

fn c_path(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::other("NUL in a path"))
}

fn mount(dev: &Path, dir: &Path) -> io::Result<()> {
    let (dev, dir) = (c_path(dev)?, c_path(dir)?);
    // SAFETY: the strings are NUL-terminated and live across the call; no data.
    let r = unsafe {
        libc::mount(
            dev.as_ptr(),
            dir.as_ptr(),
            c"tsfs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn umount(dir: &Path, flags: i32) -> io::Result<()> {
    let dir = c_path(dir)?;
    // SAFETY: the string is NUL-terminated and lives across the call.
    if unsafe { libc::umount2(dir.as_ptr(), flags) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn run_all(base: &Path, dev: &Path, dir: &Path, first: u64, count: u64) -> io::Result<bool> {
    let data = fs::read(base)?;
    let (mut refused, mut mounted, mut broken, mut fsck_damaged) = (0u64, 0u64, 0u64, 0u64);
    let mut walked = Walk::default();
    for seed in first..first + count {
        let what = write_copy(base, data.clone(), dev, seed, None)?;
        if !tsfs::fsck::check(&Device::open(dev, false)?)?.is_clean() {
            fsck_damaged += 1;
        }
        match mount(dev, dir) {
            Ok(()) => {
                mounted += 1;
                walk(dir, 0, &mut walked);
                change(dir);
                walk(dir, 0, &mut walked);
                if let Err(e) = umount(dir, 0) {
                    broken += 1;
                    println!("seed {seed}: unmount failed: {e} ({what})");
                    let _ = umount(dir, libc::MNT_DETACH);
                }
            }
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EINVAL | libc::EUCLEAN | libc::EIO)
                ) =>
            {
                refused += 1;
            }
            Err(e) => {
                broken += 1;
                println!("seed {seed}: mount failed oddly: {e} ({what})");
            }
        }
    }
    println!(
        "corruption: tried {count}, refused {refused}, mounted {mounted}, broken {broken}; \
         fsck.tsfs found damage in {fsck_damaged}; walks saw {} entries, read {:.1} MiB, \
         met {} errors",
        walked.entries,
        walked.bytes as f64 / 1048576.0,
        walked.errors
    );
    Ok(broken == 0 && refused + mounted == count)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match &args.cmd {
        Cmd::Write {
            base,
            out,
            seed,
            flips,
        } => fs::read(base)
            .and_then(|data| write_copy(base, data, out, *seed, *flips))
            .map(|line| {
                println!("{line}");
                true
            }),
        Cmd::Run {
            base,
            dev,
            dir,
            first,
            count,
        } => run_all(base, dev, dir, *first, *count),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("tsfs-corrupt: {e}");
            ExitCode::from(2)
        }
    }
}
