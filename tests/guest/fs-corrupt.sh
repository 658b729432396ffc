# Damaged images: a populated 4 MiB tsfs is copied onto the scratch disk with
# random metadata bytes flipped (super block, bitmaps, inodes, directory,
# extent and extent index blocks; see src/bin/tsfs-corrupt.rs), over and over. Each image must
# either be refused at mount with an errno, or mount, survive a walk that reads
# every file (find + cat, ls -lR) and a few changes, and unmount. Any Oops,
# WARNING, BUG, lockdep report or hang fails the run (scripts/vm checks the log).
. "$TSFS_ROOT/tests/guest/lib.sh"

IMAGES=${TSFS_CORRUPT_IMAGES:-200}
DEV=$SCRATCH_DEV
M=/tmp/mnt
BASE=/tmp/base.img
CORRUPT=$TSFS_ROOT/target/release/tsfs-corrupt
mkdir -p "$M"

populate() {
    mkdir -p "$M/d1/d2/d3" "$M/wide" &&
    echo hello > "$M/d1/hello" &&
    ln "$M/d1/hello" "$M/d1/d2/d3/link" &&
    dd if=/dev/urandom of="$M/d1/d2/data" bs=1k count=200 status=none &&
    xfs_io -f -c "pwrite -S 0x61 0 5000" -c "pwrite -S 0x62 1m 100" "$M/sparse" >/dev/null &&
    for i in $(seq 1 20); do echo "$i" > "$M/wide/entry-$i" || return 1; done &&
    # Alternating one-block writes to two files fragment both past the inline
    # extents, so each gets an extent block.
    for i in $(seq 0 23); do
        dd if=/dev/urandom of="$M/fragA" bs=4k count=1 seek="$i" conv=notrunc status=none &&
        dd if=/dev/urandom of="$M/fragB" bs=4k count=1 seek="$i" conv=notrunc status=none || return 1
    done &&
    # Every other block of 560 punched (not the last): 280 extents, more than
    # one extent block holds, so an index and two extent blocks.
    args=() && for b in $(seq 1 2 557); do args+=(-c "fpunch $((b * 4096)) 4096"); done &&
    xfs_io -f -c "pwrite -q -S 0x63 0 $((560 * 4096))" "${args[@]}" "$M/fragI" &&
    cp "$M/fragI" /tmp/fragI
}

check "insmod tsfs.ko" insmod "$TSFS_KO"
check "make and populate a 4 MiB image" sh -c "mkfs.tsfs -q -s 4M $DEV && mount -t tsfs $DEV $M"
check "populate it" populate
check "the fragmented files have extent blocks (25 blocks each), fragI an index and two" \
    test "$(stat -c %b "$M/fragA") $(stat -c %b "$M/fragB") $(stat -c %b "$M/fragI")" = "200 200 $(((281 + 3) * 8))"
check "unmount it" umount "$M"
check "the intact image is clean for fsck.tsfs" fsck.tsfs -n "$DEV"
check "save it" dd if="$DEV" of="$BASE" bs=1M count=4 status=none
check "it has 26 files in 5 directories" sh -c "fsck.tsfs -n -v $DEV | grep -q '26 files, 5 directories'"

# A damaged extent index: the image mounts (the index is read with its inode),
# the file is refused with EUCLEAN, or, if the damage left it sound, reads as
# it was; never anything else. The other files stay readable.
index_damage() { # KIND SEED: prints what happened
    "$CORRUPT" write --base "$BASE" --out "$DEV" --seed "$2" --kind "$1" --flips 1 >/dev/null &&
        mount -t tsfs "$DEV" "$M" || return 1
    local out
    if out=$(cat "$M/fragI" 2>&1 >/tmp/fragI.read); then
        cmp -s /tmp/fragI /tmp/fragI.read && echo same
    else
        case "$out" in *"Structure needs cleaning"*) echo refused ;; *) echo "odd: $out" ;; esac
    fi
    test "$(cat "$M/d1/hello")" = hello || echo "hello lost"
    umount "$M"
}
for seed in 1 2 3 4 5 6; do
    got=$(index_damage index-entry "$seed")
    check "index entry pointed elsewhere (seed $seed): fragI refused with EUCLEAN ($got)" \
        test "$got" = refused
    got=$(index_damage index "$seed")
    check "byte flipped in the index (seed $seed): fragI refused or intact ($got)" \
        test "$got" = refused -o "$got" = same
done
check "the kernel said why" sh -c "dmesg | grep -qE 'tsfs: vdb: inode [0-9]+: (extent block (listed twice|belongs to another inode)|extent block checksum mismatch)'"

# A few images the shell way, with find, cat and ls -lR themselves...
SHELL_IMAGES=${TSFS_CORRUPT_SHELL_IMAGES:-20}
tried=0 refused=0 mounted=0 broken=0
for seed in $(seq 1 "$SHELL_IMAGES"); do
    tried=$((tried + 1))
    what=$("$CORRUPT" write --base "$BASE" --out "$DEV" --seed "$seed") || { broken=$((broken + 1)); continue; }
    if err=$(mount -t tsfs "$DEV" "$M" 2>&1); then
        mounted=$((mounted + 1))
        find "$M" -type f -exec cat {} + >/dev/null 2>&1
        ls -lR "$M" >/dev/null 2>&1
        sh -c "echo new > $M/new-file; mkdir $M/new-dir; rm -rf $M/wide; mv $M/d1 $M/d0" >/dev/null 2>&1
        if ! umount "$M"; then
            broken=$((broken + 1))
            echo "# seed $seed: unmount failed after mounting ($what)"
            umount -l "$M"
        fi
    else
        case "$err" in
            *"wrong fs type"* | *"Structure needs cleaning"* | *"Input/output error"*) refused=$((refused + 1)) ;;
            *) broken=$((broken + 1)); echo "# seed $seed: mount failed oddly: $err ($what)" ;;
        esac
    fi
done
echo "# corruption (shell): tried $tried, refused $refused, mounted $mounted, broken $broken"
check "$tried images (find + cat, ls -lR): each refused with an errno, or mounted, walked and unmounted" \
    test "$broken" = 0 -a "$((refused + mounted))" = "$tried"

# ... and many more in one process (tsfs-corrupt run does the same walk).
out=$("$CORRUPT" run --base "$BASE" --dev "$DEV" --dir "$M" --first $((SHELL_IMAGES + 1)) --count "$IMAGES")
rc=$?
echo "# $out"
check "$IMAGES more images: each refused with an errno, or mounted, walked and unmounted" test "$rc" = 0
tried=$((tried + IMAGES))
refused=$((refused + $(echo "$out" | sed -n 's/.*refused \([0-9]*\),.*/\1/p')))
mounted=$((mounted + $(echo "$out" | sed -n 's/.*mounted \([0-9]*\),.*/\1/p')))
echo "# corruption (all): tried $tried, refused $refused, mounted $mounted, crashes 0 (the kernel log is checked after the run)"
check "at least 200 images tried" test "$tried" -ge 200
check "both outcomes happened (the test reaches both paths)" test "$refused" -gt 0 -a "$mounted" -gt 0
check "the kernel logged why it refused or rejected metadata" sh -c "dmesg | grep -qE 'tsfs: vdb: (refusing to mount|inode [0-9]+|directory [0-9]+|bitmaps corrupt)'"
check "rmmod tsfs" rmmod tsfs
done_testing
