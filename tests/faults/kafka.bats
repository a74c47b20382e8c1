#!/usr/bin/env bats
# The Kafka mock's brokers down (SIGUSR1) and up again (SIGUSR2) while
# sp-kcat-out produces and while sp-kcat-in consumes: both retry and say so,
# nothing is lost or doubled (kcat is the independent reader), and the
# window results equal those of a run without the fault.

load ../helpers/common
load ../helpers/kafka
load helpers

setup_file() {
    # the events sp-replay makes of the input: what the topic must hold
    # shellcheck disable=SC2046
    sp-replay -q --speed max $(fault_input) 2>/dev/null >"$BATS_FILE_TMPDIR/events.ndjson"
}

setup() {
    T=$BATS_TEST_TMPDIR
    EVENTS=$BATS_FILE_TMPDIR/events.ndjson
    kafka_mock_start -t events:4
}

teardown() {
    [ -n "${BG_PID:-}" ] && kill "$BG_PID" 2>/dev/null
    kafka_mock_stop
}

# brokers_down_for SECONDS: every broker of the mock down for that long (the
# fault), then up again.
brokers_down_for() {
    kafka_mock_down
    sleep "$1"
    kafka_mock_up
}

topic_values() {
    kcat -C -b "$KAFKA_BROKERS" -t events -e -q -f '%s\n'
}

topic_coordinates() {
    kcat -C -b "$KAFKA_BROKERS" -t events -e -q -f '%p %o\n' | sort
}

# slow_reader: stdin to stdout at about 20,000 lines a second, so a
# consumer in front of it is still busy when the fault comes.
slow_reader() {
    python3 -c '
import sys, time
for i, line in enumerate(sys.stdin):
    sys.stdout.write(line)
    if i % 200 == 199:
        sys.stdout.flush()
        time.sleep(0.01)
'
}

# windows FILE: sp-validate and sp-window over the consumed lines; the
# final results sorted to FILE.results, DLQ and late records beside.
windows() {
    sp-validate -q --dlq "$1.dlq" <"$1" | sp-window -q --late "$1.late" | sort >"$1.results"
}

@test "faults/kafka: brokers down for 2 s while sp-kcat-out produces" {
    # shellcheck disable=SC2046
    (sp-replay -q --speed max --rate 20000 $(fault_input) 2>/dev/null |
        sp-kcat-out -b "$KAFKA_BROKERS" -t events --key region_id \
            --metrics-file "$T/out.prom") 2>"$T/err" 3>&- &
    BG_PID=$!
    # mid-way: some of the events on the topic
    wait_for "[ \$(topic_values | wc -l) -gt 1000 ]"
    kill -0 "$BG_PID"
    brokers_down_for 2
    wait "$BG_PID"
    BG_PID=
    grep 'sp-kcat-out: ' "$T/err" | head -n 3 | cut -c 1-160 | sed 's/^/# /' >&3
    grep -q 'brokers are down' "$T/err"
    # the topic holds every event exactly once: the same multiset of lines
    topic_values | sort >"$T/got"
    sort "$EVENTS" >"$T/want"
    echo "# produced $(count_lines "$T/want"), in the topic $(count_lines "$T/got")" >&3
    diff "$T/want" "$T/got" | head -n 5 >&2
    cmp "$T/want" "$T/got"
    [ "$(metric "$T/out.prom" sp_kafka_delivery_errors_total)" -eq 0 ]
}

@test "faults/kafka: brokers down for 2 s while sp-kcat-in consumes" {
    # The 50k events alone (in event-time order, so in order in every
    # partition: nothing late, whatever the interleaving of partitions; the
    # fixture's early and late rows would be late or not depending on how
    # far the other partitions had been read) and 20 messages that are not
    # events, for the DLQ.
    sp-replay -q --speed max "$SP_EXAMPLES/streampulse_load_test_50k.csv" |
        sp-kcat-out -q -b "$KAFKA_BROKERS" -t events --key region_id
    for p in 0 2; do
        seq 10 | sed 's/^/not an event /' | kcat -P -b "$KAFKA_BROKERS" -t events -p "$p"
    done
    local messages
    topic_coordinates >"$T/want"
    messages=$(count_lines "$T/want")
    # a run without the fault
    sp-kcat-in -q -b "$KAFKA_BROKERS" -t events -p 0-3 -e >"$T/clean"
    windows "$T/clean"
    # the same, the brokers going away mid-way; small fetches and a small
    # prefetch queue keep the consumer close behind the slow reader
    (sp-kcat-in -b "$KAFKA_BROKERS" -t events -p 0-3 -e \
        -X queued.max.messages.kbytes=64 -X max.partition.fetch.bytes=8192 \
        2>"$T/err" | slow_reader >"$T/faulted") 3>&- &
    BG_PID=$!
    # mid-way: some of the messages consumed
    wait_for "[ \$(count_lines '$T/faulted') -gt 1000 ]"
    local before
    before=$(count_lines "$T/faulted")
    brokers_down_for 2
    wait "$BG_PID"
    BG_PID=
    echo "# $before of $messages messages consumed when the brokers went down" >&3
    [ "$before" -lt "$messages" ]
    grep 'sp-kcat-in: ' "$T/err" | head -n 3 | cut -c 1-160 | sed 's/^/# /' >&3
    grep -q 'brokers are down' "$T/err"
    # every (partition, offset) once, none missing
    jq -r 'select(._kafka) | "\(._kafka.partition) \(._kafka.offset)"' "$T/faulted" | sort >"$T/got"
    diff "$T/want" "$T/got" | head -n 5 >&2
    cmp "$T/want" "$T/got"
    # the window results of the two runs are the same; the counts add up
    windows "$T/faulted"
    cmp "$T/clean.results" "$T/faulted.results"
    local valid dlq counted late
    dlq=$(count_lines "$T/faulted.dlq")
    valid=$(jq -c 'select(._kafka)' "$T/faulted" | wc -l)
    valid=$((valid - dlq))
    counted=$(jq -s 'map(select(.final) | .tripCount) | add' "$T/faulted.results")
    late=$(count_lines "$T/faulted.late")
    echo "# messages=$messages valid=$valid dlq=$dlq tripCount=$counted late=$late" >&3
    [ "$dlq" -eq 20 ]
    [ "$valid" -eq 50000 ]
    [ "$valid" -eq $((counted + late)) ]
}
