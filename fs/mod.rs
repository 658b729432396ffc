// SPDX-License-Identifier: GPL-2.0

//! The tsfs filesystem: safe Rust over the VFS glue in `kapi/vfs`.
//!
//! | file | concern |
//! |---|---|
//! | `super_block.rs` | mount, unmount, sync, statfs, the clean flag |
//! | `alloc.rs` | block and inode bitmaps, free counts |
//! | `extents.rs` | a file's extent list |
//! | `inode.rs` | loading, writing, creating and freeing inodes |
//! | `dir.rs` | directory slots |
//! | `namei.rs` | lookup, create, mkdir, link, unlink, rmdir, rename |
//! | `file.rs` | open, buffered write, fsync, setattr and truncate |
//! | `iomap.rs` | mapping file ranges to blocks, allocating on write |
//! | `mmap.rs` | page faults |
//! | `dio.rs` | direct IO, with buffered fallback for self-mapped buffers |
//! | `overlap.rs` | which part of a DIO buffer maps the range it transfers |
//!
//! Lock order, outermost first: a directory's or file's inode lock (`i_rwsem`,
//! taken by the VFS), the inode's page cache `TwoStateLock` (faults: *add*;
//! truncation: *block*), the page cache invalidation lock, folio locks, the
//! inode's metadata mutex, the allocator mutex, and innermost the buffer lock of
//! a metadata block, which is never held while anything else is taken.

use kernel::{c_str, str::CStr};

pub(crate) mod alloc;
pub(crate) mod dio;
pub(crate) mod dir;
pub(crate) mod extents;
pub(crate) mod file;
pub(crate) mod inode;
pub(crate) mod iomap;
pub(crate) mod mmap;
pub(crate) mod namei;
// Plain Rust, shared with the host tests (tests/dio_overlap.rs).
#[allow(dead_code, unreachable_pub)]
pub(crate) mod overlap;
pub(crate) mod super_block;

pub(crate) use super_block::SbInfo;

/// The filesystem type's name, as in `mount -t tsfs`.
pub(crate) const NAME: &CStr = c_str!("tsfs");
