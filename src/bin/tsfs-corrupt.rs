//! `tsfs-corrupt write --base IMAGE --out TARGET --seed N [--flips K] [--kind KIND]`:
//! writes a copy of the tsfs image IMAGE onto TARGET (an image file or a block
//! device) with K pieces of its metadata damaged (default: 1 to 8, chosen by
//! the seed), each of kind KIND if given, and prints one line saying what it
//! hit.
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
//! directory block, extent block and extent index block reachable from the
//! root. Each damage picks one of the kinds of [`Kind`] that the image has,
//! then a byte to flip in it (or, for `index-entry`, an index entry to point
//! elsewhere). For one image in three, the checksums of the super block,
//! inodes, extent blocks and index blocks it damaged are then recomputed, so
//! that the kernel's structural checks are exercised and not only its checksum
//! checks.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tsfs::device::Device;
use tsfs::format::{
    extent_block_checksum, inode_seed, ExtentBlockHeader, Geometry, Inode, SuperBlock, BLOCK_BYTES,
    INODES_PER_BLOCK, INODE_SIZE, ROOT_INO,
};
use tsfs::image::Image;
use tsfs::rng::Rng;

/// Write damaged copies of a tsfs image.
///
/// Each damage is of one kind: a byte flipped in the super block, a bitmap,
/// an inode, a directory block, an extent block or an extent index block, or
/// an index entry pointed elsewhere (`write --help` lists them).
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
        /// Damages to make (default: 1 to 8, from the seed).
        #[arg(long)]
        flips: Option<u32>,
        /// Make every damage of this kind (default: each of a kind chosen
        /// by the seed among those the image has).
        #[arg(long, value_enum)]
        kind: Option<Kind>,
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

/// A kind of damage (the order is that of the random choice: do not reorder,
/// so that a seed keeps damaging an image the same way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// A byte of the super block flipped.
    SuperBlock,
    /// A byte of the inode bitmap flipped.
    InodeBitmap,
    /// A byte of the block bitmap flipped.
    BlockBitmap,
    /// A byte of an in-use inode flipped.
    Inode,
    /// A byte of a directory block flipped (often a slot's header or name).
    Directory,
    /// A byte of an extent block (a lone one, or one an index lists) flipped
    /// in its header or first 32 extents.
    ExtentBlock,
    /// A byte of an extent index block flipped in its header or the entries
    /// in use: its checksum breaks (unless recomputed).
    Index,
    /// An extent index entry pointed at another file's extent block, at
    /// another block of the same index (listed twice), or at the index
    /// itself, with the checksum recomputed.
    IndexEntry,
}

impl Kind {
    const ALL: [Kind; 8] = [
        Kind::SuperBlock,
        Kind::InodeBitmap,
        Kind::BlockBitmap,
        Kind::Inode,
        Kind::Directory,
        Kind::ExtentBlock,
        Kind::Index,
        Kind::IndexEntry,
    ];
}

/// Byte ranges of each kind of metadata in the image.
struct Targets {
    /// Checksum seed of the intact image.
    seed: u32,
    superblock: (u64, u64),
    inode_bitmap: (u64, u64),
    block_bitmap: (u64, u64),
    /// (inode number, byte offset) of in-use inodes.
    inodes: Vec<(u32, u64)>,
    dir_blocks: Vec<u64>,
    /// (owner, block) of extent blocks, lone or listed by an index.
    extent_blocks: Vec<(u32, u64)>,
    /// (owner, block, the extent blocks it lists) of extent index blocks.
    index_blocks: Vec<(u32, u64, Vec<u64>)>,
}

impl Targets {
    /// Whether the image has something for `kind` to damage.
    fn has(&self, kind: Kind) -> bool {
        match kind {
            Kind::SuperBlock | Kind::InodeBitmap | Kind::BlockBitmap => true,
            Kind::Inode => !self.inodes.is_empty(),
            Kind::Directory => !self.dir_blocks.is_empty(),
            Kind::ExtentBlock => !self.extent_blocks.is_empty(),
            Kind::Index => !self.index_blocks.is_empty(),
            Kind::IndexEntry => self.index_blocks.iter().any(|(_, _, l)| !l.is_empty()),
        }
    }
}

fn find_targets(img: &Image) -> io::Result<Targets> {
    let g: Geometry = *img.geometry();
    let block = BLOCK_BYTES as u64;
    let bitmap_bytes = |bits: u64| bits.div_ceil(8).max(1);
    let mut t = Targets {
        seed: img.seed(),
        superblock: (0, SuperBlock::SIZE as u64),
        inode_bitmap: (
            g.inode_bitmap_start * block,
            bitmap_bytes(u64::from(g.inode_count)),
        ),
        block_bitmap: (g.block_bitmap_start * block, bitmap_bytes(g.total_blocks)),
        inodes: Vec::new(),
        dir_blocks: Vec::new(),
        extent_blocks: Vec::new(),
        index_blocks: Vec::new(),
    };
    for ino in 1..g.inode_count {
        if img.inode_in_use(ino) {
            let table_block = g.inode_table_start + u64::from(ino / INODES_PER_BLOCK);
            let offset = u64::from(ino % INODES_PER_BLOCK) * INODE_SIZE as u64;
            t.inodes.push((ino, table_block * block + offset));
        }
    }
    // Directories, extent blocks and index blocks reachable from the root.
    let mut seen = BTreeSet::new();
    let mut stack = vec![ROOT_INO];
    while let Some(ino) = stack.pop() {
        if !seen.insert(ino) {
            continue;
        }
        let inode = img.read_inode(ino)?;
        let blocks = img.extent_blocks(ino, &inode)?;
        t.extent_blocks
            .extend(blocks.leaves.iter().map(|&b| (ino, b)));
        if let Some(index) = blocks.index {
            t.index_blocks.push((ino, index, blocks.leaves));
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

/// Makes `flips` damages to `data`, each of `kind` if given (an error if the
/// image has nothing of that kind), else of a kind chosen among those it has.
fn damage(
    data: &mut [u8],
    t: &Targets,
    rng: &mut Rng,
    flips: u32,
    kind: Option<Kind>,
) -> io::Result<Damage> {
    let kinds: Vec<Kind> = Kind::ALL.into_iter().filter(|&k| t.has(k)).collect();
    let mut d = Damage::default();
    for _ in 0..flips {
        let kind = match kind {
            Some(k) if t.has(k) => k,
            Some(k) => return Err(io::Error::other(format!("the image has no {k:?} target"))),
            None => kinds[rng.below(kinds.len() as u64) as usize],
        };
        let note = damage_one(data, kind, t, rng, &mut d);
        d.notes.push(note);
    }
    Ok(d)
}

/// Makes one damage of `kind` (which the image has) and says what it hit.
fn damage_one(data: &mut [u8], kind: Kind, t: &Targets, rng: &mut Rng, d: &mut Damage) -> String {
    let block = BLOCK_BYTES as u64;
    let pick = |rng: &mut Rng, n: usize| rng.below(n as u64) as usize;
    let (offset, what) = match kind {
        Kind::SuperBlock => {
            d.superblock = true;
            (
                t.superblock.0 + rng.below(t.superblock.1),
                "super block".to_string(),
            )
        }
        Kind::InodeBitmap => (
            t.inode_bitmap.0 + rng.below(t.inode_bitmap.1),
            "inode bitmap".to_string(),
        ),
        Kind::BlockBitmap => (
            t.block_bitmap.0 + rng.below(t.block_bitmap.1),
            "block bitmap".to_string(),
        ),
        Kind::Inode => {
            let (ino, at) = t.inodes[pick(rng, t.inodes.len())];
            d.inodes.insert((ino, at));
            (at + rng.below(INODE_SIZE as u64), format!("inode {ino}"))
        }
        Kind::Directory => {
            let b = t.dir_blocks[pick(rng, t.dir_blocks.len())];
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
        Kind::ExtentBlock => {
            let (owner, b) = t.extent_blocks[pick(rng, t.extent_blocks.len())];
            d.extent_blocks.insert((owner, b));
            (
                b * block + rng.below(16 + 16 * 32),
                format!("extent block {b}"),
            )
        }
        Kind::Index => {
            let (owner, b, leaves) = &t.index_blocks[pick(rng, t.index_blocks.len())];
            d.extent_blocks.insert((*owner, *b));
            let used = (ExtentBlockHeader::SIZE + 8 * leaves.len()) as u64;
            (
                b * block + rng.below(used),
                format!("extent index block {b}"),
            )
        }
        Kind::IndexEntry => return redirect_index_entry(data, t, rng, d),
    };
    flip(data, offset, rng);
    format!("{what} @{offset}")
}

/// Points an entry of an index block at another file's extent block, at
/// another block the index lists, or at the index itself, and recomputes the
/// index's checksum; says what it did.
fn redirect_index_entry(data: &mut [u8], t: &Targets, rng: &mut Rng, d: &mut Damage) -> String {
    let listing: Vec<_> = t
        .index_blocks
        .iter()
        .filter(|(_, _, l)| !l.is_empty())
        .collect();
    let (owner, index, leaves) = listing[rng.below(listing.len() as u64) as usize];
    let entry = rng.below(leaves.len() as u64) as usize;
    let others: Vec<u64> = t
        .extent_blocks
        .iter()
        .filter(|(o, _)| o != owner)
        .map(|&(_, b)| b)
        .collect();
    let (target, what) = match rng.below(3) {
        0 if !others.is_empty() => (
            others[rng.below(others.len() as u64) as usize],
            "another file's extent block",
        ),
        1 if leaves.len() > 1 => {
            let other = (entry + 1 + rng.below(leaves.len() as u64 - 1) as usize) % leaves.len();
            (leaves[other], "another of its extent blocks")
        }
        _ => (*index, "the index itself"),
    };
    let at = *index as usize * BLOCK_BYTES + ExtentBlockHeader::SIZE + 8 * entry;
    if let Some(slot) = data.get_mut(at..at + 8) {
        slot.copy_from_slice(&target.to_le_bytes());
    }
    reseal(data, t.seed, *owner, *index);
    d.extent_blocks.insert((*owner, *index));
    format!("extent index block {index} entry {entry} -> {what} {target} @{at}")
}

/// Recomputes the checksum of extent block or index block `b` of `owner`.
fn reseal(data: &mut [u8], seed: u32, owner: u32, b: u64) -> Option<()> {
    let at = b as usize * BLOCK_BYTES;
    let blk = data.get_mut(at..at + BLOCK_BYTES)?;
    let sum = extent_block_checksum(inode_seed(seed, owner), blk)?;
    blk.get_mut(12..16)?.copy_from_slice(&sum.to_le_bytes());
    Some(())
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
        reseal(data, seed, owner, b)?;
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
    kind: Option<Kind>,
) -> io::Result<String> {
    let img = Image::from_device(Device::open(base, false)?)?;
    let targets = find_targets(&img)?;
    let mut rng = Rng::new(seed);
    let flips = flips.unwrap_or_else(|| 1 + rng.below(8) as u32);
    let d = damage(&mut data, &targets, &mut rng, flips, kind)?;
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
        let what = write_copy(base, data.clone(), dev, seed, None, None)?;
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
            kind,
        } => fs::read(base)
            .and_then(|data| write_copy(base, data, out, *seed, *flips, *kind))
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
