# fsync writes what the file needs, not the whole device: the requests that
# reach the disk are counted in /sys/block/DEV/stat around each sync. fsync of
# one file leaves another file's dirty data and another directory's dirty blocks
# alone and flushes the device cache once; fdatasync after a change of the
# timestamps only writes the data and no inode; O_DSYNC writes (direct and
# buffered) over written blocks write their data and flush at most once per call,
# and on a device without a write cache a direct one is written through unless
# the inode has unsynced changes (IOMAP_F_DIRTY).
. "$TSFS_ROOT/tests/guest/lib.sh"

DEV=$TEST_DEV
NAME=$(basename "$DEV")
M=/tmp/mnt
mkdir -p "$M"

# The device's counters: writes (requests, sectors) and flush requests
# (Documentation/block/stat.rst: fields 5, 7 and 16).
declare -a before after
counters() { awk '{ print $5, $7, $16 }' "/sys/block/$NAME/stat"; }
snap_before() { read -r -a before < <(counters); }
snap_after() { read -r -a after < <(counters); }
sectors() { echo $((after[1] - before[1])); }
flushes() { echo $((after[2] - before[2])); }

# measure CMD...: runs CMD between two snapshots of the counters.
measure() {
    snap_before
    "$@" >/dev/null
    local rc=$?
    snap_after
    echo "# $*: $((after[0] - before[0])) writes, $(sectors) sectors, $(flushes) flushes"
    return "$rc"
}

# is WHAT ACTUAL OP EXPECTED: a numeric comparison as a test.
is() {
    if [ "$2" "$3" "$4" ]; then ok "$1 ($2 $3 $4)"; else not_ok "$1 ($2, expected $3 $4)"; fi
}

check "insmod tsfs.ko" insmod "$TSFS_KO"
check "mkfs.tsfs" mkfs.tsfs -q "$DEV"
check "mount" mount -t tsfs "$DEV" "$M"
# No periodic write-back during the suite: only the syncs measured write.
echo 0 >/proc/sys/vm/dirty_writeback_centisecs
echo 360000 >/proc/sys/vm/dirty_expire_centisecs
wc=$(cat "/sys/block/$NAME/queue/write_cache")
fua=$(cat "/sys/block/$NAME/queue/fua")
echo "# $NAME: write_cache '$wc', fua $fua"

# File a: 64 KiB on disk; then other work is left dirty: file b's data, and the
# blocks of a directory d with 200 new entries (25 blocks).
check "file a written and synced" xfs_io -f -c 'pwrite -q 0 64k' -c fsync "$M/a"
check "file b: 32 MiB left dirty" xfs_io -f -c 'pwrite -q -b 1m 0 32m' "$M/b"
check "directory d: 200 new entries left dirty" sh -c "mkdir $M/d && for i in \$(seq 200); do : >$M/d/f\$i; done"

# fsync of a, after an overwrite of its 64 KiB (128 sectors): its data and its
# inode (8 sectors); at most 4 blocks of metadata in all, never b's data nor d's
# blocks.
check "overwrite a" xfs_io -c 'pwrite -q -S 0x61 0 64k' "$M/a"
measure xfs_io -c fsync "$M/a"
is "fsync of a writes a's data and a few metadata blocks, not b or d" "$(sectors)" -le $((128 + 32))
is "fsync of a writes at least a's data and inode" "$(sectors)" -ge $((128 + 8))
is "fsync of a flushes the device cache once" "$(flushes)" -eq 1
dirty=$(awk '/^Dirty:/ { print $2 }' /proc/meminfo)
is "b's data is still dirty in memory (KiB)" "$dirty" -ge 16384

# fdatasync after an overwrite inside the file (short of its end), which changed
# only the timestamps: the data (32 KiB), no inode.
measure xfs_io -c 'pwrite -q -S 0x62 0 32k' -c fdatasync "$M/a"
is "fdatasync after a timestamp-only change writes the data only" "$(sectors)" -eq 64
is "fdatasync flushes once" "$(flushes)" -eq 1
# ...while after an append (the size changed) it writes the inode too.
measure xfs_io -c 'pwrite -q -S 0x63 64k 4k' -c fdatasync "$M/a"
is "fdatasync after an append writes the inode as well" "$(sectors)" -ge $((8 + 8))

# fsync of a directory writes its own blocks.
measure xfs_io -c fsync "$M/d"
is "fsync of d writes its 25 blocks and its inode" "$(sectors)" -ge $((25 * 8 + 8))
is "fsync of d flushes once" "$(flushes)" -eq 1

# O_DSYNC direct writes over written blocks: 4 calls of 64 KiB, data only, and
# at most one flush each (exactly one each on a write-back cache without FUA).
check "b synced" xfs_io -c fsync "$M/b"
measure dd if=/dev/zero of="$M/b" bs=64k count=4 oflag=direct,dsync conv=notrunc status=none
is "O_DSYNC direct overwrite writes its data only" "$(sectors)" -eq 512
if [ "$wc" = "write back" ] && [ "$fua" = 0 ]; then
    is "O_DSYNC direct overwrite: one flush per call" "$(flushes)" -eq 4
else
    is "O_DSYNC direct overwrite: at most one flush per call" "$(flushes)" -le 4
fi
# The same through the page cache.
measure dd if=/dev/zero of="$M/b" bs=64k count=4 oflag=dsync conv=notrunc status=none
is "O_DSYNC buffered overwrite writes its data only" "$(sectors)" -eq 512
is "O_DSYNC buffered overwrite: at most one flush per call" "$(flushes)" -le 4
# An extending O_DSYNC direct write needs its inode too, still one flush a call.
measure dd if=/dev/zero of="$M/b" bs=64k count=4 seek=512 oflag=direct,dsync conv=notrunc status=none
is "extending O_DSYNC direct write writes data and metadata" "$(sectors)" -gt 512
is "extending O_DSYNC direct write: at most one flush per call" "$(flushes)" -le 4

# A device without a volatile write cache: an O_DSYNC direct overwrite is
# written through, no fsync and no flush, while the inode has nothing unsynced
# that fdatasync needs; once it has (the size grown by truncate), the write is
# not written through: iomap calls fsync, which writes the inode.
check "b synced again" xfs_io -c fsync "$M/b"
echo "write through" >"/sys/block/$NAME/queue/write_cache"
measure dd if=/dev/zero of="$M/b" bs=64k count=4 oflag=direct,dsync conv=notrunc status=none
is "write-through device: O_DSYNC direct overwrite writes its data only" "$(sectors)" -eq 512
is "write-through device: no flush" "$(flushes)" -eq 0
check "b grown by truncate (inode dirty for fdatasync)" xfs_io -c 'truncate 40m' "$M/b"
measure dd if=/dev/zero of="$M/b" bs=64k count=4 oflag=direct,dsync conv=notrunc status=none
is "write-through device, inode dirty: the O_DSYNC write also writes the inode" "$(sectors)" -ge $((512 + 8))
echo "$wc" >"/sys/block/$NAME/queue/write_cache"

check "unmount" umount "$M"
check "fsck.tsfs -n: clean" fsck.tsfs -n "$DEV"
check "rmmod tsfs" rmmod tsfs
done_testing
