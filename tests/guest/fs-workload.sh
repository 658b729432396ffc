# A 60-second mixed workload on tsfs (src/bin/tsfs-workload.rs): two threads,
# 48 files, writes, appends, truncates, writes and reads through shared
# mappings, punched holes, fsyncs, renames across directories, unlink and
# re-create, cache drops, every file checked through a second descriptor as it
# goes. Then every file must read back right after a remount, and fsck.tsfs must
# find the image clean before and after; the same with 8 files of up to 8 MiB,
# fragmented by punches into hundreds of extents. Last, five threads race on two
# files (tsfs-workload race): page faults (the page cache lock in *add*) against
# truncates (*block*).
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
# Files of up to 8 MiB, which punches of every other block fragment into
# hundreds of extents: extent index blocks come and go under the workload. A
# fixed number of operations per thread makes what the files go through depend
# on the seed alone (391 extents at most in one file, on ext4 on the host).
out=$("$WORKLOAD" run --dir "$M/big" --seconds 600 --ops 1000 --state /tmp/state-big --threads 2 \
    --files 4 --max-size 8388608 --seed 2 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
check "1,000 operations per thread on files of up to 8 MiB, fragmented by punches; every check passes" \
    test "$rc" = 0
most=$(printf '%s\n' "$out" | sed -n 's/.*most extents in one file after one: \([0-9]*\).*/\1/p')
check "a file went past one extent block to an index ($most extents)" test "${most:-0}" -gt 264
check "unmount, fsck.tsfs -n clean, mount" sh -c "umount $M && fsck.tsfs -n $DEV && mount -t tsfs $DEV $M"
check "the fragmented files read back right after the remount" "$WORKLOAD" verify --dir "$M/big" --state /tmp/state-big
check "20 s of threads racing on two files (faults against truncates)" \
    "$WORKLOAD" race --dir "$M" --seconds 20
check "unmount after the race" umount "$M"
check "fsck.tsfs -n: clean after the race" fsck.tsfs -n "$DEV"
check "mount again" mount -t tsfs "$DEV" "$M"
check "remove everything" rm -rf "$M/w" "$M/big" "$M/race0" "$M/race1"
check "unmount" umount "$M"
check "fsck.tsfs -n: clean and empty after removal" sh -c "fsck.tsfs -n -v $DEV | grep ', 1/'"
check "rmmod tsfs" rmmod tsfs
done_testing
