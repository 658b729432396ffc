// SPDX-License-Identifier: GPL-2.0

//! The VFS glue of tsfs: safe views of super blocks, inodes and dentries, and
//! the operation tables whose `extern "C"` callbacks call the safe file system
//! code in `fs/`.

pub(crate) mod dentry;
pub(crate) mod dir_ops;
pub(crate) mod direct;
pub(crate) mod file_ops;
pub(crate) mod fs_context;
pub(crate) mod inode;
pub(crate) mod iomap;
pub(crate) mod mmap;
pub(crate) mod super_block;

pub(crate) use dentry::{Dentry, Idmap};
pub(crate) use inode::{Iget, Inode, InodeKind, NewInode, Timespec};
pub(crate) use super_block::{NewSuperBlock, StatFs, SuperBlock, SuperParams};
