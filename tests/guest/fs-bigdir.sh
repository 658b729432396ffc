# A directory of thousands of names, where lookups, creations and removals go
# through the in-memory name index (fs/dir_index.rs): every name is found after
# the dentry cache is dropped, removed names are gone, new names reuse freed slots
# (the directory does not grow), renames inside it, and all of it again after a
# remount rebuilds the index from the blocks; fsck.tsfs clean.
. "$TSFS_ROOT/tests/guest/lib.sh"

DEV=$SCRATCH_DEV
M=/tmp/mnt
N=3000
mkdir -p "$M"

# names_are FIRST STEP STATE: every name f<i>, i = FIRST, FIRST+STEP, ... <= N,
# exists (STATE present) or does not (absent), looked up afresh: the shell's
# working directory keeps the directory's inode, and its index, in memory while
# the dentries of its names are dropped.
names_are() {
    local i
    (
        cd "$M/big" || exit 1
        echo 2 >/proc/sys/vm/drop_caches
        for ((i = $1; i <= N; i += $2)); do
            if [ "$3" = present ]; then
                [ -e "f$i" ] || { echo "f$i missing"; exit 1; }
            else
                [ ! -e "f$i" ] || { echo "f$i still there"; exit 1; }
            fi
        done
    )
}

# Lookups of names that were never there, on a dropped dentry cache.
strangers_absent() {
    (
        cd "$M/big" || exit 1
        echo 2 >/proc/sys/vm/drop_caches
        for ((i = 1; i <= 200; i++)); do
            [ ! -e "g$i" ] || { echo "g$i exists"; exit 1; }
        done
    )
}

check "insmod tsfs.ko" insmod "$TSFS_KO"
check "mkfs.tsfs" mkfs.tsfs -q -s 256M "$DEV"
check "mount" mount -t tsfs "$DEV" "$M"
check "create $N files in one directory" bash -c "
    mkdir $M/big && cd $M/big && for ((i = 1; i <= $N; i++)); do : > f\$i || exit 1; done"
check "readdir lists all $N" test "$(ls -f "$M/big" | grep -c '^f')" = "$N"
check "every name is found on a dropped dentry cache" names_are 1 1 present
check "names never created are not found" strangers_absent
size=$(stat -c %s "$M/big")
check "remove every other name" bash -c "cd $M/big && rm -f \$(seq -f 'f%g' 1 2 $N)"
check "the removed names are gone" names_are 1 2 absent
check "the others are still there" names_are 2 2 present
check "create the removed names again" bash -c "
    cd $M/big && for ((i = 1; i <= $N; i += 2)); do echo \$i > f\$i || exit 1; done"
check "they reuse the freed slots: the directory did not grow" test "$(stat -c %s "$M/big")" = "$size"
check "rename inside the directory, over an existing name" bash -c "
    cd $M/big && mv f1 f2 && test ! -e f1 && test \"\$(cat f2)\" = 1 && mv f3 newname && test -e newname"
check "unmount" umount "$M"
check "fsck.tsfs -n is clean" fsck.tsfs -n "$DEV"
check "mount again" mount -t tsfs "$DEV" "$M"
check "after the remount: the names renamed away are gone" bash -c "
    cd $M/big && test ! -e f1 && test ! -e f3 && test \"\$(cat newname)\" = 3 && test \"\$(cat f2)\" = 1"
check "after the remount: every other name is found" names_are 4 1 present
check "after the remount: readdir lists $((N - 1))" test "$(ls -f "$M/big" | grep -c '^[fn]')" = "$((N - 1))"
check "remove them all" bash -c "cd $M && rm -rf big"
check "unmount" umount "$M"
check "fsck.tsfs -n is clean at the end" fsck.tsfs -n "$DEV"
done_testing
