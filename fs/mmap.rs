// SPDX-License-Identifier: GPL-2.0

//! Page faults on mapped tsfs files. Both handlers take the inode's page cache
//! lock in *add*: faults share it with each other, and exclude truncation and
//! direct IO, which take it in *block*. A task that records holding the lock
//! (locking/owners.rs) is not made to take it again.

use super::{tables, Tsfs, IOMAP};
use crate::kapi::fs::{
    file::File,
    vm::{FaultResult, NewVma, VmFault},
};
use crate::locking::{owners, State};
use kernel::prelude::*;

/// `mmap`: the mapping's faults come to the handlers below.
pub(crate) fn mmap(file: &File<Tsfs>, vma: &NewVma<'_, Tsfs>) -> Result {
    file.accessed();
    vma.set_ops(tables::VM);
    Ok(())
}

/// `fault`: finds the page in the cache or reads it in.
pub(crate) fn fault(f: &VmFault<'_, Tsfs>) -> FaultResult {
    let lock = &f.inode().data().pagecache;
    match owners::current_holds(lock) {
        // This task's own direct IO holds *block*: waiting for *add* would wait for
        // ourselves. The DIO path disables faults on its buffer, so this is a bug
        // elsewhere: fail the access rather than hang.
        Some(State::Block) => FaultResult::sigbus(),
        // Already inside in *add* (nested): no second acquire behind a waiter.
        Some(State::Add) => f.filemap_fault(),
        None => {
            let _add = lock.lock(State::Add);
            f.filemap_fault()
        }
    }
}

/// `page_mkwrite`: a shared mapping's page is about to be written; its block is
/// allocated now (iomap calls tsfs's `iomap_begin` with the page locked) so that
/// write-back never allocates.
pub(crate) fn page_mkwrite(f: &VmFault<'_, Tsfs>) -> FaultResult {
    let _freeze = f.freeze_protect();
    f.update_file_time();
    let lock = &f.inode().data().pagecache;
    match owners::current_holds(lock) {
        Some(State::Block) => FaultResult::sigbus(),
        Some(State::Add) => f.iomap_page_mkwrite(IOMAP),
        None => {
            let _add = lock.lock(State::Add);
            f.iomap_page_mkwrite(IOMAP)
        }
    }
}
