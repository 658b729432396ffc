//! The DIO self-overlap classifier (fs/overlap.rs, shared with the kernel module):
//! named cases from the DIO scenarios, and a randomised comparison with a per-byte
//! brute force over small made-up address spaces.

#[path = "../fs/overlap.rs"]
#[allow(dead_code)]
mod overlap;

use overlap::{first_run, Io, Run, Vma};

const PAGE: u64 = 4096;

fn io(pos: u64, len: u64) -> Io {
    Io {
        pos,
        len,
        page: PAGE,
    }
}

/// A lookup over a fixed list of mappings.
fn space(vmas: &[Vma]) -> impl FnMut(u64) -> Option<Vma> + '_ {
    move |addr| {
        vmas.iter()
            .copied()
            .find(|v| addr >= v.start && addr < v.end)
    }
}

const BASE: u64 = 0x7f00_0000_0000;

fn self_map(pages: u64, file_off: u64) -> Vma {
    Vma {
        start: BASE,
        end: BASE + pages * PAGE,
        same_file_offset: Some(file_off),
    }
}

#[test]
fn anonymous_buffer_is_all_direct() {
    let anon = [Vma {
        start: BASE,
        end: BASE + 16 * PAGE,
        same_file_offset: None,
    }];
    assert_eq!(
        first_run(&io(0, 8 * PAGE), &[(BASE, 8 * PAGE)], space(&anon)),
        Run::Direct(8 * PAGE)
    );
}

#[test]
fn mapping_of_another_page_of_the_file_stays_direct() {
    // generic/647's case: the buffer maps page 10, the IO targets page 0.
    let m = [self_map(1, 10 * PAGE)];
    assert_eq!(
        first_run(&io(0, PAGE), &[(BASE, PAGE)], space(&m)),
        Run::Direct(PAGE)
    );
}

#[test]
fn a_page_written_onto_itself_is_self_mapped() {
    // generic/729's case: the buffer is the mapping of the very page written.
    let m = [self_map(1, 3 * PAGE)];
    assert_eq!(
        first_run(&io(3 * PAGE, PAGE), &[(BASE, PAGE)], space(&m)),
        Run::SelfMapped(PAGE)
    );
}

#[test]
fn forward_partial_overlap_starts_self_mapped() {
    // IO on pages 0..4; the buffer maps pages 2..6: its first two pages are inside.
    let m = [self_map(4, 2 * PAGE)];
    let io = io(0, 4 * PAGE);
    assert_eq!(
        first_run(&io, &[(BASE, 4 * PAGE)], space(&m)),
        Run::SelfMapped(2 * PAGE)
    );
    // After those two pages are done, the rest (mapping pages 4, 5) is direct.
    let rest = Io {
        pos: 2 * PAGE,
        len: 2 * PAGE,
        page: PAGE,
    };
    assert_eq!(
        first_run(&rest, &[(BASE + 2 * PAGE, 2 * PAGE)], space(&m)),
        Run::Direct(2 * PAGE)
    );
}

#[test]
fn backward_partial_overlap_starts_direct() {
    // IO on pages 4..8; the buffer maps pages 2..6.
    let m = [self_map(4, 2 * PAGE)];
    assert_eq!(
        first_run(&io(4 * PAGE, 4 * PAGE), &[(BASE, 4 * PAGE)], space(&m)),
        Run::Direct(2 * PAGE)
    );
}

#[test]
fn large_multi_page_overlap_is_one_run() {
    // 64 pages (and more than 1 MiB) mapped onto themselves.
    for pages in [2u64, 17, 64, 300] {
        let m = [self_map(pages, 0)];
        assert_eq!(
            first_run(&io(0, pages * PAGE), &[(BASE, pages * PAGE)], space(&m)),
            Run::SelfMapped(pages * PAGE)
        );
    }
}

#[test]
fn vectored_io_mixes_anonymous_self_and_other_file_segments() {
    let anon = Vma {
        start: 0x1000_0000,
        end: 0x1000_0000 + PAGE,
        same_file_offset: None,
    };
    let own = self_map(1, PAGE); // maps file page 1
    let other = Vma {
        start: 0x2000_0000,
        end: 0x2000_0000 + PAGE,
        same_file_offset: None,
    };
    let vmas = [anon, own, other];
    let segs = [(anon.start, PAGE), (own.start, PAGE), (other.start, PAGE)];
    let io = io(0, 3 * PAGE); // IO on pages 0..3: file page 1 is inside
    assert_eq!(first_run(&io, &segs, space(&vmas)), Run::Direct(PAGE));
    let rest = Io {
        pos: PAGE,
        len: 2 * PAGE,
        page: PAGE,
    };
    assert_eq!(
        first_run(&rest, &segs[1..], space(&vmas)),
        Run::SelfMapped(PAGE)
    );
    let last = Io {
        pos: 2 * PAGE,
        len: PAGE,
        page: PAGE,
    };
    assert_eq!(
        first_run(&last, &segs[2..], space(&vmas)),
        Run::Direct(PAGE)
    );
}

#[test]
fn unmapped_bytes_are_left_to_dio_to_fault() {
    assert_eq!(
        first_run(&io(0, PAGE), &[(BASE, PAGE)], space(&[])),
        Run::Direct(PAGE)
    );
}

#[test]
fn empty_buffer_is_an_empty_direct_run() {
    assert_eq!(first_run(&io(0, 0), &[], space(&[])), Run::Direct(0));
}

/// Deterministic xorshift, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Per byte: is it self-mapped? (the definition, computed the slow way)
fn byte_is_self_mapped(io: &Io, vmas: &[Vma], addr: u64) -> bool {
    let Some(v) = vmas.iter().find(|v| addr >= v.start && addr < v.end) else {
        return false;
    };
    let Some(off) = v.same_file_offset else {
        return false;
    };
    let page = (off + addr - v.start) / io.page;
    page >= io.pos / io.page && page < (io.pos + io.len).div_ceil(io.page)
}

#[test]
fn matches_a_per_byte_brute_force() {
    let page = 64; // small pages keep the brute force fast
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for _case in 0..3000 {
        // A few mappings over 16 pages of address space at 0x10000.
        let mut vmas = Vec::new();
        let mut a = 0x10000 + rng.below(2) * page;
        while a < 0x10000 + 16 * page {
            let len = (1 + rng.below(4)) * page;
            let same = match rng.below(3) {
                0 => None,
                _ => Some(rng.below(12) * page),
            };
            if rng.below(4) != 0 {
                vmas.push(Vma {
                    start: a,
                    end: a + len,
                    same_file_offset: same,
                });
            }
            a += len + rng.below(2) * page;
        }
        // A buffer of 1-3 segments inside that space, at any byte alignment.
        let mut segs = Vec::new();
        let mut total = 0;
        for _ in 0..1 + rng.below(3) {
            let start = 0x10000 + rng.below(14 * page);
            let len = 1 + rng.below(3 * page);
            segs.push((start, len));
            total += len;
        }
        let io = Io {
            pos: rng.below(10 * page),
            len: total,
            page,
        };
        // Expected: the first run of equal answers, by brute force.
        let bytes: Vec<bool> = segs
            .iter()
            .flat_map(|&(s, l)| (s..s + l).map(|x| byte_is_self_mapped(&io, &vmas, x)))
            .collect();
        let first = bytes[0];
        let run = bytes.iter().take_while(|&&b| b == first).count() as u64;
        let want = if first {
            Run::SelfMapped(run)
        } else {
            Run::Direct(run)
        };
        let got = first_run(&io, &segs, space(&vmas));
        assert_eq!(got, want, "io {io:?} segs {segs:?} vmas {vmas:?}");
    }
}
