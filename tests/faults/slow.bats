#!/usr/bin/env bats
# A slow consumer: the stage downstream stops reading for seconds. Upstream
# must wait (no progress, no unbounded buffering: resident memory stays
# small and flat during the stall), then go on, losing nothing.

load ../helpers/common
load ../helpers/redis
load helpers

setup_file() {
    redis_start
    baseline_run
}

teardown_file() {
    redis_stop
}

setup() {
    rcli flushall >/dev/null
    S=$BATS_TEST_TMPDIR/state
    T=$BATS_TEST_TMPDIR
}

teardown() {
    [ -n "${SINK_PID:-}" ] && kill -CONT "$SINK_PID" 2>/dev/null
    if [ -n "${PIPE_PID:-}" ] && kill -0 "$PIPE_PID" 2>/dev/null; then
        kill -TERM "$PIPE_PID"
        wait "$PIPE_PID" || true
    fi
    return 0
}

# wchar PID: bytes PID has written so far.
wchar() {
    awk '/^wchar:/ { print $2 }' "/proc/$1/io"
}

# sample ROOT NAME...: "NAME rss_kB written_bytes" for each stage below ROOT.
sample() {
    local root=$1 name pid
    shift
    for name in "$@"; do
        pid=$(stage_pid "$root" "$name")
        echo "$name $(vm_rss_kb "$pid") $(wchar "$pid")"
    done
}

# check_stall BEFORE AFTER: during the stall no stage made progress (wrote
# nothing more: each waits on the one below), none grew by more than 4 MB,
# and each stays under 64 MB (a sanitized build, whose shadow memory counts).
check_stall() {
    paste -d ' ' "$1" "$2" | while read -r name rss1 w1 _ rss2 w2; do
        echo "# $name: VmRSS ${rss1} kB -> ${rss2} kB, written ${w1} -> ${w2} bytes" >&3
        [ "$w1" -eq "$w2" ] || { echo "$name went on writing during the stall" >&2; return 1; }
        [ "$rss2" -lt $((rss1 + 4096)) ] || { echo "$name grew during the stall" >&2; return 1; }
        [ "$rss2" -lt 65536 ] || { echo "$name holds ${rss2} kB" >&2; return 1; }
    done
}

@test "faults/slow: sp-redis-sink stopped (SIGSTOP) for 4 s mid-run" {
    pipeline_start "$S"
    SINK_PID=$(stage_pid "$PIPE_PID" sp-redis-sink)
    # mid-run: part of the results written
    wait_for "[ \$(rcli dbsize) -gt 500 ]"
    kill -STOP "$SINK_PID"
    # the pipes fill within a second; then nothing may move
    sleep 1.5
    sample "$PIPE_PID" sp-replay sp-validate sp-window >"$T/before"
    sleep 2.5
    sample "$PIPE_PID" sp-replay sp-validate sp-window >"$T/after"
    kill -CONT "$SINK_PID"
    check_stall "$T/before" "$T/after"
    pipeline_wait
    redis_snapshot >"$T/snap"
    accounting "$S" "$T/snap"
    same_as_baseline "$S" "$T/snap"
    [ "$(grep -c 'failed (status' "$S.log")" -eq 0 ]
}

@test "faults/slow: a reader that sleeps 8 s before reading (| (sleep 8; cat))" {
    # the valid events and the uninterrupted results, then the same run
    # into a reader that sleeps first
    # shellcheck disable=SC2046
    sp-replay -q --speed max $(fault_input) 2>/dev/null | sp-validate -q 2>/dev/null >"$T/events"
    sp-window -q --late "$T/base.late" <"$T/events" >"$T/base.out"
    # shellcheck disable=SC2046
    (sp-replay -q --speed max $(fault_input) 2>/dev/null | sp-validate -q 2>/dev/null |
        sp-window -q --late "$T/late" | (sleep 8; cat) >"$T/out") 3>&- &
    local root=$!
    sleep 1.5
    sample "$root" sp-replay sp-validate sp-window >"$T/before"
    sleep 2
    sample "$root" sp-replay sp-validate sp-window >"$T/after"
    wait "$root"
    check_stall "$T/before" "$T/after"
    cmp "$T/base.out" "$T/out"
    valid=$(count_lines "$T/events")
    counted=$(jq -s 'map(select(.final) | .tripCount) | add' "$T/out")
    late=$(count_lines "$T/late")
    echo "# valid=$valid tripCount=$counted late=$late" >&3
    [ "$valid" -eq $((counted + late)) ]
    [ "$late" -eq "$(count_lines "$T/base.late")" ]
}
