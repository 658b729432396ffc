//! The real `mkfs.tsfs` and `fsck.tsfs` binaries on temporary image files.

mod common;

use common::{fragmented_file, fsck, mkfs, run, sample, TempImage, FSCK, MKFS};
use tsfs::device::Device;
use tsfs::format::{
    extent_blocks_needed, Extent, Le32, Le64, SuperBlock, MAX_EXTENTS, ROOT_INO, STATE_DIRTY,
    S_IFDIR,
};
use tsfs::image::Image;

#[test]
fn mkfs_then_fsck_is_clean() {
    let img = TempImage::new("clean");
    let (code, text) = run(MKFS, &["-s", "16M"], &img.path);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("4096 blocks"), "{text}");
    assert_eq!(std::fs::metadata(&img.path).unwrap().len(), 16 << 20);
    let (code, text) = fsck(&img.path);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("clean, 1/"), "{text}");
}

#[test]
fn mkfs_writes_a_valid_root_directory() {
    let img = TempImage::new("root");
    mkfs(&img.path, &["-s", "1M", "-N", "100"]);
    let image = Image::open(&img.path).unwrap();
    assert_eq!(image.geometry().inode_count, 112);
    let root = image.read_inode(ROOT_INO).unwrap();
    root.validate(image.seed(), ROOT_INO, image.geometry())
        .unwrap();
    assert_eq!(root.mode.get(), S_IFDIR | 0o755);
    assert_eq!((root.nlink.get(), root.size.get()), (2, 0));
    assert_eq!(root.parent.get(), ROOT_INO);
    assert!(image.read_dir(ROOT_INO).unwrap().is_empty());
    let sb = image.superblock();
    assert_eq!(sb.free_inodes.get(), 110);
    assert_eq!(
        sb.free_blocks.get(),
        image.geometry().data_blocks(),
        "nothing allocated in the data area yet"
    );
}

#[test]
fn mkfs_uses_the_whole_existing_file_without_size() {
    let img = TempImage::new("existing");
    std::fs::write(&img.path, vec![0xffu8; 3 << 20]).unwrap();
    mkfs(&img.path, &[]);
    let dev = Device::open(&img.path, false).unwrap();
    let sb = SuperBlock::from_bytes(&dev.read_block(0).unwrap()).unwrap();
    assert_eq!(sb.total_blocks.get(), 768);
    assert_eq!(fsck(&img.path).0, 0, "leftover 0xff bytes must not matter");
}

#[test]
fn mkfs_refuses_tiny_and_missing_targets() {
    let img = TempImage::new("tiny");
    let (code, text) = run(MKFS, &["-s", "128K"], &img.path);
    assert_eq!(code, 1);
    assert!(text.contains("too small"), "{text}");
    let missing = TempImage::new("missing");
    let (code, _) = run(MKFS, &[], &missing.path);
    assert_eq!(code, 1, "no -s and no file: nothing to format");
    let (code, _) = run(MKFS, &["-s", "12Q"], &missing.path);
    assert_eq!(code, 1, "bad size is a usage error");
}

#[test]
fn mkfs_accepts_mkfs_wrapper_style_arguments() {
    let img = TempImage::new("wrapper");
    let (code, text) = run(MKFS, &["-t", "tsfs", "-q", "-s", "1M", "--"], &img.path);
    assert_eq!(code, 0, "{text}");
    assert_eq!(fsck(&img.path).0, 0);
    let (code, _) = run(MKFS, &["-t", "ext4", "-s", "1M"], &img.path);
    assert_eq!(code, 1);
}

#[test]
fn fsck_exit_codes_for_usage_and_operational_errors() {
    let missing = TempImage::new("nofile");
    let (code, _) = run(FSCK, &[], &missing.path);
    assert_eq!(code, 8, "cannot open: operational error");
    let img = TempImage::new("usage");
    mkfs(&img.path, &["-s", "1M"]);
    let (code, _) = run(FSCK, &["--bogus"], &img.path);
    assert_eq!(code, 16);
    for flags in [&["-f", "-y"][..], &["-p"], &["-a", "-v"], &["-n", "-f"]] {
        let (code, text) = run(FSCK, flags, &img.path);
        assert_eq!(code, 0, "{flags:?}: {text}");
    }
    for flags in [&["-n", "-y"][..], &["-n", "-p"], &["-y", "-a"]] {
        let (code, text) = run(FSCK, flags, &img.path);
        assert_eq!(code, 16, "{flags:?} are exclusive: {text}");
    }
    let (code, text) = run(FSCK, &["--help"], &img.path);
    assert_eq!(code, 0);
    assert!(text.contains("repair it with -y or -p"), "{text}");
}

#[test]
fn fsck_rejects_a_file_that_is_not_tsfs() {
    let img = TempImage::new("zeros");
    std::fs::write(&img.path, vec![0u8; 1 << 20]).unwrap();
    let (code, text) = fsck(&img.path);
    assert_eq!(code, 4, "{text}");
    assert!(text.contains("magic"), "{text}");
    std::fs::write(&img.path, b"short").unwrap();
    assert_eq!(fsck(&img.path).0, 4);
}

#[test]
fn built_image_is_clean_and_reads_back() {
    let (img, s) = sample("built");
    let image = Image::open(&img.path).unwrap();
    assert_eq!(image.read_file(s.b).unwrap(), b"hello");
    assert_eq!(image.read_file(s.a).unwrap(), vec![0xaa; 3 * 4096 - 100]);
    assert_eq!(image.read_file(s.c).unwrap(), vec![7; 5000]);
    let sparse = image.read_inode(s.sparse).unwrap();
    assert_ne!(
        sparse.overflow_block.get(),
        0,
        "20 extents need an extent block"
    );
    assert_eq!(sparse.blocks.get(), 21);
    let data = image.read_file(s.sparse).unwrap();
    assert_eq!(data.len(), 40 * 4096);
    assert!(data[..4096].iter().all(|&b| b == 0x55));
    assert!(
        data[4096..8192].iter().all(|&b| b == 0),
        "odd blocks are holes"
    );
    assert_eq!(image.lookup(s.dir, "a-link").unwrap(), Some(s.a));
    assert_eq!(image.lookup(s.dir, "sub").unwrap(), Some(s.sub));
    assert_eq!(image.read_inode(s.a).unwrap().nlink.get(), 2);
    assert_eq!(image.read_inode(s.dir).unwrap().nlink.get(), 3);
    assert_eq!(image.read_inode(ROOT_INO).unwrap().nlink.get(), 3);
    let (code, text) = run(FSCK, &["-v"], &img.path);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("4 files, 3 directories"), "{text}");
}

#[test]
fn big_directory_grows_and_stays_clean() {
    let img = TempImage::new("bigdir");
    mkfs(&img.path, &["-s", "4M"]);
    let mut image = Image::open(&img.path).unwrap();
    let dir = image.mkdir(ROOT_INO, "many").unwrap();
    for i in 0..30 {
        let name = format!("{i:0>200}"); // long names
        image.create_file(dir, &name, &[]).unwrap();
    }
    image.flush().unwrap();
    let inode = image.read_inode(dir).unwrap();
    assert_eq!(inode.size.get(), 4 * 4096, "30 entries need 4 blocks of 8");
    assert_eq!(image.read_dir(dir).unwrap().len(), 30);
    let (code, text) = fsck(&img.path);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn stale_free_counts_are_an_error_only_when_clean() {
    let img = TempImage::new("dirty");
    mkfs(&img.path, &["-s", "2M"]);
    let image = Image::open(&img.path).unwrap();
    let mut sb = *image.superblock();
    sb.free_blocks = Le64::new(sb.free_blocks.get() - 5);
    sb.update_checksum();
    image.write_superblock_raw(&sb).unwrap();
    let (code, text) = fsck(&img.path);
    assert_eq!(code, 4, "{text}");
    assert!(text.contains("free block count is"), "{text}");

    sb.state = Le32::new(STATE_DIRTY);
    sb.update_checksum();
    image.write_superblock_raw(&sb).unwrap();
    let (code, text) = run(FSCK, &["-v"], &img.path);
    assert_eq!(
        code, 0,
        "a dirty file system's counts are recomputed at mount: {text}"
    );
    assert!(
        text.contains("note: file system was not cleanly unmounted"),
        "{text}"
    );
    assert!(
        text.contains("note: super block: free block count"),
        "{text}"
    );
}

#[test]
fn file_of_5000_extents_reads_back_and_is_clean() {
    let img = TempImage::new("5000");
    mkfs(&img.path, &["-s", "32M"]);
    let mut image = Image::open(&img.path).unwrap();
    let (ino, data) = fragmented_file(&mut image, "frag", 5000);
    drop(image);

    let image = Image::open(&img.path).unwrap();
    let inode = image.read_inode(ino).unwrap();
    let extents = image.extents(ino, &inode).unwrap();
    assert_eq!(extents.len(), 5000);
    for (i, e) in extents.iter().enumerate() {
        assert_eq!(
            (e.file_block.get(), e.len.get()),
            (2 * i as u32, 1),
            "{e:?}"
        );
    }
    assert_eq!(image.read_file(ino).unwrap(), data);
    // 9 inline, 4991 in 20 extent blocks (19 full), listed by an index.
    let blocks = image.extent_blocks(ino, &inode).unwrap();
    assert!(blocks.index.is_some());
    assert_eq!(blocks.leaves.len(), 20);
    assert_eq!(inode.inline_extents().len(), 9);
    assert_eq!(inode.blocks.get(), 5000 + 21);
    let (code, text) = run(FSCK, &["-n", "-v"], &img.path);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("1 files, 1 directories"), "{text}");
}

#[test]
fn extent_blocks_grow_and_shrink_with_the_extent_list() {
    let img = TempImage::new("growshrink");
    mkfs(&img.path, &["-s", "64M"]);
    let mut image = Image::open(&img.path).unwrap();
    let ino = image.create_file(ROOT_INO, "f", &[]).unwrap();
    image.flush().unwrap();
    let free0 = image.superblock().free_blocks.get();
    // One-block extents at even file blocks, onto the last MAX_EXTENTS blocks
    // (extent blocks are allocated first fit, far below them).
    let data = image.geometry().total_blocks - MAX_EXTENTS as u64;
    let mut before: Vec<u64> = Vec::new();
    for n in [
        10,
        264,
        265,
        519,
        520,
        MAX_EXTENTS,
        600,
        264,
        10,
        9,
        265,
        3,
        0,
    ] {
        for i in 0..MAX_EXTENTS as u64 {
            image.set_block_in_use(data + i, i < n as u64);
        }
        let extents: Vec<Extent> = (0..n as u32)
            .map(|i| Extent::new(2 * i, data + u64::from(i), 1))
            .collect();
        let mut inode = image.read_inode(ino).unwrap();
        image.set_extents(ino, &mut inode, &extents).unwrap();
        inode.size = Le64::new(2 * n as u64 * 4096);
        image.write_inode(ino, &inode).unwrap();
        image.flush().unwrap();

        let needed = extent_blocks_needed(n);
        let inode = image.read_inode(ino).unwrap();
        assert_eq!(image.extents(ino, &inode).unwrap(), extents, "{n} extents");
        assert_eq!(inode.blocks.get(), (n + needed) as u64, "{n} extents");
        let blocks = image.extent_blocks(ino, &inode).unwrap();
        assert_eq!(blocks.index.is_some(), needed > 1, "{n} extents");
        let after = blocks.all();
        assert_eq!(after.len(), needed, "{n} extents");
        // The blocks it had are reused: the new set holds the old or the
        // other way round.
        assert!(
            after.iter().all(|b| before.contains(b)) || before.iter().all(|b| after.contains(b)),
            "{n} extents: {before:?} -> {after:?}"
        );
        assert_eq!(
            image.superblock().free_blocks.get(),
            free0 - (n + needed) as u64,
            "{n} extents: blocks no longer needed are freed"
        );
        let (code, text) = fsck(&img.path);
        assert_eq!(code, 0, "{n} extents:\n{text}");
        before = after;
    }
    let mut inode = image.read_inode(ino).unwrap();
    let too_many = vec![Extent::new(0, data, 1); MAX_EXTENTS + 1];
    assert!(image.set_extents(ino, &mut inode, &too_many).is_err());
    assert_eq!(inode, image.read_inode(ino).unwrap(), "unchanged");
}
