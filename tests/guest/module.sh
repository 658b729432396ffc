# The module loads, registers the filesystem type and its debugfs directory, and
# unloads leaving nothing behind.
. "$TSFS_ROOT/tests/guest/lib.sh"

check "insmod tsfs.ko" insmod "$TSFS_KO"
check "tsfs appears in /proc/filesystems" grep -qw tsfs /proc/filesystems
check "/sys/kernel/debug/tsfs exists" test -d /sys/kernel/debug/tsfs
check "the test and scratch disks are attached" test -b "$TEST_DEV" -a -b "$SCRATCH_DEV"
check "rmmod tsfs" rmmod tsfs
check "tsfs is gone from /proc/filesystems" sh -c '! grep -qw tsfs /proc/filesystems'
check "/sys/kernel/debug/tsfs is gone" test ! -e /sys/kernel/debug/tsfs
check "insmod again after rmmod" insmod "$TSFS_KO"
check "rmmod again" rmmod tsfs
done_testing
