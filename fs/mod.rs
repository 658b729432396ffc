// SPDX-License-Identifier: GPL-2.0

//! The tsfs filesystem: safe Rust over the generic VFS layer in `kapi/fs`.
//!
//! This file says which function serves each VFS operation (the trait
//! implementations); the others hold the logic:
//!
//! | file | concern |
//! |---|---|
//! | `super_block.rs` | mount, unmount, sync, statfs, the clean flag |
//! | `alloc.rs` | block and inode bitmaps, free counts |
//! | `extents.rs` | a file's extent list |
//! | `inode.rs` | loading, writing, creating and freeing inodes |
//! | `dir.rs` | directory slots |
//! | `namei.rs` | lookup, create, mkdir, symlink, mknod, O_TMPFILE, link, unlink, rmdir, rename |
//! | `symlink.rs` | storing a symbolic link's target |
//! | `file.rs` | open, buffered write, setattr and truncate |
//! | `fsync.rs` | fsync and fdatasync, synchronous inode writes |
//! | `falloc.rs` | fallocate: preallocation, punching holes, zeroing ranges |
//! | `iomap.rs` | mapping file ranges to blocks, allocating on write |
//! | `mmap.rs` | page faults |
//! | `dio.rs` | direct IO, with buffered fallback for self-mapped buffers |
//! | `overlap.rs` | which part of a DIO buffer maps the range it transfers |
//!
//! Lock order, outermost first: a directory's or file's inode lock (`i_rwsem`,
//! taken by the VFS), the inode's page cache `TwoStateLock` (faults: *add*;
//! truncation: *block*), the page cache invalidation lock, folio locks, the
//! inode's sync mutex (synchronous inode writes, fs/fsync.rs), the inode's
//! metadata mutex, the allocator mutex, and innermost the buffer lock of a
//! metadata block, which is never held while anything else is taken.

use crate::kapi::fs::{
    self as vfs,
    falloc::Mode,
    fiemap::Fiemap,
    file::{DirContext, File, IoRequest},
    inode::{RenameFlags, SetAttr},
    iomap::{Flags, Mapping, WriteDone},
    special::DeviceNumber,
    vm::{FaultResult, NewVma, VmFault},
    FileSystem, Idmap, NewSuperBlock, Remount, StatFs,
};
use kernel::{c_str, prelude::*, str::CStr, types::ARef};

pub(crate) mod alloc;
pub(crate) mod dio;
pub(crate) mod dio_async;
pub(crate) mod dir;
pub(crate) mod dir_index;
pub(crate) mod extent_blocks;
pub(crate) mod extents;
pub(crate) mod falloc;
pub(crate) mod file;
pub(crate) mod fsync;
pub(crate) mod inode;
pub(crate) mod iomap;
pub(crate) mod mmap;
pub(crate) mod namei;
// Plain Rust, shared with the host tests (tests/dio_overlap.rs).
#[allow(dead_code, unreachable_pub)]
pub(crate) mod overlap;
pub(crate) mod super_block;
pub(crate) mod symlink;

pub(crate) use super_block::SbInfo;

/// The tsfs filesystem type.
pub(crate) struct Tsfs;

/// A tsfs super block.
pub(crate) type SuperBlock = vfs::SuperBlock<Tsfs>;
/// A tsfs inode.
pub(crate) type Inode = vfs::INode<Tsfs>;
/// A tsfs inode whose inode lock is held.
pub(crate) type LockedInode<'a> = vfs::Locked<'a, Tsfs>;
/// A new tsfs inode being set up.
pub(crate) type NewInode = vfs::NewINode<Tsfs>;
/// A dentry of a tsfs file system.
pub(crate) type Dentry = vfs::Dentry<Tsfs>;

/// How iomap maps tsfs files (`fs/iomap.rs`).
pub(crate) const IOMAP: vfs::iomap::Ops<Tsfs> = vfs::iomap::Ops::new::<Tsfs>();

/// How direct IO maps tsfs files and completes writes (`fs/iomap.rs`).
pub(crate) const DIRECT: vfs::direct::DirectOps<Tsfs> = vfs::direct::DirectOps {
    map: IOMAP,
    done: vfs::iomap::DioOps::new::<Tsfs>(),
};

impl FileSystem for Tsfs {
    type Data = Pin<KBox<SbInfo>>;
    type INodeData = inode::InodeData;
    const NAME: &'static CStr = c_str!("tsfs");

    fn init_inode_data() -> impl PinInit<Self::INodeData, Error> {
        inode::InodeData::new()
    }

    fn fill_super(sb: &NewSuperBlock<'_, Self>) -> Result<ARef<Inode>> {
        super_block::fill_super(sb)
    }

    fn reconfigure(sb: &Remount<'_, Self>, read_only: bool) -> Result {
        super_block::reconfigure(sb, read_only)
    }
}

#[vtable]
impl vfs::sb::Operations for Tsfs {
    type FileSystem = Tsfs;

    fn write_inode(inode: &Inode, sync: bool) -> Result {
        inode::write_inode(inode, sync)
    }

    fn dirty_inode(inode: &Inode, datasync: bool) {
        inode.data().note_dirty(datasync)
    }

    fn evict_inode(inode: &Inode) {
        inode::evict(inode)
    }

    fn put_super(sb: &SuperBlock) {
        super_block::put_super(sb)
    }

    fn sync_fs(sb: &SuperBlock, wait: bool) -> Result {
        super_block::sync_fs(sb, wait)
    }

    fn statfs(sb: &SuperBlock) -> Result<StatFs> {
        super_block::statfs(sb)
    }
}

#[vtable]
impl vfs::iomap::Operations for Tsfs {
    type FileSystem = Tsfs;

    fn begin(inode: &Inode, pos: u64, length: u64, flags: Flags) -> Result<Mapping> {
        iomap::begin(inode, pos, length, flags)
    }

    fn end(
        inode: &Inode,
        pos: u64,
        length: u64,
        written: u64,
        flags: Flags,
        m: &Mapping,
    ) -> Result {
        iomap::end(inode, pos, length, written, flags, m)
    }

    fn map_blocks(inode: &Inode, offset: u64) -> Result<Mapping> {
        iomap::map_for_writeback(inode, offset)
    }
}

#[vtable]
impl vfs::iomap::DioOperations for Tsfs {
    type FileSystem = Tsfs;

    fn write_done(done: &WriteDone<'_, Tsfs>) -> Result {
        iomap::write_done(done)
    }
}

#[vtable]
impl vfs::vm::Operations for Tsfs {
    type FileSystem = Tsfs;

    fn fault(f: &VmFault<'_, Tsfs>) -> FaultResult {
        mmap::fault(f)
    }

    fn page_mkwrite(f: &VmFault<'_, Tsfs>) -> FaultResult {
        mmap::page_mkwrite(f)
    }
}

/// The operations of directories.
pub(crate) struct Directory;

#[vtable]
impl vfs::inode::Operations for Directory {
    type FileSystem = Tsfs;

    fn lookup(dir: &Inode, dentry: &Dentry) -> Result<Option<ARef<Inode>>> {
        namei::lookup(dir, dentry)
    }

    fn create(
        idmap: &Idmap,
        dir: &LockedInode<'_>,
        dentry: &Dentry,
        mode: u16,
    ) -> Result<NewInode> {
        namei::create(idmap, dir, dentry, mode)
    }

    fn mkdir(idmap: &Idmap, dir: &LockedInode<'_>, dentry: &Dentry, mode: u16) -> Result<NewInode> {
        namei::mkdir(idmap, dir, dentry, mode)
    }

    fn symlink(
        idmap: &Idmap,
        dir: &LockedInode<'_>,
        dentry: &Dentry,
        target: &[u8],
    ) -> Result<NewInode> {
        namei::symlink(idmap, dir, dentry, target)
    }

    fn tmpfile(idmap: &Idmap, dir: &Inode, mode: u16) -> Result<NewInode> {
        namei::tmpfile(idmap, dir, mode)
    }

    fn mknod(
        idmap: &Idmap,
        dir: &LockedInode<'_>,
        dentry: &Dentry,
        mode: u16,
        dev: DeviceNumber,
    ) -> Result<NewInode> {
        namei::mknod(idmap, dir, dentry, mode, dev)
    }

    fn link(old: &Dentry, dir: &LockedInode<'_>, dentry: &Dentry) -> Result<ARef<Inode>> {
        namei::link(old, dir, dentry)
    }

    fn unlink(dir: &LockedInode<'_>, dentry: &Dentry) -> Result {
        namei::unlink(dir, dentry)
    }

    fn rmdir(dir: &LockedInode<'_>, dentry: &Dentry) -> Result {
        namei::rmdir(dir, dentry)
    }

    fn rename(
        idmap: &Idmap,
        old_dir: &LockedInode<'_>,
        old_dentry: &Dentry,
        new_dir: &LockedInode<'_>,
        new_dentry: &Dentry,
        flags: RenameFlags,
    ) -> Result {
        namei::rename(idmap, old_dir, old_dentry, new_dir, new_dentry, flags)
    }

    fn setattr(req: &SetAttr<'_, Tsfs>) -> Result {
        file::setattr(req)
    }
}

#[vtable]
impl vfs::file::Operations for Directory {
    type FileSystem = Tsfs;

    fn fsync(file: &File<Tsfs>, start: i64, end: i64, datasync: bool) -> Result {
        fsync::fsync(file, start, end, datasync)
    }

    fn readdir(file: &File<Tsfs>, ctx: &mut DirContext<'_>) -> Result {
        dir::readdir(file.inode(), ctx)
    }
}

/// The operations of regular files.
pub(crate) struct Regular;

#[vtable]
impl vfs::inode::Operations for Regular {
    type FileSystem = Tsfs;

    fn setattr(req: &SetAttr<'_, Tsfs>) -> Result {
        file::setattr(req)
    }

    fn dio_alignment(inode: &Inode) -> Option<(u32, u32)> {
        Some(dio::alignment(inode))
    }

    fn fiemap(inode: &Inode, req: Fiemap<'_, Tsfs>) -> Result {
        // Under the shared inode lock, as a read: no write changes the extent
        // list while it is reported (a buffered write or a direct write that
        // allocates holds the lock exclusively).
        let _shared = inode.lock_shared();
        req.answer(IOMAP)
    }
}

/// The operations of special files (devices, pipes, sockets), whose opens the
/// VFS serves: tsfs keeps only their attributes.
pub(crate) struct Special;

#[vtable]
impl vfs::inode::Operations for Special {
    type FileSystem = Tsfs;

    fn setattr(req: &SetAttr<'_, Tsfs>) -> Result {
        // The VFS truncates regular files only; a size here is a bug elsewhere.
        if req.new_size().is_some() {
            return Err(EINVAL);
        }
        file::setattr(req)
    }
}

#[vtable]
impl vfs::file::Operations for Regular {
    type FileSystem = Tsfs;

    fn open(inode: &Inode, file: &File<Tsfs>) -> Result {
        file::open(inode, file)
    }

    fn read_iter(req: &mut IoRequest<'_, Tsfs>) -> Result<usize> {
        file::read_iter(req)
    }

    fn write_iter(req: &mut IoRequest<'_, Tsfs>) -> Result<usize> {
        file::write_iter(req)
    }

    fn mmap(file: &File<Tsfs>, vma: &NewVma<'_, Tsfs>) -> Result {
        mmap::mmap(file, vma)
    }

    fn fsync(file: &File<Tsfs>, start: i64, end: i64, datasync: bool) -> Result {
        fsync::fsync(file, start, end, datasync)
    }

    fn fallocate(file: &File<Tsfs>, mode: Mode, offset: u64, len: u64) -> Result {
        falloc::fallocate(file, mode, offset, len)
    }
}

/// The operation tables of each kind of tsfs file.
pub(crate) mod tables {
    use super::*;

    pub(crate) const DIR_INODE: vfs::inode::Ops<Tsfs> = vfs::inode::Ops::new::<Directory>();
    pub(crate) const DIR_FILE: vfs::file::Ops<Tsfs> = vfs::file::Ops::new::<Directory>();
    pub(crate) const REG_INODE: vfs::inode::Ops<Tsfs> = vfs::inode::Ops::new::<Regular>();
    pub(crate) const REG_FILE: vfs::file::Ops<Tsfs> = vfs::file::Ops::new::<Regular>();
    pub(crate) const SPECIAL_INODE: vfs::inode::Ops<Tsfs> = vfs::inode::Ops::new::<Special>();
    pub(crate) const PAGES: vfs::address_space::Ops<Tsfs> =
        vfs::address_space::Ops::iomap::<Tsfs>();
    pub(crate) const VM: vfs::vm::Ops<Tsfs> = vfs::vm::Ops::new::<Tsfs>();
    pub(crate) const SUPER: vfs::sb::Ops<Tsfs> = vfs::sb::Ops::new::<Tsfs>();
}
