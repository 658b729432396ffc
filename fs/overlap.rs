// SPDX-License-Identifier: GPL-2.0

//! Which part of a direct IO's user buffer is a mapping of the very file range the
//! IO transfers.
//!
//! Plain Rust with no kernel dependencies: the DIO path (fs/dio.rs) calls it with
//! the buffer's segments and a VMA lookup done under the mmap lock; the host tests
//! (tests/dio_overlap.rs) call it with made-up address spaces.
//!
//! Why it matters: a DIO invalidates the page cache of the range it transfers. If
//! the buffer's pages *are* that page cache (an mmap of the same file over the same
//! range), each fault-in-and-retry brings back pages the retry then invalidates:
//! a livelock. Those bytes must go through buffered IO instead. Bytes whose pages
//! map other files, other ranges of this file, or anonymous memory stay true DIO.

/// A mapping found at a user address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vma {
    /// First user address of the mapping.
    pub start: u64,
    /// One past its last user address.
    pub end: u64,
    /// File offset mapped at `start` (`vm_pgoff * PAGE_SIZE`), if it maps the file
    /// the IO is on; `None` for anonymous memory or another file.
    pub same_file_offset: Option<u64>,
}

/// What the next run of the remaining buffer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    /// `len` bytes that may go as true DIO.
    Direct(u64),
    /// `len` bytes whose pages map the IO's own page range: do them buffered.
    SelfMapped(u64),
}

/// The IO: file range `[pos, pos + len)` with `page`-sized pages.
#[derive(Clone, Copy, Debug)]
pub struct Io {
    /// File position of the buffer's first remaining byte.
    pub pos: u64,
    /// Bytes remaining.
    pub len: u64,
    /// Page size (a power of two).
    pub page: u64,
}

impl Io {
    /// Whether file page `index` is in the pages this IO invalidates.
    fn covers_page(&self, index: u64) -> bool {
        let first = self.pos / self.page;
        let last = (self.pos + self.len).div_ceil(self.page);
        index >= first && index < last
    }
}

/// Whether the byte at user address `addr` is self-mapped, and how many following
/// bytes (up to `max`) share that answer within the same page and mapping.
fn classify_at(io: &Io, addr: u64, max: u64, vma: Option<Vma>) -> (bool, u64) {
    let page_end = (addr / io.page + 1) * io.page;
    let mut n = max.min(page_end - addr);
    let Some(v) = vma.filter(|v| addr >= v.start && addr < v.end) else {
        // Unmapped: not self-mapped; the DIO will report EFAULT for it.
        return (false, n);
    };
    n = n.min(v.end - addr);
    let Some(off) = v.same_file_offset else {
        return (false, n);
    };
    let file_page = (off + (addr - v.start)) / io.page;
    (io.covers_page(file_page), n)
}

/// The first run of the remaining buffer: `segments` are its user address ranges in
/// order (address, length), `lookup` finds the mapping at an address. The run ends
/// where the answer changes or the buffer ends; a zero-length buffer gives
/// `Direct(0)`.
pub fn first_run(
    io: &Io,
    segments: &[(u64, u64)],
    mut lookup: impl FnMut(u64) -> Option<Vma>,
) -> Run {
    let mut kind: Option<bool> = None;
    let mut total = 0u64;
    let mut cached: Option<Vma> = None;
    'segments: for &(base, seg_len) in segments {
        let mut done = 0u64;
        while done < seg_len && total < io.len {
            let addr = base + done;
            if !cached.is_some_and(|v| addr >= v.start && addr < v.end) {
                cached = lookup(addr);
            }
            let (self_mapped, n) =
                classify_at(io, addr, (seg_len - done).min(io.len - total), cached);
            match kind {
                None => kind = Some(self_mapped),
                Some(k) if k != self_mapped => break 'segments,
                Some(_) => {}
            }
            done += n;
            total += n;
        }
        if total >= io.len {
            break;
        }
    }
    match kind {
        Some(true) => Run::SelfMapped(total),
        _ => Run::Direct(total),
    }
}
