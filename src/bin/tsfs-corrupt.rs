//! `tsfs-corrupt --base IMAGE --out TARGET --seed N [--flips K]`: writes a copy
//! of the tsfs image IMAGE onto TARGET (an image file or a block device) with K
//! bytes of its metadata flipped (default: 1 to 8, chosen by the seed), and prints
//! one line saying what it hit. Guest tests use it to check that the kernel
//! refuses or survives damaged images.
//!
//! Metadata is the super block, both bitmaps, the in-use inodes, and every
//! directory and extent block reachable from the root. Each flip picks one of
//! those kinds, then a byte in it. For one image in three, the checksums of the
//! super block, inodes and extent blocks it damaged are then recomputed, so that
//! the kernel's structural checks are exercised and not only its checksum checks.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tsfs::device::Device;
use tsfs::format::{
    extent_block_checksum, inode_seed, Geometry, Inode, SuperBlock, BLOCK_BYTES, INODES_PER_BLOCK,
    INODE_SIZE, ROOT_INO,
};
use tsfs::image::Image;

/// Write a damaged copy of a tsfs image.
#[derive(Parser, Debug)]
#[command(name = "tsfs-corrupt")]
struct Args {
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
}

/// xorshift64*: small, deterministic, good enough to pick bytes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
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
            t.dir_blocks.extend(e.disk_block.get()..e.disk_end());
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

fn run(args: &Args) -> io::Result<String> {
    let mut data = std::fs::read(&args.base)?;
    let img = Image::from_device(Device::open(&args.base, false)?)?;
    let targets = find_targets(&img)?;
    let mut rng = Rng::new(args.seed);
    let flips = args.flips.unwrap_or_else(|| 1 + rng.below(8) as u32);
    let d = damage(&mut data, &targets, &mut rng, flips);
    let refit = rng.below(3) == 0;
    if refit {
        fix_checksums(&mut data, &d);
    }
    let mut out = OpenOptions::new().write(true).open(&args.out)?;
    out.write_all(&data)?;
    out.sync_all()?;
    Ok(format!(
        "seed {}: {} flip(s){}: {}",
        args.seed,
        flips,
        if refit { ", checksums recomputed" } else { "" },
        d.notes.join(", ")
    ))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tsfs-corrupt: {e}");
            ExitCode::from(1)
        }
    }
}
