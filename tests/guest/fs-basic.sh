# tsfs as a file system: mount, names, attributes, and data written through
# write(), shared mappings and truncate, read back through a second descriptor,
# after dropping caches and after a remount; fsck.tsfs clean after the work, and
# bad images refused with an errno and a log line.
. "$TSFS_ROOT/tests/guest/lib.sh"

DEV=$SCRATCH_DEV
M=/tmp/mnt
REF=/tmp/ref
mkdir -p "$M" "$REF"

# mount(2) itself, printing the errno's text, so a test can tell EINVAL from EUCLEAN.
sys_mount() {
    python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.mount(sys.argv[1].encode(), sys.argv[2].encode(), b"tsfs", 0, None)
print("mounted" if r == 0 else os.strerror(ctypes.get_errno()))
' "$1" "$2"
}

# Runs the same xfs_io commands on a tsfs file and on a reference file in tmpfs.
both() {
    local name=$1
    shift
    xfs_io -f "$@" "$M/$name" >/dev/null && xfs_io -f "$@" "$REF/$name" >/dev/null
}

# Every reference file matches its tsfs twin, read through a new descriptor.
same_as_reference() {
    local f rc=0
    for f in "$REF"/*; do
        cmp "$f" "$M/$(basename "$f")" || rc=1
    done
    return $rc
}

check "insmod tsfs.ko" insmod "$TSFS_KO"
check "mkfs.tsfs makes a 64 MiB file system" mkfs.tsfs -q -s 64M "$DEV"
check "mount -t tsfs" mount -t tsfs "$DEV" "$M"
check "the new root directory is empty" test -z "$(ls -A "$M")"
check "statfs: tsfs magic, 4 KiB blocks, 16384 blocks" \
    test "$(stat -f -c '%t %S %b' "$M")" = "54534653 4096 16384"

# --- names
check "create, write and read a small file" sh -c "echo hello > $M/a && test \"\$(cat $M/a)\" = hello"
check "mkdir and a file inside" sh -c "mkdir $M/d && echo inner > $M/d/b && test \"\$(cat $M/d/b)\" = inner"
check "a directory's link count counts its subdirectories" \
    sh -c "mkdir $M/d/s1 $M/d/s2 && test \$(stat -c %h $M/d) = 4"
check "readdir lists every entry once" \
    sh -c "test \"\$(ls -A $M/d | tr '\n' ' ')\" = 'b s1 s2 '"
check "a directory of 100 entries (several blocks) lists them all" sh -c "
    mkdir $M/many && for i in \$(seq 1 100); do : > $M/many/file-\$i; done &&
    test \$(ls $M/many | wc -l) = 100 && rm $M/many/file-[1-5]? && test \$(ls $M/many | wc -l) = 50"
check "hard link: same inode, two links" sh -c "ln $M/a $M/d/a2 && test \$(stat -c %h $M/a) = 2 && test \$(stat -c %i $M/a) = \$(stat -c %i $M/d/a2)"
check "rename within a directory" sh -c "mv $M/d/b $M/d/c && test ! -e $M/d/b && test \"\$(cat $M/d/c)\" = inner"
check "rename across directories, over an existing file" sh -c "
    echo old > $M/d/s1/x && mv $M/d/c $M/d/s1/x && test \"\$(cat $M/d/s1/x)\" = inner && test ! -e $M/d/c"
check "rename a directory across directories" sh -c "
    mv $M/d/s2 $M/moved && test \$(stat -c %h $M/d) = 3 && test -d $M/moved && test \$(stat -c %h $M) = 5"
check "rename over an empty directory" sh -c "mkdir $M/empty && mv -T $M/moved $M/empty && test -d $M/empty && test ! -e $M/moved"
# renameat2(RENAME_EXCHANGE) through libc, printing the errno's text on failure.
exchange() {
    python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
r = libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 2)
sys.exit(0 if r == 0 else os.strerror(ctypes.get_errno()))
' "$1" "$2"
}
echo one >"$M/x1" && echo two >"$M/d/x2" && mkdir "$M/d/xd"
i1=$(stat -c %i "$M/x1") links_root=$(stat -c %h "$M") links_d=$(stat -c %h "$M/d")
check "RENAME_EXCHANGE of two files" exchange "$M/x1" "$M/d/x2"
check "... swapped their files" sh -c "
    test \"\$(cat $M/x1)\" = two && test \"\$(cat $M/d/x2)\" = one && test \$(stat -c %i $M/d/x2) = $i1"
check "RENAME_EXCHANGE of a file and a directory across directories" exchange "$M/x1" "$M/d/xd"
check "... moved the directory's link from d to the root, and its '..'" sh -c "
    test -d $M/x1 && test \"\$(cat $M/d/xd)\" = two &&
    test \$(stat -c %h $M) = $((links_root + 1)) && test \$(stat -c %h $M/d) = $((links_d - 1)) &&
    test \$(stat -c %i $M/x1/..) = \$(stat -c %i $M)"
expect_fail "RENAME_EXCHANGE with a missing name fails with ENOENT" "No such file" \
    exchange "$M/a" "$M/no-such-name"
rmdir "$M/x1" && rm "$M/d/xd" "$M/d/x2"
expect_fail "rmdir of a non-empty directory fails" "not empty" rmdir "$M/d"
check "unlink and rmdir" sh -c "rm $M/d/a2 $M/d/s1/x && rmdir $M/d/s1 $M/empty && test \$(stat -c %h $M/a) = 1"
check "a 255-byte name works" sh -c "touch $M/$(printf 'n%.0s' $(seq 255)) && ls $M | grep -q nnnn"
expect_fail "a 256-byte name fails with ENAMETOOLONG" "File name too long" touch "$M/$(printf 'n%.0s' $(seq 256))"
check "O_DIRECT opens work (direct IO: tests/guest/dio-tsfs.sh)" xfs_io -d -c "pread 0 4k" "$M/a"
expect_fail "a misaligned O_DIRECT read fails with EINVAL" "Invalid argument" xfs_io -d -c "pread 1 4k" "$M/a"

# --- attributes
check "chmod and chown stick" sh -c "chmod 640 $M/a && chown 12:34 $M/a && test \"\$(stat -c '%a %u %g' $M/a)\" = '640 12 34'"
check "a write moves mtime and ctime forward" sh -c "
    touch -d '2001-01-01' $M/a && before=\$(stat -c %Y $M/a) && echo more >> $M/a &&
    test \$(stat -c %Y $M/a) -gt \$before && test \$(stat -c %Z $M/a) -gt \$before"
check "utimes sets nanosecond times" sh -c "touch -d '2020-02-02 02:02:02.123456789' $M/a && test \"\$(stat -c %y $M/a)\" = '2020-02-02 02:02:02.123456789 +0000'"

# --- data: write(), mappings, truncate; each mirrored in tmpfs
dd if=/dev/urandom of=/tmp/random bs=1M count=3 status=none
check "write(): 3 MiB copied in" sh -c "cp /tmp/random $M/big && cp /tmp/random $REF/big"
check "write(): unaligned writes, a sparse gap, and a write past the end" \
    both w1 -c "pwrite -S 0x11 100 5000" -c "pwrite -S 0x22 8000 100000" -c "pwrite -S 0x33 1000000 3"
check "shared mapping: writes into a truncated-up (sparse) file" \
    both m1 -c "truncate 200k" -c "mmap -rw 0 200k" -c "mwrite -S 0x44 0 4096" -c "mwrite -S 0x55 70000 9000" -c "msync -s 0 200k" -c munmap
check "shared mapping: writes over written data, unsynced" \
    both m2 -c "pwrite -S 0x66 0 64k" -c "mmap -rw 0 64k" -c "mwrite -S 0x77 5000 3000" -c munmap
check "truncate shrinks to a partial block, then grows (the tail reads as zeros)" \
    both t1 -c "pwrite -S 0x88 0 50000" -c "truncate 12345" -c "truncate 40000" -c "pwrite -S 0x99 30000 10"
check "truncate of a mapped file, then a write past the old end" \
    both t2 -c "pwrite -S 0xaa 0 20000" -c "mmap -rw 0 20000" -c "mwrite -S 0xbb 16384 100" -c munmap -c "truncate 1000" -c "pwrite -S 0xcc 10000 10"
check "truncate to zero and regrow" both t3 -c "pwrite -S 0xdd 0 100000" -c "truncate 0" -c "pwrite -S 0xee 8192 1"
check "write() and read() whose buffer is a mapping of the same file" python3 -c "
import mmap, os
fd = os.open('$M/self', os.O_RDWR | os.O_CREAT)
os.ftruncate(fd, 65536)
m = mmap.mmap(fd, 65536)
m[0:8192] = bytes(range(256)) * 32
view = memoryview(m)
assert os.pwritev(fd, [view[0:8192]], 16384) == 8192   # mapped pages 0-1 -> file 4-5
assert os.preadv(fd, [view[32768:40960]], 0) == 8192   # file 0-1 -> mapped pages 8-9
view.release(); m.close(); os.close(fd)
"
xfs_io -f -c "truncate 65536" -c "pwrite -b 8192 -S 0 0 8192" "$REF/self" >/dev/null
python3 -c "
data = bytes(range(256)) * 32
with open('$REF/self', 'r+b') as f:
    for off in (0, 16384, 32768):
        f.seek(off); f.write(data)
"
check "fsync" xfs_io -f -c "pwrite -S 0x12 0 4096" -c fsync "$M/synced"
xfs_io -f -c "pwrite -S 0x12 0 4096" "$REF/synced" >/dev/null
check "block count follows the data (w1: 4 blocks and a 1-block tail)" \
    test "$(stat -c %b "$M/w1")" = $(( (1 + 26) * 8 + 8 ))
check "all data reads back through a second descriptor" same_as_reference
check "... and after dropping the caches" sh -c "echo 3 > /proc/sys/vm/drop_caches"
check "data after dropping caches" same_as_reference
check "unmount" umount "$M"
check "fsck.tsfs -n: clean after the work" fsck.tsfs -n "$DEV"
check "mount again" mount -t tsfs "$DEV" "$M"
check "all data and names survive the remount" sh -c "same_as_reference() { for f in $REF/*; do cmp \$f $M/\$(basename \$f) || return 1; done; }; same_as_reference && test -d $M/d && test \$(ls $M/many | wc -l) = 50"
check "statfs free counts match fsck's after the remount" sh -c "
    used=\$(( \$(stat -f -c '%b - %f' $M) )) && umount $M &&
    fsck.tsfs -n -v $DEV | grep -q \"\$used/16384 blocks\" && mount -t tsfs $DEV $M"
check "rm -r of everything" sh -c "rm -rf $M/* && test -z \"\$(ls -A $M)\""
check "unmount after rm -r" umount "$M"
check "fsck.tsfs -n: clean, nothing left in use" sh -c "fsck.tsfs -n -v $DEV | grep -q ', 1/4095 inodes'"

# --- bad images
check "read-only mount and remount read-write" sh -c "mount -t tsfs -o ro $DEV $M && mount -o remount,rw $M && touch $M/rw && umount $M && fsck.tsfs -n $DEV"
check "remounting read-only writes everything back and marks the image clean" sh -c "
    mount -t tsfs $DEV $M && echo data > $M/ro && mount -o remount,ro $M &&
    fsck.tsfs -n -v $DEV | grep -q ', 3/4095 inodes' && ! fsck.tsfs -n -v $DEV | grep -q 'not cleanly' &&
    test \"\$(cat $M/ro)\" = data && umount $M"
expect_fail "a read-only mount refuses writes" "Read-only file system" sh -c "
    mount -t tsfs -o ro $DEV $M; touch $M/nope; rc=\$?; umount $M; exit \$rc"
dd if=/dev/zero of="$DEV" bs=4k count=1 conv=notrunc status=none
check "a zeroed super block is refused with EINVAL" test "$(sys_mount "$DEV" "$M")" = "Invalid argument"
check "... and a kernel log line saying why" sh -c "dmesg | grep -q 'refusing to mount: bad magic number'"
expect_fail "fsck.tsfs finds the zeroed super block" "bad magic" fsck.tsfs -n "$DEV"
mkfs.tsfs -q -s 64M "$DEV"
printf '\x07' | dd of="$DEV" bs=1 seek=40 conv=notrunc status=none
check "a super block with a flipped byte is refused with EUCLEAN" test "$(sys_mount "$DEV" "$M")" = "Structure needs cleaning"
expect_fail "fsck.tsfs finds the flipped byte" "checksum mismatch" fsck.tsfs -n "$DEV"
mkfs.tsfs -q -s 64M "$DEV"
mount -t tsfs "$DEV" "$M" && echo data > "$M/victim" && umount "$M"
# Inode 2 is slot 2 of the first inode table block (block 3 of a 64 MiB tsfs);
# byte 16 is in its size field.
printf '\x01' | dd of="$DEV" bs=1 seek=$((3 * 4096 + 2 * 256 + 16)) conv=notrunc status=none
check "an image with a damaged inode still mounts" mount -t tsfs "$DEV" "$M"
expect_fail "... the damaged inode gives EUCLEAN" "Structure needs cleaning" cat "$M/victim"
check "... and a log line names it" sh -c "dmesg | grep -q 'inode 2: inode checksum mismatch'"
check "... and unmounts" umount "$M"
expect_fail "fsck.tsfs finds the damaged inode" "inode 2: checksum mismatch" fsck.tsfs -n "$DEV"
check "rmmod tsfs" rmmod tsfs
done_testing
