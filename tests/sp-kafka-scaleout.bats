#!/usr/bin/env bats
# Elastic scale-out: each Kafka partition's state moves with the partition
# (sp-kcat-in --state-url, stored by sp-redis-sink beside the results), so
# membership can change at any moment and Redis still ends exactly as after
# one uninterrupted pipeline. Every member has a private state directory,
# as on separate machines: all they share is Kafka and Redis.
#
# The input is the 50k file with a seeded disorder (one event in ten held
# back up to 3 minutes of event time) and --max-delay 1m, so about 1,900
# events are late: the late events must be those of the uninterrupted run,
# no more and no fewer. --idle-timeout 0 keeps every run deterministic; the
# last run of each test reads to the end (-e) and closes every window.

load helpers/common
load helpers/redis
load helpers/kafka

GROUP_OPTS=(-G scale -X session.timeout.ms=6000 -X heartbeat.interval.ms=500
    -X partition.assignment.strategy=cooperative-sticky)
WINDOW_OPTS=(--max-delay 1m --idle-timeout 0 --checkpoint-interval 300ms)

setup() {
    T=$BATS_TEST_TMPDIR
    command -v kcat >/dev/null || skip "needs kcat"
    redis_start
    kafka_mock_start -t events:4
    sp-replay -q "$SP_EXAMPLES/streampulse_load_test_50k.csv" | disorder >"$T/events.ndjson"
}

teardown() {
    local pid
    for pid in ${MEMBERS:-}; do kill -9 -- "-$pid" 2>/dev/null || true; done
    kafka_mock_stop
    redis_stop
}

# disorder: events in, the same events out with one in ten held back by up
# to 180 positions (about as many seconds of event time in this file).
disorder() {
    python3 -c '
import random, sys
rnd = random.Random(7)
lines = sys.stdin.readlines()
held = [(i + (rnd.randint(0, 180) if rnd.random() < 0.1 else 0), i) for i in range(len(lines))]
sys.stdout.writelines(lines[i] for _, i in sorted(held))'
}

# produce FROM TO: events FROM..TO (1-based lines) into the topic, keyed by region.
produce() {
    sed -n "$1,$2p" "$T/events.ndjson" | sp-kcat-out -q -b "$KAFKA_BROKERS" -t events --key region_id
}

# member NAME SP-KCAT-IN-OPTIONS...: one whole pipeline into Redis db 0 in a
# process group of its own (MEMBER_PID, the group), its state in $T/NAME.
member() {
    local name=$1 dir=$T/$1
    shift
    mkdir -p "$dir"
    setsid bash -c "set -o pipefail
        sp-kcat-in -b '$KAFKA_BROKERS' -t events --state-url '$REDIS_URL' $* \
            --metrics-file '$dir/in.prom' 2>'$dir/in.err' |
        sp-validate -q |
        sp-window ${WINDOW_OPTS[*]} --late '$dir/late' 2>'$dir/window.err' |
        sp-redis-sink -q --url '$REDIS_URL' 2>'$dir/sink.err'" 3>&- &
    MEMBER_PID=$!
    MEMBERS="${MEMBERS:-} $MEMBER_PID"
}

# wait_assigned NAME: until the member's sp-kcat-in has been given a
# partition (its metrics list a lag gauge; they are written every 2 s).
wait_assigned() {
    local i
    for i in $(seq 300); do
        grep -q '^sp_kafka_consumer_lag' "$T/$1/in.prom" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "member $1 got no partition in 30 s" >&2
    return 1
}

# stop_member PID: SIGTERM to every process of the member; wait until gone.
stop_member() {
    kill -TERM -- "-$1"
    wait_gone "$1"
}

wait_gone() {
    local i
    for i in $(seq 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    echo "member $1 still runs after 30 s" >&2
    return 1
}

# stored_offsets: the next offset of each partition's stored state, "p0,p1,p2,p3".
stored_offsets() {
    local p out=
    for p in 0 1 2 3; do out+=$(rcli hget "sp:task:events:$p" next_offset),; done
    echo "${out%,}"
}

end_offsets() {
    kcat -Q -b "$KAFKA_BROKERS" -t events:0:-1 -t events:1:-1 -t events:2:-1 -t events:3:-1 |
        awk '{ sub(/^\[/, "", $2); sub(/\]$/, "", $2); end[$2] = $4 }
             END { print end[0] "," end[1] "," end[2] "," end[3] }'
}

# wait_stored: until the stored states are at the end of every partition
# (every record counted, with its results, in Redis).
wait_stored() {
    local want i
    want=$(end_offsets)
    for i in $(seq 600); do
        [ "$(stored_offsets)" = "$want" ] && return 0
        sleep 0.1
    done
    echo "stored states at $(stored_offsets), the topic ends at $want" >&2
    return 1
}

# stored_late: the late events the stored states of the partitions counted.
stored_late() {
    local p
    for p in 0 1 2 3; do rcli hget "sp:task:events:$p" checkpoint; done |
        jq -s 'map(.tasks[0].counts.late) | add'
}

# finish_and_compare [lost]: read what is left to the end with every
# partition's state, closing every window; then the uninterrupted pipeline
# over the same topic into db 1. Redis (but the states) must be the same,
# and the late events: counted the same by the stored states, and those in
# the members' files (distinct by their Kafka coordinates: a restarted
# partition writes those after its state again) the same, or with "lost"
# (a member's directory was deleted) some of the same and no others.
finish_and_compare() {
    sp-kcat-in -q -b "$KAFKA_BROKERS" -t events -p 0-3 -e --state-url "$REDIS_URL" |
        sp-validate -q | sp-window -q "${WINDOW_OPTS[@]}" --late "$T/late.final" |
        sp-redis-sink -q --url "$REDIS_URL"
    sp-kcat-in -q -b "$KAFKA_BROKERS" -t events -p 0-3 -e | sp-validate -q |
        sp-window -q "${WINDOW_OPTS[@]}" --late "$T/late.ref" |
        sp-redis-sink -q --url "redis://127.0.0.1:$REDIS_PORT/1"
    python3 "$TESTS_DIR/helpers/redis_layout.py" snapshot "$REDIS_PORT" | grep -v '^sp:task:' >"$T/got"
    python3 "$TESTS_DIR/helpers/redis_layout.py" snapshot "$REDIS_PORT" --db 1 >"$T/want"
    [ "$(grep -c ':window:' "$T/want")" -gt 8000 ]
    diff "$T/want" "$T/got"
    # Late events: a restarted partition writes those after its state again,
    # so the members' files count distinct by their Kafka coordinates.
    jq -c '.source' "$T/late.ref" | sort >"$T/late.want"
    cat "$T"/*/late "$T/late.final" | jq -c '.source' | sort -u >"$T/late.got"
    [ "$(count_lines "$T/late.want")" -gt 1000 ]
    [ "$(stored_late)" -eq "$(count_lines "$T/late.want")" ]
    if [ "${1:-}" = lost ]; then
        [ -z "$(comm -13 "$T/late.want" "$T/late.got")" ]
    else
        diff "$T/late.want" "$T/late.got"
    fi
    ! grep -l 'Sanitizer\|runtime error' "$T"/*/*.err
}

@test "group members die, join and leave: Redis ends as after one uninterrupted pipeline" {
    member a "${GROUP_OPTS[@]}"
    a=$MEMBER_PID
    member b "${GROUP_OPTS[@]}"
    b=$MEMBER_PID
    wait_assigned b
    produce 1 20000
    wait_stored
    # Both worked on their share.
    [ -s "$T/a/late" ] && [ -s "$T/b/late" ]
    # b dies with everything it had, its state directory too.
    kill -9 -- "-$b"
    wait_gone "$b"
    rm -rf "$T/b"
    produce 20001 32000
    wait_stored # a took b's partitions over, from their stored states
    member c "${GROUP_OPTS[@]}"
    c=$MEMBER_PID
    wait_assigned c
    produce 32001 42000
    wait_stored
    [ -s "$T/c/late" ]
    # a leaves; c goes on alone.
    stop_member "$a"
    produce 42001 50000
    wait_stored
    stop_member "$c"
    finish_and_compare lost
}

@test "static shares: two pipelines over 0-1 and 2-3 go on as three over 0-1, 2 and 3" {
    produce 1 25000
    member two-a -p 0-1
    a=$MEMBER_PID
    member two-b -p 2-3
    b=$MEMBER_PID
    wait_stored
    stop_member "$a"
    stop_member "$b"
    produce 25001 40000
    member three-a -p 0-1
    a=$MEMBER_PID
    member three-b -p 2
    b=$MEMBER_PID
    member three-c -p 3
    c=$MEMBER_PID
    wait_stored
    stop_member "$a"
    stop_member "$b"
    stop_member "$c"
    produce 40001 50000
    finish_and_compare
}

@test "a key seen in two partitions is a dead letter naming both, never merged" {
    {
        echo '{"_kafka":{"topic":"events","partition":0,"offset":0},"region_id":5,"event_time":"2025-01-01T00:00:00Z","fare":1,"duration":600,"distance":1}'
        echo '{"_kafka":{"topic":"events","partition":1,"offset":0},"region_id":5,"event_time":"2025-01-01T00:00:10Z","fare":1,"duration":600,"distance":1}'
        echo '{"_kafka":{"topic":"events","partition":1,"offset":1},"region_id":6,"event_time":"2025-01-01T00:00:10Z","fare":1,"duration":600,"distance":1}'
    } >"$T/in"
    sp-window --dlq "$T/dlq" <"$T/in" >"$T/out" 2>"$T/err"
    grep -q 'came with a region_id another partition had sent: produce keyed by the window key (sp-kcat-out --key)' "$T/err"
    [ "$(count_lines "$T/out")" -eq 2 ]
    [ "$(jq -s 'map(.tripCount) | add' "$T/out")" -eq 2 ]
    [ "$(count_lines "$T/dlq")" -eq 1 ]
    jq -e '.error_type == "SCHEMA_VIOLATION" and .field == "region_id" and
        .source.partition == 1 and (.error_reason | contains("events/0")) and
        (.error_reason | contains("sp-kcat-out --key region_id"))' "$T/dlq"
}
