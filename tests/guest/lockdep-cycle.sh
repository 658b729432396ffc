# Lockdep must report an add/block cycle through TwoStateLock and a mutex.
# expect-report: WARNING: possible circular locking dependency detected
. "$TSFS_ROOT/tests/guest/lib.sh"
check "insmod tsfs.ko" insmod "$TSFS_KO"
check "provoke: add -> mutex, then mutex -> block" sh -c 'echo lockdep-cycle > /sys/kernel/debug/tsfs/selftest'
check "lockdep reported the cycle, naming the test lock" sh -c 'dmesg | grep -A30 "possible circular locking dependency" | grep -q tsfs_test_lock'
check "rmmod tsfs" rmmod tsfs
done_testing
