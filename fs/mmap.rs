// SPDX-License-Identifier: GPL-2.0

//! Page faults on mapped tsfs files. Both handlers take the inode's page cache
//! lock in *add*: faults share it with each other, and exclude truncation (and,
//! later, direct IO), which take it in *block*.

use crate::kapi::vfs::mmap::{FaultResult, VmFault};
use crate::locking::State;

/// `fault`: finds the page in the cache or reads it in.
pub(crate) fn fault(f: &VmFault<'_>) -> FaultResult {
    let _add = f.inode().data().pagecache.lock(State::Add);
    f.filemap_fault()
}

/// `page_mkwrite`: a shared mapping's page is about to be written; its block is
/// allocated now (iomap calls tsfs's `iomap_begin` with the page locked) so that
/// write-back never allocates.
pub(crate) fn page_mkwrite(f: &VmFault<'_>) -> FaultResult {
    let _freeze = f.freeze_protect();
    f.update_file_time();
    let _add = f.inode().data().pagecache.lock(State::Add);
    f.iomap_page_mkwrite()
}
