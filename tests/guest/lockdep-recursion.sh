# Lockdep must report taking *add* while holding *block* on the same lock (what a
# DIO faulting in its own mapping would do).
# expect-report: WARNING: possible recursive locking detected
. "$TSFS_ROOT/tests/guest/lib.sh"
check "insmod tsfs.ko" insmod "$TSFS_KO"
check "provoke: add while holding block (the waiter is killed afterwards)" sh -c 'echo lockdep-recursion > /sys/kernel/debug/tsfs/selftest'
check "lockdep reported the recursion on the test lock" sh -c 'dmesg | grep -A20 "possible recursive locking detected" | grep -q tsfs_test_lock'
check "the recursive waiter was killed and returned" sh -c 'dmesg | grep -q "recursive waiter killed: true"'
check "rmmod tsfs" rmmod tsfs
done_testing
