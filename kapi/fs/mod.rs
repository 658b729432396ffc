// SPDX-License-Identifier: GPL-2.0

//! The VFS, generic over the filesystem that uses it.
//!
//! Shaped as the kernel's own Rust abstractions are (blk-mq's `#[vtable] trait
//! Operations` with `OperationsVTable<T>`): a filesystem implements the traits
//! below, and the C operation tables are constants built generically from the
//! implementer. Nothing here names the filesystem; its private data reaches it
//! through the generic types ([`INode::data`], [`SuperBlock::data`]). Raw
//! constructors (`from_raw`, `as_ptr`) are visible inside `kapi` only.
//!
//! | file | what it wraps | trait the filesystem implements |
//! |---|---|---|
//! | `mod.rs` | the operation tables' common type ([`OpsTable`]) | [`FileSystem`] |
//! | `registration.rs` | `file_system_type`, mounting (`fs_context`) | |
//! | `sb.rs` | `super_block`, `super_operations` | [`sb::Operations`] |
//! | `inode.rs` | `inode`, `inode_operations`, inode locks | [`inode::Operations`] |
//! | `dentry.rs` | `dentry`, `mnt_idmap` | |
//! | `file.rs` | `file`, `kiocb`, `file_operations`, `dir_context` | [`file::Operations`] |
//! | `falloc.rs` | the modes of `fallocate` | |
//! | `fiemap.rs` | `fiemap_extent_info`, iomap's `FS_IOC_FIEMAP` | |
//! | `special.rs` | device numbers, special inodes, `mknod` | |
//! | `address_space.rs` | `address_space_operations` (iomap's) | |
//! | `iomap.rs` | `iomap_ops`, `iomap_writeback_ops`, iomap's helpers | [`iomap::Operations`] |
//! | `direct.rs` | direct IO mechanisms of a request | |
//! | `dio_async.rs` | what an asynchronous direct IO keeps until it completes | |
//! | `vm.rs` | `vm_operations_struct`, `vm_fault` | [`vm::Operations`] |

pub(crate) mod address_space;
pub(crate) mod dentry;
pub(crate) mod dio_async;
pub(crate) mod direct;
pub(crate) mod falloc;
pub(crate) mod fiemap;
pub(crate) mod file;
pub(crate) mod inode;
pub(crate) mod iomap;
mod registration;
pub(crate) mod sb;
pub(crate) mod special;
pub(crate) mod vm;

pub(crate) use dentry::{Dentry, Idmap};
pub(crate) use inode::{INode, Iget, Locked, NewINode, Timespec};
pub(crate) use registration::Registration;
pub(crate) use sb::{NewSuperBlock, Remount, StatFs, SuperBlock, SuperParams};

use core::marker::PhantomData;
use kernel::{prelude::*, str::CStr, types::ARef, types::ForeignOwnable};

/// A filesystem type.
///
/// One implementer per filesystem type; its operation tables are built from the
/// implementers of the operation traits it names when it sets up super blocks and
/// inodes.
pub(crate) trait FileSystem: Sized + Send + Sync + 'static {
    /// The private data of a mounted instance, in the super block's `s_fs_info`
    /// from [`NewSuperBlock::set_data`] until the super block is killed.
    type Data: ForeignOwnable + Send + Sync;

    /// The private part of every inode, pinned next to the VFS inode in one
    /// allocation.
    type INodeData: Send + Sync;

    /// The type's name, as in `mount -t NAME`.
    const NAME: &'static CStr;

    /// The private part of a fresh in-memory inode.
    fn init_inode_data() -> impl PinInit<Self::INodeData, Error>;

    /// Sets up a new super block from its device; returns the root inode.
    fn fill_super(sb: &NewSuperBlock<'_, Self>) -> Result<ARef<INode<Self>>>;

    /// A remount; `read_only` is the requested state.
    fn reconfigure(sb: &Remount<'_, Self>, read_only: bool) -> Result;
}

/// A static C operation table of type `C` for filesystem type `T`, built from an
/// implementer of one of the operation traits (each module's `Ops<T>`).
pub(crate) struct OpsTable<C: 'static, T> {
    table: &'static C,
    _t: PhantomData<fn() -> T>,
}

impl<C, T> Clone for OpsTable<C, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C, T> Copy for OpsTable<C, T> {}

impl<C, T> OpsTable<C, T> {
    pub(in crate::kapi) const fn from_static(table: &'static C) -> Self {
        OpsTable {
            table,
            _t: PhantomData,
        }
    }

    pub(in crate::kapi) fn get(self) -> &'static C {
        self.table
    }
}
