# A direct write that cannot finish, on tsfs: an extending O_DIRECT write on a
# nearly full file system (ENOSPC part-way) and one whose bios fail part-way (EIO,
# injected with the block layer's fail_make_request for the writing task only),
# each plain and with O_DSYNC. tsfs-dio-test checks that the size matches what the
# call returned, that no block is allocated past the end of the file (st_blocks and
# statfs), that the data is right, and that ftruncate up reads zeros, never the old
# disk contents it planted in the free blocks. Each file system is then checked with
# fsck.tsfs -n after unmounting.
. "$TSFS_ROOT/tests/guest/lib.sh"

bin=$TSFS_ROOT/target/release/tsfs-dio-test
mnt=/tmp/dio-failures
dev=$SCRATCH_DEV

if ! check "tsfs-dio-test is built (scripts/host-tools)" test -x "$bin"; then
    done_testing
    exit
fi
check "insmod tsfs.ko" insmod "$TSFS_KO"
mkdir -p "$mnt"

# fresh [mkfs options]: a new tsfs on the scratch disk, mounted.
fresh() {
    mkfs.tsfs -q "$@" "$dev" && mount -t tsfs "$dev" "$mnt"
}

for dsync in "" --dsync; do
    name="ENOSPC${dsync:+ (O_DSYNC)}"
    if check "$name: a 16 MiB tsfs" fresh -s 16M; then
        check "$name: extending O_DIRECT write on a nearly full disk" \
            "$bin" --timeout 120 enospc "$mnt/f" $dsync
        check "$name: unmount" umount "$mnt"
        check "$name: fsck.tsfs -n clean" fsck.tsfs -n "$dev"
    fi
done

disk=$(basename "$dev")
check "fail_make_request is available" test -w "/sys/block/$disk/make-it-fail" -a -d /sys/kernel/debug/fail_make_request
for dsync in "" --dsync; do
    name="EIO${dsync:+ (O_DSYNC)}"
    if check "$name: a 64 MiB tsfs" fresh -s 64M; then
        check "$name: extending O_DIRECT write whose bios fail part-way" \
            "$bin" --timeout 120 eio "$mnt/f" --dev "$disk" $dsync
        check "$name: unmount" umount "$mnt"
        check "$name: fsck.tsfs -n clean" fsck.tsfs -n "$dev"
    fi
done

check "rmmod tsfs" rmmod tsfs
done_testing
