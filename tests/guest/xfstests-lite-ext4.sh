# tsfs's xfstests-form tests (xfstests/tests/) on ext4, run by scripts/xfstests-lite
# (no xfstests checkout needed): ext4 on $TEST_DEV, mounted at TEST_DIR. One TAP line
# per test; a test that cannot run here (NOTRUN) fails the line, since everything
# it needs is in the VM.
. "$TSFS_ROOT/tests/guest/lib.sh"

export TEST_DIR=/tmp/xfstests-lite/test FSTYP=ext4
check "mkfs.ext4 on the test disk" mkfs.ext4 -q -F "$TEST_DEV"
mkdir -p "$TEST_DIR"
if ! check "mount ext4 at TEST_DIR" mount -t ext4 "$TEST_DEV" "$TEST_DIR"; then
    done_testing
    exit
fi

# Passes only on PASS (a NOTRUN exits 0 but is not a pass here).
lite() {
    local out rc
    out=$("$TSFS_ROOT/scripts/xfstests-lite" "$1")
    rc=$?
    printf '%s\n' "$out"
    [ "$rc" = 0 ] && grep -q "^PASS $1" <<<"$out"
}

for t in $("$TSFS_ROOT/scripts/xfstests-lite" --list); do
    check "xfstests-lite ext4: $t" lite "$t"
done

check "unmount TEST_DIR" umount "$TEST_DIR"
check "fsck.ext4 finds the file system clean" fsck.ext4 -n -f "$TEST_DEV"
done_testing
