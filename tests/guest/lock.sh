# TwoStateLock in-kernel tests (KTAP on the kernel log), and lockdep staying quiet on
# legal use, including the nested acquire.
. "$TSFS_ROOT/tests/guest/lib.sh"

check "insmod tsfs.ko" insmod "$TSFS_KO"
ctl=/sys/kernel/debug/tsfs/selftest
echo lock >"$ctl"
rc=$?
# Re-emit the suite's KTAP cases as our TAP lines, with its diagnostics.
ktap=$(dmesg | sed -n 's/^\[[ 0-9.]*\] tsfs: //p' | sed -n '/^KTAP version 1/,$p')
printf '%s\n' "$ktap" | grep '^#' || true
cases=0
while read -r status n name; do
    case "$status" in
        ok) ok "kernel: $name"; cases=$((cases + 1)) ;;
        not) not_ok "kernel: ${name#ok }"; cases=$((cases + 1)) ;;
    esac
done < <(printf '%s\n' "$ktap" | grep -E '^(ok|not ok) ')
if [ "$rc" = 0 ] && [ "$cases" = 12 ]; then ok "lock suite: write returned success, 12 cases reported"
else not_ok "lock suite: write exit $rc, $cases cases reported (want 0 and 12)"; fi
check "debugfs lock_stats shows the test lock class with its gate closures" \
    sh -c 'cat /sys/kernel/debug/tsfs/lock_stats; grep -q "^class tsfs_test_lock" /sys/kernel/debug/tsfs/lock_stats && grep -q "gate_closures [1-9]" /sys/kernel/debug/tsfs/lock_stats'
check "legal use (consistent order, nested acquire, lock_two) runs" sh -c "echo lockdep-legal > $ctl"
check "rmmod tsfs" rmmod tsfs
done_testing
