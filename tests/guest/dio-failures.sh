# A direct write that cannot finish, on tsfs: an extending O_DIRECT write on a
# nearly full file system (ENOSPC part-way) and one whose bios fail part-way (EIO,
# injected with the block layer's fail_make_request for the writing task only),
# each plain and with O_DSYNC. tsfs-dio-test checks that the size matches what the
# call returned, that no block is allocated past the end of the file (st_blocks and
# statfs), that the data is right, and that ftruncate up reads zeros, never the old
# disk contents it planted in the free blocks. Each file system is then checked with
# fsck.tsfs -n after unmounting.
# Then a process killed (SIGKILL) with 32 asynchronous direct IOs in flight (fio,
# libaio, reads then writes): every *block* hold handed to a completion must be
# released and the pinned pages unpinned, so the file stays usable (a page fault on
# it and a truncate complete), and fsck.tsfs -n is clean.
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

stats=/sys/kernel/debug/tsfs/$disk/dio_stats
counter() { awk -v k="$1" '$1 == k { print $2 }' "$stats"; }
if check "SIGKILL: a 64 MiB tsfs" fresh -s 64M && check "fio is available" command -v fio; then
    f=$mnt/killed
    check "SIGKILL: a 16 MiB file" xfs_io -f -c "pwrite -q -b 1m 0 16m" -c fsync "$f"
    for rw in randread randwrite; do
        async0=$(counter async_requests)
        # --thread: the job is a thread of the one process SIGKILL ends.
        fio --name=killed --filename="$f" --size=16m --direct=1 --ioengine=libaio --thread \
            --iodepth=32 --bs=64k --rw=$rw --time_based --runtime=120 --eta=never --output=/dev/null &
        pid=$!
        # Kill it once it has had more than 32 requests queued asynchronously
        # (fio may take a while to start in a loaded VM).
        for i in $(seq 600); do
            [ $(($(counter async_requests) - async0)) -gt 32 ] && break
            sleep 0.1
        done
        queued=$(($(counter async_requests) - async0))
        check "SIGKILL ($rw): fio was still running" kill -0 $pid
        kill -9 $pid
        wait $pid 2>/dev/null
        check "SIGKILL ($rw): no fio process is left" test -z "$(pgrep -x fio)"
        [ "$queued" -gt 32 ] && ok "SIGKILL ($rw): killed while completing asynchronously ($queued queued)" ||
            not_ok "SIGKILL ($rw): only $queued requests queued asynchronously in 60 s (want > 32)"
        check "SIGKILL ($rw): every hold handed to a completion is released" dio_async_idle "$stats"
        check "SIGKILL ($rw): a page fault on the file completes" \
            timeout 60 xfs_io -c "mmap -rw 0 64k" -c "mwrite -S 0x33 0 64k" -c "msync -s 0 64k" "$f"
        check "SIGKILL ($rw): a truncate of the file completes" \
            timeout 60 xfs_io -c "truncate 8m" -c "truncate 16m" "$f"
    done
    check "SIGKILL: unmount" umount "$mnt"
    check "SIGKILL: fsck.tsfs -n clean" fsck.tsfs -n "$dev"
fi

check "rmmod tsfs" rmmod tsfs
done_testing
