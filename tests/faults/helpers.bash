# helpers.bash: what the fault-injection tests (tests/faults/*.bats) share.
# Load after ../helpers/common and ../helpers/redis.
#
# fault_input                 the CSV files every pipeline run replays: the
#                             malformed fixture, the 50k load test, the
#                             malformed fixture again (DLQ records at both
#                             ends, late events at the end)
# input_rows FILE...          data rows of CSV files (lines minus the header)
# pipeline_script NAME STATE  pipelines/NAME with the settings all runs share
# pipeline_start STATE        pipelines/local over fault_input into
#                             REDIS_URL, state in STATE, in the background
#                             (PIPE_PID; its stderr in STATE.log)
# pipeline_wait [SECONDS]     wait until it ends (default 180 s); fails when
#                             it did not end or did not exit 0
# stage_pid ROOT NAME [SECONDS]  wait until a process named NAME runs below
#                             ROOT, print its pid (fails after SECONDS, 30)
# redis_snapshot              every key of the private Redis with its type
#                             and value (not its TTL), one line each, sorted;
#                             (redis_layout.py snapshot: one pipelined
#                             connection; redis-cli per key takes minutes
#                             for 12k keys)
# final_results SNAPSHOT      the window results of a snapshot, one per line
# late_records STATE          the late events of a run, without their
#                             processed_at, sorted, each once (the Kafka
#                             path writes those after a partition's stored
#                             state again when it restarts; accounting
#                             catches a duplicate of the local path)
# accounting STATE SNAPSHOT   the counts of a finished run; fails unless
#                             input rows = valid events + DLQ records and
#                             valid events = sum of tripCount + late events,
#                             and every result in Redis is final
# baseline_run                an uninterrupted run: BASELINE_SNAP and
#                             BASELINE_LATE (files) to compare others with
# same_as_baseline STATE SNAPSHOT  no result missing or duplicated: the
#                             snapshot and late events equal the baseline's
#
# The Kafka path (pipelines/process; needs ../helpers/kafka, a mock started
# with -t events:4 -t events_dlq:1, and kcat):
# kafka_produce_start STATE   fault_input into the topic events, keyed by
#                             region, at FAULT_PRODUCE_RATE rows a second
#                             (default 10,000: about 5 s), in the background
#                             (PRODUCE_PID); sp-replay's DLQ in
#                             STATE/ingest-dlq.ndjson
# kafka_pipeline_start STATE  pipelines/process from partitions 0-3 of events
#                             into REDIS_URL, in the background (PIPE_PID;
#                             its stderr in STATE.log)
# topic_end_offsets TOPIC     the end offset of each partition, by kcat, one
#                             line "p0,p1,..."
# checkpoint_offsets          the next offsets of the partitions' states
#                             stored in Redis, the same way
# kafka_pipeline_finish STATE  wait for the producer (if any); then one sentinel event
#                             per partition (region SENTINEL_FIRST_REGION +
#                             partition, an event time past every window of
#                             the data and the watermark delay); wait until
#                             the stored states are at the end of every
#                             partition
#                             (so Redis has every final result) and the DLQ
#                             journal is acknowledged to its end; SIGTERM the
#                             pipeline and wait for it
# without_region REGEX SNAPSHOT  the snapshot without what the regions
#                             matching REGEX wrote (their keys, their members
#                             of the rank sets and of regions)
# dlq_topic_records           the records of the topic events_dlq (kcat),
#                             without processed_at, sorted (with duplicates)
# kafka_accounting STATE SNAPSHOT  fails unless input rows = tripCount + late
#                             events + DLQ records (sp-replay's, the distinct
#                             ones of events_dlq, sp-window's, the sink's),
#                             every message produced once, and every result
#                             final (the sentinel's region left out)

fault_input() {
    printf '%s\n' "$SP_DATA/malformed_trips.csv" "$SP_EXAMPLES/streampulse_load_test_50k.csv" \
        "$SP_DATA/malformed_trips.csv"
}

input_rows() {
    local f total=0
    for f in "$@"; do total=$((total + $(count_lines "$f") - 1)); done
    echo "$total"
}

# pipeline_script NAME STATE: pipelines/NAME in the background (PIPE_PID,
# its stderr in STATE.log) with what every fault run shares: sp-window
# checkpoints often, so a restart resumes from a checkpoint, not the start,
# and a failed pipeline restarts after 1 s. Callers put their own settings
# in the environment of the call.
pipeline_script() {
    local name=$1 state=$2
    mkdir -p "$state"
    SP_SCHEMA="$PROJECT_DIR/schemas/streampulse_v1.json" \
        SP_WINDOW_ARGS="--emit-every 1s --checkpoint-interval 250ms" \
        SP_REDIS_URL="$REDIS_URL" SP_STATE="$state" SP_RESTART_MAX_DELAY=1 \
        "$PROJECT_DIR/pipelines/$name" 2>"$state.log" 3>&- &
    PIPE_PID=$!
}

# The run is slowed (--rate) so a fault lands mid-run.
pipeline_start() {
    SP_INPUT="$(fault_input | tr '\n' ' ')" \
        SP_REPLAY_ARGS="${FAULT_REPLAY_ARGS:---speed max --rate 20000}" \
        pipeline_script local "$1"
}

pipeline_wait() {
    local status=0
    if ! wait_for "! kill -0 $PIPE_PID 2>/dev/null" "${1:-180}"; then
        kill -TERM "$PIPE_PID"
        wait "$PIPE_PID" || true
        return 1
    fi
    wait "$PIPE_PID" || status=$?
    [ "$status" -eq 0 ] || { echo "the pipeline exited $status" >&2; return 1; }
}

# descendants PID: every process below PID.
descendants() {
    local child
    for child in $(pgrep -P "$1"); do
        echo "$child"
        descendants "$child"
    done
}

stage_pid() {
    local root=$1 name=$2 found=
    wait_for "found=\$(stage_below $root $name)" "${3:-30}" >&2 || return 1
    echo "$found"
}

# stage_below ROOT NAME: the pid of a process named NAME below ROOT, if any.
stage_below() {
    local pid
    for pid in $(descendants "$1"); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && { echo "$pid"; return 0; }
    done
    return 1
}

# vm_rss_kb PID: resident memory of PID in kB.
vm_rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

redis_snapshot() {
    python3 "$TESTS_DIR/helpers/redis_layout.py" snapshot "$REDIS_PORT"
}

final_results() {
    awk '$1 ~ /^region:[0-9]+:window:[0-9]+$/ && $2 == "string" { print $3 }' "$1"
}

late_records() {
    [ -s "$1/late.ndjson" ] || return 0
    jq -c 'del(.processed_at)' "$1/late.ndjson" | sort -u
}

accounting() {
    local state=$1 snapshot=$2 rows valid dlq late counted provisional
    # shellcheck disable=SC2046
    rows=$(input_rows $(fault_input))
    valid=$(metric "$state/sp-validate.prom" sp_events_out_total)
    dlq=$(cat "$state"/*dlq.ndjson | wc -l)
    late=$(cat "$state/late.ndjson" | wc -l)
    counted=$(final_results "$snapshot" | jq -s 'map(select(.final) | .tripCount) | add')
    provisional=$(final_results "$snapshot" | jq -s 'map(select(.final | not)) | length')
    echo "# rows=$rows valid=$valid dlq=$dlq late=$late tripCount=$counted provisional=$provisional" >&3
    [ "$rows" -eq $((valid + dlq)) ] || { echo "rows $rows != valid $valid + dlq $dlq" >&2; return 1; }
    [ "$valid" -eq $((counted + late)) ] ||
        { echo "valid $valid != tripCount $counted + late $late" >&2; return 1; }
    [ "$provisional" -eq 0 ] || { echo "$provisional results in Redis are not final" >&2; return 1; }
}

# One baseline for every file of a bats run (BATS_RUN_TMPDIR): the Redis
# keys do not depend on the server's port.
baseline_run() {
    local dir=${BATS_RUN_TMPDIR:-$BATS_FILE_TMPDIR}
    BASELINE_SNAP=$dir/baseline.snap
    BASELINE_LATE=$dir/baseline.late
    export BASELINE_SNAP BASELINE_LATE
    [ -s "$BASELINE_SNAP" ] && return 0
    rcli flushall >/dev/null
    local state=$dir/baseline
    pipeline_start "$state"
    pipeline_wait
    redis_snapshot >"$BASELINE_SNAP.tmp"
    late_records "$state" >"$BASELINE_LATE"
    accounting "$state" "$BASELINE_SNAP.tmp"
    mv "$BASELINE_SNAP.tmp" "$BASELINE_SNAP"
}

same_as_baseline() {
    local state=$1 snapshot=$2
    if ! cmp -s "$BASELINE_SNAP" "$snapshot"; then
        echo "Redis differs from the uninterrupted run: $(diff "$BASELINE_SNAP" "$snapshot" |
            grep -c '^[<>]') lines, the first ones:" >&2
        diff "$BASELINE_SNAP" "$snapshot" | grep '^[<>]' | head -n 4 | cut -c 1-200 >&2
        return 1
    fi
    late_records "$state" >"$state.late"
    if ! cmp -s "$BASELINE_LATE" "$state.late"; then
        echo "late events differ from the uninterrupted run:" >&2
        diff "$BASELINE_LATE" "$state.late" | head -n 6 | cut -c 1-200 >&2
        return 1
    fi
}

# --- the Kafka path ---------------------------------------------------------

# A sentinel per partition, each with a region of its own (a region must
# stay in one partition): regions 90 to 93, far from the data's 1 to 5.
SENTINEL_FIRST_REGION=90
SENTINEL_REGIONS='9[0-3]'
# 13:00 of the data's last day: its last window ends at 11:47, and
# sp-window's watermark stays 5 minutes behind the highest event time
SENTINEL_TIME=2025-09-01T13:00:00Z

kafka_produce_start() {
    local state=$1
    mkdir -p "$state"
    # shellcheck disable=SC2046
    (set -o pipefail
     sp-replay -q --speed max --rate "${FAULT_PRODUCE_RATE:-10000}" \
        --dlq "$state/ingest-dlq.ndjson" $(fault_input) |
        sp-kcat-out -q -b "$KAFKA_BROKERS" -t events --key region_id) 3>&- &
    PRODUCE_PID=$!
}

kafka_pipeline_start() {
    SP_KAFKA_BROKERS="$KAFKA_BROKERS" SP_PARTITIONS=0-3 pipeline_script process "$1"
}

topic_end_offsets() {
    kcat -Q -b "$KAFKA_BROKERS" -t "$1:0:-1" -t "$1:1:-1" -t "$1:2:-1" -t "$1:3:-1" |
        awk '{ sub(/^\[/, "", $2); sub(/\]$/, "", $2); end[$2] = $4 }
             END { print end[0] "," end[1] "," end[2] "," end[3] }'
}

checkpoint_offsets() {
    local p out=
    for p in 0 1 2 3; do out+=$(rcli hget "sp:task:events:$p" next_offset),; done
    echo "${out%,}"
}

# dlq_acked STATE: how far pipelines/process's DLQ producer has had its
# journal acknowledged (0 before it saved anything).
dlq_acked() {
    cat "$1/dlq.offset" 2>/dev/null || echo 0
}

kafka_pipeline_finish() {
    local state=$1 p ends
    if [ -n "${PRODUCE_PID:-}" ]; then
        wait "$PRODUCE_PID" || { echo "the producer failed" >&2; return 1; }
        PRODUCE_PID=
    fi
    for p in 0 1 2 3; do
        printf '{"trip_id":"sentinel%s","region_id":%s,"event_time":"%s","fare":10,"duration":600,"distance":1.0}\n' \
            "$p" "$((SENTINEL_FIRST_REGION + p))" "$SENTINEL_TIME" |
            sp-kcat-out -q -b "$KAFKA_BROKERS" -t events -p "$p"
    done
    ends=$(topic_end_offsets events)
    # A partition's last records that sp-validate sent to the DLQ never
    # reach sp-window, so the checkpoint reaches a partition's end only
    # with a valid record last: the sentinel.
    if ! wait_for "[ \"\$(checkpoint_offsets)\" = '$ends' ]" 60; then
        echo "the stored states are at $(checkpoint_offsets), the topic ends at $ends" >&2
        return 1
    fi
    # and the DLQ producer (restarted a second after a kill) has had its
    # whole journal acknowledged
    if ! wait_for "[ \"\$(dlq_acked '$state')\" = \"\$(stat -c %s '$state/dlq.ndjson')\" ]" 60; then
        echo "the DLQ journal is acknowledged up to $(dlq_acked "$state") of $(stat -c %s "$state/dlq.ndjson") bytes" >&2
        return 1
    fi
    kill -TERM "$PIPE_PID"
    pipeline_wait 60
    if grep -E 'Sanitizer|runtime error' "$state.log" >&2; then
        echo "a sanitizer complained" >&2
        return 1
    fi
}

without_region() {
    awk -v r="^($1)\$" '
        $1 ~ "^region:" substr(r, 2, length(r) - 2) ":" { next }
        $1 == "regions" && $2 == "set" {
            out = $1 " " $2
            for (i = 3; i <= NF; i++) if ($i !~ r) out = out " " $i
            print out; next
        }
        $1 ~ /^window:[0-9]+:rank:/ && $2 == "zset" {
            out = ""
            for (i = 3; i < NF; i += 2) if ($i !~ r) out = out " " $i " " $(i + 1)
            if (out != "") print $1 " " $2 out
            next
        }
        { print }' "$2"
}

dlq_topic_records() {
    kcat -C -b "$KAFKA_BROKERS" -t events_dlq -e -q -f '%s\n' | jq -c 'del(.processed_at)' | sort
}

kafka_accounting() {
    local state=$1 snapshot=$2 rows messages ingest_dlq dlq distinct sources other late counted \
        provisional stored_late p
    # shellcheck disable=SC2046
    rows=$(input_rows $(fault_input))
    ingest_dlq=$(count_lines "$state/ingest-dlq.ndjson")
    messages=$(topic_end_offsets events | tr ',' '+')
    messages=$((messages - 4))
    dlq_topic_records >"$state.dlq"
    dlq=$(count_lines "$state.dlq")
    distinct=$(sort -u "$state.dlq" | wc -l)
    sources=$(jq -c '.source' "$state.dlq" | sort -u | wc -l)
    other=$(cat "$state/window-dlq.ndjson" "$state/sink-dlq.ndjson" | wc -l)
    late=$(late_records "$state" | wc -l)
    stored_late=$(for p in 0 1 2 3; do rcli hget "sp:task:events:$p" checkpoint; done |
        jq -s 'map(.tasks[0].counts.late) | add')
    counted=$(final_results "$snapshot" |
        jq -s --argjson r "$SENTINEL_FIRST_REGION" 'map(select(.final and (.regionId < $r or .regionId > $r + 3)) | .tripCount) | add')
    provisional=$(final_results "$snapshot" |
        jq -s --argjson r "$SENTINEL_FIRST_REGION" 'map(select((.final | not) and (.regionId < $r or .regionId > $r + 3))) | length')
    echo "# rows=$rows produced=$messages+$ingest_dlq tripCount=$counted late=$late" \
        "dlq=$ingest_dlq+$sources(+$((dlq - sources)) duplicates)+$other provisional=$provisional" >&3
    [ "$rows" -eq $((messages + ingest_dlq)) ] ||
        { echo "rows $rows != messages $messages + sp-replay's DLQ $ingest_dlq" >&2; return 1; }
    [ "$distinct" -eq "$sources" ] ||
        { echo "DLQ records of one source differ: $distinct records, $sources sources" >&2; return 1; }
    [ "$rows" -eq $((counted + late + ingest_dlq + sources + other)) ] || {
        echo "rows $rows != tripCount $counted + late $late + DLQ $ingest_dlq + $sources + $other" >&2
        return 1
    }
    [ "$stored_late" -eq "$late" ] ||
        { echo "the stored states count $stored_late late events, the file $late" >&2; return 1; }
    [ "$provisional" -eq 0 ] || { echo "$provisional results in Redis are not final" >&2; return 1; }
}
