//! fsck finds deliberate corruptions of a sample image, each reported on its
//! own line, with exit status 4.

mod common;

use common::{assert_fsck_finds, flip_byte, fragmented_file, index_of, rewrite_index, sample};
use tsfs::format::{Extent, Inode, Le32, Le64, FT_REG, ROOT_INO, S_IFREG};
use tsfs::image::{now, Image};

/// Opens the sample image for corrupting.
fn open(img: &common::TempImage) -> Image {
    Image::open(&img.path).unwrap()
}

/// Rewrites inode `ino` (with a good checksum) after `change`.
fn edit_inode(image: &Image, ino: u32, change: impl FnOnce(&mut Inode)) {
    let mut inode = image.read_inode(ino).unwrap();
    change(&mut inode);
    image.write_inode(ino, &inode).unwrap();
}

fn first_block(image: &Image, ino: u32) -> u64 {
    image.read_inode(ino).unwrap().extents[0].disk_block()
}

#[test]
fn bad_magic() {
    let (img, _) = sample("magic");
    let image = open(&img);
    let mut sb = *image.superblock();
    sb.magic = Le32::new(0xdead_beef);
    sb.update_checksum();
    image.write_superblock_raw(&sb).unwrap();
    assert_fsck_finds(&img.path, &["super block", "bad magic", "0xdeadbeef"]);
}

#[test]
fn bad_superblock_checksum() {
    let (img, _) = sample("sbsum");
    let image = open(&img);
    let mut sb = *image.superblock();
    sb.free_blocks = Le64::new(sb.free_blocks.get() - 1); // checksum not updated
    image.write_superblock_raw(&sb).unwrap();
    assert_fsck_finds(&img.path, &["super block checksum mismatch"]);
}

#[test]
fn used_block_marked_free() {
    let (img, s) = sample("usedfree");
    let mut image = open(&img);
    let block = first_block(&image, s.a);
    image.set_block_in_use(block, false);
    image.flush().unwrap();
    assert_fsck_finds(
        &img.path,
        &[&format!("block {block} in use but marked free")],
    );
}

#[test]
fn leaked_block() {
    let (img, _) = sample("leak");
    let mut image = open(&img);
    let block = image.geometry().total_blocks - 3;
    assert!(!image.block_in_use(block));
    image.set_block_in_use(block, true);
    image.flush().unwrap();
    assert_fsck_finds(
        &img.path,
        &[&format!("block {block} marked in use"), "leaked"],
    );
}

#[test]
fn extent_pointing_into_metadata() {
    let (img, s) = sample("meta");
    let image = open(&img);
    let table = image.geometry().inode_table_start;
    edit_inode(&image, s.b, |i| i.extents[0].start = Le64::new(table));
    assert_fsck_finds(
        &img.path,
        &[&format!("inode {}: extent", s.b), "points into metadata"],
    );
}

#[test]
fn two_files_share_a_block() {
    let (img, s) = sample("shared");
    let mut image = open(&img);
    let shared = first_block(&image, s.a);
    let own = first_block(&image, s.b);
    edit_inode(&image, s.b, |i| i.extents[0].start = Le64::new(shared));
    image.set_block_in_use(own, false);
    image.flush().unwrap();
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "block {shared} used by both inode {} and inode {}",
            s.a, s.b
        )],
    );
}

#[test]
fn wrong_file_link_count() {
    let (img, s) = sample("nlink");
    let image = open(&img);
    edit_inode(&image, s.b, |i| i.nlink = Le32::new(2));
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {}: link count is 2, but 1 directory entries",
            s.b
        )],
    );
}

#[test]
fn wrong_directory_link_count() {
    let (img, s) = sample("dirnlink");
    let image = open(&img);
    edit_inode(&image, s.dir, |i| i.nlink = Le32::new(2));
    assert_fsck_finds(
        &img.path,
        &[&format!("directory {}: link count is 2, expected 3", s.dir)],
    );
}

#[test]
fn dirent_pointing_to_a_free_inode() {
    let (img, _) = sample("freeino");
    let mut image = open(&img);
    let free = (2..image.geometry().inode_count)
        .find(|&i| !image.inode_in_use(i))
        .unwrap();
    image.add_dirent(ROOT_INO, "ghost", free, FT_REG).unwrap();
    assert_fsck_finds(
        &img.path,
        &[&format!("entry \"ghost\" points to free inode {free}")],
    );
}

#[test]
fn duplicate_name() {
    let (img, s) = sample("dup");
    let mut image = open(&img);
    image.add_dirent(s.dir, "c", s.b, FT_REG).unwrap();
    edit_inode(&image, s.b, |i| i.nlink = Le32::new(2)); // keep link counts right
    assert_fsck_finds(
        &img.path,
        &[&format!("directory {}: duplicate entry \"c\"", s.dir)],
    );
}

#[test]
fn inode_checksum_mismatch() {
    let (img, s) = sample("inosum");
    let image = open(&img);
    let mut inode = image.read_inode(s.c).unwrap();
    inode.uid = Le32::new(1234); // checksum not updated
    image.write_inode_raw(s.c, &inode).unwrap();
    assert_fsck_finds(&img.path, &[&format!("inode {}: checksum mismatch", s.c)]);
}

#[test]
fn unreachable_inode() {
    let (img, _) = sample("orphan");
    let mut image = open(&img);
    let ino = image.alloc_inode().unwrap();
    let inode = Inode::new(S_IFREG | 0o600, 0, 0, 1, now());
    image.write_inode(ino, &inode).unwrap();
    image.flush().unwrap();
    assert_fsck_finds(
        &img.path,
        &[&format!("inode {ino} (file) is in use but not reachable")],
    );
}

#[test]
fn extent_beyond_end_of_file() {
    let (img, s) = sample("eof");
    let image = open(&img);
    edit_inode(&image, s.sparse, |i| i.size = Le64::new(10 * 4096));
    assert_fsck_finds(
        &img.path,
        &[
            &format!(
                "inode {}: 15 block(s) mapped past end of file (size 40960)",
                s.sparse
            ),
            "from file block 10",
        ],
    );
}

#[test]
fn damaged_extent_block() {
    let (img, s) = sample("extblock");
    let image = open(&img);
    let block = image.read_inode(s.sparse).unwrap().overflow_block.get();
    let mut data = image.device().read_block(block).unwrap();
    data[100] ^= 0xff;
    image.device().write_blocks(block, &data).unwrap();
    assert_fsck_finds(
        &img.path,
        &[
            &format!("inode {}: extent block {block}", s.sparse),
            "checksum",
        ],
    );
}

#[test]
fn overlapping_extents_in_one_file() {
    let (img, s) = sample("overlap");
    let image = open(&img);
    edit_inode(&image, s.sparse, |i| {
        let e = i.extents[1];
        i.extents[1] = Extent::new(0, e.disk_block(), 1);
    });
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {}: extent at file block 0 overlaps",
            s.sparse
        )],
    );
}

#[test]
fn empty_inode_marked_in_use() {
    let (img, _) = sample("emptyino");
    let mut image = open(&img);
    let free = (2..image.geometry().inode_count)
        .find(|&i| !image.inode_in_use(i))
        .unwrap();
    image.set_inode_in_use(free, true);
    image.flush().unwrap();
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {free}: marked in use but its slot is empty"
        )],
    );
}

#[test]
fn directory_entry_with_wrong_file_type() {
    let (img, s) = sample("ftype");
    let mut image = open(&img);
    image
        .add_dirent(ROOT_INO, "c-as-dir", s.c, tsfs::format::FT_DIR)
        .unwrap();
    edit_inode(&image, s.c, |i| i.nlink = Le32::new(2));
    assert_fsck_finds(
        &img.path,
        &[
            "entry \"c-as-dir\" has file type 4",
            &format!("inode {} has type 8", s.c),
        ],
    );
}

#[test]
fn block_shared_inside_an_extent() {
    let (img, s) = sample("sharedmid");
    let mut image = open(&img);
    // /b's one block moved onto the middle block of /a's three-block extent:
    // every block of an extent is checked, not only its start.
    let middle = first_block(&image, s.a) + 1;
    let own = first_block(&image, s.b);
    edit_inode(&image, s.b, |i| i.extents[0].start = Le64::new(middle));
    image.set_block_in_use(own, false);
    image.flush().unwrap();
    let finds = format!(
        "block {middle} used by both inode {} and inode {}",
        s.a, s.b
    );
    assert_fsck_finds(&img.path, &[&finds]);
    // No repair is safe (which file's data is it?): -p and -y leave it.
    let (code, text) = common::run(common::FSCK, &["-p"], &img.path);
    assert_eq!(code, 4, "{text}");
    assert!(text.contains("UNEXPECTED INCONSISTENCY"), "{text}");
    let (code, text) = common::run(common::FSCK, &["-y"], &img.path);
    assert_eq!(code, 4, "{text}");
    assert!(text.contains(&finds), "{text}");
}

#[test]
fn unwritten_extents_are_valid_in_files_and_read_as_zeros() {
    let (img, s) = sample("unwritten");
    let image = open(&img);
    edit_inode(&image, s.a, |i| {
        i.extents[0] = i.extents[0].with_unwritten(true)
    });
    let (code, out) = common::fsck(&img.path);
    assert_eq!(code, 0, "{out}");
    let data = image.read_file(s.a).unwrap();
    assert!(!data.is_empty() && data.iter().all(|&b| b == 0));
}

#[test]
fn extent_with_unknown_flags() {
    let (img, s) = sample("extflags");
    let image = open(&img);
    edit_inode(&image, s.b, |i| {
        i.extents[0].start = Le64::new(i.extents[0].disk_block() | 1 << 60)
    });
    assert_fsck_finds(
        &img.path,
        &[&format!("inode {}: extent", s.b), "unknown flags"],
    );
}

#[test]
fn unwritten_directory_block() {
    let (img, s) = sample("unwrittendir");
    let image = open(&img);
    edit_inode(&image, s.dir, |i| {
        i.extents[0] = i.extents[0].with_unwritten(true)
    });
    assert_fsck_finds(
        &img.path,
        &[&format!("directory {}: block 0 is unwritten", s.dir)],
    );
}

/// Marks the extents of `ino` from file block `from` on unwritten.
fn unwritten_from(image: &mut Image, ino: u32, from: u32) {
    let mut inode = image.read_inode(ino).unwrap();
    let extents: Vec<Extent> = image
        .extents(ino, &inode)
        .unwrap()
        .into_iter()
        .map(|e| e.with_unwritten(e.file_block.get() >= from))
        .collect();
    image.set_extents(ino, &mut inode, &extents).unwrap();
    image.write_inode(ino, &inode).unwrap();
}

#[test]
fn unwritten_blocks_past_eof_are_preallocation() {
    let (img, s) = sample("prealloc");
    let mut image = open(&img);
    // /sparse maps even blocks 0 .. 38; at a size of 10 blocks, 15 lie past
    // the end: all unwritten, as FALLOC_FL_KEEP_SIZE leaves them.
    unwritten_from(&mut image, s.sparse, 10);
    edit_inode(&image, s.sparse, |i| i.size = Le64::new(10 * 4096));
    let (code, out) = common::fsck(&img.path);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn written_block_past_eof_is_found_among_unwritten_ones() {
    let (img, s) = sample("prealloc-written");
    let mut image = open(&img);
    // Block 10 stays written; 12 and up are unwritten.
    unwritten_from(&mut image, s.sparse, 12);
    edit_inode(&image, s.sparse, |i| i.size = Le64::new(10 * 4096));
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {}: 1 block(s) mapped past end of file (size 40960), from file block 10",
            s.sparse
        )],
    );
}

#[test]
fn symbolic_link_inodes_are_clean() {
    let (img, _) = sample("symlink");
    let mut image = open(&img);
    let ino = image.create_symlink(ROOT_INO, "l", b"dir/c").unwrap();
    image.flush().unwrap();
    let (code, out) = common::fsck(&img.path);
    assert_eq!(code, 0, "{out}");
    assert_eq!(image.read_file(ino).unwrap(), b"dir/c");
}

#[test]
fn symbolic_link_of_a_block_or_more_is_found() {
    let (img, _) = sample("symlink-long");
    let mut image = open(&img);
    let ino = image.create_symlink(ROOT_INO, "l", b"x").unwrap();
    image.flush().unwrap();
    edit_inode(&image, ino, |i| i.size = Le64::new(4096));
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {ino}: symbolic link size 4096 is out of range"
        )],
    );
}

#[test]
fn special_files_are_clean_and_one_with_data_is_not() {
    let (img, s) = sample("special");
    let mut image = open(&img);
    let rdev = tsfs::format::encode_dev(1, 3).unwrap();
    let null = image
        .create_special(ROOT_INO, "null", tsfs::format::S_IFCHR | 0o666, rdev)
        .unwrap();
    image
        .create_special(s.dir, "pipe", tsfs::format::S_IFIFO | 0o644, 0)
        .unwrap();
    image
        .create_special(ROOT_INO, "sock", tsfs::format::S_IFSOCK | 0o755, 0)
        .unwrap();
    image.flush().unwrap();
    let (code, text) = common::fsck(&img.path);
    assert_eq!(code, 0, "special files should be clean:\n{text}");
    let block = first_block(&image, s.b);
    edit_inode(&image, null, |i| {
        i.extent_count = tsfs::format::Le16::new(1);
        i.extents[0] = Extent::new(0, block, 1);
        i.blocks = Le64::new(1);
    });
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {null}: special file (mode 0o20666) with data"
        )],
    );
}

/// The sample image with `/frag`, a file of 520 extents: 9 inline, then an
/// extent index listing three extent blocks (255, 255 and 1 extents).
fn indexed(tag: &str) -> (common::TempImage, common::Sample, Image, u32) {
    let (img, s) = sample(tag);
    let mut image = open(&img);
    let (frag, _) = fragmented_file(&mut image, "frag", 520);
    assert_eq!(index_of(&image, frag).1.len(), 3);
    let (code, text) = common::fsck(&img.path);
    assert_eq!(code, 0, "an image with an extent index is clean:\n{text}");
    (img, s, image, frag)
}

#[test]
fn extent_index_checksum_mismatch() {
    let (img, _, image, frag) = indexed("ixsum");
    let (index, _) = index_of(&image, frag);
    flip_byte(&image, index, 16 + 8 * 30); // an unused slot
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {frag}: extent index block {index}: checksum mismatch"
        )],
    );
}

#[test]
fn extent_index_with_a_bad_header() {
    let (img, s, image, frag) = indexed("ixheader");
    let (index, leaves) = index_of(&image, frag);
    // Another inode's index, checksum and all.
    let mut block = vec![0u8; 4096];
    tsfs::format::write_extent_index(&mut block, image.seed(), s.b, &leaves).unwrap();
    image.device().write_blocks(index, &block).unwrap();
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {frag}: extent index block {index}: belongs to another inode (its extents are ignored)"
        )],
    );
    // More entries than slots.
    rewrite_index(&image, frag, index, &leaves);
    let mut block = image.device().read_block(index).unwrap();
    block[4..6].copy_from_slice(&33u16.to_le_bytes());
    image.device().write_blocks(index, &block).unwrap();
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {frag}: extent index block {index}: count out of range"
        )],
    );
}

#[test]
fn extent_index_entry_outside_the_data_area() {
    let (img, _, image, frag) = indexed("ixoutside");
    let (index, mut leaves) = index_of(&image, frag);
    leaves[1] = 2; // the block bitmap, or thereabouts
    rewrite_index(&image, frag, index, &leaves);
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {frag}: extent index block {index}: entry 1 (block 2) is outside the data area"
        )],
    );
}

#[test]
fn extent_index_entry_naming_the_index_itself() {
    let (img, _, image, frag) = indexed("ixself");
    let (index, mut leaves) = index_of(&image, frag);
    leaves[0] = index;
    rewrite_index(&image, frag, index, &leaves);
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {frag}: extent index block {index}: entry 0 names the index block itself"
        )],
    );
}

#[test]
fn extent_block_listed_twice_by_an_index() {
    let (img, _, image, frag) = indexed("ixtwice");
    let (index, mut leaves) = index_of(&image, frag);
    leaves[2] = leaves[0];
    rewrite_index(&image, frag, index, &leaves);
    let twice = leaves[0];
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {frag}: extent index block {index}: entry 2 names extent block {twice} again (as entry 0)"
        )],
    );
    // The ownership pass sees it too, as a block mapped twice.
    assert_fsck_finds(
        &img.path,
        &[&format!("inode {frag}: maps block {twice} more than once")],
    );
}

#[test]
fn extent_index_entry_naming_another_files_extent_block() {
    let (img, s, image, frag) = indexed("ixother");
    let (index, mut leaves) = index_of(&image, frag);
    let theirs = image.read_inode(s.sparse).unwrap().overflow_block.get();
    leaves[1] = theirs;
    rewrite_index(&image, frag, index, &leaves);
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {frag}: extent block {theirs} (entry 1 of extent index block {index}): belongs to another inode"
        )],
    );
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "block {theirs} used by both inode {} and inode {frag}",
            s.sparse
        )],
    );
}

#[test]
fn damaged_extent_block_listed_by_an_index() {
    let (img, _, image, frag) = indexed("ixleaf");
    let (index, leaves) = index_of(&image, frag);
    flip_byte(&image, leaves[1], 100);
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {frag}: extent block {} (entry 1 of extent index block {index}): checksum mismatch (its extents are ignored)",
            leaves[1]
        )],
    );
}

#[test]
fn wrong_block_count_with_an_extent_index() {
    let (img, _, image, frag) = indexed("ixblocks");
    // 520 data blocks, the index and three extent blocks.
    assert_eq!(image.read_inode(frag).unwrap().blocks.get(), 524);
    edit_inode(&image, frag, |i| i.blocks = Le64::new(521));
    assert_fsck_finds(
        &img.path,
        &[&format!(
            "inode {frag}: block count is 521, its extents and extent blocks hold 524"
        )],
    );
}
