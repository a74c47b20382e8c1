#!/usr/bin/env bats
# Redis faults under a running pipelines/local: the server shut down and
# started again during the writes, and the server out of memory (maxmemory
# with noeviction). sp-redis-sink retries and holds its input back: Redis
# ends as after an uninterrupted run, nothing lost, nothing restarted.

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
    rcli config set maxmemory 0 >/dev/null
    rcli flushall >/dev/null
    S=$BATS_TEST_TMPDIR/state
}

teardown() {
    if [ -n "${PIPE_PID:-}" ] && kill -0 "$PIPE_PID" 2>/dev/null; then
        kill -TERM "$PIPE_PID"
        wait "$PIPE_PID" || true
    fi
    [ -n "${REDIS_RESTARTER:-}" ] && wait "$REDIS_RESTARTER" 2>/dev/null
    # a test that failed while Redis was down leaves it down for the next
    rcli ping >/dev/null 2>&1 || _redis_launch
}

# sink_wrote_some: wait until the sink has written part of the run.
sink_wrote_some() {
    wait_for "[ \$(rcli dbsize) -gt 500 ]"
}

# the outcome every test here checks: the counts add up, Redis and the late
# events equal the uninterrupted run's, and no stage failed (the sink rode
# the fault out instead of making the supervisor restart the pipeline)
check_outcome() {
    redis_snapshot >"$BATS_TEST_TMPDIR/snap"
    accounting "$S" "$BATS_TEST_TMPDIR/snap"
    same_as_baseline "$S" "$BATS_TEST_TMPDIR/snap"
    [ "$(grep -c 'failed (status' "$S.log")" -eq 0 ]
}

@test "faults/redis: Redis shut down for 2 s during the writes" {
    pipeline_start "$S"
    sink_wrote_some
    # SAVE on the way down: the restarted server holds what was written
    # (the fault is the outage, not a data loss of Redis itself)
    echo "# Redis shut down holding $(rcli dbsize) keys" >&3
    rcli shutdown save
    kill -0 "$PIPE_PID"
    redis_restart_later 2
    pipeline_wait
    check_outcome
    errors=$(metric "$S/sp-redis-sink.prom" sp_redis_errors_total)
    echo "# sp_redis_errors_total=$errors" >&3
    [ "$errors" -gt 0 ]
    grep -i 'sp-redis-sink: .*redis' "$S.log" | head -n 3 >&3
}

@test "faults/redis: Redis out of memory (maxmemory, noeviction) for 2 s" {
    pipeline_start "$S"
    sink_wrote_some
    used=$(rcli info memory | awk -F: '/^used_memory:/ { print $2 + 0 }')
    echo "# maxmemory set to $used bytes with $(rcli dbsize) keys written" >&3
    rcli config set maxmemory-policy noeviction
    rcli config set maxmemory "$used"
    kill -0 "$PIPE_PID"
    # the sink is refused: its writes do not get in meanwhile
    wait_for "[ \$(rcli info stats | awk -F: '/^total_error_replies:/ { print \$2 + 0 }') -gt 0 ]"
    rcli config set maxmemory 0
    pipeline_wait
    check_outcome
    errors=$(metric "$S/sp-redis-sink.prom" sp_redis_errors_total)
    echo "# sp_redis_errors_total=$errors" >&3
    [ "$errors" -gt 0 ]
    grep 'sp-redis-sink: .*OOM' "$S.log" | head -n 2 >&3
}
