# A full tsfs: writes, mapped writes, directory growth and inode creation fail
# with ENOSPC; nothing written before is harmed, the image stays clean for
# fsck.tsfs, and freed space can be used again.
. "$TSFS_ROOT/tests/guest/lib.sh"

DEV=$SCRATCH_DEV
M=/tmp/mnt
mkdir -p "$M"
dd if=/dev/urandom of=/tmp/keep1 bs=1M count=1 status=none
dd if=/dev/urandom of=/tmp/keep2 bs=1k count=300 status=none

intact() {
    cmp /tmp/keep1 "$M/keep1" && cmp /tmp/keep2 "$M/dir/keep2" && test "$(cat "$M/dir/small")" = small
}

check "insmod tsfs.ko" insmod "$TSFS_KO"
check "mkfs.tsfs: 8 MiB, 64 inodes" mkfs.tsfs -q -s 8M -N 64 "$DEV"
check "mount" mount -t tsfs "$DEV" "$M"
check "files written before the disk fills" sh -c "
    cp /tmp/keep1 $M/keep1 && mkdir $M/dir && cp /tmp/keep2 $M/dir/keep2 && echo small > $M/dir/small && sync"
check "a file of 9 extents, the most its inode holds without an extent block" bash -c "
    for b in 0 2 4 6 8 10 12 14; do xfs_io -f -c \"pwrite -q -S 0x11 \$((b * 4096)) 4096\" $M/nine || exit 1; done &&
    xfs_io -c 'pwrite -q -S 0x11 64k 12k' -c fsync $M/nine &&
    test \$(xfs_io -c fiemap $M/nine | grep -c ']: [0-9]') = 9"
# Blocks 1, 3, ... 525 punched: 264 extents, the most one extent block holds.
check "a file of 264 extents, the most its inode and one extent block hold" bash -c "
    args=(); for b in \$(seq 1 2 525); do args+=(-c \"fpunch \$((b * 4096)) 4096\"); done
    xfs_io -f -c 'pwrite -q -S 0x33 0 $((530 * 4096))' \"\${args[@]}\" -c fsync $M/f264 &&
    test \$(xfs_io -c fiemap $M/f264 | grep -c ']: [0-9]') = 264 &&
    test \$(stat -c %b $M/f264) = $(((530 - 263 + 1) * 8))"
expect_fail "filling the disk with write() ends in ENOSPC" "No space left" \
    dd if=/dev/zero of="$M/fill" bs=64k status=none
check "statfs: no free blocks left" test "$(stat -f -c %f "$M")" = 0
check "the partly written file keeps what was written" sh -c "test \$(stat -c %s $M/fill) -gt 4000000"
expect_fail "appending to a file fails with ENOSPC" "No space left" bash -c "echo x >> $M/dir/keep2"
check "a failed append leaves the file as it was" cmp /tmp/keep2 "$M/dir/keep2"
check "a write into a sparse file's hole through a mapping gets SIGBUS" sh -c "
    xfs_io -f -c 'truncate 64k' $M/holes &&
    ! xfs_io -c 'mmap -rw 0 64k' -c 'mwrite -S 0x5a 0 4096' $M/holes 2>/dev/null"
check "overwriting allocated blocks still works on a full disk" sh -c "
    dd if=/dev/urandom of=$M/fill bs=4k count=16 conv=notrunc status=none"
check "a new, empty directory can be made (it needs no block)" mkdir "$M/d2"
expect_fail "but its first entry (a new directory block) fails with ENOSPC" "No space left" touch "$M/d2/x"
check "the data written before is intact" intact
check "overwrite the 9th extent, 3 blocks (no allocation: the data stays dirty)" \
    xfs_io -c 'pwrite -q -S 0x22 64k 12k' "$M/nine"
expect_fail "a punch inside it needs an extent block: ENOSPC on a full disk" "No space left" \
    xfs_io -c "fpunch $((17 * 4096 - 100)) 4296" "$M/nine"
last_extent_is_new() { cmp <(tail -c 12288 "$M/nine") <(head -c 12288 /dev/zero | tr '\0' '\042'); }
export M
export -f last_extent_is_new
check "the refused punch changed nothing in the cached pages" last_extent_is_new
check "nor on disk after write-back" bash -c "
    sync && echo 3 >/proc/sys/vm/drop_caches && last_extent_is_new"
check "punching the filler's first block leaves exactly one block free" sh -c "
    xfs_io -c 'fpunch 0 4096' $M/fill && test \$(stat -f -c %f $M) = 1"
expect_fail "a 265th extent needs an index and a second extent block: ENOSPC with one free" \
    "No space left" xfs_io -c "fpunch $((527 * 4096)) 4096" "$M/f264"
check "the refused punch gave back the block it had got" test "$(stat -f -c %f "$M")" = 1
check "and changed nothing in the file" bash -c "
    test \$(stat -c %b $M/f264) = $(((530 - 263 + 1) * 8)) &&
    cmp <(tail -c $((3 * 4096)) $M/f264) <(head -c $((3 * 4096)) /dev/zero | tr '\\0' '\\063')"
check "truncating the big file frees its blocks" sh -c "
    truncate -s 1M $M/fill && test \$(stat -f -c %f $M) -gt 500"
check "with space again the same punch works: 265 extents in an index and two extent blocks" bash -c "
    xfs_io -c 'fpunch $((527 * 4096)) 4096' $M/f264 &&
    test \$(xfs_io -c fiemap $M/f264 | grep -c ']: [0-9]') = 265 &&
    test \$(stat -c %b $M/f264) = $(((530 - 264 + 3) * 8))"
expect_fail "making files until the inodes run out ends in ENOSPC" "No space left" sh -c "
    for i in \$(seq 1 80); do touch $M/d2/f\$i || exit 1; done"
check "the inodes ran out after 64 in all (inode 0 is reserved)" \
    test "$(stat -f -c %d "$M")" = 0
check "the data written before is still intact" intact
check "unmount" umount "$M"
check "fsck.tsfs -n: clean after ENOSPC" fsck.tsfs -n "$DEV"
check "mount again" mount -t tsfs "$DEV" "$M"
check "the data survives the remount" intact
check "freed space and inodes can be used again" sh -c "
    rm -r $M/d2 $M/fill $M/holes && cp /tmp/keep1 $M/again && cmp /tmp/keep1 $M/again && touch $M/newfile"
check "unmount" umount "$M"
check "fsck.tsfs -n: clean after reuse" fsck.tsfs -n "$DEV"
check "rmmod tsfs" rmmod tsfs
done_testing
