# One tsfs file for 60 s: 4 O_DIRECT readers, 2 O_DIRECT overwriters, 2 threads
# faulting its mapping (loads, stores, dropped page table entries) and a truncater.
# tsfs-dio-test checks every byte seen and the file at the end; the VM runner fails
# the suite on any lockdep report, warning or hung task; fsck.tsfs -n at the end.
. "$TSFS_ROOT/tests/guest/lib.sh"

bin=$TSFS_ROOT/target/release/tsfs-dio-test
mnt=/tmp/dio-stress
seconds=${DIO_STRESS_SECONDS:-60}

if ! check "tsfs-dio-test is built (scripts/host-tools)" test -x "$bin"; then
    done_testing
    exit
fi
check "insmod tsfs.ko" insmod "$TSFS_KO"
check "mkfs.tsfs on the scratch disk" mkfs.tsfs -q "$SCRATCH_DEV"
mkdir -p "$mnt"
if check "mount tsfs" mount -t tsfs "$SCRATCH_DEV" "$mnt"; then
    check "$seconds s of DIO readers, overwriters, faults and truncates on one file" \
        "$bin" --timeout $((seconds * 3 + 60)) stress "$mnt/f" --seconds "$seconds"
    sed 's/^/# /' "/sys/kernel/debug/tsfs/$(basename "$SCRATCH_DEV")/dio_stats"
    check "unmount tsfs" umount "$mnt"
    check "fsck.tsfs finds the file system clean" fsck.tsfs -n "$SCRATCH_DEV"
fi
check "rmmod tsfs" rmmod tsfs
done_testing
