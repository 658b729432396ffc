# Helpers for guest test suites (sourced). Each check prints a TAP line:
# "ok N - what" or "not ok N - what"; scripts/test counts them.
# shellcheck shell=bash

tap_n=0
tap_failed=0

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }

# check "what" CMD...: runs CMD (output shown as '#' comments) and records the result.
check() {
    local what=$1 out rc
    shift
    out=$("$@" 2>&1)
    rc=$?
    [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
    if [ "$rc" = 0 ]; then ok "$what"; else not_ok "$what (exit $rc)"; fi
    return "$rc"
}

# expect_fail "what" ERRTEXT CMD...: CMD must fail and say ERRTEXT.
expect_fail() {
    local what=$1 text=$2 out rc
    shift 2
    out=$("$@" 2>&1)
    rc=$?
    [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
    if [ "$rc" != 0 ] && printf '%s' "$out" | grep -q -- "$text"; then ok "$what"; else not_ok "$what (exit $rc)"; fi
}

# Ends a suite: its exit status says whether every check passed.
done_testing() {
    echo "# $tap_n tests, $tap_failed failed"
    [ "$tap_failed" = 0 ]
}

# dio_async_idle STATS: the tsfs dio_stats file STATS shows no *block* hold still
# handed to an asynchronous completion, within 10 s.
dio_async_idle() {
    local i
    for i in $(seq 100); do
        [ "$(awk '$1 == "async_inflight" { print $2 }' "$1")" = 0 ] && return 0
        sleep 0.1
    done
    return 1
}
