// SPDX-License-Identifier: GPL-2.0

//! A file's extent list in memory: sorted by file block, never overlapping, at
//! most [`MAX_EXTENTS`] long (what the inode and its extent blocks can hold).
//! Long lists take up to 128 KiB, so they may live in vmalloc memory.
//!
//! Changes build a new list, which the caller installs once everything else the
//! change needs (an extent block, say) has been allocated: a failure leaves the
//! old list as it was.

use crate::format::{map_block, Extent, Mapping, MAX_EXTENTS, MAX_FILE_BLOCKS};
use kernel::prelude::*;

/// The extents of one file.
///
/// # Invariants
///
/// `items` is sorted by `file_block`, its extents do not overlap, each has a
/// length of at least 1, and there are at most [`MAX_EXTENTS`].
pub(crate) struct ExtentList {
    items: KVVec<Extent>,
}

/// Disk blocks a change released: `(first block, count)` runs.
pub(crate) type Released = KVVec<(u64, u64)>;

impl ExtentList {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        ExtentList {
            items: KVVec::new(),
        }
    }

    /// A list from extents as stored on disk. The caller has checked them with
    /// `format::check_extents` (sorted, non-overlapping, non-empty); `EUCLEAN` if
    /// there are too many.
    pub(crate) fn from_checked(items: KVVec<Extent>) -> Result<Self> {
        if items.len() > MAX_EXTENTS {
            return Err(crate::kapi::errno::euclean());
        }
        Ok(ExtentList { items })
    }

    /// The extents, in file order.
    pub(crate) fn as_slice(&self) -> &[Extent] {
        &self.items
    }

    /// How many extents there are.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// What file block `file_block` maps to.
    pub(crate) fn map(&self, file_block: u64) -> Mapping {
        map_block(self.items.iter().copied(), file_block)
    }

    /// Blocks mapped, over all extents.
    pub(crate) fn mapped_blocks(&self) -> u64 {
        self.items.iter().map(|e| u64::from(e.len.get())).sum()
    }

    /// One past the last file block mapped (0 if nothing is).
    pub(crate) fn end(&self) -> u64 {
        self.items.last().map_or(0, |e| e.file_end())
    }

    /// Where a new block for `file_block` should go to continue the extent before
    /// it on disk, so that the two can merge.
    pub(crate) fn goal_for(&self, file_block: u64) -> Option<u64> {
        let prev = self
            .items
            .iter()
            .rev()
            .find(|e| e.file_end() <= file_block)?;
        prev.disk_end().checked_add(file_block - prev.file_end())
    }

    /// The list with `new` added (merged with its neighbours when they continue
    /// each other on disk). `EIO` if `new` overlaps an extent (a bug), `ENOSPC`
    /// if the list would grow past [`MAX_EXTENTS`].
    pub(crate) fn with_inserted(&self, new: Extent) -> Result<Self> {
        if new.len.get() == 0 || new.file_end() > MAX_FILE_BLOCKS {
            return Err(EINVAL);
        }
        let start = u64::from(new.file_block.get());
        let at = self
            .items
            .iter()
            .position(|e| e.file_end() > start)
            .unwrap_or(self.items.len());
        let (before, after) = self.items.split_at(at);
        if after
            .first()
            .is_some_and(|next| u64::from(next.file_block.get()) < new.file_end())
        {
            return Err(EIO);
        }
        let mut middle = new;
        let mut before_len = before.len();
        if let Some(prev) = before.last() {
            if let Some(merged) = merge(prev, &middle) {
                middle = merged;
                before_len -= 1;
            }
        }
        let mut after_from = 0;
        if let Some(next) = after.first() {
            if let Some(merged) = merge(&middle, next) {
                middle = merged;
                after_from = 1;
            }
        }
        let rest = after.get(after_from..).unwrap_or(&[]);
        let count = before_len + 1 + rest.len();
        if count > MAX_EXTENTS {
            return Err(ENOSPC);
        }
        let mut items = KVVec::with_capacity(count, GFP_KERNEL)?;
        items.extend_from_slice(before.get(..before_len).unwrap_or(&[]), GFP_KERNEL)?;
        items.push(middle, GFP_KERNEL)?;
        items.extend_from_slice(rest, GFP_KERNEL)?;
        Ok(ExtentList { items })
    }

    /// The list without file blocks `first_block` and up, and the disk blocks
    /// those were.
    pub(crate) fn truncated(&self, first_block: u64) -> Result<(Self, Released)> {
        self.without(first_block, MAX_FILE_BLOCKS)
    }

    /// The list without file blocks `first .. end` (extents split around them),
    /// and the disk blocks those were. `ENOSPC` if the list would grow past
    /// [`MAX_EXTENTS`] (a hole punched inside one extent splits it in two).
    pub(crate) fn without(&self, first: u64, end: u64) -> Result<(Self, Released)> {
        let mut kept = KVVec::with_capacity(self.items.len() + 1, GFP_KERNEL)?;
        let mut released = KVVec::new();
        for e in self.items.iter() {
            let (start, stop) = (u64::from(e.file_block.get()), e.file_end());
            if stop <= first || start >= end {
                kept.push(*e, GFP_KERNEL)?;
                continue;
            }
            let (a, b) = (start.max(first), stop.min(end));
            if a > start {
                kept.push(piece(e, start, a)?, GFP_KERNEL)?;
            }
            released.push(
                (e.disk_block().saturating_add(a - start), b - a),
                GFP_KERNEL,
            )?;
            if stop > b {
                kept.push(piece(e, b, stop)?, GFP_KERNEL)?;
            }
        }
        if kept.len() > MAX_EXTENTS {
            return Err(ENOSPC);
        }
        Ok((ExtentList { items: kept }, released))
    }

    /// A copy of the list.
    pub(crate) fn try_clone(&self) -> Result<Self> {
        let mut items = KVVec::with_capacity(self.items.len(), GFP_KERNEL)?;
        items.extend_from_slice(&self.items, GFP_KERNEL)?;
        Ok(ExtentList { items })
    }
}

impl ExtentList {
    /// Whether any block of `first .. end` is unwritten.
    pub(crate) fn any_unwritten(&self, first: u64, end: u64) -> bool {
        self.items.iter().any(|e| {
            e.is_unwritten() && e.file_end() > first && u64::from(e.file_block.get()) < end
        })
    }

    /// The list with blocks `first .. end` written (unwritten pieces there split
    /// off and flipped, then merged with written neighbours). `ENOSPC` if the list
    /// would grow past [`MAX_EXTENTS`].
    pub(crate) fn with_written(&self, first: u64, end: u64) -> Result<Self> {
        self.with_state(first, end, false)
    }

    /// The list with the mapped blocks of `first .. end` unwritten if
    /// `unwritten`, else written (pieces of the other state split off and
    /// flipped, then merged with their neighbours). `ENOSPC` if the list would
    /// grow past [`MAX_EXTENTS`].
    pub(crate) fn with_state(&self, first: u64, end: u64, unwritten: bool) -> Result<Self> {
        let mut items = KVVec::with_capacity(self.items.len() + 2, GFP_KERNEL)?;
        for e in self.items.iter() {
            let (start, stop) = (u64::from(e.file_block.get()), e.file_end());
            if e.is_unwritten() == unwritten || stop <= first || start >= end {
                push_merged(&mut items, *e)?;
                continue;
            }
            let (a, b) = (start.max(first), stop.min(end));
            let old = e.is_unwritten();
            for (from, to, flag) in [(start, a, old), (a, b, unwritten), (b, stop, old)] {
                if to > from {
                    push_merged(&mut items, piece(e, from, to)?.with_unwritten(flag))?;
                }
            }
        }
        if items.len() > MAX_EXTENTS {
            return Err(ENOSPC);
        }
        Ok(ExtentList { items })
    }
}

/// File blocks `from .. to` of `e` (inside it) as an extent of their own, in
/// the same state.
fn piece(e: &Extent, from: u64, to: u64) -> Result<Extent> {
    let skip = from - u64::from(e.file_block.get());
    Ok(Extent::new(
        u32::try_from(from).map_err(|_| EINVAL)?,
        e.disk_block().saturating_add(skip),
        u32::try_from(to - from).map_err(|_| EINVAL)?,
    )
    .with_unwritten(e.is_unwritten()))
}

/// Appends `e` to `items`, merged with the last one if they continue each other.
fn push_merged(items: &mut KVVec<Extent>, e: Extent) -> Result {
    if let Some(last) = items.last_mut() {
        if let Some(merged) = merge(last, &e) {
            *last = merged;
            return Ok(());
        }
    }
    items.push(e, GFP_KERNEL)?;
    Ok(())
}

/// `a` and `b` as one extent, if `b` continues `a` in the file and on disk and
/// both are written or both unwritten.
fn merge(a: &Extent, b: &Extent) -> Option<Extent> {
    if a.file_end() != u64::from(b.file_block.get())
        || a.disk_end() != b.disk_block()
        || a.is_unwritten() != b.is_unwritten()
    {
        return None;
    }
    let len = a.len.get().checked_add(b.len.get())?;
    Some(Extent::new(a.file_block.get(), a.disk_block(), len).with_unwritten(a.is_unwritten()))
}
