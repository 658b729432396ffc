# Direct IO on tsfs (DESIGN.md "Scenarios the tests must cover", 1 to 9, plus
# misaligned and bad-address IO): every scenario of tsfs-dio-test (counts, errnos,
# data through a fresh descriptor after dropping caches and through the mapping),
# plus the per-mount counters: self-mapped bytes fall back to buffered IO, other
# bytes stay true DIO. Then the same self-overlapping IO with the detection off.
. "$TSFS_ROOT/tests/guest/lib.sh"

bin=$TSFS_ROOT/target/release/tsfs-dio-test
mnt=/tmp/dio-tsfs
dir=$mnt/dio
page=4096

if ! check "tsfs-dio-test is built (scripts/host-tools)" test -x "$bin"; then
    done_testing
    exit
fi
check "insmod tsfs.ko" insmod "$TSFS_KO"
check "mkfs.tsfs on the scratch disk" mkfs.tsfs -q "$SCRATCH_DEV"
mkdir -p "$mnt"
if ! check "mount tsfs" mount -t tsfs "$SCRATCH_DEV" "$mnt"; then
    done_testing
    exit
fi
mkdir -p "$dir"
stats=/sys/kernel/debug/tsfs/$(basename "$SCRATCH_DEV")/dio_stats
check "per-mount DIO counters exist" test -r "$stats"

# counter NAME: its current value.
counter() { awk -v k="$1" '$1 == k { print $2 }' "$stats"; }
snapshot() { direct0=$(counter direct_bytes) self0=$(counter fallback_self_mapped_bytes); }
delta_direct() { echo $(($(counter direct_bytes) - direct0)); }
delta_self() { echo $(($(counter fallback_self_mapped_bytes) - self0)); }

# Every scenario, as on ext4.
while read -r -a args; do
    check "tsfs: ${args[*]#"$dir/"}" "$bin" --timeout 120 "${args[@]}"
done < <("$bin" list "$dir")
cat "$stats" | sed 's/^/# /'

# Counters, scenario by scenario.
snapshot
check "anonymous buffers: DIO runs" "$bin" anon "$dir/c-anon"
[ "$(delta_self)" = 0 ] && [ "$(delta_direct)" -gt 0 ] && ok "anonymous buffers stay true DIO (direct +$(delta_direct), fallback +0)" ||
    not_ok "anonymous buffers stay true DIO (direct +$(delta_direct), fallback +$(delta_self))"

snapshot
check "mapping of another page: DIO runs" "$bin" other-page "$dir/c-other" --shared
[ "$(delta_self)" = 0 ] && [ "$(delta_direct)" -gt 0 ] && ok "a mapping of another page stays true DIO (direct +$(delta_direct))" ||
    not_ok "a mapping of another page stays true DIO (direct +$(delta_direct), fallback +$(delta_self))"

snapshot
check "a page written onto itself: DIO runs" "$bin" self-page "$dir/c-self" --shared --untouched
[ "$(delta_self)" -ge $((4 * page)) ] && ok "the self-mapped page falls back (fallback +$(delta_self))" ||
    not_ok "the self-mapped page falls back (fallback +$(delta_self), want >= $((4 * page)))"

for spec in "8 3" "8 -3" "64 32" "300 150"; do
    set -- $spec
    pages=$1 shift_=$2 abs=${2#-}
    snapshot
    check "self-range $pages pages shift $shift_ runs" "$bin" self-range "$dir/c-range-$pages-$abs" --pages "$pages" --shift "$shift_"
    want=$(((pages - abs) * page))
    if [ "$shift_" -gt 0 ]; then
        # Forward: the source pages inside the range are still ahead of the IO.
        [ "$(delta_self)" = "$want" ] && ok "self-range $pages/$shift_: only the $((pages - abs)) overlapping pages fall back (fallback +$(delta_self), direct +$(delta_direct))" ||
            not_ok "self-range $pages/$shift_: fallback +$(delta_self), want exactly $want"
    else
        # Backward: by the time the IO reaches the overlapping source pages, the
        # range they map is already written, so they may legitimately stay DIO.
        [ "$(delta_self)" -le "$want" ] && [ "$(delta_direct)" -gt 0 ] && ok "self-range $pages/$shift_: at most the overlapping pages fall back (fallback +$(delta_self) <= $want, direct +$(delta_direct))" ||
            not_ok "self-range $pages/$shift_: fallback +$(delta_self), want <= $want with some true DIO"
    fi
done

# Queue depth 32: 10 self-mapped pages written and 10 read fall back, the 44
# other pages (and the read-back) are true DIO.
# The 44 true-DIO requests are whole-request rounds: they complete asynchronously
# (queued, *block* released by the completion), the self-mapped ones do not.
for engine in aio uring; do
    snapshot
    async0=$(counter async_requests)
    check "queue depth 32 ($engine) runs" "$bin" qd32 "$dir/c-qd32" --engine=$engine
    [ "$(delta_self)" = $((20 * page)) ] && [ "$(delta_direct)" -ge $((44 * page)) ] &&
        ok "queue depth 32 ($engine): exactly the 20 self-mapped pages fall back (fallback +$(delta_self), direct +$(delta_direct))" ||
        not_ok "queue depth 32 ($engine): fallback +$(delta_self) (want $((20 * page))), direct +$(delta_direct) (want >= $((44 * page)))"
    queued=$(($(counter async_requests) - async0))
    [ "$queued" -gt 0 ] && [ "$queued" -le 44 ] &&
        ok "queue depth 32 ($engine): true-DIO requests complete asynchronously ($queued of 44 queued)" ||
        not_ok "queue depth 32 ($engine): $queued requests queued asynchronously (want 1..44)"
done
high=$(counter async_high_water)
[ "$high" -gt 1 ] && ok "several asynchronous requests were in flight at once (high-water mark $high)" ||
    not_ok "asynchronous requests in flight at once: high-water mark $high (want > 1)"
check "every *block* hold handed to a completion is released (async_inflight back to 0)" dio_async_idle "$stats"

# One pwritev of 16 one-page segments is one round: pinning goes across segments.
rounds0=$(counter extra_rounds)
snapshot
xfs_io -f -c "pwrite -q -S 0x5a 0 64k" /tmp/dio-16seg.expected
check "pwritev of 16 segments with O_DIRECT" xfs_io -f -d -c "pwrite -q -V 16 -b 4096 -S 0x5a 0 64k" "$dir/c-16seg"
rounds=$(($(counter extra_rounds) - rounds0))
[ "$rounds" = 0 ] && [ "$(delta_direct)" = 65536 ] &&
    ok "a 16-segment pwritev is one true-DIO round (extra rounds +0, direct +65536)" ||
    not_ok "a 16-segment pwritev: extra rounds +$rounds (want 0), direct +$(delta_direct) (want 65536)"
echo 3 >/proc/sys/vm/drop_caches
check "the 16 segments landed in order" cmp /tmp/dio-16seg.expected "$dir/c-16seg"

# With the detection off, the same self-overlapping IO must still complete with
# the right data and no spinning (the backstops: pinned pages are written from as
# they were; a failed invalidation or a round without progress goes buffered).
echo 0 >/sys/kernel/debug/tsfs/dio_overlap_detect
snapshot
check "detection off: a page written onto itself completes, data right" \
    "$bin" --timeout 60 self-page "$dir/off-self" --shared --touched
check "detection off: 64 pages, forward overlap, completes, data right" \
    "$bin" --timeout 60 self-range "$dir/off-range" --pages 64 --shift 32
[ "$(delta_self)" = 0 ] && ok "detection off: nothing counted as self-mapped (direct +$(delta_direct))" ||
    not_ok "detection off: fallback_self_mapped moved (+$(delta_self))"
cat "$stats" | sed 's/^/# /'
echo 1 >/sys/kernel/debug/tsfs/dio_overlap_detect

check "unmount tsfs" umount "$mnt"
check "fsck.tsfs finds the file system clean" fsck.tsfs -n "$SCRATCH_DEV"
check "rmmod tsfs" rmmod tsfs
done_testing
