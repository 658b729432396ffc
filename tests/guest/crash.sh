# Crash consistency: boot 1 writes files and makes them durable (fsync, fdatasync,
# O_SYNC, msync, O_DIRECT + fsync, O_DSYNC direct writes, a file of 600 extents
# punched into being, a rename made durable by
# fsyncing the directory, new files whose fsync makes their names durable, one
# fsynced next to another left dirty), with periodic write-back off,
# then does more work it never syncs and stops the machine without unmounting.
# Boot 2 sees the same disks: the unclean tsfs mounts (its free counts are rebuilt
# from the bitmaps), every durable file is there with its exact bytes, and after
# unmounting, fsck.tsfs -y then fsck.tsfs -n report it clean.
# boots: 2
. "$TSFS_ROOT/tests/guest/lib.sh"

boot=${1:?usage: crash.sh BOOT (1 or 2)}
DEV=$TEST_DEV
M=/tmp/mnt
EXP=/tmp/expected
mkdir -p "$M" "$EXP"

# The expected files travel from boot 1 to boot 2 as a tar archive written raw on
# the scratch disk; boot 1 never touches that disk otherwise.
save_expected() { tar cf "$SCRATCH_DEV" -C "$EXP" . && sync "$SCRATCH_DEV"; }
load_expected() { tar xf "$SCRATCH_DEV" -C "$EXP"; }

# Every expected file exists on tsfs with the same bytes.
all_intact() {
    local f bad=0
    for f in $(cd "$EXP" && find . -type f | sort); do
        cmp "$EXP/$f" "$M/$f" || bad=1
    done
    return "$bad"
}

if [ "$boot" = 1 ]; then
    check "insmod tsfs.ko" insmod "$TSFS_KO"
    check "mkfs.tsfs" mkfs.tsfs -q "$DEV"
    check "mount" mount -t tsfs "$DEV" "$M"
    # No periodic write-back: what reaches the disk is what the syncs write.
    echo 0 >/proc/sys/vm/dirty_writeback_centisecs
    mkdir -p "$EXP/dir"
    dd if=/dev/urandom of="$EXP/written" bs=64k count=24 status=none
    check "write() then fsync: 1.5 MiB" dd if="$EXP/written" of="$M/written" bs=64k conv=fsync status=none
    dd if=/dev/urandom of="$EXP/dir/nested" bs=4k count=5 status=none
    check "a file in a new directory, fsync of the file and of the directory" sh -c "
        mkdir $M/dir && dd if=$EXP/dir/nested of=$M/dir/nested bs=4k conv=fsync status=none &&
        xfs_io -c fsync $M/dir && xfs_io -c fsync $M"
    head -c 300000 /dev/urandom >"$EXP/appended"
    check "a file grown by appends, each with O_SYNC" sh -c "
        head -c 100000 $EXP/appended >$M/appended &&
        xfs_io -c fsync $M/appended &&
        tail -c +100001 $EXP/appended | head -c 100000 | dd of=$M/appended oflag=sync,append conv=notrunc status=none &&
        tail -c +200001 $EXP/appended | dd of=$M/appended oflag=sync,append conv=notrunc status=none"
    cp "$EXP/written" "$EXP/overwritten"
    printf 'overwritten in place' | dd of="$EXP/overwritten" bs=1 seek=70000 conv=notrunc status=none
    check "an overwrite inside a durable file, then fdatasync" sh -c "
        cp $M/written $M/overwritten && xfs_io -c fsync $M/overwritten &&
        printf 'overwritten in place' | dd of=$M/overwritten bs=1 seek=70000 conv=notrunc,fdatasync status=none"
    head -c 262144 /dev/zero | tr '\0' 'm' >"$EXP/mapped"
    check "a file written through a shared mapping, then msync" \
        xfs_io -f -c 'truncate 256k' -c 'mmap -rw 0 256k' -c 'mwrite -S 0x6d 0 256k' \
        -c 'msync -s 0 256k' -c 'munmap' -c fsync "$M/mapped"
    dd if=/dev/urandom of="$EXP/direct" bs=64k count=8 status=none
    check "a file written with O_DIRECT, then fsync" \
        dd if="$EXP/direct" of="$M/direct" bs=64k oflag=direct conv=fsync status=none
    cp "$EXP/direct" "$EXP/renamed"
    check "a rename made durable by fsync of the directory" sh -c "
        cp $EXP/direct $M/tmpname && xfs_io -c fsync $M/tmpname &&
        mv $M/tmpname $M/renamed && xfs_io -c fsync $M"
    dd if=/dev/urandom of="$EXP/fsynced" bs=64k count=8 status=none
    check "two new files dirty, only one fsynced (its name with it)" sh -c "
        dd if=$EXP/fsynced of=$M/fsynced bs=64k status=none &&
        dd if=/dev/urandom of=$M/not-fsynced bs=64k count=8 status=none &&
        xfs_io -c fsync $M/fsynced"
    mkdir -p "$EXP/newdir"
    dd if=/dev/urandom of="$EXP/newdir/deep" bs=4k count=3 status=none
    check "a new file in a new directory, fsync of the file alone" sh -c "
        mkdir $M/newdir && dd if=$EXP/newdir/deep of=$M/newdir/deep bs=4k conv=fsync status=none"
    dd if=/dev/urandom of="$EXP/dsync" bs=64k count=6 status=none
    check "a file grown by O_DSYNC direct writes, no fsync" \
        dd if="$EXP/dsync" of="$M/dsync" bs=64k oflag=direct,dsync status=none
    punch_odd='args=(); for b in $(seq 1 2 1197); do args+=(-c "fpunch $((b * 4096)) 4096"); done'
    check "a file of 600 extents (an index and three extent blocks) written, punched, then fsync" bash -c "
        $punch_odd
        xfs_io -f -c 'pwrite -q -S 0x78 0 $((1200 * 4096))' \"\${args[@]}\" $EXP/indexed &&
        xfs_io -f -c 'pwrite -q -S 0x78 0 $((1200 * 4096))' -c fsync \"\${args[@]}\" -c fsync $M/indexed &&
        test \$(stat -c %b $M/indexed) = $(((601 + 4) * 8))"
    check "the expected contents saved for the next boot" save_expected
    # Work that is never synced: whether it survives is up to write-back; it must
    # not harm what was made durable, nor leave an image fsck cannot make clean.
    check "more work, never synced (new files, a large write, unlinks)" sh -c "
        for i in \$(seq 1 30); do echo \$i >$M/dir/unsynced\$i; done &&
        dd if=/dev/urandom of=$M/big bs=64k count=64 status=none &&
        rm $M/dir/unsynced1 $M/dir/unsynced2 &&
        dd if=/dev/urandom of=$M/big bs=4k count=1 seek=2000 conv=notrunc status=none"
    check "the files read back before the crash" all_intact
    ok "stopping the machine without unmounting"
    done_testing
    # Report this boot's status to scripts/vm ourselves (only the 9p share is
    # synced), then reset: the guest's init, which would sync, never runs again.
    echo $? >/run/vm/status && sync /run/vm/status
    sleep 1
    echo b >/proc/sysrq-trigger
    sleep 30
    exit 1
fi

check "insmod tsfs.ko" insmod "$TSFS_KO"
check "the expected contents from boot 1" load_expected
fsck.tsfs -n "$DEV" 2>&1 | sed 's/^/# fsck.tsfs -n before mounting: /'
check "the image left by the crash mounts" mount -t tsfs "$DEV" "$M"
check "every file made durable before the crash is intact" all_intact
check "the directory made durable holds its entry" test -f "$M/dir/nested"
check "the renamed file is there under its new name only" sh -c "test -f $M/renamed && ! test -e $M/tmpname"
check "new files can be written after the crash" sh -c "
    dd if=/dev/urandom of=$M/after bs=64k count=16 status=none && sync"
check "unmount" umount "$M"
out=$(fsck.tsfs -y "$DEV" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
if [ "$rc" -le 1 ]; then ok "fsck.tsfs -y: clean or repaired (exit $rc)"; else not_ok "fsck.tsfs -y (exit $rc)"; fi
check "fsck.tsfs -n: clean after the repair" fsck.tsfs -n "$DEV"
check "mount again" mount -t tsfs "$DEV" "$M"
check "the durable files are still intact after the repair" all_intact
check "unmount" umount "$M"
check "rmmod tsfs" rmmod tsfs
done_testing
