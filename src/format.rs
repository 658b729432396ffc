//! tsfs on-disk format, shared word for word by the kernel module and the
//! userspace tools (`mkfs.tsfs`, `fsck.tsfs`), so the two can never disagree.
//!
//! This file must stay `#![no_std]`-clean: the kernel crate includes it with
//! `#[path = "src/format.rs"] mod format;`. It uses only `core`, never allocates,
//! has no `unsafe` and cannot panic (every slice access is checked). On-disk
//! structs are `#[repr(C)]` and built only from byte arrays (`Le16`/`Le32`/`Le64`),
//! so they have alignment 1, no padding, and are encoded field by field.
//!
//! # Layout
//! Every integer is little-endian. Blocks are 4096 bytes; block numbers are `u64`.
//!
//! | blocks | contents |
//! |---|---|
//! | 0 | super block: a [`SuperBlock`] (256 bytes) at offset 0, the rest zero |
//! | from 1 | inode bitmap: bit *n* set = inode *n* in use |
//! | next | block bitmap: bit *n* set = block *n* in use (metadata blocks included) |
//! | next | inode table: [`Inode`]s of 256 bytes, 16 per block; slot *n* is inode *n* |
//! | `first_data_block` .. | file data, directory blocks and extent blocks |
//!
//! The whole layout follows from the block count and the inode count
//! ([`Geometry::new`]), so a super block whose layout fields disagree is corrupt.
//! Bitmap bit *n* is bit `n % 8` of byte `n / 8` (Linux's `*_bit_le` order); bits
//! past the last block or inode are set, so a scan for a clear bit never runs off
//! the end. Inode 0 is never used (its bit is set); inode 1 is the root directory.
//!
//! # Files
//! An inode maps file blocks to disk blocks with [`Extent`]s: up to 9 inline,
//! the rest in extent blocks (an [`ExtentBlockHeader`] followed by up to 255
//! extents). `overflow_block` names either one extent block (up to 264 extents in
//! all) or an extent index block (magic [`EXTENT_INDEX_MAGIC`]: the same header
//! followed by the numbers of up to [`MAX_EXTENT_LEAVES`] extent blocks, taken in
//! that order; [`MAX_EXTENTS`] in all). An extent block may hold no extent. The
//! inline extents followed by the extent blocks' ones, in order, are sorted by
//! `file_block` and never overlap; an
//! unmapped file range is a hole (reads as zeros). This is what iomap wants: a
//! file range is either one extent's piece or a hole up to the next extent
//! ([`map_block`]). File blocks are `u32`, so a file is at most 16 TiB
//! ([`MAX_FILE_SIZE`]). No written extent maps a block past the one holding the
//! last byte.
//!
//! An extent may be *unwritten* ([`EXTENT_UNWRITTEN`]): its blocks are allocated
//! to the file but hold nothing written through it yet, so they read as zeros
//! whatever the disk holds. A direct write allocates unwritten extents and
//! converts to written only the blocks whose data reached the disk, so a write
//! that fails part-way never exposes stale disk contents. Neighbouring extents
//! merge only if both are written or both unwritten. Directories have no
//! unwritten extents. Unwritten extents may lie past the end of the file
//! (`fallocate` with `FALLOC_FL_KEEP_SIZE`); the end of the file is no limit
//! to them.
//!
//! # Directories
//! A directory's data is an array of 512-byte slots, 8 per block, each a
//! [`DirentHeader`] followed by the name (1 to 255 bytes, Linux's `NAME_MAX`, no
//! `/` or NUL). Inode number 0 marks a free slot. Slots are fixed-size so that a
//! readdir position is a slot index. `.` and `..` are not stored: the kernel
//! synthesizes them, taking `..` from the directory inode's `parent` field. A
//! directory's size is a whole number of blocks, all mapped (no holes); its link
//! count is 2 plus its number of subdirectories.
//!
//! # Checksums and state
//! CRC-32C ([`crc32c`]) over the object with its 4-byte checksum field left out.
//! The super block's is seeded with 0; inodes and extent blocks are seeded with
//! [`inode_seed`] (the file system's UUID and the inode number), so a stale
//! inode from an earlier mkfs or from another slot does not verify. Directory and
//! data blocks carry no checksum. The free counts in the super block are exact
//! only in the `STATE_CLEAN` state; after an unclean unmount (`STATE_DIRTY`) the
//! kernel recomputes them from the bitmaps.

use core::fmt;

/// Magic number at the start of the super block ("TSFS" + format generation).
pub const TSFS_MAGIC: u32 = 0x5453_4653;
/// The format version this file describes; others are refused. Version 2 added
/// unwritten extents ([`EXTENT_UNWRITTEN`]); version 3, extent index blocks
/// ([`EXTENT_INDEX_MAGIC`]).
pub const FORMAT_VERSION: u32 = 3;
/// The only block size tsfs uses.
pub const BLOCK_SIZE: u32 = 4096;
/// `BLOCK_SIZE` as a shift count.
pub const BLOCK_SHIFT: u32 = 12;
/// `BLOCK_SIZE` as a `usize`, for buffers.
pub const BLOCK_BYTES: usize = BLOCK_SIZE as usize;
/// Bits in one bitmap block.
pub const BITS_PER_BLOCK: u64 = BLOCK_SIZE as u64 * 8;

/// Size of an on-disk inode.
pub const INODE_SIZE: usize = 256;
/// Inodes in one inode table block.
pub const INODES_PER_BLOCK: u32 = BLOCK_SIZE / INODE_SIZE as u32;
/// The root directory's inode number.
pub const ROOT_INO: u32 = 1;
/// Extents stored in the inode itself.
pub const INLINE_EXTENTS: usize = 9;
/// Size of an on-disk extent.
pub const EXTENT_SIZE: usize = 16;
/// Magic number of an extent block ("TSEX").
pub const EXTENT_BLOCK_MAGIC: u32 = 0x5453_4558;
/// Extents in an extent block (after its 16-byte header).
pub const EXTENTS_PER_BLOCK: usize = (BLOCK_BYTES - ExtentBlockHeader::SIZE) / EXTENT_SIZE;
/// Magic number of an extent index block ("TSEI").
pub const EXTENT_INDEX_MAGIC: u32 = 0x5453_4549;
/// Most extent blocks an index block lists. The kernel keeps a file's whole
/// extent list in memory (at most 128 KiB with this limit).
pub const MAX_EXTENT_LEAVES: usize = 32;
/// Most extents a file can have: inline plus [`MAX_EXTENT_LEAVES`] full extent
/// blocks.
pub const MAX_EXTENTS: usize = INLINE_EXTENTS + MAX_EXTENT_LEAVES * EXTENTS_PER_BLOCK;
/// File blocks are `u32`: a file spans at most this many blocks.
pub const MAX_FILE_BLOCKS: u64 = 1 << 32;
/// Largest file size in bytes (16 TiB), for `s_maxbytes`.
pub const MAX_FILE_SIZE: u64 = MAX_FILE_BLOCKS << BLOCK_SHIFT;

/// Size of a directory slot.
pub const DIRENT_SIZE: usize = 512;
/// Directory slots in one block.
pub const DIRENTS_PER_BLOCK: usize = BLOCK_BYTES / DIRENT_SIZE;
/// Longest file name, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Smallest file system, in blocks (256 KiB).
pub const MIN_BLOCKS: u64 = 64;
/// Largest file system, in blocks (4 PiB).
pub const MAX_BLOCKS: u64 = 1 << 40;
/// Fewest data blocks a geometry must leave after its metadata.
pub const MIN_DATA_BLOCKS: u64 = 16;
/// Default inode density: one inode per this many bytes of device.
pub const BYTES_PER_INODE: u64 = 16384;
/// Most inodes (inode numbers are `u32`; the count is a whole number of blocks).
pub const MAX_INODES: u32 = u32::MAX - (INODES_PER_BLOCK - 1);

/// Super block `state`: cleanly unmounted, free counts exact.
pub const STATE_CLEAN: u32 = 1;
/// Super block `state`: mounted read-write or not cleanly unmounted.
pub const STATE_DIRTY: u32 = 2;

/// Mask of the file type bits of a mode.
pub const S_IFMT: u16 = 0o170000;
/// File type: directory.
pub const S_IFDIR: u16 = 0o040000;
/// File type: regular file.
pub const S_IFREG: u16 = 0o100000;
/// File type: symbolic link (its target is its data, like a file's).
pub const S_IFLNK: u16 = 0o120000;
/// File type: character device (its number is the inode's `rdev`).
pub const S_IFCHR: u16 = 0o020000;
/// File type: block device (its number is the inode's `rdev`).
pub const S_IFBLK: u16 = 0o060000;
/// File type: named pipe.
pub const S_IFIFO: u16 = 0o010000;
/// File type: Unix domain socket.
pub const S_IFSOCK: u16 = 0o140000;
/// Directory entry file type of a directory (Linux's `DT_DIR`).
pub const FT_DIR: u8 = 4;
/// Directory entry file type of a regular file (`DT_REG`).
pub const FT_REG: u8 = 8;
/// Directory entry file type of a symbolic link (`DT_LNK`).
pub const FT_LNK: u8 = 10;
/// Directory entry file type of a character device (`DT_CHR`).
pub const FT_CHR: u8 = 2;
/// Directory entry file type of a block device (`DT_BLK`).
pub const FT_BLK: u8 = 6;
/// Directory entry file type of a named pipe (`DT_FIFO`).
pub const FT_FIFO: u8 = 1;
/// Directory entry file type of a socket (`DT_SOCK`).
pub const FT_SOCK: u8 = 12;

/// Whether `mode`'s type is one tsfs stores.
pub const fn is_known_type(mode: u16) -> bool {
    matches!(
        mode & S_IFMT,
        S_IFDIR | S_IFREG | S_IFLNK | S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK
    )
}

/// Whether `mode` is a special file (device, pipe or socket): an inode with no
/// data, whose meaning is its type and, for a device, its number.
pub const fn is_special(mode: u16) -> bool {
    matches!(mode & S_IFMT, S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK)
}

/// Whether `file_type` is a directory entry type tsfs writes.
pub const fn is_known_dirent_type(file_type: u8) -> bool {
    matches!(
        file_type,
        FT_DIR | FT_REG | FT_LNK | FT_CHR | FT_BLK | FT_FIFO | FT_SOCK
    )
}

/// A device number as an inode's `rdev` holds it: Linux's 32-bit encoding
/// (`new_encode_dev`), whose low 8 bits are the minor's, then 12 bits of major,
/// then the rest of the minor, so small numbers read as the old 16-bit form.
/// `None` if the major has more than 12 bits or the minor more than 20.
pub const fn encode_dev(major: u32, minor: u32) -> Option<u32> {
    if major >= 1 << 12 || minor >= 1 << 20 {
        return None;
    }
    Some((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12))
}

/// The (major, minor) pair of an `rdev` made by [`encode_dev`].
pub const fn decode_dev(rdev: u32) -> (u32, u32) {
    (
        (rdev >> 8) & 0xfff,
        (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
    )
}

/// CRC-32C (Castagnoli), bitwise: used for metadata checksums on both sides.
pub const fn crc32c(seed: u32, data: &[u8]) -> u32 {
    let mut crc = !seed;
    let mut i = 0;
    while i < data.len() {
        crc ^= data[i] as u32;
        let mut k = 0;
        while k < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
            k += 1;
        }
        i += 1;
    }
    !crc
}

/// Checksum seed of inode `ino` (for the inode and its extent block), from the
/// file system's seed ([`SuperBlock::checksum_seed`]).
pub const fn inode_seed(fs_seed: u32, ino: u32) -> u32 {
    crc32c(fs_seed, &ino.to_le_bytes())
}

/// CRC-32C of `bytes` leaving out the 4 bytes at `skip` (the checksum field).
fn crc32c_skipping(seed: u32, bytes: &[u8], skip: usize) -> Option<u32> {
    let head = bytes.get(..skip)?;
    let tail = bytes.get(skip.checked_add(4)?..)?;
    Some(crc32c(crc32c(seed, head), tail))
}

// ---------------------------------------------------------------------------
// Encoding: every on-disk type is a sequence of byte arrays, read and written in
// field order. `Codec` is the per-type piece; `on_disk!` derives it for structs.

/// Reads consecutive fields from a byte slice.
struct Reader<'a> {
    rest: &'a [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let head: [u8; N] = self.rest.get(..N)?.try_into().ok()?;
        self.rest = self.rest.get(N..)?;
        Some(head)
    }
}

/// Writes consecutive fields into a byte slice.
struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.pos.checked_add(bytes.len())?;
        self.buf.get_mut(self.pos..end)?.copy_from_slice(bytes);
        self.pos = end;
        Some(())
    }
}

/// A fixed-size on-disk encoding.
trait Codec: Sized + Copy {
    const LEN: usize;
    const ZEROED: Self;
    fn decode(r: &mut Reader<'_>) -> Option<Self>;
    fn encode(&self, w: &mut Writer<'_>) -> Option<()>;
}

impl Codec for u8 {
    const LEN: usize = 1;
    const ZEROED: Self = 0;
    fn decode(r: &mut Reader<'_>) -> Option<Self> {
        let [b] = r.take::<1>()?;
        Some(b)
    }
    fn encode(&self, w: &mut Writer<'_>) -> Option<()> {
        w.put(&[*self])
    }
}

impl<T: Codec, const N: usize> Codec for [T; N] {
    const LEN: usize = T::LEN * N;
    const ZEROED: Self = [T::ZEROED; N];
    fn decode(r: &mut Reader<'_>) -> Option<Self> {
        let mut out = [T::ZEROED; N];
        for slot in out.iter_mut() {
            *slot = T::decode(r)?;
        }
        Some(out)
    }
    fn encode(&self, w: &mut Writer<'_>) -> Option<()> {
        self.iter().try_for_each(|v| v.encode(w))
    }
}

macro_rules! le_int {
    ($(#[$meta:meta])* $name:ident, $int:ty, $n:literal) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
        pub struct $name([u8; $n]);

        impl $name {
            /// Wraps a native-endian value.
            pub const fn new(v: $int) -> Self {
                Self(v.to_le_bytes())
            }
            /// The native-endian value.
            pub const fn get(self) -> $int {
                <$int>::from_le_bytes(self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.get(), f)
            }
        }

        impl Codec for $name {
            const LEN: usize = $n;
            const ZEROED: Self = Self([0; $n]);
            fn decode(r: &mut Reader<'_>) -> Option<Self> {
                r.take::<$n>().map(Self)
            }
            fn encode(&self, w: &mut Writer<'_>) -> Option<()> {
                w.put(&self.0)
            }
        }
    };
}

le_int!(
    /// A little-endian `u16`.
    Le16, u16, 2
);
le_int!(
    /// A little-endian `u32`.
    Le32, u32, 4
);
le_int!(
    /// A little-endian `u64`.
    Le64, u64, 8
);

/// Declares an on-disk struct of `$size` bytes with `SIZE`, `ZERO`,
/// `from_bytes`, `to_bytes` and `to_array`, and asserts that the fields add up to
/// `$size` and that Rust lays the struct out in exactly that many bytes.
macro_rules! on_disk {
    (
        $(#[$meta:meta])*
        pub struct $name:ident ($size:literal) {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        const _: () = assert!(core::mem::size_of::<$name>() == $size);
        const _: () = assert!(<$name as Codec>::LEN == $size);

        impl Codec for $name {
            const LEN: usize = 0 $( + <$ty as Codec>::LEN )*;
            const ZEROED: Self = Self { $( $field: <$ty as Codec>::ZEROED, )* };
            fn decode(r: &mut Reader<'_>) -> Option<Self> {
                Some(Self { $( $field: <$ty as Codec>::decode(r)?, )* })
            }
            fn encode(&self, w: &mut Writer<'_>) -> Option<()> {
                $( self.$field.encode(w)?; )*
                Some(())
            }
        }

        impl $name {
            /// Size of the encoded form, in bytes.
            pub const SIZE: usize = $size;
            /// Every field zero.
            pub const ZERO: Self = <Self as Codec>::ZEROED;

            /// Decodes from the first `SIZE` bytes of `bytes`; `None` if shorter.
            pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
                Self::decode(&mut Reader { rest: bytes })
            }

            /// Encodes into the first `SIZE` bytes of `out`; `None` (nothing
            /// written) if `out` is shorter.
            pub fn to_bytes(&self, out: &mut [u8]) -> Option<()> {
                let buf = out.get_mut(..$size)?;
                self.encode(&mut Writer { buf, pos: 0 })
            }

            /// Encodes into a new array.
            pub fn to_array(&self) -> [u8; $size] {
                let mut out = [0u8; $size];
                // Cannot fail: `out` is exactly `SIZE` bytes.
                let _ = self.to_bytes(&mut out);
                out
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Geometry

/// Where everything is, derived from the block and inode counts alone.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Geometry {
    /// Blocks in the file system.
    pub total_blocks: u64,
    /// Inode slots, inode 0 included; a whole number of inode table blocks.
    pub inode_count: u32,
    /// First block of the inode bitmap (always 1).
    pub inode_bitmap_start: u64,
    /// Blocks of inode bitmap.
    pub inode_bitmap_blocks: u64,
    /// First block of the block bitmap.
    pub block_bitmap_start: u64,
    /// Blocks of block bitmap.
    pub block_bitmap_blocks: u64,
    /// First block of the inode table.
    pub inode_table_start: u64,
    /// Blocks of inode table.
    pub inode_table_blocks: u64,
    /// First block after the metadata; every block before it is metadata.
    pub first_data_block: u64,
}

impl Geometry {
    /// The layout of a file system of `total_blocks` blocks and `inode_count`
    /// inodes; `None` if either is out of range or too little room is left for data.
    pub fn new(total_blocks: u64, inode_count: u32) -> Option<Self> {
        if !(MIN_BLOCKS..=MAX_BLOCKS).contains(&total_blocks)
            || inode_count < INODES_PER_BLOCK
            || inode_count % INODES_PER_BLOCK != 0
        {
            return None;
        }
        let inode_bitmap_start = 1;
        let inode_bitmap_blocks = u64::from(inode_count).div_ceil(BITS_PER_BLOCK);
        let block_bitmap_start = inode_bitmap_start + inode_bitmap_blocks;
        let block_bitmap_blocks = total_blocks.div_ceil(BITS_PER_BLOCK);
        let inode_table_start = block_bitmap_start + block_bitmap_blocks;
        let inode_table_blocks = u64::from(inode_count / INODES_PER_BLOCK);
        let first_data_block = inode_table_start + inode_table_blocks;
        if first_data_block.checked_add(MIN_DATA_BLOCKS)? > total_blocks {
            return None;
        }
        Some(Self {
            total_blocks,
            inode_count,
            inode_bitmap_start,
            inode_bitmap_blocks,
            block_bitmap_start,
            block_bitmap_blocks,
            inode_table_start,
            inode_table_blocks,
            first_data_block,
        })
    }

    /// The layout for a device of `bytes` bytes (a partial last block is unused).
    /// `inodes_hint` 0 asks for one inode per [`BYTES_PER_INODE`]; any count is
    /// rounded up to fill whole inode table blocks. `None` if the device is too
    /// small or too large, or the inodes would not fit.
    pub fn for_device(bytes: u64, inodes_hint: u64) -> Option<Self> {
        let total_blocks = bytes >> BLOCK_SHIFT;
        let per_block = u64::from(INODES_PER_BLOCK);
        let wanted = if inodes_hint == 0 {
            (bytes / BYTES_PER_INODE).min(u64::from(MAX_INODES))
        } else {
            inodes_hint
        };
        let rounded = wanted.max(per_block).checked_next_multiple_of(per_block)?;
        Self::new(total_blocks, u32::try_from(rounded).ok()?)
    }

    /// Blocks available for data (everything after the metadata).
    pub fn data_blocks(&self) -> u64 {
        self.total_blocks - self.first_data_block
    }

    /// Whether `block` is a super block, bitmap or inode table block.
    pub fn is_metadata(&self, block: u64) -> bool {
        block < self.first_data_block
    }

    /// Whether blocks `start .. start + len` all lie in the data area.
    pub fn in_data_area(&self, start: u64, len: u64) -> bool {
        start >= self.first_data_block
            && start
                .checked_add(len)
                .is_some_and(|end| end <= self.total_blocks)
    }

    /// The inode table block holding inode `ino` and the inode's byte offset in
    /// it; `None` for inode 0 and numbers past the table.
    pub fn inode_location(&self, ino: u32) -> Option<(u64, usize)> {
        if ino == 0 || ino >= self.inode_count {
            return None;
        }
        let block = self.inode_table_start + u64::from(ino / INODES_PER_BLOCK);
        let offset = (ino % INODES_PER_BLOCK) as usize * INODE_SIZE;
        Some((block, offset))
    }

    /// The inode bitmap block holding inode `ino`'s bit, and the bit in it.
    pub fn inode_bit_location(&self, ino: u32) -> Option<(u64, u64)> {
        (ino < self.inode_count).then(|| bit_location(self.inode_bitmap_start, u64::from(ino)))
    }

    /// The block bitmap block holding block `block`'s bit, and the bit in it.
    pub fn block_bit_location(&self, block: u64) -> Option<(u64, u64)> {
        (block < self.total_blocks).then(|| bit_location(self.block_bitmap_start, block))
    }
}

fn bit_location(bitmap_start: u64, n: u64) -> (u64, u64) {
    (bitmap_start + n / BITS_PER_BLOCK, n % BITS_PER_BLOCK)
}

// ---------------------------------------------------------------------------
// Bitmaps (Linux `*_bit_le` order: bit n is bit n % 8 of byte n / 8)

/// Whether bit `bit` of `map` is set; `None` past its end.
pub fn test_bit(map: &[u8], bit: u64) -> Option<bool> {
    let byte = map.get(usize::try_from(bit / 8).ok()?)?;
    Some(byte & (1 << (bit % 8)) != 0)
}

/// Sets (`true`) or clears bit `bit` of `map`; returns its old value, `None`
/// (nothing changed) past the end.
pub fn set_bit(map: &mut [u8], bit: u64, value: bool) -> Option<bool> {
    let byte = map.get_mut(usize::try_from(bit / 8).ok()?)?;
    let mask = 1u8 << (bit % 8);
    let old = *byte & mask != 0;
    if value {
        *byte |= mask;
    } else {
        *byte &= !mask;
    }
    Some(old)
}

/// The first clear bit in `from .. to` of `map`, if any.
pub fn find_clear_bit(map: &[u8], from: u64, to: u64) -> Option<u64> {
    let mut bit = from;
    while bit < to {
        let byte = *map.get(usize::try_from(bit / 8).ok()?)?;
        if bit % 8 == 0 && byte == 0xff {
            bit += 8; // skip full bytes quickly
            continue;
        }
        if byte & (1 << (bit % 8)) == 0 {
            return Some(bit);
        }
        bit += 1;
    }
    None
}

// ---------------------------------------------------------------------------
// Super block

on_disk! {
    /// The super block, at offset 0 of block 0.
    pub struct SuperBlock (256) {
        /// [`TSFS_MAGIC`].
        pub magic: Le32,
        /// [`FORMAT_VERSION`].
        pub version: Le32,
        /// [`BLOCK_SIZE`].
        pub block_size: Le32,
        /// [`INODE_SIZE`].
        pub inode_size: Le32,
        /// Blocks in the file system.
        pub total_blocks: Le64,
        /// Inode slots, inode 0 included.
        pub inode_count: Le32,
        /// [`ROOT_INO`].
        pub root_ino: Le32,
        /// First inode bitmap block.
        pub inode_bitmap_start: Le64,
        /// Inode bitmap blocks.
        pub inode_bitmap_blocks: Le64,
        /// First block bitmap block.
        pub block_bitmap_start: Le64,
        /// Block bitmap blocks.
        pub block_bitmap_blocks: Le64,
        /// First inode table block.
        pub inode_table_start: Le64,
        /// Inode table blocks.
        pub inode_table_blocks: Le64,
        /// First block after the metadata.
        pub first_data_block: Le64,
        /// Free data blocks (exact when the state is clean).
        pub free_blocks: Le64,
        /// Free inodes (exact when the state is clean).
        pub free_inodes: Le32,
        /// [`STATE_CLEAN`] or [`STATE_DIRTY`].
        pub state: Le32,
        /// Random identity of this file system, chosen by mkfs; seeds checksums.
        pub uuid: [u8; 16],
        /// When mkfs ran, seconds since the epoch.
        pub mkfs_time: Le64,
        /// Next inode generation number to hand out.
        pub next_generation: Le32,
        /// Zero.
        pub reserved: [u8; 120],
        /// [`crc32c`] (seed 0) of the other 252 bytes.
        pub checksum: Le32,
    }
}

/// Offset of the checksum field in an encoded super block.
const SB_CHECKSUM_OFFSET: usize = SuperBlock::SIZE - 4;

/// Why a super block was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SbError {
    /// The magic number is not [`TSFS_MAGIC`].
    BadMagic,
    /// The format version is not [`FORMAT_VERSION`].
    UnsupportedVersion,
    /// The checksum does not match the contents.
    BadChecksum,
    /// The block size or inode size is not tsfs's.
    BadBlockOrInodeSize,
    /// The block or inode count is out of range.
    BadCounts,
    /// The layout fields disagree with the layout the counts imply.
    GeometryMismatch,
    /// The file system is larger than the device.
    DeviceTooSmall,
    /// The root inode number is not [`ROOT_INO`].
    BadRootInode,
    /// A free block or free inode count exceeds what exists.
    FreeCountsOutOfRange,
    /// The state is neither clean nor dirty.
    BadState,
}

impl SbError {
    /// A one-line description, for the kernel log and fsck.
    pub fn description(self) -> &'static str {
        match self {
            SbError::BadMagic => "bad magic number: not a tsfs file system",
            SbError::UnsupportedVersion => "unsupported format version",
            SbError::BadChecksum => "super block checksum mismatch",
            SbError::BadBlockOrInodeSize => "unsupported block size or inode size",
            SbError::BadCounts => "block or inode count out of range",
            SbError::GeometryMismatch => "layout fields inconsistent with block and inode counts",
            SbError::DeviceTooSmall => "file system is larger than the device",
            SbError::BadRootInode => "root inode number is not 1",
            SbError::FreeCountsOutOfRange => "free block or inode count out of range",
            SbError::BadState => "unknown state (neither clean nor dirty)",
        }
    }
}

impl fmt::Display for SbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl SuperBlock {
    /// A fresh super block for `geom`: clean, every data block free and every
    /// inode but 0 and the root free (mkfs gives the root no blocks), checksum set.
    pub fn new(geom: &Geometry, uuid: [u8; 16], mkfs_time: u64) -> Self {
        let mut sb = Self {
            magic: Le32::new(TSFS_MAGIC),
            version: Le32::new(FORMAT_VERSION),
            block_size: Le32::new(BLOCK_SIZE),
            inode_size: Le32::new(INODE_SIZE as u32),
            total_blocks: Le64::new(geom.total_blocks),
            inode_count: Le32::new(geom.inode_count),
            root_ino: Le32::new(ROOT_INO),
            inode_bitmap_start: Le64::new(geom.inode_bitmap_start),
            inode_bitmap_blocks: Le64::new(geom.inode_bitmap_blocks),
            block_bitmap_start: Le64::new(geom.block_bitmap_start),
            block_bitmap_blocks: Le64::new(geom.block_bitmap_blocks),
            inode_table_start: Le64::new(geom.inode_table_start),
            inode_table_blocks: Le64::new(geom.inode_table_blocks),
            first_data_block: Le64::new(geom.first_data_block),
            free_blocks: Le64::new(geom.data_blocks()),
            free_inodes: Le32::new(geom.inode_count - 2),
            state: Le32::new(STATE_CLEAN),
            uuid,
            mkfs_time: Le64::new(mkfs_time),
            next_generation: Le32::new(1),
            reserved: [0; 120],
            checksum: Le32::new(0),
        };
        sb.update_checksum();
        sb
    }

    /// The checksum the contents call for.
    pub fn compute_checksum(&self) -> u32 {
        crc32c_skipping(0, &self.to_array(), SB_CHECKSUM_OFFSET).unwrap_or(0)
    }

    /// Sets `checksum` to match the contents.
    pub fn update_checksum(&mut self) {
        self.checksum = Le32::new(self.compute_checksum());
    }

    /// Seed for this file system's inode and extent block checksums.
    pub fn checksum_seed(&self) -> u32 {
        crc32c(0, &self.uuid)
    }

    /// The layout the fields describe, without any other check.
    pub fn geometry(&self) -> Option<Geometry> {
        Geometry::new(self.total_blocks.get(), self.inode_count.get())
    }

    /// Checks everything that can be checked without reading other blocks, for a
    /// device of `device_bytes` bytes, and returns the layout.
    pub fn validate(&self, device_bytes: u64) -> Result<Geometry, SbError> {
        if self.magic.get() != TSFS_MAGIC {
            return Err(SbError::BadMagic);
        }
        if self.version.get() != FORMAT_VERSION {
            return Err(SbError::UnsupportedVersion);
        }
        if self.checksum.get() != self.compute_checksum() {
            return Err(SbError::BadChecksum);
        }
        if self.block_size.get() != BLOCK_SIZE || self.inode_size.get() != INODE_SIZE as u32 {
            return Err(SbError::BadBlockOrInodeSize);
        }
        let geom = self.geometry().ok_or(SbError::BadCounts)?;
        let fields = [
            (self.inode_bitmap_start, geom.inode_bitmap_start),
            (self.inode_bitmap_blocks, geom.inode_bitmap_blocks),
            (self.block_bitmap_start, geom.block_bitmap_start),
            (self.block_bitmap_blocks, geom.block_bitmap_blocks),
            (self.inode_table_start, geom.inode_table_start),
            (self.inode_table_blocks, geom.inode_table_blocks),
            (self.first_data_block, geom.first_data_block),
        ];
        if fields.iter().any(|(field, want)| field.get() != *want) {
            return Err(SbError::GeometryMismatch);
        }
        if geom.total_blocks > device_bytes >> BLOCK_SHIFT {
            return Err(SbError::DeviceTooSmall);
        }
        if self.root_ino.get() != ROOT_INO {
            return Err(SbError::BadRootInode);
        }
        // Inode 0 and the root are never free.
        if self.free_blocks.get() > geom.data_blocks()
            || self.free_inodes.get() > geom.inode_count - 2
        {
            return Err(SbError::FreeCountsOutOfRange);
        }
        if !matches!(self.state.get(), STATE_CLEAN | STATE_DIRTY) {
            return Err(SbError::BadState);
        }
        Ok(geom)
    }
}

// ---------------------------------------------------------------------------
// Extents

/// Bits of [`Extent::start`] holding the disk block (disk blocks are below
/// [`MAX_BLOCKS`], well inside them).
pub const EXTENT_DISK_MASK: u64 = (1 << 48) - 1;
/// [`Extent::start`] flag: the extent is unwritten (allocated, reads as zeros).
pub const EXTENT_UNWRITTEN: u64 = 1 << 63;
/// Every flag bit defined; the other bits above [`EXTENT_DISK_MASK`] are zero.
pub const EXTENT_FLAGS: u64 = EXTENT_UNWRITTEN;

on_disk! {
    /// File blocks `file_block .. file_block + len` live at disk blocks
    /// `disk_block() .. disk_block() + len`.
    pub struct Extent (16) {
        /// First file block mapped.
        pub file_block: Le32,
        /// Blocks mapped (at least 1).
        pub len: Le32,
        /// Disk block of `file_block` (the bits of [`EXTENT_DISK_MASK`]) and
        /// flags ([`EXTENT_FLAGS`]); read it with [`Extent::disk_block`] and
        /// [`Extent::is_unwritten`].
        pub start: Le64,
    }
}

impl Extent {
    /// A written extent mapping `len` file blocks from `file_block` to
    /// `disk_block` (below 2^48; higher bits are dropped).
    pub const fn new(file_block: u32, disk_block: u64, len: u32) -> Self {
        Self {
            file_block: Le32::new(file_block),
            len: Le32::new(len),
            start: Le64::new(disk_block & EXTENT_DISK_MASK),
        }
    }

    /// This extent, unwritten if `unwritten`, else written.
    pub const fn with_unwritten(self, unwritten: bool) -> Self {
        let start = self.start.get() & !EXTENT_UNWRITTEN;
        let flag = if unwritten { EXTENT_UNWRITTEN } else { 0 };
        Self {
            start: Le64::new(start | flag),
            ..self
        }
    }

    /// Disk block of `file_block`.
    pub const fn disk_block(&self) -> u64 {
        self.start.get() & EXTENT_DISK_MASK
    }

    /// Whether the extent is unwritten: its blocks read as zeros.
    pub const fn is_unwritten(&self) -> bool {
        self.start.get() & EXTENT_UNWRITTEN != 0
    }

    /// One past the last file block mapped.
    pub fn file_end(&self) -> u64 {
        u64::from(self.file_block.get()) + u64::from(self.len.get())
    }

    /// One past the last disk block used (saturating, for corrupt extents).
    pub fn disk_end(&self) -> u64 {
        self.disk_block().saturating_add(u64::from(self.len.get()))
    }
}

/// What a file block maps to ([`map_block`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mapping {
    /// The block is at `disk_block`, and so are the `blocks - 1` that follow it,
    /// contiguously (to the end of its extent).
    Mapped {
        /// Disk block of the file block asked for.
        disk_block: u64,
        /// Contiguous blocks from there (at least 1).
        blocks: u64,
        /// The extent is unwritten: these blocks read as zeros.
        unwritten: bool,
    },
    /// The block and the `blocks - 1` that follow are a hole (up to the next
    /// extent, or to [`MAX_FILE_BLOCKS`]; 0 when the block is past that).
    Hole {
        /// Unmapped blocks from the one asked for.
        blocks: u64,
    },
}

/// Maps `file_block` through `extents` (inline then overflow, sorted by
/// `file_block`, as stored): the piece of the extent covering it, or the hole
/// up to the next extent.
pub fn map_block<I: IntoIterator<Item = Extent>>(extents: I, file_block: u64) -> Mapping {
    if file_block >= MAX_FILE_BLOCKS {
        return Mapping::Hole { blocks: 0 };
    }
    for e in extents {
        if e.file_end() <= file_block {
            continue;
        }
        let start = u64::from(e.file_block.get());
        if start > file_block {
            return Mapping::Hole {
                blocks: start - file_block,
            };
        }
        return Mapping::Mapped {
            disk_block: e.disk_block().saturating_add(file_block - start),
            blocks: e.file_end() - file_block,
            unwritten: e.is_unwritten(),
        };
    }
    Mapping::Hole {
        blocks: MAX_FILE_BLOCKS - file_block,
    }
}

/// Why an extent list was refused ([`check_extents`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExtentError {
    /// An extent of length 0.
    Empty,
    /// An extent reaching past [`MAX_FILE_BLOCKS`].
    PastMaxFileSize,
    /// An extent whose disk blocks are metadata or past the end of the device.
    OutsideDataArea,
    /// An extent that starts before the previous one ends.
    UnsortedOrOverlapping,
    /// An extent with flag bits this version does not define.
    UnknownFlags,
}

impl ExtentError {
    /// A one-line description, for the kernel log and fsck.
    pub fn description(self) -> &'static str {
        match self {
            ExtentError::Empty => "extent of length 0",
            ExtentError::PastMaxFileSize => "extent past the maximum file size",
            ExtentError::OutsideDataArea => {
                "extent outside the data area (metadata or past the end)"
            }
            ExtentError::UnsortedOrOverlapping => "extents unsorted or overlapping",
            ExtentError::UnknownFlags => "extent with unknown flags",
        }
    }
}

impl fmt::Display for ExtentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Checks one extent against `geom`.
pub fn check_extent(e: &Extent, geom: &Geometry) -> Result<(), ExtentError> {
    if e.len.get() == 0 {
        return Err(ExtentError::Empty);
    }
    if e.file_end() > MAX_FILE_BLOCKS {
        return Err(ExtentError::PastMaxFileSize);
    }
    if e.start.get() & !(EXTENT_DISK_MASK | EXTENT_FLAGS) != 0 {
        return Err(ExtentError::UnknownFlags);
    }
    if !geom.in_data_area(e.disk_block(), u64::from(e.len.get())) {
        return Err(ExtentError::OutsideDataArea);
    }
    Ok(())
}

/// Checks an extent list (inline then overflow) and returns the blocks it maps.
/// Finds the first problem: each extent must pass [`check_extent`] and start at
/// or after the end of the one before.
pub fn check_extents<I: IntoIterator<Item = Extent>>(
    extents: I,
    geom: &Geometry,
) -> Result<u64, ExtentError> {
    let mut mapped = 0u64;
    let mut prev_end = 0u64;
    for e in extents {
        check_extent(&e, geom)?;
        if u64::from(e.file_block.get()) < prev_end {
            return Err(ExtentError::UnsortedOrOverlapping);
        }
        prev_end = e.file_end();
        mapped += u64::from(e.len.get());
    }
    Ok(mapped)
}

on_disk! {
    /// Header of an extent block, followed by [`EXTENTS_PER_BLOCK`] extent slots,
    /// and of an extent index block, followed by slots of extent block numbers
    /// (`Le64`).
    pub struct ExtentBlockHeader (16) {
        /// [`EXTENT_BLOCK_MAGIC`] or [`EXTENT_INDEX_MAGIC`].
        pub magic: Le32,
        /// Slots in use (the first `count`).
        pub count: Le16,
        /// Zero.
        pub reserved: Le16,
        /// The inode this block belongs to.
        pub owner: Le32,
        /// [`crc32c`], seeded with [`inode_seed`] of `owner`, of the whole
        /// block except these 4 bytes.
        pub checksum: Le32,
    }
}

/// Offset of the checksum field in an extent block.
const EXTENT_BLOCK_CHECKSUM_OFFSET: usize = 12;

/// Why an extent block was refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExtentBlockError {
    /// The buffer is not a whole block.
    Short,
    /// The magic number is not the one expected ([`EXTENT_BLOCK_MAGIC`] or
    /// [`EXTENT_INDEX_MAGIC`]).
    BadMagic,
    /// The block belongs to another inode.
    WrongOwner,
    /// More entries than slots.
    BadCount,
    /// The checksum does not match the contents.
    BadChecksum,
}

impl ExtentBlockError {
    /// A one-line description, for the kernel log and fsck.
    pub fn description(self) -> &'static str {
        match self {
            ExtentBlockError::Short => "extent block buffer too short",
            ExtentBlockError::BadMagic => "extent block has a bad magic number",
            ExtentBlockError::WrongOwner => "extent block belongs to another inode",
            ExtentBlockError::BadCount => "extent block count out of range",
            ExtentBlockError::BadChecksum => "extent block checksum mismatch",
        }
    }
}

impl fmt::Display for ExtentBlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// The checksum extent block `block` calls for, seeded with `seed`
/// ([`inode_seed`] of its owner); `None` if `block` is not a whole block.
pub fn extent_block_checksum(seed: u32, block: &[u8]) -> Option<u32> {
    crc32c_skipping(
        seed,
        block.get(..BLOCK_BYTES)?,
        EXTENT_BLOCK_CHECKSUM_OFFSET,
    )
}

/// Checks the header and checksum of extent block `block` owned by inode
/// `owner`, and returns how many extents it holds.
pub fn check_extent_block(
    block: &[u8],
    fs_seed: u32,
    owner: u32,
) -> Result<usize, ExtentBlockError> {
    check_block(block, fs_seed, owner, EXTENT_BLOCK_MAGIC, EXTENTS_PER_BLOCK)
}

/// Checks the header and checksum of extent index block `block` owned by inode
/// `owner`, and returns how many extent blocks it lists.
pub fn check_extent_index(
    block: &[u8],
    fs_seed: u32,
    owner: u32,
) -> Result<usize, ExtentBlockError> {
    check_block(block, fs_seed, owner, EXTENT_INDEX_MAGIC, MAX_EXTENT_LEAVES)
}

/// Whether `block` has the magic number of an extent index block (whether it
/// is sound is for [`check_extent_index`] to say).
pub fn is_extent_index(block: &[u8]) -> bool {
    ExtentBlockHeader::from_bytes(block).is_some_and(|h| h.magic.get() == EXTENT_INDEX_MAGIC)
}

/// The extent blocks (counting the index block, if any) that a file of
/// `extents` extents needs: none if they fit in the inode, one extent block if
/// they fit in it, else an index block and as many extent blocks as they fill.
pub const fn extent_blocks_needed(extents: usize) -> usize {
    if extents <= INLINE_EXTENTS {
        0
    } else if extents <= INLINE_EXTENTS + EXTENTS_PER_BLOCK {
        1
    } else {
        1 + (extents - INLINE_EXTENTS).div_ceil(EXTENTS_PER_BLOCK)
    }
}

fn check_block(
    block: &[u8],
    fs_seed: u32,
    owner: u32,
    magic: u32,
    slots: usize,
) -> Result<usize, ExtentBlockError> {
    let header = ExtentBlockHeader::from_bytes(block).ok_or(ExtentBlockError::Short)?;
    if header.magic.get() != magic {
        return Err(ExtentBlockError::BadMagic);
    }
    if header.owner.get() != owner {
        return Err(ExtentBlockError::WrongOwner);
    }
    let count = usize::from(header.count.get());
    if count > slots {
        return Err(ExtentBlockError::BadCount);
    }
    let sum =
        extent_block_checksum(inode_seed(fs_seed, owner), block).ok_or(ExtentBlockError::Short)?;
    if sum != header.checksum.get() {
        return Err(ExtentBlockError::BadChecksum);
    }
    Ok(count)
}

/// The first `count` extents of extent block `block` (fewer if it is short).
pub fn extent_block_entries(block: &[u8], count: usize) -> impl Iterator<Item = Extent> + '_ {
    block
        .get(ExtentBlockHeader::SIZE..)
        .unwrap_or(&[])
        .chunks_exact(EXTENT_SIZE)
        .take(count.min(EXTENTS_PER_BLOCK))
        .filter_map(Extent::from_bytes)
}

/// The first `count` extent block numbers of extent index block `block`
/// (fewer if it is short).
pub fn extent_index_entries(block: &[u8], count: usize) -> impl Iterator<Item = u64> + '_ {
    block
        .get(ExtentBlockHeader::SIZE..)
        .unwrap_or(&[])
        .chunks_exact(8)
        .take(count.min(MAX_EXTENT_LEAVES))
        .filter_map(|b| Some(u64::from_le_bytes(b.try_into().ok()?)))
}

/// Fills `block` with an extent block for inode `owner` holding `extents`
/// (unused slots zeroed) and its checksum. `None` (nothing written) if there
/// are too many extents or `block` is not a whole block.
pub fn write_extent_block(
    block: &mut [u8],
    fs_seed: u32,
    owner: u32,
    extents: &[Extent],
) -> Option<()> {
    if extents.len() > EXTENTS_PER_BLOCK {
        return None;
    }
    write_block(
        block,
        fs_seed,
        owner,
        EXTENT_BLOCK_MAGIC,
        extents.len(),
        |block| {
            // Indexed rather than zipped with `chunks_exact_mut`, whose
            // division-by-zero panic path objtool reports as falling through in the
            // kernel build.
            for (i, e) in extents.iter().enumerate() {
                let at = ExtentBlockHeader::SIZE + i * EXTENT_SIZE;
                e.to_bytes(block.get_mut(at..)?)?;
            }
            Some(())
        },
    )
}

/// Fills `block` with an extent index block for inode `owner` listing the
/// extent blocks `leaves` (unused slots zeroed) and its checksum. `None`
/// (nothing written) if there are too many or `block` is not a whole block.
pub fn write_extent_index(
    block: &mut [u8],
    fs_seed: u32,
    owner: u32,
    leaves: &[u64],
) -> Option<()> {
    if leaves.len() > MAX_EXTENT_LEAVES {
        return None;
    }
    write_block(
        block,
        fs_seed,
        owner,
        EXTENT_INDEX_MAGIC,
        leaves.len(),
        |block| {
            for (i, leaf) in leaves.iter().enumerate() {
                let at = ExtentBlockHeader::SIZE + i * 8;
                block
                    .get_mut(at..at + 8)?
                    .copy_from_slice(&leaf.to_le_bytes());
            }
            Some(())
        },
    )
}

/// Zeroes `block`, lets `fill` write its slots, then writes the header (with
/// `magic` and `count`) and the checksum.
fn write_block(
    block: &mut [u8],
    fs_seed: u32,
    owner: u32,
    magic: u32,
    count: usize,
    fill: impl FnOnce(&mut [u8]) -> Option<()>,
) -> Option<()> {
    let block = block.get_mut(..BLOCK_BYTES)?;
    let mut header = ExtentBlockHeader {
        magic: Le32::new(magic),
        count: Le16::new(u16::try_from(count).ok()?),
        reserved: Le16::new(0),
        owner: Le32::new(owner),
        checksum: Le32::new(0),
    };
    block.fill(0);
    fill(block)?;
    header.to_bytes(block)?;
    header.checksum = Le32::new(extent_block_checksum(inode_seed(fs_seed, owner), block)?);
    header.to_bytes(block)
}

// ---------------------------------------------------------------------------
// Inodes

on_disk! {
    /// A time: seconds since the epoch (two's complement `i64`) and nanoseconds.
    pub struct Timestamp (16) {
        /// Seconds, as the bits of an `i64`.
        pub sec: Le64,
        /// Nanoseconds, below 1 000 000 000.
        pub nsec: Le32,
        /// Zero.
        pub reserved: Le32,
    }
}

impl Timestamp {
    /// The time `sec` seconds and `nsec` nanoseconds after the epoch.
    pub const fn new(sec: i64, nsec: u32) -> Self {
        Self {
            sec: Le64::new(sec as u64),
            nsec: Le32::new(nsec),
            reserved: Le32::new(0),
        }
    }

    /// Seconds since the epoch.
    pub const fn seconds(&self) -> i64 {
        self.sec.get() as i64
    }
}

on_disk! {
    /// An inode, slot `ino` of the inode table. Meaningful only while its inode
    /// bitmap bit is set.
    pub struct Inode (256) {
        /// File type ([`S_IFDIR`], [`S_IFREG`], [`S_IFLNK`], or a special file:
        /// [`is_special`]) and permission bits.
        pub mode: Le16,
        /// Zero.
        pub reserved0: Le16,
        /// Owner.
        pub uid: Le32,
        /// Group.
        pub gid: Le32,
        /// Directory entries naming a file; 2 + subdirectories for a directory.
        pub nlink: Le32,
        /// Size in bytes.
        pub size: Le64,
        /// Disk blocks owned: every extent's length plus the extent block, if any.
        pub blocks: Le64,
        /// Last access.
        pub atime: Timestamp,
        /// Last data change.
        pub mtime: Timestamp,
        /// Last inode change.
        pub ctime: Timestamp,
        /// Inode flags (none defined yet; zero).
        pub flags: Le32,
        /// Generation number, for NFS file handles.
        pub generation: Le32,
        /// For a directory, the directory containing it (the root's is itself);
        /// zero for other files.
        pub parent: Le32,
        /// Inline extents in use (the first `extent_count` of `extents`).
        pub extent_count: Le16,
        /// Zero.
        pub reserved1: Le16,
        /// Extent block holding the extents after the inline ones, or the extent
        /// index block listing the extent blocks that do; 0 if none.
        pub overflow_block: Le64,
        /// Inline extents.
        pub extents: [Extent; INLINE_EXTENTS],
        /// For a character or block device, its number ([`encode_dev`]); zero
        /// for other files.
        pub rdev: Le32,
        /// [`crc32c`], seeded with [`inode_seed`], of the other 252 bytes.
        pub checksum: Le32,
    }
}

/// Offset of the checksum field in an encoded inode.
const INODE_CHECKSUM_OFFSET: usize = Inode::SIZE - 4;

/// Why an inode was refused ([`Inode::validate`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum InodeError {
    /// The checksum does not match the contents.
    BadChecksum,
    /// The file type is not one tsfs supports.
    BadMode,
    /// More inline extents than slots.
    BadExtentCount,
    /// The extent block is not in the data area.
    BadOverflowBlock,
    /// The size is past [`MAX_FILE_SIZE`], or not whole blocks for a directory.
    BadSize,
    /// A device, pipe or socket with data, or a pipe or socket with a device
    /// number.
    BadSpecial,
    /// An inline extent is bad.
    BadExtent(ExtentError),
}

impl InodeError {
    /// A one-line description, for the kernel log and fsck.
    pub fn description(self) -> &'static str {
        match self {
            InodeError::BadChecksum => "inode checksum mismatch",
            InodeError::BadMode => "unsupported file type",
            InodeError::BadExtentCount => "inline extent count out of range",
            InodeError::BadOverflowBlock => "extent block outside the data area",
            InodeError::BadSize => "size out of range",
            InodeError::BadSpecial => "special file with data or a stray device number",
            InodeError::BadExtent(e) => e.description(),
        }
    }
}

impl fmt::Display for InodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// The directory entry file type ([`FT_DIR`], ...) of a mode: its type bits
/// shifted down, as Linux's `S_DT()`.
pub const fn file_type_of_mode(mode: u16) -> u8 {
    ((mode & S_IFMT) >> 12) as u8
}

impl Inode {
    /// A new inode of `mode` with no data, link count `nlink` and all three
    /// times `now`. The caller sets `parent` for a directory and the checksum.
    pub fn new(mode: u16, uid: u32, gid: u32, nlink: u32, now: Timestamp) -> Self {
        Self {
            mode: Le16::new(mode),
            uid: Le32::new(uid),
            gid: Le32::new(gid),
            nlink: Le32::new(nlink),
            atime: now,
            mtime: now,
            ctime: now,
            ..Self::ZERO
        }
    }

    /// The file type bits of `mode`.
    pub fn file_type(&self) -> u16 {
        self.mode.get() & S_IFMT
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == S_IFDIR
    }

    /// Whether this is a regular file.
    pub fn is_regular(&self) -> bool {
        self.file_type() == S_IFREG
    }

    /// Whether a special file has no data and only a device has a device
    /// number (true for any other file).
    pub fn special_shape_ok(&self) -> bool {
        let mode = self.mode.get();
        if !is_special(mode) {
            return true;
        }
        let device = matches!(mode & S_IFMT, S_IFCHR | S_IFBLK);
        self.size.get() == 0
            && self.blocks.get() == 0
            && self.extent_count.get() == 0
            && self.overflow_block.get() == 0
            && (device || self.rdev.get() == 0)
    }

    /// The inline extents in use (none if `extent_count` is out of range).
    pub fn inline_extents(&self) -> &[Extent] {
        self.extents
            .get(..usize::from(self.extent_count.get()))
            .unwrap_or(&[])
    }

    /// The checksum the contents call for, as inode `ino` of the file system
    /// whose seed is `fs_seed`.
    pub fn compute_checksum(&self, fs_seed: u32, ino: u32) -> u32 {
        let seed = inode_seed(fs_seed, ino);
        crc32c_skipping(seed, &self.to_array(), INODE_CHECKSUM_OFFSET).unwrap_or(0)
    }

    /// Sets `checksum` to match the contents.
    pub fn update_checksum(&mut self, fs_seed: u32, ino: u32) {
        self.checksum = Le32::new(self.compute_checksum(fs_seed, ino));
    }

    /// Checks the checksum and everything that needs no other block: file type,
    /// size, inline extents (each in range and sorted), extent block location.
    pub fn validate(&self, fs_seed: u32, ino: u32, geom: &Geometry) -> Result<(), InodeError> {
        if self.checksum.get() != self.compute_checksum(fs_seed, ino) {
            return Err(InodeError::BadChecksum);
        }
        if !is_known_type(self.mode.get()) {
            return Err(InodeError::BadMode);
        }
        if !self.special_shape_ok() {
            return Err(InodeError::BadSpecial);
        }
        let size = self.size.get();
        if size > MAX_FILE_SIZE || (self.is_dir() && size % u64::from(BLOCK_SIZE) != 0) {
            return Err(InodeError::BadSize);
        }
        if usize::from(self.extent_count.get()) > INLINE_EXTENTS {
            return Err(InodeError::BadExtentCount);
        }
        let overflow = self.overflow_block.get();
        if overflow != 0 && !geom.in_data_area(overflow, 1) {
            return Err(InodeError::BadOverflowBlock);
        }
        check_extents(self.inline_extents().iter().copied(), geom)
            .map_err(InodeError::BadExtent)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Directories

on_disk! {
    /// Start of a directory slot; the name follows it in the same slot.
    pub struct DirentHeader (8) {
        /// Inode named; 0 for a free slot.
        pub ino: Le32,
        /// Name length in bytes (1 ..= [`MAX_NAME_LEN`]).
        pub name_len: u8,
        /// [`file_type_of_mode`] of the inode's mode.
        pub file_type: u8,
        /// Zero.
        pub reserved: Le16,
    }
}

/// A used directory slot, borrowed from the block holding it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DirentRef<'a> {
    /// Inode named (never 0).
    pub ino: u32,
    /// File type, as in [`DirentHeader::file_type`].
    pub file_type: u8,
    /// The name (not checked by [`decode_dirent`]; see [`validate_name`]).
    pub name: &'a [u8],
}

/// Why a name was refused ([`validate_name`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NameError {
    /// The name is empty.
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`].
    TooLong,
    /// The name contains `/` or NUL.
    BadByte,
    /// The name is `.` or `..`, which are not stored.
    Dot,
}

impl NameError {
    /// A one-line description, for the kernel log and fsck.
    pub fn description(self) -> &'static str {
        match self {
            NameError::Empty => "empty name",
            NameError::TooLong => "name longer than 255 bytes",
            NameError::BadByte => "name contains '/' or NUL",
            NameError::Dot => "name is '.' or '..'",
        }
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// Checks that `name` may be stored in a directory.
pub fn validate_name(name: &[u8]) -> Result<(), NameError> {
    if name.is_empty() {
        Err(NameError::Empty)
    } else if name.len() > MAX_NAME_LEN {
        Err(NameError::TooLong)
    } else if name.iter().any(|&b| b == b'/' || b == 0) {
        Err(NameError::BadByte)
    } else if name == b"." || name == b".." {
        Err(NameError::Dot)
    } else {
        Ok(())
    }
}

/// Decodes directory slot `slot`: `Ok(None)` if free; [`NameError::Empty`] if
/// its name length is 0, [`NameError::TooLong`] if the name overruns `slot`.
pub fn decode_dirent(slot: &[u8]) -> Result<Option<DirentRef<'_>>, NameError> {
    let header = DirentHeader::from_bytes(slot).ok_or(NameError::TooLong)?;
    let ino = header.ino.get();
    if ino == 0 {
        return Ok(None);
    }
    let len = usize::from(header.name_len);
    if len == 0 {
        return Err(NameError::Empty);
    }
    let name = slot
        .get(DirentHeader::SIZE..DirentHeader::SIZE + len)
        .ok_or(NameError::TooLong)?;
    Ok(Some(DirentRef {
        ino,
        file_type: header.file_type,
        name,
    }))
}

/// Fills directory slot `slot` (the first [`DIRENT_SIZE`] bytes) with an entry
/// naming inode `ino`; the rest of the slot is zeroed. Fails (writing nothing)
/// if the name is invalid, or with [`NameError::TooLong`] if `slot` is short.
pub fn encode_dirent(
    slot: &mut [u8],
    ino: u32,
    file_type: u8,
    name: &[u8],
) -> Result<(), NameError> {
    validate_name(name)?;
    let slot = slot.get_mut(..DIRENT_SIZE).ok_or(NameError::TooLong)?;
    let header = DirentHeader {
        ino: Le32::new(ino),
        name_len: u8::try_from(name.len()).map_err(|_| NameError::TooLong)?,
        file_type,
        reserved: Le16::new(0),
    };
    slot.fill(0);
    header.to_bytes(slot).ok_or(NameError::TooLong)?;
    slot.get_mut(DirentHeader::SIZE..DirentHeader::SIZE + name.len())
        .ok_or(NameError::TooLong)?
        .copy_from_slice(name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_known_vector() {
        // The standard check value of CRC-32C over "123456789".
        assert_eq!(crc32c(0, b"123456789"), 0xE306_9283);
    }

    #[test]
    fn crc32c_detects_a_flipped_bit() {
        let mut buf = [0u8; 64];
        let a = crc32c(0, &buf);
        buf[17] ^= 0x10;
        assert_ne!(a, crc32c(0, &buf));
    }

    #[test]
    fn crc32c_chains() {
        // The skip-the-checksum-field trick relies on this.
        assert_eq!(
            crc32c(crc32c(7, b"1234"), b"56789"),
            crc32c(7, b"123456789")
        );
    }
}
