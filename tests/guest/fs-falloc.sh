# fallocate on tsfs: preallocation (mode 0 and FALLOC_FL_KEEP_SIZE) as unwritten
# blocks that read as zeros, buffered writes into them surviving a remount,
# punch hole and zero range (also over dirty mapped pages), ENOSPC part-way
# (all or nothing), unsupported modes; a file of 8169 extents (the most)
# and the punch that would make one more; symbolic links; O_TMPFILE. Sizes,
# st_blocks and statfs free blocks are checked, and fsck.tsfs -n after each part.
. "$TSFS_ROOT/tests/guest/lib.sh"

DEV=$SCRATCH_DEV
M=/tmp/mnt
REF=/tmp/ref
mkdir -p "$M" "$REF"
head -c 65536 /dev/urandom >/tmp/rand64k

free_blocks() { stat -f -c %f "$M"; }
# st_blocks in 4 KiB blocks.
blocks() { echo $(($(stat -c %b "$1") / 8)); }
size() { stat -c %s "$1"; }
# expect_eq "what" WANT CMD...: CMD prints WANT.
expect_eq() {
    local what=$1 want=$2 got
    shift 2
    got=$("$@" 2>&1)
    if [ "$got" = "$want" ]; then ok "$what"; else echo "# got '$got', want '$want'"; not_ok "$what"; fi
}
# Every byte of LEN bytes at OFF in FILE is zero.
zeros() { cmp -n "$3" -i "$2:0" "$1" /dev/zero; }
remount_fsck() {
    umount "$M" && fsck.tsfs -n "$DEV" && mount -t tsfs "$DEV" "$M"
}

check "insmod tsfs.ko" insmod "$TSFS_KO"
check "mkfs.tsfs: 64 MiB" mkfs.tsfs -q -s 64M "$DEV"
check "mount" mount -t tsfs "$DEV" "$M"

# --- preallocation (names made first: a directory block is no file's)
touch "$M/p0" "$M/pk" "$M/tail" "$M/bw" "$M/phk"
f0=$(free_blocks)
check "fallocate mode 0 of 1 MiB" xfs_io -f -c 'falloc 0 1m' "$M/p0"
expect_eq "mode 0 sets the size" 1048576 size "$M/p0"
expect_eq "mode 0: st_blocks is 256 blocks" 256 blocks "$M/p0"
expect_eq "mode 0: statfs has 256 blocks fewer free" $((f0 - 256)) free_blocks
check "preallocated blocks read as zeros" zeros "$M/p0" 0 1048576
f1=$(free_blocks)
check "fallocate -k (KEEP_SIZE) of 1 MiB" xfs_io -f -c 'falloc -k 0 1m' "$M/pk"
expect_eq "KEEP_SIZE leaves the size at 0" 0 size "$M/pk"
expect_eq "KEEP_SIZE: st_blocks is 256 blocks" 256 blocks "$M/pk"
expect_eq "KEEP_SIZE: statfs has 256 blocks fewer free" $((f1 - 256)) free_blocks
check "fallocate over allocated blocks allocates nothing more" bash -c "
    xfs_io -c 'falloc 0 1m' $M/p0 && test \$(stat -f -c %f $M) = $((f1 - 256))"
check "KEEP_SIZE past the end of a file with data" bash -c "
    head -c 10000 /tmp/rand64k >$M/tail && xfs_io -c 'falloc -k 0 64k' $M/tail &&
    test \$(stat -c %s $M/tail) = 10000 && test \$((\$(stat -c %b $M/tail) / 8)) = 16"
check "unmount, fsck.tsfs -n clean with blocks preallocated past the end, mount" remount_fsck
expect_eq "after remount: KEEP_SIZE file still 0 bytes, 256 blocks" "0 256" \
    bash -c "echo \$(stat -c %s $M/pk) \$((\$(stat -c %b $M/pk) / 8))"
check "after remount: the data before the preallocation is intact" \
    cmp <(head -c 10000 /tmp/rand64k) "$M/tail"

# --- buffered writes into preallocated blocks
check "KEEP_SIZE 64 KiB, then a buffered write of 8 KiB at 4 KiB and sync" bash -c "
    xfs_io -f -c 'falloc -k 0 64k' -c 'pwrite -S 0x61 4096 8192' -c fsync $M/bw >/dev/null"
expect_eq "the write sets the size to its end" 12288 size "$M/bw"
check "drop caches" bash -c "echo 3 >/proc/sys/vm/drop_caches"
check "read back after dropping caches: zeros then the data" bash -c "
    cmp -n 4096 $M/bw /dev/zero && cmp <(tail -c 8192 $M/bw) <(head -c 8192 /dev/zero | tr '\\0' a)"
check "unmount, fsck.tsfs -n clean, mount" remount_fsck
check "read back after remount" bash -c "
    cmp <(head -c 4096 /dev/zero; head -c 8192 /dev/zero | tr '\\0' a) $M/bw"
expect_eq "after remount: still 16 blocks (the rest stays preallocated)" 16 blocks "$M/bw"
check "a direct write into preallocated blocks past the end reads back" bash -c "
    xfs_io -d -c 'pwrite -S 0x62 16384 4096' $M/bw >/dev/null && echo 3 >/proc/sys/vm/drop_caches &&
    test \$(stat -c %s $M/bw) = 20480 &&
    cmp <(dd if=$M/bw bs=4096 skip=4 status=none) <(head -c 4096 /dev/zero | tr '\\0' b) &&
    cmp <(dd if=$M/bw bs=4096 skip=3 count=1 status=none) <(head -c 4096 /dev/zero)"

# --- truncation frees preallocated blocks
f2=$(free_blocks)
check "truncate to 0 frees KEEP_SIZE blocks past the end" bash -c "truncate -s 0 $M/pk && test \$(stat -c %b $M/pk) = 0"
expect_eq "statfs: the 256 blocks are free again" $((f2 + 256)) free_blocks
check "KEEP_SIZE then truncate up: the preallocated range reads as zeros" bash -c "
    xfs_io -c 'falloc -k 0 128k' $M/pk && truncate -s 131072 $M/pk &&
    cmp $M/pk <(head -c 131072 /dev/zero) && test \$((\$(stat -c %b $M/pk) / 8)) = 32"
check "truncating down into preallocated blocks frees the rest" bash -c "
    truncate -s 5000 $M/pk && test \$((\$(stat -c %b $M/pk) / 8)) = 2"

# --- punch hole
both() {
    local name=$1
    shift
    xfs_io -f "$@" "$M/$name" >/dev/null && xfs_io -f "$@" "$REF/$name" >/dev/null
}
cp /tmp/rand64k "$M/ph" && cp /tmp/rand64k "$REF/ph"
f3=$(free_blocks)
check "punch 12 KiB from 4196 (two whole blocks, two partial)" both ph -c 'fpunch 4196 12288'
check "the punched range reads as zeros, the rest unchanged (as on tmpfs)" cmp "$REF/ph" "$M/ph"
expect_eq "punch keeps the size" 65536 size "$M/ph"
expect_eq "punch frees the two whole blocks: st_blocks 14" 14 blocks "$M/ph"
expect_eq "statfs: two blocks more free" $((f3 + 2)) free_blocks
check "punch past the end of the file changes nothing in it" both ph -c 'fpunch 65536 65536'
check "punch inside one block zeroes only that part" both ph -c 'fpunch 40000 100'
expect_eq "a hole punched past preallocation frees it" "0 0" bash -c "
    xfs_io -f -c 'falloc -k 0 64k' -c 'fpunch 0 64k' $M/phk && echo \$(stat -c %s $M/phk) \$(stat -c %b $M/phk)"
check "punched file matches after dropping caches" bash -c "echo 3 >/proc/sys/vm/drop_caches && cmp $REF/ph $M/ph"

# --- zero range
cp /tmp/rand64k "$M/zr" && cp /tmp/rand64k "$REF/zr"
python3 -c '
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(100); f.write(bytes(5 * 4096 - 50))
' "$REF/zr"
f4=$(free_blocks)
check "zero range of 5 blocks from 100" xfs_io -c 'fzero 100 20430' "$M/zr"
check "the range reads as zeros, the rest unchanged" cmp "$REF/zr" "$M/zr"
expect_eq "zero range keeps the blocks (unwritten): st_blocks 16" 16 blocks "$M/zr"
expect_eq "zero range allocates nothing in a full file" "$f4" free_blocks
check "zero range past the end grows the file" bash -c "
    xfs_io -c 'fzero 65536 8192' $M/zr && test \$(stat -c %s $M/zr) = 73728 && test \$((\$(stat -c %b $M/zr) / 8)) = 18"
check "zero range -k past the end keeps the size, allocates" bash -c "
    xfs_io -c 'fzero -k 73728 8192' $M/zr && test \$(stat -c %s $M/zr) = 73728 && test \$((\$(stat -c %b $M/zr) / 8)) = 20"
check "unmount, fsck.tsfs -n clean, mount" remount_fsck
check "after remount: zeroed range and data as expected" bash -c "
    cmp <(head -c 65536 $M/zr) $REF/zr && cmp <(tail -c 8192 $M/zr) <(head -c 8192 /dev/zero)"

# --- punch and zero over dirty mapped pages
cp /tmp/rand64k "$M/mm"
check "punch over dirty mapped pages, then write through the mapping again" bash -c "
    xfs_io -c 'mmap -rw 0 64k' -c 'mwrite -S 0x77 0 65536' -c 'fpunch 8192 16384' \
        -c 'mwrite -S 0x78 0 4096' -c 'msync -s 0 64k' -c munmap $M/mm >/dev/null"
check "mapped punch: zeros where punched, the mapped writes elsewhere" bash -c "
    echo 3 >/proc/sys/vm/drop_caches &&
    cmp $M/mm <(head -c 4096 /dev/zero | tr '\\0' x; head -c 4096 /dev/zero | tr '\\0' w;
                head -c 16384 /dev/zero; head -c 40960 /dev/zero | tr '\\0' w)"
cp /tmp/rand64k "$M/mz"
check "zero range over dirty mapped pages" bash -c "
    xfs_io -c 'mmap -rw 0 64k' -c 'mwrite -S 0x77 0 65536' -c 'fzero 4000 8192' \
        -c 'msync -s 0 64k' -c munmap $M/mz >/dev/null"
check "mapped zero range: zeros there, the mapped writes elsewhere" bash -c "
    echo 3 >/proc/sys/vm/drop_caches &&
    cmp $M/mz <(head -c 4000 /dev/zero | tr '\\0' w; head -c 8192 /dev/zero;
                head -c 53344 /dev/zero | tr '\\0' w)"
check "unmount, fsck.tsfs -n clean, mount" remount_fsck

# --- times and unsupported modes
check "fallocate updates mtime and ctime (as ext4)" bash -c "
    touch -d '2001-01-01' $M/p0 && xfs_io -c 'falloc -k 0 2m' $M/p0 &&
    test \$(stat -c %Y $M/p0) -gt 1000000000 && test \$(stat -c %Z $M/p0) -gt \$(date -d 2001-01-02 +%s) &&
    test \$(stat -c %Y $M/p0) -gt \$(date -d 2001-01-02 +%s)"
expect_fail "collapse range is refused with EOPNOTSUPP" "not supported" xfs_io -c 'fcollapse 0 4096' "$M/p0"
expect_fail "insert range is refused with EOPNOTSUPP" "not supported" xfs_io -c 'finsert 0 4096' "$M/p0"

# --- symbolic links
check "symlink(2) to a relative path" ln -s ph "$M/l1"
expect_eq "readlink returns the target" ph readlink "$M/l1"
check "the path walk follows it" cmp "$REF/ph" "$M/l1"
long=$(head -c 4095 /dev/zero | tr '\0' a)
check "a target of 4095 bytes (a block less one)" ln -s "$long" "$M/l2"
expect_eq "its size is 4095" 4095 size "$M/l2"
expect_fail "a target of 4096 bytes: ENAMETOOLONG" "too long" \
    bash -c "ln -s ${long}a $M/l3 2>&1 | sed 's/a\{64,\}/.../'; exit \${PIPESTATUS[0]}"
check "a link to a directory, walked through" bash -c "mkdir $M/d && echo hi >$M/d/f && ln -s d $M/ld && test \$(cat $M/ld/f) = hi"
check "unmount, fsck.tsfs -n clean with symlinks, mount" remount_fsck
expect_eq "after remount: readlink of the long target" "$long" readlink "$M/l2"
expect_eq "after remount: readlink" ph readlink "$M/l1"
f5=$(free_blocks)
check "removing a symlink frees its block" bash -c "rm $M/l2 && test \$(stat -f -c %f $M) = $((f5 + 1))"

# --- O_TMPFILE
cat >/tmp/tmpfile.py <<'PY'
import ctypes, os, sys
d, what = sys.argv[1], sys.argv[2]
fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600)
os.write(fd, b"t" * 10000)
assert os.pread(fd, 10000, 0) == b"t" * 10000, "read back"
assert os.fstat(fd).st_nlink == 0, "nlink 0"
if what == "link":
    # linkat(AT_FDCWD, "/proc/self/fd/N", AT_FDCWD, name, AT_SYMLINK_FOLLOW)
    libc = ctypes.CDLL(None, use_errno=True)
    src = ("/proc/self/fd/%d" % fd).encode()
    r = libc.linkat(-100, src, -100, (d + "/linked").encode(), 0x400)
    assert r == 0, os.strerror(ctypes.get_errno())
elif what == "statx":
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(256)
    AT_EMPTY_PATH, STATX_DIOALIGN = 0x1000, 0x2000
    r = libc.statx(fd, b"", AT_EMPTY_PATH, STATX_DIOALIGN, buf)
    assert r == 0, os.strerror(ctypes.get_errno())
    mask = int.from_bytes(buf.raw[0:4], "little")
    mem = int.from_bytes(buf.raw[152:156], "little")
    off = int.from_bytes(buf.raw[156:160], "little")
    assert mask & STATX_DIOALIGN, "no STATX_DIOALIGN"
    assert mem > 0, "no memory alignment"
    print(off)
elif what == "keep":
    os.fsync(fd)
    os.system("sync")
    sys.stdout.flush()
    os.system(sys.argv[3])
os.close(fd)
PY
fi0=$(stat -f -c %d "$M")
fb0=$(free_blocks)
check "O_TMPFILE: write, read back, link count 0, closed" python3 /tmp/tmpfile.py "$M" close
expect_eq "the closed tmpfile's inode is freed" "$fi0" stat -f -c %d "$M"
expect_eq "and its blocks" "$fb0" free_blocks
check "O_TMPFILE then linkat through /proc/self/fd" python3 /tmp/tmpfile.py "$M" link
expect_eq "the linked file holds the data, one link" "10000 1" bash -c "echo \$(stat -c '%s %h' $M/linked)"
expect_eq "statx(STATX_DIOALIGN) on an O_TMPFILE file (as xfstests' min_dio_alignment)" \
    "$(cat /sys/block/"$(basename "$DEV")"/queue/logical_block_size)" \
    python3 /tmp/tmpfile.py "$M" statx
check "unmount, fsck.tsfs -n clean, mount" remount_fsck
check "the linked tmpfile survives the remount" cmp "$M/linked" <(head -c 10000 /dev/zero | tr '\0' t)
# A crash with a tmpfile open: a copy of the synced disk (on the other disk)
# taken while it is open.
COPY=$TEST_DEV
check "a disk copy taken with a synced tmpfile open" python3 /tmp/tmpfile.py "$M" keep \
    "dd if=$DEV of=$COPY bs=1M count=64 status=none"
expect_fail "fsck.tsfs -n on the copy reports the orphaned tmpfile" "link count is 0" fsck.tsfs -n "$COPY"
check "fsck.tsfs -y reclaims it" bash -c "fsck.tsfs -y $COPY; test \$? = 1"
check "fsck.tsfs -n: the copy is clean" fsck.tsfs -n "$COPY"
check "the copy mounts, and the linked tmpfile is there" bash -c "
    mkdir -p /tmp/copy && mount -t tsfs $COPY /tmp/copy && cmp $M/linked /tmp/copy/linked && umount /tmp/copy"
check "unmount" umount "$M"
check "fsck.tsfs -n: clean" fsck.tsfs -n "$DEV"

# --- many extents: 9 in the inode, then an index block listing up to 32
# extent blocks of 255, 8169 in all. Punching every other block of a written
# file splits one more extent off each time (not the last block, which would
# only shorten the last extent); punch 8168 makes the 8169th.
check "mkfs.tsfs: 96 MiB" mkfs.tsfs -q -s 96M "$DEV"
check "mount" mount -t tsfs "$DEV" "$M"
touch "$M/frag" # its name's directory block is no file's
f0=$(free_blocks)
check "a file of 16400 blocks" bash -c "xfs_io -f -c 'pwrite -q -S 0x61 0 $((16400 * 4096))' $M/frag && sync"
punch_args=()
for i in $(seq 1 2 16397); do punch_args+=(-c "fpunch $((i * 4096)) 4096"); done
expect_fail "the punch that would make a file's 8170th extent fails with ENOSPC" "No space left" \
    xfs_io -c 'fsync' "${punch_args[@]}" "$M/frag"
# 8169 extents need the index block and all 32 extent blocks.
expect_eq "the first 8168 punches worked: st_blocks counts 16400 - 8168 data blocks and 33 extent blocks" \
    $((16400 - 8168 + 33)) blocks "$M/frag"
expect_eq "FIEMAP reports 8169 extents" 8169 bash -c "xfs_io -c 'fiemap' $M/frag | grep -c ']: [0-9]'"
check "unmount, fsck.tsfs -n clean with an index block, mount" remount_fsck
check "after the remount every even block holds its data, the odd ones up to 16335 are holes" python3 -c "
import sys
data = open(sys.argv[1], 'rb').read()
assert len(data) == 16400 * 4096, len(data)
blocks = [data[i * 4096:(i + 1) * 4096] for i in range(16400)]
bad = [i for i in range(0, 16400, 2) if blocks[i] != b'a' * 4096]
assert not bad, f'even blocks lost their data: {bad[:5]}'
holes = [i for i in range(1, 16400, 2) if blocks[i] == bytes(4096)]
kept = [i for i in range(1, 16400, 2) if blocks[i] == b'a' * 4096]
assert holes == list(range(1, 16336, 2)), f'{len(holes)} holes, first {holes[:3]}, last {holes[-3:]}'
assert len(kept) == 8200 - 8168, f'{len(kept)} odd blocks kept, first {kept[:3]}'
" "$M/frag"
check "truncating to 25 blocks (13 extents) frees the index and all but one extent block" \
    truncate -s $((25 * 4096)) "$M/frag"
expect_eq "st_blocks: 13 data blocks and one extent block" 14 blocks "$M/frag"
check "unmount, fsck.tsfs -n clean, mount" remount_fsck
check "removing the file frees every block it had" bash -c "rm $M/frag && test \$(stat -f -c %f $M) = $f0"
check "unmount" umount "$M"
check "fsck.tsfs -n: clean" fsck.tsfs -n "$DEV"

# --- ENOSPC part-way
check "mkfs.tsfs: 8 MiB" mkfs.tsfs -q -s 8M "$DEV"
check "mount" mount -t tsfs "$DEV" "$M"
check "a file of 64 KiB before" cp /tmp/rand64k "$M/keep"
touch "$M/big"
free=$(free_blocks)
expect_fail "fallocate of more than is free fails with ENOSPC" "No space left" \
    xfs_io -f -c "falloc 0 $(((free + 10) * 4096))" "$M/big"
expect_eq "statfs: nothing stays allocated (all or nothing)" "$free" free_blocks
expect_eq "the file keeps its size and has no blocks" "0 0" bash -c "echo \$(stat -c '%s %b' $M/big)"
expect_fail "KEEP_SIZE over a partly written file: ENOSPC" "No space left" \
    xfs_io -c "falloc -k 0 $(((free + 16 + 10) * 4096))" "$M/keep"
expect_eq "it keeps its blocks and size" "65536 16" bash -c "echo \$(stat -c %s $M/keep) \$((\$(stat -c %b $M/keep) / 8))"
expect_eq "statfs: unchanged" "$free" free_blocks
check "fallocate of exactly what is free succeeds" xfs_io -c "falloc 0 $((free * 4096))" "$M/big"
expect_eq "statfs: no block free" 0 free_blocks
check "the data before is intact" cmp /tmp/rand64k "$M/keep"
check "unmount, fsck.tsfs -n clean after ENOSPC, mount" remount_fsck
check "removing the preallocated file frees everything" bash -c "rm $M/big && test \$(stat -f -c %f $M) = $free"
check "unmount" umount "$M"
check "fsck.tsfs -n: clean" fsck.tsfs -n "$DEV"
check "rmmod tsfs" rmmod tsfs
done_testing
