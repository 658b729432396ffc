# Special files (devices, pipes, sockets) made with mknod, rename's whiteouts,
# and FIEMAP: made, used, kept across a remount, removed, and refused without
# damage when the inodes run out; fsck.tsfs stays clean.
. "$TSFS_ROOT/tests/guest/lib.sh"

DEV=$SCRATCH_DEV
M=/tmp/mnt
mkdir -p "$M"

# renameat2(AT_FDCWD, OLD, AT_FDCWD, NEW, RENAME_WHITEOUT); prints the errno name on failure.
rename_whiteout() {
    python3 - "$1" "$2" <<'EOF'
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_WHITEOUT, SYS_renameat2 = -100, 4, 316
if libc.syscall(SYS_renameat2, AT_FDCWD, sys.argv[1].encode(), AT_FDCWD, sys.argv[2].encode(), RENAME_WHITEOUT) != 0:
    print(errno.errorcode[ctypes.get_errno()]); sys.exit(1)
EOF
}

# kind_and_number PATH: "type major:minor" as stat prints them (hex numbers).
kind_and_number() { stat -c '%F %t:%T' "$1"; }
# fiemap_shape FILE: xfs_io's fiemap lines as "[SECTORS]: data|hole," (disk
# addresses dropped).
fiemap_shape() {
    xfs_io -c fiemap "$1" | awk 'NR > 1 { printf "%s %s,", $2, ($3 == "hole" ? "hole" : "data") }'
}
export -f rename_whiteout kind_and_number fiemap_shape

check "insmod tsfs.ko" insmod "$TSFS_KO"
check "mkfs.tsfs: 16 MiB, 32 inodes" mkfs.tsfs -q -s 16M -N 32 "$DEV"
check "mount" mount -t tsfs "$DEV" "$M"

check "mknod: a character device, a block device, a pipe" bash -c "
    mknod $M/null c 1 3 && mknod -m 600 $M/loop7 b 7 7 && mkfifo $M/pipe &&
    mknod $M/big c 4095 1048575"
check "a Unix socket bound in tsfs" python3 -c "
import socket; s = socket.socket(socket.AF_UNIX); s.bind('$M/sock')"
check "types and device numbers as made" bash -c "
    test \"\$(kind_and_number $M/null)\" = 'character special file 1:3' &&
    test \"\$(kind_and_number $M/loop7)\" = 'block special file 7:7' &&
    test \"\$(kind_and_number $M/big)\" = 'character special file fff:fffff' &&
    test \"\$(stat -c %F $M/pipe)\" = fifo && test \"\$(stat -c %F $M/sock)\" = socket &&
    test \"\$(stat -c %a $M/loop7)\" = 600"
check "the device file works: writes vanish into it, reads find nothing" bash -c "
    echo gone > $M/null && test -z \"\$(cat $M/null)\""
check "the pipe carries data from a writer to a reader" bash -c "
    (echo through > $M/pipe &) && test \"\$(cat $M/pipe)\" = through"
check "chmod, chown and touch change a special file's attributes" bash -c "
    chmod 640 $M/pipe && chown 12:34 $M/pipe && touch -d @1000000000 $M/pipe &&
    test \"\$(stat -c '%a %u %g %Y' $M/pipe)\" = '640 12 34 1000000000'"
expect_fail "truncate on a pipe is refused" "Invalid argument" \
    python3 -c "import os; os.truncate('$M/pipe', 0)"
check "special files own no blocks" bash -c "
    for f in null loop7 pipe sock big; do test \"\$(stat -c %s:%b $M/\$f)\" = 0:0 || exit 1; done"
check "a directory listing gives each its type" bash -c "
    test \"\$(find $M -mindepth 1 -maxdepth 1 -printf '%y %f\n' | sort | tr '\n' ,)\" = \
'b loop7,c big,c null,p pipe,s sock,'"

echo moved > "$M/file"
check "rename with RENAME_WHITEOUT moves the file and leaves a whiteout" rename_whiteout "$M/file" "$M/moved"
check "the whiteout is a character device 0:0 with no permissions" bash -c "
    test \"\$(kind_and_number $M/file)\" = 'character special file 0:0' &&
    test \"\$(stat -c %a $M/file)\" = 0 && test \"\$(cat $M/moved)\" = moved"
echo other > "$M/other"
check "a whiteout rename over an existing file replaces it" bash -c "
    rename_whiteout $M/moved $M/other && test \"\$(cat $M/other)\" = moved &&
    test \"\$(stat -c %t:%T $M/moved)\" = 0:0"

# FIEMAP: two written extents with a hole between, and a preallocated one.
check "fiemap reports the written extents and the hole between them" bash -c "
    xfs_io -f -c 'pwrite -q 0 64k' -c 'pwrite -q 1m 64k' -c fsync $M/sparse &&
    xfs_io -c fiemap $M/sparse &&
    test \"\$(fiemap_shape $M/sparse)\" = '[0..127]: data,[128..2047]: hole,[2048..2175]: data,'"
check "fiemap marks preallocated blocks unwritten" bash -c "
    xfs_io -f -c 'falloc 0 256k' $M/prealloc &&
    filefrag -v $M/prealloc | grep -q unwritten"
check "fiemap on an empty file reports no extent" bash -c "
    : > $M/empty && test \"\$(filefrag $M/empty | grep -o '[0-9]* extents')\" = '0 extents'"

check "unmount" umount "$M"
check "fsck.tsfs -n: clean with special files and whiteouts" fsck.tsfs -n "$DEV"
check "mount again" mount -t tsfs "$DEV" "$M"
check "types, numbers and attributes survive the remount" bash -c "
    test \"\$(kind_and_number $M/null)\" = 'character special file 1:3' &&
    test \"\$(kind_and_number $M/loop7)\" = 'block special file 7:7' &&
    test \"\$(kind_and_number $M/big)\" = 'character special file fff:fffff' &&
    test \"\$(kind_and_number $M/file)\" = 'character special file 0:0' &&
    test \"\$(stat -c '%F %a %u %g %Y' $M/pipe)\" = 'fifo 640 12 34 1000000000' &&
    test \"\$(stat -c %F $M/sock)\" = socket && test \"\$(cat $M/other)\" = moved"
check "the device file still works after the remount" bash -c "echo x > $M/null"

# Out of inodes: neither mknod nor a whiteout rename changes anything.
free=$(stat -f -c %d "$M")
check "use up the remaining $free inodes" bash -c "
    for i in \$(seq 1 $free); do : > $M/fill\$i || exit 1; done; test \$(stat -f -c %d $M) = 0"
expect_fail "mknod with no inode left: ENOSPC" "No space left" mknod "$M/nospace" c 1 3
check "and no name was made" test ! -e "$M/nospace"
echo stays > "$M/fill1"
check "a whiteout rename with no inode left: ENOSPC" bash -c "
    test \"\$(rename_whiteout $M/fill1 $M/target)\" = ENOSPC"
check "both names as they were" bash -c "
    test \"\$(cat $M/fill1)\" = stays && test ! -e $M/target"

check "removing special files gives their inodes back" bash -c "
    rm $M/null $M/loop7 $M/pipe $M/sock $M/big $M/file $M/moved && test \$(stat -f -c %d $M) = 7"
check "unmount" umount "$M"
check "fsck.tsfs -n: clean after removal" fsck.tsfs -n "$DEV"
check "rmmod tsfs" rmmod tsfs
done_testing
