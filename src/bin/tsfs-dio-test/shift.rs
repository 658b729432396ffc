//! What a file may hold after one write of `n` pages to file page `dst` from a mapping
//! of the same file at page `src`: the source may overlap the destination.
//!
//! Assumption (documented in the scenario help): the IO proceeds through the file in
//! ascending order, page by page at the finest, and each source page is read exactly
//! once, either before or after the destination page it overlaps was written.
//!
//! * `src >= dst` (exact or forward overlap): every source page is read before any
//!   write reaches it, so the result is exactly memmove: destination page `i` holds
//!   the original page `src + i`.
//! * `src < dst` (backward overlap, shift `d = dst - src`): source page `i >= d` is
//!   destination page `i - d`, which may already have been written. Both outcomes are
//!   legitimate (true DIO pins the pages it reads up front and gives memmove; a
//!   buffered fallback copies page by page and propagates the first `d` pages), so
//!   destination page `i` may hold the original page `src + i - k*d` for any
//!   `k <= i / d`: exactly the pages a sequential copy could have read there.
//!
//! Everything outside the destination stays as it was.

use crate::pattern;
use crate::sys::PAGE;

#[derive(Clone, Copy, Debug)]
pub struct Shift {
    pub src: usize,
    pub dst: usize,
    pub n: usize,
}

/// Which of the allowed results a write produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Source and destination are the same pages: nothing changed.
    Unchanged,
    /// The ranges do not overlap (or overlap forward): a plain copy.
    Copy,
    /// Backward overlap, every page as memmove (sources read before overwritten).
    Memmove,
    /// Backward overlap, every page as an ascending page-by-page copy.
    Ascending,
    /// Backward overlap, some pages each way.
    Mixed,
}

impl Outcome {
    pub fn short(self) -> &'static str {
        match self {
            Outcome::Unchanged => "unchanged",
            Outcome::Copy => "copy",
            Outcome::Memmove => "memmove",
            Outcome::Ascending => "ascending",
            Outcome::Mixed => "mixed",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Outcome::Unchanged => "contents unchanged",
            Outcome::Copy => "destination holds the source as it was",
            Outcome::Memmove => "memmove result (every source page read before it was overwritten)",
            Outcome::Ascending => {
                "ascending page-by-page copy result (overlapping source pages read after they were written)"
            }
            Outcome::Mixed => "each page a legitimate source page, some read before and some after being overwritten",
        }
    }
}

impl Shift {
    /// Original page `p` (zero-filled past the end of `orig`, as a mapping shows it).
    fn orig_page(orig: &[u8], p: usize) -> Vec<u8> {
        let mut page = vec![0u8; PAGE];
        let start = (p * PAGE).min(orig.len());
        let end = ((p + 1) * PAGE).min(orig.len());
        page[..end - start].copy_from_slice(&orig[start..end]);
        page
    }

    /// The original pages destination page `i` may hold, the memmove one first.
    fn candidates(&self, i: usize) -> Vec<usize> {
        if self.src >= self.dst {
            return vec![self.src + i];
        }
        let d = self.dst - self.src;
        (0..=i / d).map(|k| self.src + i - k * d).collect()
    }

    /// The file size after the write.
    pub fn size_after(&self, orig_len: usize) -> usize {
        orig_len.max((self.dst + self.n) * PAGE)
    }

    /// Checks `got` (the whole file after the write) against `orig` (before).
    pub fn check(&self, orig: &[u8], got: &[u8]) -> Result<Outcome, String> {
        let size = self.size_after(orig.len());
        if got.len() != size {
            return Err(format!(
                "file size is {} after the write, expected {size}",
                got.len()
            ));
        }
        let (mut memmove, mut ascending) = (true, true);
        for (q, page) in got.chunks(PAGE).enumerate() {
            let in_dst = q >= self.dst && q < self.dst + self.n;
            let allowed = if in_dst {
                self.candidates(q - self.dst)
            } else {
                vec![q]
            };
            let want: Vec<Vec<u8>> = allowed
                .iter()
                .map(|&p| {
                    let mut w = if in_dst {
                        Self::orig_page(orig, p)
                    } else {
                        Self::orig_page(orig, q)
                    };
                    w.truncate(page.len());
                    w
                })
                .collect();
            match want.iter().position(|w| w == page) {
                Some(k) if in_dst => {
                    memmove &= k == 0;
                    ascending &= k == want.len() - 1;
                }
                Some(_) => {}
                None => {
                    let expected: Vec<String> = want.iter().map(|w| pattern::describe(w)).collect();
                    let role = if in_dst {
                        format!("destination page {} of {}", q - self.dst, self.n)
                    } else {
                        "outside the destination".to_string()
                    };
                    return Err(format!(
                        "file page {q} ({role}) holds {}; expected {}",
                        pattern::describe(page),
                        if expected.len() == 1 {
                            expected[0].clone()
                        } else {
                            format!("one of [{}]", expected.join(", "))
                        }
                    ));
                }
            }
        }
        Ok(if self.src == self.dst {
            Outcome::Unchanged
        } else if self.src > self.dst || self.dst - self.src >= self.n {
            Outcome::Copy
        } else if memmove {
            Outcome::Memmove
        } else if ascending {
            Outcome::Ascending
        } else {
            Outcome::Mixed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(pages: usize) -> Vec<u8> {
        pattern::pages(5, 0, pages)
    }

    fn apply(orig: &[u8], s: Shift, sources: impl Fn(usize) -> usize) -> Vec<u8> {
        let mut v = orig.to_vec();
        v.resize(s.size_after(orig.len()), 0);
        for i in 0..s.n {
            let p = Shift::orig_page(orig, sources(i));
            v[(s.dst + i) * PAGE..(s.dst + i + 1) * PAGE].copy_from_slice(&p);
        }
        v
    }

    #[test]
    fn forward_overlap_must_be_memmove() {
        let orig = file(12);
        let s = Shift {
            src: 3,
            dst: 1,
            n: 6,
        };
        let good = apply(&orig, s, |i| 3 + i);
        assert_eq!(s.check(&orig, &good), Ok(Outcome::Copy));
        let bad = apply(&orig, s, |i| 3 + i % 2);
        assert!(s.check(&orig, &bad).is_err());
    }

    #[test]
    fn backward_overlap_allows_both_orders() {
        let orig = file(12);
        let s = Shift {
            src: 1,
            dst: 3,
            n: 6,
        };
        let mm = apply(&orig, s, |i| 1 + i);
        assert_eq!(s.check(&orig, &mm), Ok(Outcome::Memmove));
        let asc = apply(&orig, s, |i| 1 + i % 2);
        assert_eq!(s.check(&orig, &asc), Ok(Outcome::Ascending));
        let mixed = apply(&orig, s, |i| if i == 4 { 3 } else { 1 + i });
        assert_eq!(s.check(&orig, &mixed), Ok(Outcome::Mixed));
        let wrong = apply(&orig, s, |i| if i == 1 { 1 } else { 1 + i });
        assert!(s.check(&orig, &wrong).is_err());
    }

    #[test]
    fn extending_write_grows_the_file() {
        let orig = file(4);
        let s = Shift {
            src: 2,
            dst: 3,
            n: 2,
        };
        let got = apply(&orig, s, |i| 2 + i);
        assert_eq!(got.len(), 5 * PAGE);
        assert_eq!(s.check(&orig, &got), Ok(Outcome::Memmove));
        assert!(s.check(&orig, &got[..4 * PAGE]).is_err());
    }
}
