# run_with_progress LOG LABEL CMD...: runs CMD with its output appended to LOG and,
# while it runs, prints a line a minute on stderr (elapsed time and LOG's last
# line), so a long build never looks stuck. Returns CMD's exit status.
# shellcheck shell=bash
run_with_progress() {
    local log=$1 label=$2 pid start next last
    shift 2
    start=$SECONDS
    next=$((start + 60))
    "$@" >>"$log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 2
        if [ "$SECONDS" -ge "$next" ]; then
            last=$(tail -n 1 "$log" 2>/dev/null | tr -s ' \t' ' ' | cut -c1-70)
            printf '[tsfs] %s: %d min so far; last: %s\n' "$label" $(((SECONDS - start) / 60)) "$last" >&2
            next=$((next + 60))
        fi
    done
    wait "$pid"
}
