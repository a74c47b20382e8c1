#!/usr/bin/env bats
# SIGKILL of each stage of pipelines/process (Kafka to Redis) at random
# points while the events are produced: the supervisor restarts the stage,
# sp-kcat-in resumes each partition from the state the sink last stored in
# Redis (with the results it accounts for, in one MULTI/EXEC), and Redis
# ends exactly as after an uninterrupted run, every input row accounted for
# once (Redis, late events, DLQ records; the DLQ topic and the late file are
# at least once: a record written again after a restart is there twice, so
# they are counted distinct by their source coordinates, and the late events
# must be as many as the stored states counted).
#
# Each run gets a new sp-kafka-mock, so the offsets are those of the
# uninterrupted run. The events are produced at 10,000 rows a second while
# the pipeline consumes them (about 5 s), so a kill lands mid-stream; only
# after them comes one sentinel event per partition, far past the data in
# event time, which closes every window; the run is over when the stored
# states are at the end of every partition.
#
# Late events: each partition has a watermark of its own. The fixture's
# valid rows at the start of the input are the first valid events of their
# partitions, so never late; its copy at the end is (5 events). The
# pipelines/local run has 6: there the +02:00 row at the start is late too.

load ../helpers/common
load ../helpers/redis
load ../helpers/kafka
load helpers

setup_file() {
    command -v kcat >/dev/null || skip "needs kcat"
    redis_start
    # the uninterrupted run, on a mock of its own
    local BATS_TEST_TMPDIR=$BATS_FILE_TMPDIR state=$BATS_FILE_TMPDIR/baseline
    KAFKA_BASE=$BATS_FILE_TMPDIR/kafka-baseline
    export KAFKA_BASE
    kafka_mock_start -t events:4 -t events_dlq:1
    rcli flushall >/dev/null
    kafka_pipeline_start "$state"
    kafka_produce_start "$state"
    kafka_pipeline_finish "$state"
    redis_snapshot >"$KAFKA_BASE.full"
    without_region "$SENTINEL_REGIONS" "$KAFKA_BASE.full" >"$KAFKA_BASE.snap"
    late_records "$state" >"$KAFKA_BASE.late"
    kafka_accounting "$state" "$KAFKA_BASE.full"
    sort -u "$state.dlq" >"$KAFKA_BASE.dlq"
    cp "$state.log" "$KAFKA_BASE.log"
    kafka_mock_stop
}

teardown_file() {
    # what a failed baseline left
    if [ -n "${PIPE_PID:-}" ] && kill -0 "$PIPE_PID" 2>/dev/null; then
        kill -TERM "$PIPE_PID"
        wait "$PIPE_PID" || true
    fi
    kafka_mock_stop
    redis_stop
}

setup() {
    rcli flushall >/dev/null
    S=$BATS_TEST_TMPDIR/state
    kafka_mock_start -t events:4 -t events_dlq:1
}

teardown() {
    if [ -n "${PRODUCE_PID:-}" ]; then
        kill "$PRODUCE_PID" 2>/dev/null || true
        wait "$PRODUCE_PID" 2>/dev/null || true
    fi
    if [ -n "${PIPE_PID:-}" ] && kill -0 "$PIPE_PID" 2>/dev/null; then
        kill -TERM "$PIPE_PID"
        wait "$PIPE_PID" || true
    fi
    kafka_mock_stop
}

# progress: how far the run is, for the output: messages in the topic, and
# the offsets of the stored states, summed.
progress() {
    local produced consumed
    produced=$(topic_end_offsets events | tr ',' '+')
    consumed=$(checkpoint_offsets | tr ',' '+')
    echo "$((produced)) messages produced, checkpoint at $((${consumed:-0}))"
}

# validate_dlq: the DLQ records sp-validate wrote, by its metrics file.
validate_dlq() {
    awk '/^sp_dlq_total[{].*SCHEMA_VIOLATION/ { print $2 }' "$S/sp-validate.prom" 2>/dev/null
}

# kill_kafka_stage_twice NAME: SIGKILL the stage NAME of the pipeline at a
# random point of the production, then again at another random point after
# it was restarted; then finish the run and compare it with the baseline.
kill_kafka_stage_twice() {
    local name=$1 round pid delay new
    kafka_pipeline_start "$S"
    kafka_produce_start "$S"
    for round in 1 2; do
        pid=$(stage_pid "$PIPE_PID" "$name")
        # 0.2 to 1.6 s after the start, or after the restart (the
        # production lasts about 5 s; the seed is in the output of a
        # failing test, to replay it)
        delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.2 + (r % 140) / 100 }')
        sleep "$delay"
        kill -9 "$pid"
        echo "# round $round: kill -9 $name ($pid) after ${delay}s: $(progress)" >&3
        if [ "$round" -eq 1 ]; then
            # mid-stream: the producer was still at work
            kill -0 "$PRODUCE_PID" 2>/dev/null ||
                { echo "the kill came after the production ended" >&2; return 1; }
        fi
        # the supervisor starts it again after its 1 s pause
        wait_for "new=\$(stage_below $PIPE_PID $name) && [ \"\$new\" != $pid ]"
    done
    kafka_pipeline_finish "$S"
    echo "# restarts: $(grep -c 'failed (status' "$S.log")" >&3
    redis_snapshot >"$BATS_TEST_TMPDIR/full"
    kafka_accounting "$S" "$BATS_TEST_TMPDIR/full"
    without_region "$SENTINEL_REGIONS" "$BATS_TEST_TMPDIR/full" >"$BATS_TEST_TMPDIR/snap"
    BASELINE_SNAP=$KAFKA_BASE.snap BASELINE_LATE=$KAFKA_BASE.late \
        same_as_baseline "$S" "$BATS_TEST_TMPDIR/snap"
    # the DLQ topic: the same distinct records as the uninterrupted run
    sort -u "$S.dlq" >"$S.dlq.distinct"
    if ! cmp -s "$KAFKA_BASE.dlq" "$S.dlq.distinct"; then
        echo "the DLQ topic's distinct records differ from the uninterrupted run's:" >&2
        diff "$KAFKA_BASE.dlq" "$S.dlq.distinct" | head -n 4 | cut -c 1-200 >&2
        return 1
    fi
}

@test "faults/kill_kafka: the uninterrupted run agrees with the reference computation" {
    # 5 late events: the fixture's valid rows at the end of the input
    run jq -r '.original | fromjson | .trip_id' "$KAFKA_BASE.late"
    [ "${#lines[@]}" -eq 5 ]
    [ "$(printf '%s\n' "${lines[@]}" | sort -u | paste -sd ' ')" = \
        "trip_ok1 trip_ok2 trip_ok3 trip_ok4 trip_ok5" ]
    # 28 DLQ records in the topic, each once (no restart)
    [ "$(count_lines "$KAFKA_BASE.dlq")" -eq 28 ]
    [ "$(count_lines "$BATS_FILE_TMPDIR/baseline.dlq")" -eq 28 ]
    [ "$(grep -c 'failed (status' "$KAFKA_BASE.log")" -eq 0 ]
    # the valid events but the last 5, through the independent reference
    local events=$BATS_TEST_TMPDIR/events.ndjson ref=$BATS_TEST_TMPDIR/ref.ndjson
    # shellcheck disable=SC2046
    sp-replay -q --speed max $(fault_input) 2>/dev/null |
        sp-validate -q --schema "$PROJECT_DIR/schemas/streampulse_v1.json" 2>/dev/null |
        head -n -5 >"$events"
    python3 "$TESTS_DIR/reference/window_reference.py" compute "$events" >"$ref"
    final_results "$KAFKA_BASE.snap" >"$BATS_TEST_TMPDIR/redis.ndjson"
    python3 "$TESTS_DIR/reference/window_reference.py" compare "$ref" "$BATS_TEST_TMPDIR/redis.ndjson"
    [ "$(count_lines "$ref")" -eq "$(count_lines "$BATS_TEST_TMPDIR/redis.ndjson")" ]
}

@test "faults/kill_kafka: kill -9 sp-kcat-in twice mid-stream" {
    kill_kafka_stage_twice sp-kcat-in
}

@test "faults/kill_kafka: kill -9 sp-validate twice mid-stream" {
    kill_kafka_stage_twice sp-validate
}

@test "faults/kill_kafka: kill -9 sp-window twice mid-stream" {
    kill_kafka_stage_twice sp-window
}

# Results in the pipe or in the sink's batch die with the sink; a state is
# stored only with every result before it, so the restart resumes from a
# state whose results Redis has.
@test "faults/kill_kafka: kill -9 sp-redis-sink twice mid-stream" {
    kill_kafka_stage_twice sp-redis-sink
}

# The DLQ producer (sp-kcat-out, the only one below the pipeline script)
# is restarted alone and resumes the journal sp-validate goes on appending
# to at its saved offset.
@test "faults/kill_kafka: kill -9 the DLQ producer twice mid-stream" {
    kill_kafka_stage_twice sp-kcat-out
}

# The DLQ producer holds what it read from the journal in memory until Kafka
# acknowledges it. With the brokers down, it holds every DLQ record
# sp-validate writes meanwhile; killed then, nothing reads their events
# again (the checkpoint moves past them with the valid events after them),
# so the records must come back from the journal: the producer resumes at
# the offset before the first unacknowledged one. (With a FIFO instead, 0
# of the 28 reached events_dlq.)
@test "faults/kill_kafka: kill -9 the DLQ producer holding records while Kafka is down" {
    local validate producer
    kafka_pipeline_start "$S"
    # sp-validate stopped while the events come, so its DLQ records come
    # only once the brokers are down
    validate=$(stage_pid "$PIPE_PID" sp-validate)
    kill -STOP "$validate"
    FAULT_PRODUCE_RATE=1000000 kafka_produce_start "$S"
    wait "$PRODUCE_PID"
    PRODUCE_PID=
    # sp-kcat-in fetches ahead (queued.min.messages) while its pipe is full
    sleep 1
    kafka_mock_down
    kill -CONT "$validate"
    # its metrics file (rewritten every few seconds) counts them
    wait_for "[ \"\$(validate_dlq)\" = 28 ]"
    echo "# sp-validate wrote $(validate_dlq) DLQ records into its journal while the brokers were down" >&3
    producer=$(stage_pid "$PIPE_PID" sp-kcat-out)
    kill -9 "$producer"
    kafka_mock_up
    kafka_pipeline_finish "$S"
    echo "# restarts: $(grep -c 'failed (status' "$S.log")" >&3
    redis_snapshot >"$BATS_TEST_TMPDIR/full"
    kafka_accounting "$S" "$BATS_TEST_TMPDIR/full"
}
