//! A tsfs image opened for building: bitmaps in memory, block and inode
//! allocation, files and directories. Tests use it to make images worth
//! checking (and corrupting); it keeps every on-disk rule that fsck checks.

use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::device::Device;
use crate::format::{
    self, check_extent_block, check_extent_index, decode_dirent, encode_dirent,
    extent_block_entries, extent_blocks_needed, extent_index_entries, file_type_of_mode,
    find_clear_bit, is_extent_index, map_block, set_bit, test_bit, write_extent_block,
    write_extent_index, Extent, Geometry, Inode, Le32, Le64, Mapping, SuperBlock, Timestamp,
    BITS_PER_BLOCK, BLOCK_BYTES, DIRENT_SIZE, EXTENTS_PER_BLOCK, INLINE_EXTENTS, MAX_EXTENTS,
    S_IFDIR, S_IFREG,
};

/// An `InvalidData` error with `msg`.
pub fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// A bitmap of `bitmap_blocks` blocks whose first `valid_bits` bits are clear
/// and the rest (the padding past the last object) set, as mkfs writes it.
pub fn padded_bitmap(bitmap_blocks: u64, valid_bits: u64) -> Vec<u8> {
    let bits = bitmap_blocks * BITS_PER_BLOCK;
    let mut map = vec![0u8; (bits / 8) as usize];
    for bit in valid_bits..bits {
        set_bit(&mut map, bit, true);
    }
    map
}

/// The current time as an on-disk timestamp.
pub fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::new(d.as_secs() as i64, d.subsec_nanos())
}

/// The blocks holding a file's extents past the inline ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtentBlocks {
    /// The extent index block, if the inode's overflow block is one.
    pub index: Option<u64>,
    /// The extent blocks: the lone one, or those the index lists, in order.
    pub leaves: Vec<u64>,
}

impl ExtentBlocks {
    /// Every block, the index block first.
    pub fn all(&self) -> Vec<u64> {
        self.index.iter().chain(&self.leaves).copied().collect()
    }
}

/// An image opened read-write, with its bitmaps loaded. Changes to bitmaps and
/// free counts reach the disk on [`Image::flush`]; inodes and data are written
/// at once.
#[derive(Debug)]
pub struct Image {
    dev: Device,
    geom: Geometry,
    sb: SuperBlock,
    inode_bitmap: Vec<u8>,
    block_bitmap: Vec<u8>,
}

impl Image {
    /// Opens the image at `path` read-write; its super block must be valid.
    pub fn open(path: &Path) -> io::Result<Self> {
        Self::from_device(Device::open(path, true)?)
    }

    /// Loads the super block and bitmaps of `dev`.
    pub fn from_device(dev: Device) -> io::Result<Self> {
        let sb = SuperBlock::from_bytes(&dev.read_block(0)?)
            .ok_or_else(|| invalid("short super block"))?;
        let geom = sb
            .validate(dev.len())
            .map_err(|e| invalid(e.description()))?;
        let inode_bitmap = dev.read_blocks(geom.inode_bitmap_start, geom.inode_bitmap_blocks)?;
        let block_bitmap = dev.read_blocks(geom.block_bitmap_start, geom.block_bitmap_blocks)?;
        Ok(Self {
            dev,
            geom,
            sb,
            inode_bitmap,
            block_bitmap,
        })
    }

    /// The layout.
    pub fn geometry(&self) -> &Geometry {
        &self.geom
    }

    /// The super block as it will be written by [`Image::flush`].
    pub fn superblock(&self) -> &SuperBlock {
        &self.sb
    }

    /// The device underneath, for raw block access.
    pub fn device(&self) -> &Device {
        &self.dev
    }

    /// Checksum seed of this file system.
    pub fn seed(&self) -> u32 {
        self.sb.checksum_seed()
    }

    /// Whether inode `ino`'s bitmap bit is set.
    pub fn inode_in_use(&self, ino: u32) -> bool {
        test_bit(&self.inode_bitmap, u64::from(ino)).unwrap_or(true)
    }

    /// Sets or clears inode `ino`'s bitmap bit.
    pub fn set_inode_in_use(&mut self, ino: u32, used: bool) {
        set_bit(&mut self.inode_bitmap, u64::from(ino), used);
    }

    /// Whether block `block`'s bitmap bit is set.
    pub fn block_in_use(&self, block: u64) -> bool {
        test_bit(&self.block_bitmap, block).unwrap_or(true)
    }

    /// Sets or clears block `block`'s bitmap bit.
    pub fn set_block_in_use(&mut self, block: u64, used: bool) {
        set_bit(&mut self.block_bitmap, block, used);
    }

    /// Reads inode `ino` as stored (not validated).
    pub fn read_inode(&self, ino: u32) -> io::Result<Inode> {
        let (block, offset) = self.inode_location(ino)?;
        let buf = self.dev.read_block(block)?;
        Inode::from_bytes(&buf[offset..]).ok_or_else(|| invalid("short inode"))
    }

    /// Writes `inode` as inode `ino` with a correct checksum.
    pub fn write_inode(&self, ino: u32, inode: &Inode) -> io::Result<()> {
        let mut inode = *inode;
        inode.update_checksum(self.seed(), ino);
        self.write_inode_raw(ino, &inode)
    }

    /// Writes `inode` as inode `ino` exactly as given, checksum included.
    pub fn write_inode_raw(&self, ino: u32, inode: &Inode) -> io::Result<()> {
        let (block, offset) = self.inode_location(ino)?;
        let mut buf = self.dev.read_block(block)?;
        inode
            .to_bytes(&mut buf[offset..])
            .ok_or_else(|| invalid("inode slot past the end of its block"))?;
        self.dev.write_blocks(block, &buf)
    }

    fn inode_location(&self, ino: u32) -> io::Result<(u64, usize)> {
        self.geom
            .inode_location(ino)
            .ok_or_else(|| invalid(format!("inode {ino} out of range")))
    }

    /// Allocates the lowest free inode number.
    pub fn alloc_inode(&mut self) -> io::Result<u32> {
        let ino = find_clear_bit(&self.inode_bitmap, 1, u64::from(self.geom.inode_count))
            .ok_or_else(|| io::Error::other("no free inodes"))?;
        self.set_inode_in_use(ino as u32, true);
        Ok(ino as u32)
    }

    /// Allocates up to `want` contiguous blocks (first fit) and returns the first
    /// block and how many were allocated (at least 1).
    pub fn alloc_blocks(&mut self, want: u64) -> io::Result<(u64, u64)> {
        let start = find_clear_bit(
            &self.block_bitmap,
            self.geom.first_data_block,
            self.geom.total_blocks,
        )
        .ok_or_else(|| io::Error::other("no free blocks"))?;
        let mut len = 0;
        while len < want && start + len < self.geom.total_blocks && !self.block_in_use(start + len)
        {
            self.set_block_in_use(start + len, true);
            len += 1;
        }
        Ok((start, len))
    }

    /// The blocks holding inode `ino`'s extents past the inline ones. An
    /// extent index block must be sound, and the blocks it lists distinct and
    /// in the data area; a lone extent block is checked by [`Image::extents`].
    pub fn extent_blocks(&self, ino: u32, inode: &Inode) -> io::Result<ExtentBlocks> {
        let overflow = inode.overflow_block.get();
        if overflow == 0 {
            return Ok(ExtentBlocks::default());
        }
        if !self.geom.in_data_area(overflow, 1) {
            return Err(invalid(format!(
                "inode {ino}: extent block {overflow} is outside the data area"
            )));
        }
        let block = self.dev.read_block(overflow)?;
        if !is_extent_index(&block) {
            return Ok(ExtentBlocks {
                index: None,
                leaves: vec![overflow],
            });
        }
        let count = check_extent_index(&block, self.seed(), ino).map_err(|e| {
            invalid(format!(
                "inode {ino}: extent index block {overflow}: {}",
                e.description()
            ))
        })?;
        let leaves: Vec<u64> = extent_index_entries(&block, count).collect();
        for (i, &leaf) in leaves.iter().enumerate() {
            if leaf == overflow || !self.geom.in_data_area(leaf, 1) || leaves[..i].contains(&leaf) {
                return Err(invalid(format!(
                    "inode {ino}: extent index block {overflow} lists block {leaf}, \
                     not an extent block of its own"
                )));
            }
        }
        Ok(ExtentBlocks {
            index: Some(overflow),
            leaves,
        })
    }

    /// Inode `ino`'s extents: inline, then those of each extent block in order.
    pub fn extents(&self, ino: u32, inode: &Inode) -> io::Result<Vec<Extent>> {
        let mut all = inode.inline_extents().to_vec();
        for leaf in self.extent_blocks(ino, inode)?.leaves {
            let block = self.dev.read_block(leaf)?;
            let count = check_extent_block(&block, self.seed(), ino).map_err(|e| {
                invalid(format!(
                    "inode {ino}: extent block {leaf}: {}",
                    e.description()
                ))
            })?;
            all.extend(extent_block_entries(&block, count));
        }
        Ok(all)
    }

    /// Stores `extents` in `inode` as the kernel does (inline first, the rest
    /// in one extent block if they fit, else in an index block and extent
    /// blocks of 255 each), reusing the blocks it has, allocating or freeing
    /// as needed, and sets its block count. The caller writes the inode.
    pub fn set_extents(
        &mut self,
        ino: u32,
        inode: &mut Inode,
        extents: &[Extent],
    ) -> io::Result<()> {
        let owned = self.extent_blocks(ino, inode)?.all();
        self.replace_extents(ino, inode, extents, &owned)
    }

    /// [`Image::set_extents`], with `owned` taken as the extent blocks of
    /// `inode` (to reuse or free) whatever its overflow block leads to: for a
    /// repair of damaged extent blocks, which passes only those that proved to
    /// be the inode's. Other blocks it claimed are left as they are.
    pub fn replace_extents(
        &mut self,
        ino: u32,
        inode: &mut Inode,
        extents: &[Extent],
        owned: &[u64],
    ) -> io::Result<()> {
        if extents.len() > MAX_EXTENTS {
            return Err(invalid("too many extents"));
        }
        let blocks = self.take_blocks(owned, extent_blocks_needed(extents.len()))?;
        let inline = extents.len().min(INLINE_EXTENTS);
        self.write_extent_blocks(ino, &extents[inline..], &blocks)?;
        inode.extents = [Extent::ZERO; INLINE_EXTENTS];
        inode.extents[..inline].copy_from_slice(&extents[..inline]);
        inode.extent_count = format::Le16::new(inline as u16);
        inode.overflow_block = Le64::new(blocks.first().copied().unwrap_or(0));
        let mapped: u64 = extents.iter().map(|e| u64::from(e.len.get())).sum();
        inode.blocks = Le64::new(mapped + blocks.len() as u64);
        Ok(())
    }

    /// `needed` blocks: the first of `owned`, then newly allocated ones; the
    /// rest of `owned` is freed. On failure nothing is allocated or freed.
    fn take_blocks(&mut self, owned: &[u64], needed: usize) -> io::Result<Vec<u64>> {
        let kept = owned.len().min(needed);
        let mut blocks = owned[..kept].to_vec();
        while blocks.len() < needed {
            match self.alloc_blocks(1) {
                Ok((block, _)) => blocks.push(block),
                Err(e) => {
                    self.free_blocks(&blocks[kept..]);
                    return Err(e);
                }
            }
        }
        self.free_blocks(&owned[kept..]);
        Ok(blocks)
    }

    fn free_blocks(&mut self, blocks: &[u64]) {
        for &block in blocks {
            self.set_block_in_use(block, false);
        }
    }

    /// Writes `rest` (the extents after the inline ones) into `blocks`: none,
    /// a lone extent block, or an index block then extent blocks filled in
    /// order (any left over hold none).
    fn write_extent_blocks(&self, ino: u32, rest: &[Extent], blocks: &[u64]) -> io::Result<()> {
        let seed = self.seed();
        let mut buf = vec![0u8; BLOCK_BYTES];
        let (index, leaves) = match blocks {
            [] if rest.is_empty() => return Ok(()),
            [lone] => (None, std::slice::from_ref(lone)),
            [index, leaves @ ..] => (Some(*index), leaves),
            [] => return Err(invalid("extents left with no extent block")),
        };
        if rest.len() > leaves.len() * EXTENTS_PER_BLOCK {
            return Err(invalid("more extents than extent blocks hold"));
        }
        let mut chunks = rest.chunks(EXTENTS_PER_BLOCK);
        for &leaf in leaves {
            let chunk = chunks.next().unwrap_or(&[]);
            write_extent_block(&mut buf, seed, ino, chunk)
                .ok_or_else(|| invalid("extent block overflow"))?;
            self.dev.write_blocks(leaf, &buf)?;
        }
        if let Some(index) = index {
            write_extent_index(&mut buf, seed, ino, leaves)
                .ok_or_else(|| invalid("too many extent blocks"))?;
            self.dev.write_blocks(index, &buf)?;
        }
        Ok(())
    }

    /// Allocates disk blocks for file blocks `file_block .. + data.len()/4096`
    /// (rounded up), writes `data` there and returns the new extents.
    fn write_new_blocks(&mut self, file_block: u32, data: &[u8]) -> io::Result<Vec<Extent>> {
        let mut out = Vec::new();
        let mut done = 0usize;
        while done < data.len() {
            let left = (data.len() - done).div_ceil(BLOCK_BYTES) as u64;
            let (disk, len) = self.alloc_blocks(left)?;
            let bytes = (len as usize * BLOCK_BYTES).min(data.len() - done);
            let mut buf = data[done..done + bytes].to_vec();
            buf.resize(len as usize * BLOCK_BYTES, 0);
            self.dev.write_blocks(disk, &buf)?;
            let fb = file_block + (done / BLOCK_BYTES) as u32;
            out.push(Extent::new(fb, disk, len as u32));
            done += bytes;
        }
        Ok(out)
    }

    /// Creates a regular file `name` in `dir` holding `data`.
    pub fn create_file(&mut self, dir: u32, name: &str, data: &[u8]) -> io::Result<u32> {
        self.create_sparse_file(dir, name, data.len() as u64, &[(0, data)])
    }

    /// Creates a regular file `name` in `dir` of `size` bytes whose only data is
    /// each `(file_block, bytes)` piece; everything else is a hole.
    pub fn create_sparse_file(
        &mut self,
        dir: u32,
        name: &str,
        size: u64,
        pieces: &[(u32, &[u8])],
    ) -> io::Result<u32> {
        self.create_with_mode(dir, name, S_IFREG | 0o644, size, pieces)
    }

    /// Creates a symbolic link `name` in `dir` to `target` (kept in one block).
    pub fn create_symlink(&mut self, dir: u32, name: &str, target: &[u8]) -> io::Result<u32> {
        let size = target.len() as u64;
        self.create_with_mode(dir, name, format::S_IFLNK | 0o777, size, &[(0, target)])
    }

    /// Creates a special file `name` in `dir` of `mode` (type included), with
    /// device number `rdev` (as stored: [`format::encode_dev`]).
    pub fn create_special(
        &mut self,
        dir: u32,
        name: &str,
        mode: u16,
        rdev: u32,
    ) -> io::Result<u32> {
        let ino = self.new_inode(mode, 1, 0)?;
        let mut inode = self.read_inode(ino)?;
        inode.rdev = Le32::new(rdev);
        self.write_inode(ino, &inode)?;
        self.add_dirent(dir, name, ino, file_type_of_mode(mode))?;
        Ok(ino)
    }

    fn create_with_mode(
        &mut self,
        dir: u32,
        name: &str,
        mode: u16,
        size: u64,
        pieces: &[(u32, &[u8])],
    ) -> io::Result<u32> {
        let ino = self.new_inode(mode, 1, 0)?;
        let mut inode = self.read_inode(ino)?;
        let mut extents = Vec::new();
        for (file_block, data) in pieces {
            extents.extend(self.write_new_blocks(*file_block, data)?);
        }
        extents.sort_by_key(|e| e.file_block.get());
        inode.size = Le64::new(size);
        self.set_extents(ino, &mut inode, &extents)?;
        self.write_inode(ino, &inode)?;
        self.add_dirent(dir, name, ino, file_type_of_mode(inode.mode.get()))?;
        Ok(ino)
    }

    /// Creates directory `name` in `dir`.
    pub fn mkdir(&mut self, dir: u32, name: &str) -> io::Result<u32> {
        let ino = self.new_inode(S_IFDIR | 0o755, 2, dir)?;
        self.add_dirent(dir, name, ino, format::FT_DIR)?;
        let mut parent = self.read_inode(dir)?;
        parent.nlink = Le32::new(parent.nlink.get() + 1);
        self.write_inode(dir, &parent)?;
        Ok(ino)
    }

    /// Adds a hard link `name` in `dir` to file `ino`.
    pub fn link(&mut self, dir: u32, name: &str, ino: u32) -> io::Result<()> {
        let mut inode = self.read_inode(ino)?;
        self.add_dirent(dir, name, ino, file_type_of_mode(inode.mode.get()))?;
        inode.nlink = Le32::new(inode.nlink.get() + 1);
        self.write_inode(ino, &inode)
    }

    fn new_inode(&mut self, mode: u16, nlink: u32, parent: u32) -> io::Result<u32> {
        let ino = self.alloc_inode()?;
        let mut inode = Inode::new(mode, 0, 0, nlink, now());
        inode.parent = Le32::new(parent);
        inode.generation = Le32::new(self.sb.next_generation.get());
        self.sb.next_generation = Le32::new(self.sb.next_generation.get().wrapping_add(1));
        self.write_inode(ino, &inode)?;
        Ok(ino)
    }

    /// Stores entry `name` -> `ino` in the first free slot of directory `dir`,
    /// growing it by a block if it is full. Does not check for an existing
    /// entry of that name, nor touch link counts.
    pub fn add_dirent(&mut self, dir: u32, name: &str, ino: u32, file_type: u8) -> io::Result<()> {
        let mut inode = self.read_inode(dir)?;
        let extents = self.extents(dir, &inode)?;
        let blocks = inode.size.get() / BLOCK_BYTES as u64;
        for fb in 0..blocks {
            let disk = self.dir_block(&extents, fb)?;
            let mut buf = self.dev.read_block(disk)?;
            let free = buf
                .chunks_exact(DIRENT_SIZE)
                .position(|slot| matches!(decode_dirent(slot), Ok(None)));
            if let Some(i) = free {
                encode_dirent(&mut buf[i * DIRENT_SIZE..], ino, file_type, name.as_bytes())
                    .map_err(|e| invalid(e.description()))?;
                return self.dev.write_blocks(disk, &buf);
            }
        }
        let mut buf = vec![0u8; BLOCK_BYTES];
        encode_dirent(&mut buf, ino, file_type, name.as_bytes())
            .map_err(|e| invalid(e.description()))?;
        let mut new = self.write_new_blocks(blocks as u32, &buf)?;
        let mut all = extents;
        match (all.last_mut(), new.first()) {
            (Some(last), Some(n)) if last.disk_end() == n.disk_block() => {
                last.len = Le32::new(last.len.get() + n.len.get());
            }
            _ => all.append(&mut new),
        }
        inode.size = Le64::new((blocks + 1) * BLOCK_BYTES as u64);
        self.set_extents(dir, &mut inode, &all)?;
        self.write_inode(dir, &inode)
    }

    fn dir_block(&self, extents: &[Extent], file_block: u64) -> io::Result<u64> {
        match map_block(extents.iter().copied(), file_block) {
            Mapping::Mapped { disk_block, .. } => Ok(disk_block),
            Mapping::Hole { .. } => Err(invalid("hole in a directory")),
        }
    }

    /// Directory `dir`'s entries: (name, inode, file type), in slot order.
    pub fn read_dir(&self, dir: u32) -> io::Result<Vec<(Vec<u8>, u32, u8)>> {
        let inode = self.read_inode(dir)?;
        let extents = self.extents(dir, &inode)?;
        let mut out = Vec::new();
        for fb in 0..inode.size.get() / BLOCK_BYTES as u64 {
            let buf = self.dev.read_block(self.dir_block(&extents, fb)?)?;
            for slot in buf.chunks_exact(DIRENT_SIZE) {
                if let Some(d) = decode_dirent(slot).map_err(|e| invalid(e.description()))? {
                    out.push((d.name.to_vec(), d.ino, d.file_type));
                }
            }
        }
        Ok(out)
    }

    /// The inode that `name` names in directory `dir`, if any.
    pub fn lookup(&self, dir: u32, name: &str) -> io::Result<Option<u32>> {
        Ok(self
            .read_dir(dir)?
            .into_iter()
            .find(|(n, _, _)| n == name.as_bytes())
            .map(|(_, ino, _)| ino))
    }

    /// File `ino`'s contents, holes and unwritten extents read as zeros.
    pub fn read_file(&self, ino: u32) -> io::Result<Vec<u8>> {
        let inode = self.read_inode(ino)?;
        let size = inode.size.get() as usize;
        let mut out = vec![0u8; size.next_multiple_of(BLOCK_BYTES)];
        for e in self.extents(ino, &inode)? {
            if e.is_unwritten() {
                continue;
            }
            let data = self
                .dev
                .read_blocks(e.disk_block(), u64::from(e.len.get()))?;
            let at = e.file_block.get() as usize * BLOCK_BYTES;
            let end = (at + data.len()).min(out.len());
            if at < end {
                out[at..end].copy_from_slice(&data[..end - at]);
            }
        }
        out.truncate(size);
        Ok(out)
    }

    /// Writes the bitmaps and the super block with free counts recomputed from
    /// the bitmaps, then syncs.
    pub fn flush(&mut self) -> io::Result<()> {
        let free_blocks = (self.geom.first_data_block..self.geom.total_blocks)
            .filter(|&b| !self.block_in_use(b))
            .count() as u64;
        let free_inodes = (1..self.geom.inode_count)
            .filter(|&i| !self.inode_in_use(i))
            .count() as u32;
        self.sb.free_blocks = Le64::new(free_blocks);
        self.sb.free_inodes = Le32::new(free_inodes);
        self.sb.update_checksum();
        self.dev
            .write_blocks(self.geom.inode_bitmap_start, &self.inode_bitmap)?;
        self.dev
            .write_blocks(self.geom.block_bitmap_start, &self.block_bitmap)?;
        self.write_superblock_raw(&self.sb)?;
        self.dev.sync()
    }

    /// Marks the file system cleanly unmounted, then [`Image::flush`]es (so
    /// the free counts it then claims are exact).
    pub fn mark_clean(&mut self) -> io::Result<()> {
        self.sb.state = Le32::new(format::STATE_CLEAN);
        self.flush()
    }

    /// Writes `sb` into block 0 exactly as given (tests use it to corrupt).
    pub fn write_superblock_raw(&self, sb: &SuperBlock) -> io::Result<()> {
        let mut block = self.dev.read_block(0)?;
        sb.to_bytes(&mut block)
            .ok_or_else(|| invalid("super block does not fit in a block"))?;
        self.dev.write_blocks(0, &block)
    }
}
