//! fsck.tsfs repairs each kind of damage it has a repair for: `-n` reports it
//! (exit 4) and leaves the image byte for byte as it was, `-y` repairs it
//! (exit 1), `-n` then finds the image clean (exit 0), and every file the
//! damage did not touch reads back byte for byte. Then `-p` (preen).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{
    flip_byte, fragmented_file, index_of, rewrite_index, run, sample, Sample, TempImage, FSCK,
};
use tsfs::format::{
    decode_dirent, Extent, Inode, Le32, Le64, DIRENT_SIZE, FT_REG, ROOT_INO, STATE_DIRTY, S_IFREG,
};
use tsfs::image::{now, Image};

/// The regular files of the sample image.
fn files(s: &Sample) -> [u32; 4] {
    [s.a, s.b, s.c, s.sparse]
}

/// Every sample file's contents, by inode.
fn contents(path: &Path, s: &Sample) -> BTreeMap<u32, Vec<u8>> {
    let image = Image::open(path).unwrap();
    files(s)
        .into_iter()
        .map(|ino| (ino, image.read_file(ino).unwrap()))
        .collect()
}

/// Asserts that some line of `text` contains every one of `needles`.
fn assert_line(text: &str, needles: &[&str]) {
    let hit = text
        .lines()
        .any(|line| needles.iter().all(|n| line.contains(n)));
    assert!(hit, "no line with {needles:?} in fsck output:\n{text}");
}

/// What a damage did: fsck must report a line with all of `finds`; `touched`
/// files may read differently afterwards.
struct Damage {
    finds: Vec<String>,
    touched: Vec<u32>,
}

impl Damage {
    fn new(finds: &[&str]) -> Self {
        Self {
            finds: finds.iter().map(|s| s.to_string()).collect(),
            touched: Vec::new(),
        }
    }

    fn touching(mut self, ino: u32) -> Self {
        self.touched.push(ino);
        self
    }
}

/// Damages a fresh sample image with `damage`, then: `-n` reports the damage
/// with exit 4 and changes no byte; `-y` fixes it with exit 1; `-n` exits 0;
/// untouched files read as before. Returns the image, for more checks, with
/// the files' contents from before the damage.
fn repair_cycle(
    tag: &str,
    damage: impl FnOnce(&mut Image, &Sample) -> Damage,
) -> (TempImage, Sample, BTreeMap<u32, Vec<u8>>) {
    let (img, s) = sample(tag);
    let before = contents(&img.path, &s);
    let d = damage(&mut Image::open(&img.path).unwrap(), &s);
    let finds: Vec<&str> = d.finds.iter().map(String::as_str).collect();

    let bytes = std::fs::read(&img.path).unwrap();
    let (code, text) = run(FSCK, &["-n"], &img.path);
    println!("fsck -n:\n{text}");
    assert_eq!(code, 4, "-n finds the damage:\n{text}");
    assert_line(&text, &finds);
    assert_line(&text, &["can be repaired with -y"]);
    assert!(
        std::fs::read(&img.path).unwrap() == bytes,
        "-n changed the image"
    );

    let (code, text) = run(FSCK, &["-y"], &img.path);
    println!("fsck -y:\n{text}");
    assert_eq!(code, 1, "-y repairs everything:\n{text}");
    assert_line(&text, &[&finds[..], &[": fixed"]].concat());
    assert_line(&text, &["problem(s) fixed, clean"]);

    let (code, text) = run(FSCK, &["-n"], &img.path);
    assert_eq!(code, 0, "clean after -y:\n{text}");

    let after = contents(&img.path, &s);
    for ino in files(&s).into_iter().filter(|i| !d.touched.contains(i)) {
        assert!(before[&ino] == after[&ino], "inode {ino} changed");
    }
    (img, s, before)
}

fn first_block(image: &Image, ino: u32) -> u64 {
    image.read_inode(ino).unwrap().extents[0].disk_block()
}

fn edit_inode(image: &Image, ino: u32, change: impl FnOnce(&mut Inode)) {
    let mut inode = image.read_inode(ino).unwrap();
    change(&mut inode);
    image.write_inode(ino, &inode).unwrap();
}

fn free_inode(image: &Image) -> u32 {
    (2..image.geometry().inode_count)
        .find(|&i| !image.inode_in_use(i))
        .unwrap()
}

#[test]
fn leaked_block_is_freed() {
    let mut leaked = 0;
    let (img, _, _) = repair_cycle("r-leak", |image, _| {
        leaked = image.geometry().total_blocks - 3;
        image.set_block_in_use(leaked, true);
        image.flush().unwrap();
        Damage::new(&[&format!("block {leaked} marked in use"), "leaked"])
    });
    assert!(!Image::open(&img.path).unwrap().block_in_use(leaked));
}

#[test]
fn used_block_marked_free_is_marked_used() {
    let mut block = 0;
    let (img, _, _) = repair_cycle("r-usedfree", |image, s| {
        // The middle block of a three-block extent: every block is checked.
        block = first_block(image, s.a) + 1;
        image.set_block_in_use(block, false);
        image.flush().unwrap();
        Damage::new(&[&format!("block {block} in use but marked free")])
    });
    assert!(Image::open(&img.path).unwrap().block_in_use(block));
}

#[test]
fn empty_inode_marked_in_use_is_freed() {
    let mut ino = 0;
    let (img, _, _) = repair_cycle("r-emptyino", |image, _| {
        ino = free_inode(image);
        image.set_inode_in_use(ino, true);
        image.flush().unwrap();
        Damage::new(&[&format!("inode {ino}: marked in use but its slot is empty")])
    });
    assert!(!Image::open(&img.path).unwrap().inode_in_use(ino));
}

#[test]
fn orphan_inode_and_its_blocks_are_freed() {
    let (mut ino, mut disk) = (0, 0);
    let (img, _, _) = repair_cycle("r-orphan", |image, _| {
        // A file unlinked while open, as a crash leaves it: link count 0,
        // named by no entry, still holding blocks.
        ino = image.alloc_inode().unwrap();
        let (start, len) = image.alloc_blocks(2).unwrap();
        assert_eq!(len, 2);
        disk = start;
        let mut inode = Inode::new(S_IFREG | 0o600, 0, 0, 0, now());
        inode.size = Le64::new(8000);
        image
            .set_extents(ino, &mut inode, &[Extent::new(0, disk, 2)])
            .unwrap();
        image.write_inode(ino, &inode).unwrap();
        image.flush().unwrap();
        Damage::new(&[
            &format!("inode {ino} (file) is in use but not reachable"),
            "link count is 0",
        ])
    });
    let image = Image::open(&img.path).unwrap();
    assert!(!image.inode_in_use(ino));
    assert!(!image.block_in_use(disk) && !image.block_in_use(disk + 1));
}

#[test]
fn unnamed_empty_inode_is_freed() {
    let mut ino = 0;
    let (img, _, _) = repair_cycle("r-unnamed", |image, _| {
        ino = image.alloc_inode().unwrap();
        let inode = Inode::new(S_IFREG | 0o600, 0, 0, 1, now());
        image.write_inode(ino, &inode).unwrap();
        image.flush().unwrap();
        Damage::new(&[
            &format!("inode {ino} (file) is in use but not reachable"),
            "it is empty",
        ])
    });
    assert!(!Image::open(&img.path).unwrap().inode_in_use(ino));
}

#[test]
fn wrong_free_block_count_is_rewritten() {
    repair_cycle("r-freeblocks", |image, _| {
        let mut sb = *image.superblock();
        let right = sb.free_blocks.get();
        sb.free_blocks = Le64::new(right - 5);
        sb.update_checksum();
        image.write_superblock_raw(&sb).unwrap();
        Damage::new(&[&format!(
            "free block count is {}, the block bitmap has {right} free",
            right - 5
        )])
    });
}

#[test]
fn wrong_free_inode_count_is_rewritten() {
    repair_cycle("r-freeinodes", |image, _| {
        let mut sb = *image.superblock();
        let right = sb.free_inodes.get();
        sb.free_inodes = Le32::new(right + 1);
        sb.update_checksum();
        image.write_superblock_raw(&sb).unwrap();
        Damage::new(&[&format!(
            "free inode count is {}, the inode bitmap has {right} free",
            right + 1
        )])
    });
}

/// A bit flipped in the super block's free block count, its checksum left.
fn flip_superblock_bit(image: &mut Image, _: &Sample) -> Damage {
    let mut sb = *image.superblock();
    sb.free_blocks = Le64::new(sb.free_blocks.get() ^ 4);
    image.write_superblock_raw(&sb).unwrap();
    Damage::new(&["super block checksum mismatch"])
}

#[test]
fn superblock_checksum_is_rewritten_by_yes_only() {
    repair_cycle("r-sbsum", flip_superblock_bit);
    let (img, s) = sample("r-sbsum-preen");
    flip_superblock_bit(&mut Image::open(&img.path).unwrap(), &s);
    let bytes = std::fs::read(&img.path).unwrap();
    let (code, text) = run(FSCK, &["-p"], &img.path);
    assert_eq!(code, 4, "{text}");
    assert_line(&text, &["UNEXPECTED INCONSISTENCY"]);
    assert!(std::fs::read(&img.path).unwrap() == bytes);
}

#[test]
fn wrong_file_link_count_is_set() {
    let (img, s, _) = repair_cycle("r-nlink", |image, s| {
        edit_inode(image, s.b, |i| i.nlink = Le32::new(3));
        edit_inode(image, s.a, |i| i.nlink = Le32::new(0)); // named twice
        Damage::new(&[&format!(
            "inode {}: link count is 0, but 2 directory entries",
            s.a
        )])
    });
    let image = Image::open(&img.path).unwrap();
    assert_eq!(image.read_inode(s.a).unwrap().nlink.get(), 2);
    assert_eq!(image.read_inode(s.b).unwrap().nlink.get(), 1);
}

#[test]
fn wrong_directory_link_count_is_set() {
    let (img, s, _) = repair_cycle("r-dirnlink", |image, s| {
        edit_inode(image, s.dir, |i| i.nlink = Le32::new(7));
        Damage::new(&[&format!("directory {}: link count is 7, expected 3", s.dir)])
    });
    let image = Image::open(&img.path).unwrap();
    assert_eq!(image.read_inode(s.dir).unwrap().nlink.get(), 3);
}

#[test]
fn wrong_block_count_is_set() {
    let (img, s, _) = repair_cycle("r-blocks", |image, s| {
        edit_inode(image, s.c, |i| i.blocks = Le64::new(9));
        Damage::new(&[&format!(
            "inode {}: block count is 9, its extents and extent blocks hold 2",
            s.c
        )])
    });
    let image = Image::open(&img.path).unwrap();
    assert_eq!(image.read_inode(s.c).unwrap().blocks.get(), 2);
}

#[test]
fn block_mapped_past_eof_inside_an_extent_is_unmapped() {
    let mut past = 0;
    let (img, s, before) = repair_cycle("r-pasteof", |image, s| {
        // /a is one extent of 3 blocks; a size of 4097 bytes needs 2, so the
        // extent's last block (not its start) lies past the end of file.
        edit_inode(image, s.a, |i| i.size = Le64::new(4097));
        past = first_block(image, s.a) + 2;
        Damage::new(&[&format!(
            "inode {}: 1 block(s) mapped past end of file (size 4097), from file block 2",
            s.a
        )])
        .touching(s.a)
    });
    let image = Image::open(&img.path).unwrap();
    assert_eq!(image.read_file(s.a).unwrap(), before[&s.a][..4097]);
    let inode = image.read_inode(s.a).unwrap();
    assert_eq!(inode.extents[0].len.get(), 2);
    assert_eq!(inode.blocks.get(), 2);
    assert!(!image.block_in_use(past), "the unmapped block is freed");
}

#[test]
fn extents_wholly_past_eof_are_unmapped() {
    let (img, s, before) = repair_cycle("r-eof", |image, s| {
        // 15 of /sparse's 20 one-block extents lie past 10 blocks.
        edit_inode(image, s.sparse, |i| i.size = Le64::new(10 * 4096));
        Damage::new(&[&format!(
            "inode {}: 15 block(s) mapped past end of file (size 40960), from file block 10",
            s.sparse
        )])
        .touching(s.sparse)
    });
    let image = Image::open(&img.path).unwrap();
    assert_eq!(
        image.read_file(s.sparse).unwrap(),
        before[&s.sparse][..40960]
    );
    let inode = image.read_inode(s.sparse).unwrap();
    assert_eq!(inode.overflow_block.get(), 0, "5 extents fit inline");
    assert_eq!(inode.blocks.get(), 5);
}

#[test]
fn entry_naming_a_free_inode_is_removed() {
    let (img, _, _) = repair_cycle("r-freeino", |image, _| {
        let free = free_inode(image);
        image.add_dirent(ROOT_INO, "ghost", free, FT_REG).unwrap();
        Damage::new(&[&format!("entry \"ghost\" points to free inode {free}")])
    });
    let image = Image::open(&img.path).unwrap();
    assert_eq!(image.lookup(ROOT_INO, "ghost").unwrap(), None);
    assert!(image.lookup(ROOT_INO, "a").unwrap().is_some());
}

#[test]
fn entry_naming_an_inode_past_the_last_is_removed() {
    let (img, s, _) = repair_cycle("r-pastino", |image, s| {
        let past = image.geometry().inode_count + 5;
        image.add_dirent(s.dir, "far", past, FT_REG).unwrap();
        Damage::new(&[&format!(
            "entry \"far\" points to inode {past}, past the last"
        )])
    });
    let image = Image::open(&img.path).unwrap();
    assert_eq!(image.lookup(s.dir, "far").unwrap(), None);
    assert_eq!(image.read_dir(s.dir).unwrap().len(), 3);
}

/// Makes a file of `data` in no directory, with link count 1: lost.
fn lost_file(image: &mut Image, data: &[u8]) -> u32 {
    let ino = image.alloc_inode().unwrap();
    let (disk, len) = image.alloc_blocks(1).unwrap();
    assert_eq!(len, 1);
    let mut block = data.to_vec();
    block.resize(4096, 0);
    image.device().write_blocks(disk, &block).unwrap();
    let mut inode = Inode::new(S_IFREG | 0o640, 0, 0, 1, now());
    inode.size = Le64::new(data.len() as u64);
    image
        .set_extents(ino, &mut inode, &[Extent::new(0, disk, 1)])
        .unwrap();
    image.write_inode(ino, &inode).unwrap();
    image.flush().unwrap();
    ino
}

/// Clears the slot naming `name` in `dir`, touching no link count.
fn clear_entry(image: &Image, dir: u32, name: &str) {
    let inode = image.read_inode(dir).unwrap();
    for e in image.extents(dir, &inode).unwrap() {
        for block in e.disk_block()..e.disk_end() {
            let mut data = image.device().read_block(block).unwrap();
            for slot in data.chunks_exact_mut(DIRENT_SIZE) {
                if decode_dirent(slot)
                    .unwrap()
                    .is_some_and(|d| d.name == name.as_bytes())
                {
                    slot.fill(0);
                }
            }
            image.device().write_blocks(block, &data).unwrap();
        }
    }
}

#[test]
fn lost_file_is_reconnected_into_lost_found() {
    let mut ino = 0;
    let (img, _, _) = repair_cycle("r-lost", |image, _| {
        ino = lost_file(image, b"still here");
        Damage::new(&[&format!("inode {ino} (file) is in use but not reachable")])
    });
    let image = Image::open(&img.path).unwrap();
    let lost = image.lookup(ROOT_INO, "lost+found").unwrap().unwrap();
    assert_eq!(image.lookup(lost, &format!("#{ino}")).unwrap(), Some(ino));
    assert_eq!(image.read_file(ino).unwrap(), b"still here");
}

#[test]
fn lost_directory_is_reconnected_with_its_tree() {
    let (mut dir, mut inner) = (0, 0);
    let (img, _, _) = repair_cycle("r-lostdir", |image, _| {
        dir = image.mkdir(ROOT_INO, "gone").unwrap();
        inner = image.create_file(dir, "inner", &[9; 6000]).unwrap();
        image.flush().unwrap();
        clear_entry(image, ROOT_INO, "gone");
        edit_inode(image, ROOT_INO, |i| i.nlink = Le32::new(i.nlink.get() - 1));
        Damage::new(&[&format!(
            "inode {dir} (directory) is in use but not reachable"
        )])
    });
    let image = Image::open(&img.path).unwrap();
    let lost = image.lookup(ROOT_INO, "lost+found").unwrap().unwrap();
    assert_eq!(image.lookup(lost, &format!("#{dir}")).unwrap(), Some(dir));
    assert_eq!(image.read_inode(dir).unwrap().parent.get(), lost);
    assert_eq!(image.lookup(dir, "inner").unwrap(), Some(inner));
    assert_eq!(image.read_file(inner).unwrap(), vec![9; 6000]);
}

#[test]
fn several_kinds_at_once_are_all_repaired() {
    repair_cycle("r-many", |image, s| {
        let free = free_inode(image);
        image.add_dirent(s.dir, "ghost", free, FT_REG).unwrap();
        edit_inode(image, s.c, |i| i.nlink = Le32::new(4));
        edit_inode(image, s.sparse, |i| i.size = Le64::new(3 * 4096));
        let leaked = image.geometry().total_blocks - 1;
        image.set_block_in_use(leaked, true);
        image.flush().unwrap();
        Damage::new(&["points to free inode"]).touching(s.sparse)
    });
}

#[test]
fn yes_on_a_clean_image_writes_nothing() {
    let (img, _) = sample("r-clean");
    let bytes = std::fs::read(&img.path).unwrap();
    let (code, text) = run(FSCK, &["-y"], &img.path);
    assert_eq!(code, 0, "{text}");
    assert!(std::fs::read(&img.path).unwrap() == bytes);
}

#[test]
fn yes_marks_a_clean_but_unclean_unmounted_image_clean() {
    let (img, _) = sample("r-dirty");
    let image = Image::open(&img.path).unwrap();
    let mut sb = *image.superblock();
    sb.state = Le32::new(STATE_DIRTY);
    sb.free_blocks = Le64::new(0); // stale, as the kernel leaves it
    sb.update_checksum();
    image.write_superblock_raw(&sb).unwrap();
    let bytes = std::fs::read(&img.path).unwrap();
    let (code, text) = run(FSCK, &["-n", "-v"], &img.path);
    assert_eq!(code, 0, "{text}");
    assert_line(&text, &["not cleanly unmounted"]);
    assert!(std::fs::read(&img.path).unwrap() == bytes);
    let (code, text) = run(FSCK, &["-y"], &img.path);
    assert_eq!(code, 0, "not an error, so nothing corrected: {text}");
    assert_line(&text, &["marked clean"]);
    let (code, text) = run(FSCK, &["-n", "-v"], &img.path);
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("not cleanly"), "{text}");
}

#[test]
fn preen_repairs_when_every_problem_is_safe() {
    let (img, s) = sample("r-preen");
    let before = contents(&img.path, &s);
    let mut image = Image::open(&img.path).unwrap();
    edit_inode(&image, s.b, |i| i.nlink = Le32::new(5));
    let free = free_inode(&image);
    image.add_dirent(ROOT_INO, "ghost", free, FT_REG).unwrap();
    let (code, text) = run(FSCK, &["-p"], &img.path);
    assert_eq!(code, 1, "{text}");
    assert_line(&text, &["link count is 5", ": fixed"]);
    assert_line(&text, &["\"ghost\"", ": fixed"]);
    let (code, text) = run(FSCK, &["-n"], &img.path);
    assert_eq!(code, 0, "{text}");
    assert!(contents(&img.path, &s) == before);
}

#[test]
fn preen_changes_nothing_when_a_problem_has_no_safe_repair() {
    let (img, s) = sample("r-preenhalt");
    let mut image = Image::open(&img.path).unwrap();
    let free = free_inode(&image);
    image.add_dirent(ROOT_INO, "ghost", free, FT_REG).unwrap();
    let mut inode = image.read_inode(s.c).unwrap();
    inode.uid = Le32::new(1234); // checksum not updated: no safe repair
    image.write_inode_raw(s.c, &inode).unwrap();
    let bytes = std::fs::read(&img.path).unwrap();

    let (code, text) = run(FSCK, &["-a"], &img.path);
    assert_eq!(code, 4, "{text}");
    assert_line(&text, &["UNEXPECTED INCONSISTENCY"]);
    assert!(
        std::fs::read(&img.path).unwrap() == bytes,
        "preen wrote to an image it could not fully repair"
    );

    // -y repairs what it can and leaves the rest: 1 + 4.
    let (code, text) = run(FSCK, &["-y"], &img.path);
    assert_eq!(code, 5, "{text}");
    assert_line(&text, &["\"ghost\"", ": fixed"]);
    assert_line(&text, &[&format!("inode {}: checksum mismatch", s.c)]);
    let (code, text) = run(FSCK, &["-n"], &img.path);
    assert_eq!(code, 4, "{text}");
    assert!(!text.contains("ghost"), "{text}");
}

#[test]
fn preen_leaves_reconnecting_a_lost_file_to_yes() {
    let (img, _) = sample("r-preenlost");
    let ino = lost_file(&mut Image::open(&img.path).unwrap(), b"data");
    let bytes = std::fs::read(&img.path).unwrap();
    let (code, text) = run(FSCK, &["-p"], &img.path);
    assert_eq!(code, 4, "{text}");
    assert_line(&text, &[&format!("inode {ino} (file)"), "not reachable"]);
    assert_line(&text, &["UNEXPECTED INCONSISTENCY"]);
    assert!(std::fs::read(&img.path).unwrap() == bytes);
}

#[test]
fn nothing_is_freed_while_an_inode_cannot_be_read() {
    let (img, s) = sample("r-cautious");
    let mut image = Image::open(&img.path).unwrap();
    let leaked = image.geometry().total_blocks - 2;
    image.set_block_in_use(leaked, true);
    image.flush().unwrap();
    let orphan = lost_file(&mut image, b"x");
    edit_inode(&image, orphan, |i| i.nlink = Le32::new(0));
    // /dir's checksum fails: it might name the orphan, or own the block.
    let mut dir = image.read_inode(s.dir).unwrap();
    dir.uid = Le32::new(77);
    image.write_inode_raw(s.dir, &dir).unwrap();

    let (code, text) = run(FSCK, &["-y"], &img.path);
    assert_eq!(code, 4, "{text}");
    assert_line(&text, &[&format!("block {leaked} marked in use"), "leaked"]);
    assert_line(
        &text,
        &[&format!("inode {orphan} (file)"), "link count is 0"],
    );
    let image = Image::open(&img.path).unwrap();
    assert!(image.block_in_use(leaked));
    assert!(image.inode_in_use(orphan));
}

#[test]
fn orphaned_tmpfile_with_preallocation_is_freed() {
    let (mut ino, mut disk) = (0, 0);
    let (img, _, _) = repair_cycle("r-tmpfile", |image, _| {
        // An O_TMPFILE file as a crash leaves it: link count 0, named by no
        // entry, one written block and two preallocated past its end.
        ino = image.alloc_inode().unwrap();
        let (start, len) = image.alloc_blocks(3).unwrap();
        assert_eq!(len, 3);
        disk = start;
        let mut inode = Inode::new(S_IFREG | 0o600, 0, 0, 0, now());
        inode.size = Le64::new(100);
        let extents = [
            Extent::new(0, disk, 1),
            Extent::new(1, disk + 1, 2).with_unwritten(true),
        ];
        image.set_extents(ino, &mut inode, &extents).unwrap();
        image.write_inode(ino, &inode).unwrap();
        image.flush().unwrap();
        Damage::new(&[
            &format!("inode {ino} (file) is in use but not reachable"),
            "link count is 0",
        ])
    });
    let image = Image::open(&img.path).unwrap();
    assert!(!image.inode_in_use(ino));
    assert!((disk..disk + 3).all(|b| !image.block_in_use(b)));
}

#[test]
fn written_block_past_eof_among_preallocated_ones_is_unmapped() {
    let (img, s, before) = repair_cycle("r-prealloc", |image, s| {
        // /sparse maps even blocks 0 .. 38; 12 and up become unwritten, block
        // 10 stays written past a size of 10 blocks.
        let mut inode = image.read_inode(s.sparse).unwrap();
        let extents: Vec<Extent> = image
            .extents(s.sparse, &inode)
            .unwrap()
            .into_iter()
            .map(|e| e.with_unwritten(e.file_block.get() >= 12))
            .collect();
        image.set_extents(s.sparse, &mut inode, &extents).unwrap();
        inode.size = Le64::new(10 * 4096);
        image.write_inode(s.sparse, &inode).unwrap();
        image.flush().unwrap();
        Damage::new(&[&format!(
            "inode {}: 1 block(s) mapped past end of file (size 40960), from file block 10",
            s.sparse
        )])
        .touching(s.sparse)
    });
    let image = Image::open(&img.path).unwrap();
    assert_eq!(
        image.read_file(s.sparse).unwrap(),
        before[&s.sparse][..40960]
    );
}

/// A file made by [`fragmented_file`] and its contents then.
struct Fragmented {
    ino: u32,
    data: Vec<u8>,
}

/// Adds `/name`, a file of `extents` one-block extents, to the image.
fn fragmented(image: &mut Image, name: &str, extents: u32) -> Fragmented {
    let (ino, data) = fragmented_file(image, name, extents);
    Fragmented { ino, data }
}

/// The disk blocks that inode `ino`'s extents map.
fn mapped_blocks(image: &Image, ino: u32) -> Vec<u64> {
    let inode = image.read_inode(ino).unwrap();
    let extents = image.extents(ino, &inode).unwrap();
    extents
        .iter()
        .flat_map(|e| e.disk_block()..e.disk_end())
        .collect()
}

/// Asserts that `f` reads as it did, except file blocks `lost` (holes now),
/// and that every block it uses is marked in use.
fn assert_reads_as_before_but(image: &Image, f: &Fragmented, lost: std::ops::Range<usize>) {
    let mut want = f.data.clone();
    want[lost.start * 4096..(lost.end * 4096).min(f.data.len())].fill(0);
    assert!(image.read_file(f.ino).unwrap() == want, "inode {}", f.ino);
    assert_blocks_in_use(image, f.ino);
}

/// Asserts that inode `ino`'s data and extent blocks are marked in use.
fn assert_blocks_in_use(image: &Image, ino: u32) {
    let inode = image.read_inode(ino).unwrap();
    let mut blocks = mapped_blocks(image, ino);
    blocks.extend(image.extent_blocks(ino, &inode).unwrap().all());
    assert!(blocks.iter().all(|&b| image.block_in_use(b)), "inode {ino}");
}

#[test]
fn extent_index_with_a_bad_checksum_is_rebuilt_keeping_the_data() {
    let mut f = None;
    let (img, _, _) = repair_cycle("r-ixsum", |image, _| {
        let frag = fragmented(image, "frag", 520);
        let (index, _) = index_of(image, frag.ino);
        flip_byte(image, index, 16 + 8 * 30); // an unused slot
        let d = Damage::new(&[&format!(
            "inode {}: extent index block {index}: checksum mismatch",
            frag.ino
        )]);
        f = Some(frag);
        d
    });
    let (image, f) = (Image::open(&img.path).unwrap(), f.unwrap());
    // Every extent block proved to be the file's: nothing is lost.
    assert_reads_as_before_but(&image, &f, 0..0);
    assert_eq!(image.read_inode(f.ino).unwrap().blocks.get(), 524);
    assert_eq!(index_of(&image, f.ino).1.len(), 3);
}

#[test]
fn extent_index_entry_outside_the_data_area_is_dropped() {
    let (mut f, mut lost) = (None, Vec::new());
    let (img, _, _) = repair_cycle("r-ixoutside", |image, _| {
        let frag = fragmented(image, "frag", 520);
        let (index, mut leaves) = index_of(image, frag.ino);
        // Extent block 1 holds extents 264 .. 518 (file blocks 528 .. 1036).
        lost = vec![leaves[1]];
        lost.extend(&mapped_blocks(image, frag.ino)[264..519]);
        leaves[1] = 3;
        rewrite_index(image, frag.ino, index, &leaves);
        let d = Damage::new(&[&format!(
            "inode {}: extent index block {index}: entry 1 (block 3) is outside the data area",
            frag.ino
        )]);
        f = Some(frag);
        d
    });
    let (image, f) = (Image::open(&img.path).unwrap(), f.unwrap());
    assert_reads_as_before_but(&image, &f, 528..1037);
    let inode = image.read_inode(f.ino).unwrap();
    assert_eq!(image.extents(f.ino, &inode).unwrap().len(), 520 - 255);
    // 265 extents: an index and two extent blocks.
    assert_eq!(inode.blocks.get(), 265 + 3);
    assert!(
        lost.iter().all(|&b| !image.block_in_use(b)),
        "the dropped extent block and the blocks it mapped are freed"
    );
}

#[test]
fn extent_block_listed_twice_is_dropped() {
    let mut f = None;
    let (img, _, _) = repair_cycle("r-ixtwice", |image, _| {
        let frag = fragmented(image, "frag", 520);
        let (index, mut leaves) = index_of(image, frag.ino);
        leaves[2] = leaves[0];
        rewrite_index(image, frag.ino, index, &leaves);
        let d = Damage::new(&[&format!(
            "inode {}: maps block {} more than once",
            frag.ino, leaves[0]
        )]);
        f = Some(frag);
        d
    });
    let (image, f) = (Image::open(&img.path).unwrap(), f.unwrap());
    // Extent block 2 held the last extent, file block 1038.
    assert_reads_as_before_but(&image, &f, 1038..1039);
    let inode = image.read_inode(f.ino).unwrap();
    assert_eq!(inode.blocks.get(), 519 + 3);
    assert_eq!(index_of(&image, f.ino).1.len(), 2);
}

#[test]
fn extent_index_entry_naming_another_files_extent_block_is_dropped() {
    let (mut f, mut other) = (None, None);
    let (img, _, _) = repair_cycle("r-ixother", |image, _| {
        let frag = fragmented(image, "frag", 520);
        let theirs = fragmented(image, "other", 300);
        let (index, mut leaves) = index_of(image, frag.ino);
        let shared = index_of(image, theirs.ino).1[0];
        leaves[0] = shared;
        rewrite_index(image, frag.ino, index, &leaves);
        let d = Damage::new(&[&format!(
            "block {shared} used by both inode {} and inode {}",
            frag.ino, theirs.ino
        )]);
        f = Some(frag);
        other = Some(theirs);
        d
    });
    let image = Image::open(&img.path).unwrap();
    let (f, other) = (f.unwrap(), other.unwrap());
    assert_reads_as_before_but(&image, &other, 0..0); // untouched
    assert_eq!(image.read_inode(other.ino).unwrap().blocks.get(), 300 + 3);
    // Extent block 0 held extents 9 .. 263 (file blocks 18 .. 526).
    assert_reads_as_before_but(&image, &f, 18..527);
}

#[test]
fn damaged_extent_block_listed_by_an_index_is_dropped() {
    let mut f = None;
    let (img, _, _) = repair_cycle("r-ixleaf", |image, _| {
        let frag = fragmented(image, "frag", 520);
        let (index, leaves) = index_of(image, frag.ino);
        flip_byte(image, leaves[1], 200);
        let d = Damage::new(&[&format!(
            "inode {}: extent block {} (entry 1 of extent index block {index}): checksum mismatch",
            frag.ino, leaves[1]
        )]);
        f = Some(frag);
        d
    });
    let (image, f) = (Image::open(&img.path).unwrap(), f.unwrap());
    assert_reads_as_before_but(&image, &f, 528..1037);
}

#[test]
fn damaged_lone_extent_block_is_dropped() {
    let mut lost = Vec::new();
    let (img, s, before) = repair_cycle("r-extblock", |image, s| {
        let block = image.read_inode(s.sparse).unwrap().overflow_block.get();
        lost = vec![block];
        lost.extend(&mapped_blocks(image, s.sparse)[9..]);
        flip_byte(image, block, 100);
        Damage::new(&[&format!(
            "inode {}: extent block {block}: checksum mismatch (its extents are ignored)",
            s.sparse
        )])
        .touching(s.sparse)
    });
    let image = Image::open(&img.path).unwrap();
    // The 9 inline extents (even blocks 0 .. 16) are kept.
    let mut want = before[&s.sparse].clone();
    want[18 * 4096..].fill(0);
    assert!(image.read_file(s.sparse).unwrap() == want);
    let inode = image.read_inode(s.sparse).unwrap();
    assert_eq!((inode.overflow_block.get(), inode.blocks.get()), (0, 9));
    assert_blocks_in_use(&image, s.sparse);
    assert!(lost.iter().all(|&b| !image.block_in_use(b)));
}

#[test]
fn wrong_block_count_with_an_extent_index_is_set() {
    let mut f = None;
    let (img, _, _) = repair_cycle("r-ixblocks", |image, _| {
        let frag = fragmented(image, "frag", 520);
        edit_inode(image, frag.ino, |i| i.blocks = Le64::new(520));
        let d = Damage::new(&[&format!(
            "inode {}: block count is 520, its extents and extent blocks hold 524",
            frag.ino
        )]);
        f = Some(frag);
        d
    });
    let (image, f) = (Image::open(&img.path).unwrap(), f.unwrap());
    assert_eq!(image.read_inode(f.ino).unwrap().blocks.get(), 524);
    assert_reads_as_before_but(&image, &f, 0..0);
}

#[test]
fn preen_leaves_a_damaged_extent_index_to_yes() {
    let (img, _) = sample("r-ixpreen");
    let image = &mut Image::open(&img.path).unwrap();
    let frag = fragmented(image, "frag", 520);
    let (index, _) = index_of(image, frag.ino);
    flip_byte(image, index, 16 + 8 * 30);
    let bytes = std::fs::read(&img.path).unwrap();
    let (code, text) = run(FSCK, &["-p"], &img.path);
    assert_eq!(code, 4, "{text}");
    assert_line(&text, &["UNEXPECTED INCONSISTENCY"]);
    assert!(std::fs::read(&img.path).unwrap() == bytes);
}

#[test]
fn extents_past_eof_are_unmapped_from_an_extent_index_by_preen() {
    let (img, s) = sample("r-ixeof");
    let before = contents(&img.path, &s);
    let image = &mut Image::open(&img.path).unwrap();
    let frag = fragmented(image, "frag", 600);
    let (index, leaves) = index_of(image, frag.ino);
    let beyond = mapped_blocks(image, frag.ino)[100..].to_vec();
    // 100 extents (file blocks 0 .. 198) within 199 blocks: the rest is past
    // the end of the file.
    edit_inode(image, frag.ino, |i| i.size = Le64::new(199 * 4096));
    let (code, text) = run(FSCK, &["-p"], &img.path);
    assert_eq!(code, 1, "{text}");
    assert_line(&text, &["500 block(s) mapped past end of file", ": fixed"]);
    let (code, text) = run(FSCK, &["-n"], &img.path);
    assert_eq!(code, 0, "{text}");

    let image = Image::open(&img.path).unwrap();
    assert!(image.read_file(frag.ino).unwrap() == frag.data[..199 * 4096]);
    assert_blocks_in_use(&image, frag.ino);
    let inode = image.read_inode(frag.ino).unwrap();
    assert_eq!(image.extents(frag.ino, &inode).unwrap().len(), 100);
    // 100 extents need one extent block, one of those the file had.
    let now = image.extent_blocks(frag.ino, &inode).unwrap();
    assert_eq!((now.index, now.leaves.len()), (None, 1));
    assert!(now.leaves[0] == index || leaves.contains(&now.leaves[0]));
    assert_eq!(inode.blocks.get(), 100 + 1);
    let mut freed: Vec<u64> = leaves.iter().copied().chain([index]).collect();
    freed.retain(|&b| b != now.leaves[0]);
    freed.extend(&beyond);
    assert!(freed.iter().all(|&b| !image.block_in_use(b)));
    assert!(contents(&img.path, &s) == before);
}
