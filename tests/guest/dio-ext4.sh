# Direct IO whose buffer maps the file being transferred (DESIGN.md, "Scenarios the
# tests must cover", 1 to 9, plus misaligned and bad-address IO), on ext4: the
# baseline tsfs must match. Each scenario of tsfs-dio-test is one TAP line; the
# program checks counts, errnos and data (through a fresh descriptor after dropping
# caches, and through the mapping) and has its own time limit.
. "$TSFS_ROOT/tests/guest/lib.sh"

bin=$TSFS_ROOT/target/release/tsfs-dio-test
mnt=/tmp/dio-ext4
dir=$mnt/dio

if ! check "tsfs-dio-test is built (scripts/host-tools)" test -x "$bin"; then
    done_testing
    exit
fi
check "mkfs.ext4 on the scratch disk" mkfs.ext4 -q -F "$SCRATCH_DEV"
mkdir -p "$mnt"
if ! check "mount ext4" mount -t ext4 "$SCRATCH_DEV" "$mnt"; then
    done_testing
    exit
fi
mkdir -p "$dir"

# `tsfs-dio-test list DIR` prints each scenario's arguments, one line each.
while read -r -a args; do
    check "ext4: ${args[*]#"$dir/"}" "$bin" --timeout 120 "${args[@]}"
done < <("$bin" list "$dir")

check "unmount ext4" umount "$mnt"
check "fsck.ext4 finds the file system clean" fsck.ext4 -n -f "$SCRATCH_DEV"
done_testing
