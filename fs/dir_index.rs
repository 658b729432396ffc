// SPDX-License-Identifier: GPL-2.0

//! An in-memory index of a directory's names, so that a lookup, a creation or a
//! removal in a large directory reads one block instead of all of them.
//!
//! Entries live in fixed slots with no index on disk (`dir.rs`), so without this,
//! filling a directory with n names reads O(n²) blocks (4,096 creations in one
//! directory took minutes under QEMU). The index is a cache of the blocks, which
//! stay the truth: it is built by one scan the first time a directory of at least
//! [`MIN_BLOCKS`] blocks is searched, updated by every change to the directory,
//! and dropped, to be rebuilt by the next search, whenever an update cannot be
//! made (no memory, a failed write). It lives as long as the in-memory inode.

use kernel::prelude::*;

/// Directories smaller than this many blocks are scanned instead.
pub(crate) const MIN_BLOCKS: u64 = 2;

/// The index's hash of a name (32-bit FNV-1a).
fn name_hash(name: &[u8]) -> u32 {
    name.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// An entry of [`DirIndex::names`]: hash above, slot below, so that sorting
/// groups the slots of one hash.
fn key(hash: u32, slot: u32) -> u64 {
    (u64::from(hash) << 32) | u64::from(slot)
}

/// Which slots of a directory are used, and under which name hash.
///
/// # Invariants
///
/// - `names[..live]` holds [`key`]`(hash of its name, slot)` of every used slot of
///   the directory and nothing else, sorted; `names[live..]` are spare.
/// - Bit `s % 64` of `used[s / 64]` is set exactly for the used slots `s`;
///   `used` covers at least `slots` slots, and every used slot is below `slots`.
pub(crate) struct DirIndex {
    names: KVec<u64>,
    live: usize,
    used: KVec<u64>,
    slots: u64,
}

impl DirIndex {
    /// An index of a directory of `slots` slots, none used yet.
    pub(crate) fn new(slots: u64) -> Result<Self> {
        let mut index = Self {
            names: KVec::new(),
            live: 0,
            used: KVec::new(),
            slots: 0,
        };
        index.cover(slots)?;
        Ok(index)
    }

    /// Makes the index cover `slots` slots (the directory grew).
    pub(crate) fn cover(&mut self, slots: u64) -> Result {
        let words = usize::try_from(slots.div_ceil(64)).map_err(|_| ENOMEM)?;
        if let Some(more) = words.checked_sub(self.used.len()).filter(|&n| n > 0) {
            self.used.extend_with(more, 0, GFP_KERNEL)?;
        }
        self.slots = self.slots.max(slots);
        Ok(())
    }

    fn is_used(&self, slot: u64) -> bool {
        let word = usize::try_from(slot / 64)
            .ok()
            .and_then(|w| self.used.get(w));
        word.is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    fn set_used(&mut self, slot: u64, used: bool) -> Result {
        let word = usize::try_from(slot / 64)
            .ok()
            .and_then(|w| self.used.get_mut(w))
            .ok_or(EINVAL)?;
        if used {
            *word |= 1 << (slot % 64);
        } else {
            *word &= !(1 << (slot % 64));
        }
        Ok(())
    }

    /// Records that slot `slot`, in a directory of at least `slot + 1` slots,
    /// now holds `name`.
    pub(crate) fn insert(&mut self, slot: u64, name: &[u8]) -> Result {
        let slot32 = u32::try_from(slot).map_err(|_| EINVAL)?;
        if self.is_used(slot) {
            return Err(EINVAL);
        }
        self.cover(slot + 1)?;
        if self.live == self.names.len() {
            self.names.push(0, GFP_KERNEL)?;
        }
        let k = key(name_hash(name), slot32);
        let live = self.live;
        let names = self.names.get_mut(..=live).ok_or(EINVAL)?;
        let pos = names.get(..live).unwrap_or(&[]).partition_point(|&n| n < k);
        if let Some(spare) = names.get_mut(live) {
            *spare = k;
        }
        names.get_mut(pos..).ok_or(EINVAL)?.rotate_right(1);
        self.live += 1;
        self.set_used(slot, true)
    }

    /// Records that slot `slot`, which held `name`, is free now. `EINVAL` if the
    /// index did not have it.
    pub(crate) fn remove(&mut self, slot: u64, name: &[u8]) -> Result {
        let slot32 = u32::try_from(slot).map_err(|_| EINVAL)?;
        let k = key(name_hash(name), slot32);
        let names = self.names.get_mut(..self.live).ok_or(EINVAL)?;
        let pos = names.binary_search(&k).map_err(|_| EINVAL)?;
        names.get_mut(pos..).ok_or(EINVAL)?.rotate_left(1);
        self.live -= 1;
        self.set_used(slot, false)
    }

    /// The slots whose name may be `name` (those with its hash).
    pub(crate) fn candidates(&self, name: &[u8]) -> impl Iterator<Item = u64> + '_ {
        let hash = name_hash(name);
        let names = self.names.get(..self.live).unwrap_or(&[]);
        let first = names.partition_point(|&n| n < key(hash, 0));
        names
            .get(first..)
            .unwrap_or(&[])
            .iter()
            .take_while(move |&&n| n >> 32 == u64::from(hash))
            .map(|&n| n & u64::from(u32::MAX))
    }

    /// The lowest free slot, if the directory has one.
    pub(crate) fn first_free(&self) -> Option<u64> {
        let (w, word) = self.used.iter().enumerate().find(|(_, &w)| w != u64::MAX)?;
        let slot = w as u64 * 64 + u64::from(word.trailing_ones());
        (slot < self.slots).then_some(slot)
    }
}
