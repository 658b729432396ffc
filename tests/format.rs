//! The on-disk format: encodings, checksums, geometry, extent lookup, bitmaps,
//! directory slots and names.

use tsfs::format::*;

fn geom_8m() -> Geometry {
    Geometry::for_device(8 << 20, 0).expect("8 MiB geometry")
}

fn sample_inode() -> Inode {
    let mut inode = Inode::new(
        S_IFREG | 0o640,
        1000,
        100,
        1,
        Timestamp::new(-5, 999_999_999),
    );
    inode.size = Le64::new(123_456);
    inode.extent_count = Le16::new(2);
    inode.extents[0] = Extent::new(0, 100, 10);
    inode.extents[1] = Extent::new(20, 300, 11);
    inode.blocks = Le64::new(21);
    inode.mtime = Timestamp::new(1_700_000_000, 42);
    inode
}

#[test]
fn struct_sizes_are_as_documented() {
    assert_eq!(std::mem::size_of::<SuperBlock>(), 256);
    assert_eq!(std::mem::size_of::<Inode>(), INODE_SIZE);
    assert_eq!(std::mem::size_of::<Extent>(), EXTENT_SIZE);
    assert_eq!(std::mem::size_of::<ExtentBlockHeader>(), 16);
    assert_eq!(std::mem::size_of::<DirentHeader>(), 8);
    assert_eq!(std::mem::align_of::<Inode>(), 1);
    assert_eq!(EXTENTS_PER_BLOCK, 255);
    assert_eq!(MAX_EXTENT_LEAVES, 32);
    assert_eq!(MAX_EXTENTS, 8169);
    // An index block's entries fit in a block with its header.
    const _: () = assert!(16 + 8 * MAX_EXTENT_LEAVES <= BLOCK_BYTES);
    assert_eq!(MAX_FILE_SIZE, 16 << 40);
    assert_eq!(DIRENTS_PER_BLOCK * DIRENT_SIZE, BLOCK_BYTES);
}

#[test]
fn integers_are_little_endian() {
    assert_eq!(Le32::new(0x1234_5678).to_owned(), Le32::new(0x1234_5678));
    let mut e = Extent::new(0x0102_0304, 0, 0x0a0b_0c0d);
    e.start = Le64::new(0x1112_1314_1516_1718);
    assert_eq!(
        e.to_array(),
        [
            0x04, 0x03, 0x02, 0x01, 0x0d, 0x0c, 0x0b, 0x0a, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13,
            0x12, 0x11
        ]
    );
}

#[test]
fn superblock_round_trips_and_validates() {
    let geom = geom_8m();
    let sb = SuperBlock::new(&geom, [9; 16], 1_700_000_000);
    let mut block = vec![0u8; BLOCK_BYTES];
    sb.to_bytes(&mut block).unwrap();
    assert_eq!(&block[..4], b"SFST"); // TSFS_MAGIC, little-endian
    let back = SuperBlock::from_bytes(&block).unwrap();
    assert_eq!(back, sb);
    assert_eq!(back.validate(8 << 20), Ok(geom));
    assert_eq!(back.free_inodes.get(), geom.inode_count - 2);
}

#[test]
fn superblock_errors_are_specific() {
    let geom = geom_8m();
    let good = SuperBlock::new(&geom, [1; 16], 0);
    let resealed = |f: &dyn Fn(&mut SuperBlock)| {
        let mut sb = good;
        f(&mut sb);
        sb.update_checksum();
        sb.validate(8 << 20)
    };
    assert_eq!(
        resealed(&|sb| sb.magic = Le32::new(1)),
        Err(SbError::BadMagic)
    );
    // Version 1 (before unwritten extents), 2 (before extent index blocks)
    // and any later one are refused.
    assert_eq!(FORMAT_VERSION, 3);
    for version in [1, 2, FORMAT_VERSION + 1] {
        assert_eq!(
            resealed(&|sb| sb.version = Le32::new(version)),
            Err(SbError::UnsupportedVersion)
        );
    }
    assert_eq!(
        resealed(&|sb| sb.block_size = Le32::new(1024)),
        Err(SbError::BadBlockOrInodeSize)
    );
    assert_eq!(
        resealed(&|sb| sb.inode_count = Le32::new(17)),
        Err(SbError::BadCounts)
    );
    assert_eq!(
        resealed(&|sb| sb.first_data_block = Le64::new(40)),
        Err(SbError::GeometryMismatch)
    );
    assert_eq!(
        resealed(&|sb| sb.root_ino = Le32::new(2)),
        Err(SbError::BadRootInode)
    );
    assert_eq!(
        resealed(&|sb| sb.free_blocks = Le64::new(geom.total_blocks)),
        Err(SbError::FreeCountsOutOfRange)
    );
    assert_eq!(
        resealed(&|sb| sb.state = Le32::new(7)),
        Err(SbError::BadState)
    );
    assert_eq!(good.validate((8 << 20) - 1), Err(SbError::DeviceTooSmall));
    let mut unsealed = good;
    unsealed.free_blocks = Le64::new(1);
    assert_eq!(unsealed.validate(8 << 20), Err(SbError::BadChecksum));
    assert!(SbError::BadChecksum.description().contains("checksum"));
}

#[test]
fn superblock_checksum_catches_every_flipped_byte() {
    let sb = SuperBlock::new(&geom_8m(), [3; 16], 77);
    let bytes = sb.to_array();
    for i in 0..SuperBlock::SIZE {
        let mut bad = bytes;
        bad[i] ^= 0x01;
        let decoded = SuperBlock::from_bytes(&bad).unwrap();
        assert_ne!(decoded.validate(8 << 20), Ok(geom_8m()), "byte {i}");
    }
}

#[test]
fn inode_round_trips_and_checksums_per_slot() {
    let mut inode = sample_inode();
    inode.update_checksum(0xfeed, 5);
    let back = Inode::from_bytes(&inode.to_array()).unwrap();
    assert_eq!(back, inode);
    assert_eq!(back.atime.seconds(), -5);
    assert_eq!(back.inline_extents().len(), 2);
    let geom = geom_8m();
    assert_eq!(Inode::from_bytes(&[0; 255]), None);
    // Not inode 6, nor inode 5 of another file system.
    assert_eq!(back.compute_checksum(0xfeed, 5), back.checksum.get());
    assert_ne!(back.compute_checksum(0xfeed, 6), back.checksum.get());
    assert_ne!(back.compute_checksum(0xbeef, 5), back.checksum.get());
    let mut bytes = inode.to_array();
    bytes[20] ^= 0x80;
    let flipped = Inode::from_bytes(&bytes).unwrap();
    assert_eq!(
        flipped.validate(0xfeed, 5, &geom),
        Err(InodeError::BadChecksum)
    );
}

#[test]
fn inode_validation_finds_bad_fields() {
    let geom = geom_8m();
    let check = |f: &dyn Fn(&mut Inode)| {
        let mut inode = sample_inode();
        inode.extents[0] = Extent::new(0, geom.first_data_block, 10);
        inode.extents[1] = Extent::new(20, geom.first_data_block + 10, 11);
        f(&mut inode);
        inode.update_checksum(1, 2);
        inode.validate(1, 2, &geom)
    };
    assert_eq!(check(&|_| {}), Ok(()));
    assert_eq!(
        check(&|i| i.mode = Le16::new(0o070644)),
        Err(InodeError::BadMode)
    );
    assert_eq!(
        check(&|i| i.extent_count = Le16::new(10)),
        Err(InodeError::BadExtentCount)
    );
    assert_eq!(
        check(&|i| i.overflow_block = Le64::new(2)),
        Err(InodeError::BadOverflowBlock)
    );
    assert_eq!(
        check(&|i| i.extents[1] = Extent::new(5, geom.first_data_block + 10, 1)),
        Err(InodeError::BadExtent(ExtentError::UnsortedOrOverlapping))
    );
    assert_eq!(
        check(&|i| i.extents[1] = Extent::new(20, 1, 1)),
        Err(InodeError::BadExtent(ExtentError::OutsideDataArea))
    );
    assert_eq!(
        check(&|i| {
            i.mode = Le16::new(S_IFDIR | 0o755);
            i.size = Le64::new(100);
        }),
        Err(InodeError::BadSize)
    );
}

#[test]
fn extent_block_round_trips_and_detects_damage() {
    let extents: Vec<Extent> = (0..EXTENTS_PER_BLOCK as u32)
        .map(|i| Extent::new(i * 3, 1000 + u64::from(i), 2))
        .collect();
    let mut block = vec![0u8; BLOCK_BYTES];
    write_extent_block(&mut block, 0x1234, 17, &extents).unwrap();
    assert_eq!(
        check_extent_block(&block, 0x1234, 17),
        Ok(EXTENTS_PER_BLOCK)
    );
    let back: Vec<Extent> = extent_block_entries(&block, EXTENTS_PER_BLOCK).collect();
    assert_eq!(back, extents);
    assert_eq!(
        check_extent_block(&block, 0x1234, 18),
        Err(ExtentBlockError::WrongOwner)
    );
    assert_eq!(
        check_extent_block(&block, 0x9999, 17),
        Err(ExtentBlockError::BadChecksum)
    );
    let mut damaged = block.clone();
    damaged[4000] ^= 1;
    assert_eq!(
        check_extent_block(&damaged, 0x1234, 17),
        Err(ExtentBlockError::BadChecksum)
    );
    damaged[0] ^= 1;
    assert_eq!(
        check_extent_block(&damaged, 0x1234, 17),
        Err(ExtentBlockError::BadMagic)
    );
    assert_eq!(
        check_extent_block(&block[..100], 0x1234, 17),
        Err(ExtentBlockError::Short)
    );
    let too_many = vec![Extent::new(0, 1, 1); EXTENTS_PER_BLOCK + 1];
    assert_eq!(write_extent_block(&mut block, 0, 1, &too_many), None);
}

#[test]
fn extent_index_round_trips_and_detects_damage() {
    let leaves: Vec<u64> = (0..MAX_EXTENT_LEAVES as u64)
        .map(|i| 5000 + 7 * i)
        .collect();
    let mut block = vec![0xeeu8; BLOCK_BYTES];
    write_extent_index(&mut block, 0x1234, 17, &leaves).unwrap();
    assert_eq!(&block[..4], b"IEST"); // EXTENT_INDEX_MAGIC, little-endian
    assert!(is_extent_index(&block));
    assert_eq!(
        check_extent_index(&block, 0x1234, 17),
        Ok(MAX_EXTENT_LEAVES)
    );
    let back: Vec<u64> = extent_index_entries(&block, MAX_EXTENT_LEAVES).collect();
    assert_eq!(back, leaves);
    assert!(
        block[16 + 8 * MAX_EXTENT_LEAVES..].iter().all(|&b| b == 0),
        "unused slots zeroed"
    );
    // Fewer leaves: only those listed; a count past the slots reads no more.
    write_extent_index(&mut block, 0x1234, 17, &leaves[..3]).unwrap();
    assert_eq!(check_extent_index(&block, 0x1234, 17), Ok(3));
    assert_eq!(
        extent_index_entries(&block, 3).collect::<Vec<_>>(),
        &leaves[..3]
    );
    assert_eq!(
        extent_index_entries(&block, 1000).count(),
        MAX_EXTENT_LEAVES
    );
    assert_eq!(extent_index_entries(&block[..20], 3).count(), 0);

    assert_eq!(
        check_extent_index(&block, 0x1234, 18),
        Err(ExtentBlockError::WrongOwner)
    );
    assert_eq!(
        check_extent_index(&block, 0x9999, 17),
        Err(ExtentBlockError::BadChecksum)
    );
    let mut damaged = block.clone();
    damaged[16 + 8 * 20] ^= 1; // an unused slot is covered too
    assert_eq!(
        check_extent_index(&damaged, 0x1234, 17),
        Err(ExtentBlockError::BadChecksum)
    );
    assert_eq!(
        check_extent_index(&block[..100], 0x1234, 17),
        Err(ExtentBlockError::Short)
    );
    // A count past the slots, with its checksum recomputed.
    let mut counted = block.clone();
    counted[4..6].copy_from_slice(&(MAX_EXTENT_LEAVES as u16 + 1).to_le_bytes());
    let sum = extent_block_checksum(inode_seed(0x1234, 17), &counted).unwrap();
    counted[12..16].copy_from_slice(&sum.to_le_bytes());
    assert_eq!(
        check_extent_index(&counted, 0x1234, 17),
        Err(ExtentBlockError::BadCount)
    );
    // An index is not an extent block, nor the other way round.
    assert_eq!(
        check_extent_block(&block, 0x1234, 17),
        Err(ExtentBlockError::BadMagic)
    );
    let mut extent_block = vec![0u8; BLOCK_BYTES];
    write_extent_block(&mut extent_block, 0x1234, 17, &[Extent::new(0, 100, 1)]).unwrap();
    assert!(!is_extent_index(&extent_block));
    assert!(!is_extent_index(&block[..10]));
    assert_eq!(
        check_extent_index(&extent_block, 0x1234, 17),
        Err(ExtentBlockError::BadMagic)
    );
    // An index of no leaves is valid; one of too many is not written.
    write_extent_index(&mut block, 0x1234, 17, &[]).unwrap();
    assert_eq!(check_extent_index(&block, 0x1234, 17), Ok(0));
    let too_many = vec![5000u64; MAX_EXTENT_LEAVES + 1];
    let before = block.clone();
    assert_eq!(write_extent_index(&mut block, 0x1234, 17, &too_many), None);
    assert_eq!(block, before, "nothing written");
    assert_eq!(
        write_extent_index(&mut block[..100], 0x1234, 17, &leaves),
        None
    );
}

#[test]
fn extent_blocks_needed_at_the_boundaries() {
    let cases = [
        (0, 0),
        (9, 0),   // all inline
        (10, 1),  // one extent block
        (264, 1), // a full one
        (265, 3), // an index and two extent blocks
        (519, 3), // two full ones
        (520, 4),
        (MAX_EXTENTS - 1, 1 + MAX_EXTENT_LEAVES),
        (MAX_EXTENTS, 1 + MAX_EXTENT_LEAVES),
    ];
    for (extents, blocks) in cases {
        assert_eq!(extent_blocks_needed(extents), blocks, "{extents} extents");
    }
}

#[test]
fn geometry_for_various_device_sizes() {
    assert_eq!(Geometry::for_device(0, 0), None);
    assert_eq!(Geometry::for_device(MIN_BLOCKS * 4096 - 1, 0), None);
    let tiny = Geometry::for_device(MIN_BLOCKS * 4096, 0).unwrap();
    assert_eq!(tiny.inode_count, INODES_PER_BLOCK);
    assert_eq!(tiny.first_data_block, 4);
    for bytes in [1u64 << 20, 100 << 20, (1 << 30) + 4095, 5 << 40] {
        let g = Geometry::for_device(bytes, 0).unwrap();
        assert_eq!(g.total_blocks, bytes / 4096);
        assert_eq!(u64::from(g.inode_count), (bytes / BYTES_PER_INODE).max(16));
        assert_eq!(g.inode_bitmap_start, 1);
        assert!(g.inode_bitmap_blocks * BITS_PER_BLOCK >= u64::from(g.inode_count));
        assert!(g.block_bitmap_blocks * BITS_PER_BLOCK >= g.total_blocks);
        assert_eq!(g.inode_table_blocks * 16, u64::from(g.inode_count));
        assert_eq!(
            g.first_data_block,
            g.inode_table_start + g.inode_table_blocks
        );
        assert_eq!(Geometry::new(g.total_blocks, g.inode_count), Some(g));
        assert!(g.data_blocks() > g.total_blocks * 9 / 10);
    }
    // An explicit count is rounded up to whole inode table blocks.
    assert_eq!(Geometry::for_device(8 << 20, 100).unwrap().inode_count, 112);
    // Inodes that would leave no room for data, or overflow u32, are refused.
    assert_eq!(Geometry::for_device(1 << 20, 1 << 20), None);
    assert_eq!(Geometry::for_device(1 << 50, 1 << 33), None);
    assert_eq!(Geometry::for_device((MAX_BLOCKS + 1) * 4096, 0), None);
}

#[test]
fn geometry_locates_inodes_and_bits() {
    let g = geom_8m();
    assert_eq!(g.inode_location(0), None);
    assert_eq!(g.inode_location(1), Some((g.inode_table_start, 256)));
    assert_eq!(g.inode_location(17), Some((g.inode_table_start + 1, 256)));
    assert_eq!(g.inode_location(g.inode_count), None);
    assert_eq!(g.block_bit_location(5), Some((g.block_bitmap_start, 5)));
    assert_eq!(g.block_bit_location(g.total_blocks), None);
    assert_eq!(g.inode_bit_location(3), Some((1, 3)));
    assert!(g.is_metadata(g.first_data_block - 1));
    assert!(!g.is_metadata(g.first_data_block));
    assert!(g.in_data_area(g.first_data_block, g.data_blocks()));
    assert!(!g.in_data_area(g.first_data_block, g.data_blocks() + 1));
    assert!(!g.in_data_area(u64::MAX, 2));
}

#[test]
fn extent_lookup_maps_pieces_and_holes() {
    let extents = [
        Extent::new(2, 100, 3), // file 2..5 -> 100..103
        Extent::new(5, 200, 1), // file 5 -> 200
        Extent::new(10, 300, 4),
    ];
    let map = |b| map_block(extents.iter().copied(), b);
    assert_eq!(map(0), Mapping::Hole { blocks: 2 });
    assert_eq!(
        map(2),
        Mapping::Mapped {
            disk_block: 100,
            blocks: 3,
            unwritten: false
        }
    );
    assert_eq!(
        map(4),
        Mapping::Mapped {
            disk_block: 102,
            blocks: 1,
            unwritten: false
        }
    );
    assert_eq!(
        map(5),
        Mapping::Mapped {
            disk_block: 200,
            blocks: 1,
            unwritten: false
        }
    );
    assert_eq!(map(6), Mapping::Hole { blocks: 4 });
    assert_eq!(
        map(13),
        Mapping::Mapped {
            disk_block: 303,
            blocks: 1,
            unwritten: false
        }
    );
    assert_eq!(
        map(14),
        Mapping::Hole {
            blocks: MAX_FILE_BLOCKS - 14
        }
    );
    assert_eq!(map(MAX_FILE_BLOCKS), Mapping::Hole { blocks: 0 });
    // An unwritten extent maps its blocks and says so.
    let unwritten = [Extent::new(0, 500, 2).with_unwritten(true)];
    assert_eq!(
        map_block(unwritten, 1),
        Mapping::Mapped {
            disk_block: 501,
            blocks: 1,
            unwritten: true
        }
    );
    assert_eq!(
        map_block([], 7),
        Mapping::Hole {
            blocks: MAX_FILE_BLOCKS - 7
        }
    );
    // Inline and overflow lists chain.
    let (inline, overflow) = extents.split_at(1);
    let chained = inline.iter().chain(overflow).copied();
    assert_eq!(
        map_block(chained, 11),
        Mapping::Mapped {
            disk_block: 301,
            blocks: 3,
            unwritten: false
        }
    );
}

#[test]
fn extent_lists_are_checked() {
    let g = geom_8m();
    let d = g.first_data_block;
    let ok = [Extent::new(0, d, 2), Extent::new(2, d + 10, 1)];
    assert_eq!(check_extents(ok, &g), Ok(3));
    let overlap = [Extent::new(0, d, 2), Extent::new(1, d + 10, 1)];
    assert_eq!(
        check_extents(overlap, &g),
        Err(ExtentError::UnsortedOrOverlapping)
    );
    assert_eq!(
        check_extents([Extent::new(0, d, 0)], &g),
        Err(ExtentError::Empty)
    );
    assert_eq!(
        check_extents([Extent::new(u32::MAX, d, 2)], &g),
        Err(ExtentError::PastMaxFileSize)
    );
    assert_eq!(
        check_extents([Extent::new(0, g.total_blocks - 1, 2)], &g),
        Err(ExtentError::OutsideDataArea)
    );
    // Unwritten extents are valid; bits no version defines are not.
    let unwritten = [
        Extent::new(0, d, 2).with_unwritten(true),
        Extent::new(2, d + 2, 1),
    ];
    assert_eq!(check_extents(unwritten, &g), Ok(3));
    assert!(unwritten[0].is_unwritten() && !unwritten[1].is_unwritten());
    assert_eq!(unwritten[0].disk_block(), d);
    assert_eq!(unwritten[0].with_unwritten(false), Extent::new(0, d, 2));
    let mut odd = Extent::new(0, d, 1);
    odd.start = Le64::new(d | 1 << 50);
    assert_eq!(check_extents([odd], &g), Err(ExtentError::UnknownFlags));
    assert_eq!(
        check_extents([Extent::new(0, d - 1, 1)], &g),
        Err(ExtentError::OutsideDataArea)
    );
}

#[test]
fn bitmap_helpers() {
    let mut map = [0u8; 4];
    assert_eq!(set_bit(&mut map, 9, true), Some(false));
    assert_eq!(map, [0, 0b10, 0, 0]);
    assert_eq!(test_bit(&map, 9), Some(true));
    assert_eq!(test_bit(&map, 8), Some(false));
    assert_eq!(test_bit(&map, 32), None);
    assert_eq!(set_bit(&mut map, 32, true), None);
    map[0] = 0xff;
    assert_eq!(find_clear_bit(&map, 0, 32), Some(8));
    assert_eq!(find_clear_bit(&map, 9, 32), Some(10));
    map = [0xff; 4];
    assert_eq!(find_clear_bit(&map, 0, 32), None);
    assert_eq!(find_clear_bit(&map, 0, 40), None);
    assert_eq!(set_bit(&mut map, 31, false), Some(true));
    assert_eq!(find_clear_bit(&map, 3, 32), Some(31));
    assert_eq!(find_clear_bit(&map, 3, 31), None);
}

#[test]
fn dirents_round_trip_and_names_are_checked() {
    let mut block = vec![0xeeu8; BLOCK_BYTES];
    let long = vec![b'x'; MAX_NAME_LEN];
    encode_dirent(&mut block[DIRENT_SIZE..], 42, FT_DIR, &long).unwrap();
    encode_dirent(&mut block, 7, FT_REG, b"hello").unwrap();
    let slots: Vec<_> = block.chunks_exact(DIRENT_SIZE).collect();
    let first = decode_dirent(slots[0]).unwrap().unwrap();
    assert_eq!(
        (first.ino, first.file_type, first.name),
        (7, FT_REG, &b"hello"[..])
    );
    let second = decode_dirent(slots[1]).unwrap().unwrap();
    assert_eq!((second.ino, second.name.len()), (42, MAX_NAME_LEN));
    assert!(
        slots[0][8 + 5..].iter().all(|&b| b == 0),
        "rest of slot zeroed"
    );
    assert_eq!(decode_dirent(&[0u8; DIRENT_SIZE]), Ok(None));
    let mut bad = [0u8; DIRENT_SIZE];
    bad[0] = 3; // inode 3, name length 0
    assert_eq!(decode_dirent(&bad), Err(NameError::Empty));
    assert_eq!(decode_dirent(&block[..10]), Err(NameError::TooLong));

    assert_eq!(validate_name(b"ok name.txt"), Ok(()));
    assert_eq!(validate_name(b""), Err(NameError::Empty));
    assert_eq!(validate_name(&[b'x'; 256]), Err(NameError::TooLong));
    assert_eq!(validate_name(b"a/b"), Err(NameError::BadByte));
    assert_eq!(validate_name(b"a\0b"), Err(NameError::BadByte));
    assert_eq!(validate_name(b".."), Err(NameError::Dot));
    assert_eq!(validate_name(b"..."), Ok(()));
    assert_eq!(
        encode_dirent(&mut block, 1, FT_REG, b"a/b"),
        Err(NameError::BadByte)
    );
    assert_eq!(file_type_of_mode(S_IFDIR | 0o755), FT_DIR);
    assert_eq!(file_type_of_mode(S_IFREG | 0o644), FT_REG);
    assert_eq!(file_type_of_mode(S_IFLNK | 0o777), FT_LNK);
}

#[test]
fn decoding_short_buffers_fails_instead_of_panicking() {
    for len in 0..SuperBlock::SIZE {
        assert_eq!(SuperBlock::from_bytes(&vec![0; len]), None);
        assert_eq!(SuperBlock::ZERO.to_bytes(&mut vec![0; len]), None);
    }
    assert_eq!(Extent::from_bytes(&[1; 15]), None);
    assert_eq!(extent_block_entries(&[0; 10], 5).count(), 0);
}

#[test]
fn special_files_hold_no_data_and_only_devices_a_number() {
    let geom = geom_8m();
    let check = |mode: u16, f: &dyn Fn(&mut Inode)| {
        let mut inode = Inode::new(mode | 0o644, 0, 0, 1, Timestamp::new(0, 0));
        f(&mut inode);
        inode.update_checksum(1, 2);
        inode.validate(1, 2, &geom)
    };
    let numbered = |i: &mut Inode| i.rdev = Le32::new(0x103);
    for mode in [S_IFCHR, S_IFBLK] {
        assert_eq!(check(mode, &numbered), Ok(()));
    }
    for mode in [S_IFIFO, S_IFSOCK] {
        assert_eq!(check(mode, &|_| {}), Ok(()));
        assert_eq!(check(mode, &numbered), Err(InodeError::BadSpecial));
    }
    assert_eq!(
        check(S_IFCHR, &|i| i.size = Le64::new(1)),
        Err(InodeError::BadSpecial)
    );
    assert_eq!(
        check(S_IFBLK, &|i| {
            i.extent_count = Le16::new(1);
            i.extents[0] = Extent::new(0, geom.first_data_block, 1);
            i.blocks = Le64::new(1);
        }),
        Err(InodeError::BadSpecial)
    );
    assert_eq!(
        check(S_IFIFO, &|i| i.overflow_block =
            Le64::new(geom.first_data_block)),
        Err(InodeError::BadSpecial)
    );
}

#[test]
fn device_numbers_encode_as_linux_new_encode_dev() {
    // Small numbers keep the old 16-bit form (major << 8 | minor).
    assert_eq!(encode_dev(1, 3), Some(0x103));
    assert_eq!(encode_dev(8, 1), Some(0x801));
    assert_eq!(encode_dev(0, 0), Some(0));
    // The minor's bits above 8 go above the major's 12.
    assert_eq!(encode_dev(259, 0x12345), Some(0x1231_0345));
    for (major, minor) in [(0, 0), (1, 3), (259, 0x12345), (4095, 0xf_ffff)] {
        let rdev = encode_dev(major, minor).unwrap();
        assert_eq!(decode_dev(rdev), (major, minor));
    }
    assert_eq!(encode_dev(4096, 0), None);
    assert_eq!(encode_dev(0, 1 << 20), None);
}
