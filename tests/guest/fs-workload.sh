# A 60-second mixed workload on tsfs (src/bin/tsfs-workload.rs): two threads,
# 48 files, writes, appends, truncates, writes and reads through shared
# mappings, fsyncs, renames across directories, unlink and re-create, cache
# drops, every file checked through a second descriptor as it goes. Then every
# file must read back right after a remount, and fsck.tsfs must find the image
# clean before and after. Last, five threads race on two files (tsfs-workload
# race): page faults (the page cache lock in *add*) against truncates (*block*).
. "$TSFS_ROOT/tests/guest/lib.sh"

DEV=$SCRATCH_DEV
M=/tmp/mnt
SECONDS_TO_RUN=${TSFS_WORKLOAD_SECONDS:-60}
WORKLOAD=$TSFS_ROOT/target/release/tsfs-workload
mkdir -p "$M"

check "insmod tsfs.ko" insmod "$TSFS_KO"
check "mkfs.tsfs: 256 MiB" mkfs.tsfs -q -s 256M "$DEV"
check "mount" mount -t tsfs "$DEV" "$M"
check "mkdir the workload's directory" mkdir "$M/w"
check "${SECONDS_TO_RUN}-second mixed workload; every check during the run passes" \
    "$WORKLOAD" run --dir "$M/w" --seconds "$SECONDS_TO_RUN" --state /tmp/state --threads 2 --files 24
check "unmount" umount "$M"
check "fsck.tsfs -n: clean after the workload" fsck.tsfs -n -v "$DEV"
check "mount again" mount -t tsfs "$DEV" "$M"
check "every file reads back right after the remount" "$WORKLOAD" verify --dir "$M/w" --state /tmp/state
check "... and after dropping the caches" sh -c "echo 3 > /proc/sys/vm/drop_caches && $WORKLOAD verify --dir $M/w --state /tmp/state"
check "20 s of threads racing on two files (faults against truncates)" \
    "$WORKLOAD" race --dir "$M" --seconds 20
check "unmount after the race" umount "$M"
check "fsck.tsfs -n: clean after the race" fsck.tsfs -n "$DEV"
check "mount again" mount -t tsfs "$DEV" "$M"
check "remove everything" rm -rf "$M/w" "$M/race0" "$M/race1"
check "unmount" umount "$M"
check "fsck.tsfs -n: clean and empty after removal" sh -c "fsck.tsfs -n -v $DEV | grep ', 1/'"
check "rmmod tsfs" rmmod tsfs
done_testing
