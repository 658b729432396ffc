//! Page patterns that say where they belong. Every 8-byte word of page `page` written
//! with `seed` is `seed << 48 | page << 16 | 0xA000 | word index`, so a page that
//! lands in the wrong place, a stale page and a torn page are each told apart.

use crate::sys::PAGE;

const WORDS: usize = PAGE / 8;
const MARK: u64 = 0xA000;

fn word(seed: u16, page: u32, idx: usize) -> u64 {
    (u64::from(seed) << 48) | (u64::from(page) << 16) | MARK | idx as u64
}

/// Fills `buf` (whole pages) with `seed`'s pattern, its first page numbered `first`.
pub fn fill(buf: &mut [u8], seed: u16, first: u32) {
    assert!(buf.len() % PAGE == 0, "pattern buffers are whole pages");
    for (p, page) in buf.chunks_exact_mut(PAGE).enumerate() {
        for (i, w) in page.chunks_exact_mut(8).enumerate() {
            w.copy_from_slice(&word(seed, first + p as u32, i).to_le_bytes());
        }
    }
}

/// `n` pages of `seed`'s pattern numbered from `first`.
pub fn pages(seed: u16, first: u32, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n * PAGE];
    fill(&mut v, seed, first);
    v
}

/// What a page holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Pattern { seed: u16, page: u32 },
    Zeros,
    Other,
}

fn first_word(page: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&page[..8]);
    u64::from_le_bytes(w)
}

/// Identifies a whole page.
pub fn kind(page: &[u8]) -> Kind {
    if page.iter().all(|&b| b == 0) {
        return Kind::Zeros;
    }
    if page.len() != PAGE {
        return Kind::Other;
    }
    let w = first_word(page);
    if w & 0xffff != MARK {
        return Kind::Other;
    }
    let (seed, pg) = ((w >> 48) as u16, (w >> 16) as u32);
    let whole = page
        .chunks_exact(8)
        .take(WORDS)
        .enumerate()
        .all(|(i, c)| c == word(seed, pg, i).to_le_bytes());
    if whole {
        Kind::Pattern { seed, page: pg }
    } else {
        Kind::Other
    }
}

/// A human description of a page: "seed 7 page 3", "zeros", or what it starts like.
pub fn describe(page: &[u8]) -> String {
    match kind(page) {
        Kind::Pattern { seed, page } => format!("pattern seed {seed} page {page}"),
        Kind::Zeros => "zeros".to_string(),
        Kind::Other => {
            let w = first_word(page);
            let torn = page.chunks_exact(8).position(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                u64::from_le_bytes(b) >> 16 != w >> 16
            });
            if w & 0xfe00 == MARK {
                let at = torn.map_or(String::new(), |i| format!(", changes at byte {}", i * 8));
                format!(
                    "mixed data starting as seed {} page {}{at}",
                    w >> 48,
                    (w >> 16) as u32
                )
            } else {
                format!("unrecognised data starting {w:#018x}")
            }
        }
    }
}

/// Compares `got` with `want` (both views of the file from byte `base`), naming the
/// first differing page and byte and how many pages differ.
pub fn compare(what: &str, got: &[u8], want: &[u8], base: u64) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "{what}: got {} bytes, expected {}",
            got.len(),
            want.len()
        ));
    }
    let mut bad = got
        .chunks(PAGE)
        .zip(want.chunks(PAGE))
        .enumerate()
        .filter(|(_, (g, w))| g != w);
    let Some((i, (g, w))) = bad.next() else {
        return Ok(());
    };
    let more = bad.count();
    let byte = g.iter().zip(w).position(|(a, b)| a != b).unwrap_or(0);
    let off = base + (i * PAGE) as u64;
    Err(format!(
        "{what}: {} of {} pages differ; first at file offset {off} (page {}): expected {}, got {}; \
         first differing byte at offset {}: expected {:#04x}, got {:#04x}",
        more + 1,
        got.len().div_ceil(PAGE),
        off / PAGE as u64,
        describe(w),
        describe(g),
        off + byte as u64,
        w[byte],
        g[byte]
    ))
}

/// Checks, word by word, that `buf` (file bytes from `base`, a multiple of 8) holds
/// only zeros and words of the pattern of one of `seeds` at their own place: what a
/// file that several writers and truncations race on may hold. A torn page passes;
/// a misplaced, stale or foreign word does not.
pub fn check_words(buf: &[u8], base: u64, seeds: &[u16]) -> Result<(), String> {
    for (i, c) in buf.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        let w = u64::from_le_bytes(b);
        let at = base + i as u64 * 8;
        let page = (at / PAGE as u64) as u32;
        let idx = (at as usize % PAGE) / 8;
        if w != 0 && !seeds.iter().any(|&s| w == word(s, page, idx)) {
            return Err(format!(
                "byte {at} (page {page}) holds {w:#018x}: neither zeros nor this page's pattern \
                 of any seed written"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_identify_themselves() {
        let v = pages(7, 3, 2);
        assert_eq!(kind(&v[..PAGE]), Kind::Pattern { seed: 7, page: 3 });
        assert_eq!(kind(&v[PAGE..]), Kind::Pattern { seed: 7, page: 4 });
        assert_eq!(kind(&[0u8; PAGE]), Kind::Zeros);
        let mut torn = v[..PAGE].to_vec();
        torn[2048..].copy_from_slice(&pages(8, 3, 1)[2048..]);
        assert_eq!(kind(&torn), Kind::Other);
        assert!(describe(&torn).contains("changes at byte 2048"));
    }

    #[test]
    fn compare_names_the_first_bad_page() {
        let a = pages(1, 0, 4);
        let mut b = a.clone();
        b[2 * PAGE..3 * PAGE].copy_from_slice(&pages(1, 9, 1));
        let e = compare("x", &b, &a, 0).unwrap_err();
        assert!(e.contains("page 2"), "{e}");
        assert!(e.contains("got pattern seed 1 page 9"), "{e}");
        assert!(compare("x", &a, &a, 0).is_ok());
    }

    #[test]
    fn check_words_allows_zeros_and_torn_pages_but_not_misplaced_words() {
        let mut torn = pages(3, 5, 1);
        torn[..8].copy_from_slice(&pages(4, 5, 1)[..8]);
        torn[8..16].fill(0);
        assert!(check_words(&torn, 5 * PAGE as u64, &[3, 4]).is_ok());
        let e = check_words(&pages(3, 6, 1), 5 * PAGE as u64, &[3]).unwrap_err();
        assert!(e.contains("page 5"), "{e}");
        assert!(check_words(&pages(9, 5, 1), 5 * PAGE as u64, &[3, 4]).is_err());
    }
}
