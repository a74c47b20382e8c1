#!/usr/bin/env bats
# sp-redis-sink against a private redis-server: the key layout of SPEC
# section 7 checked by an independent oracle (helpers/redis_layout.py),
# idempotence, sp:latest_window, DLQ, TTL, trimming, and an outage mid-stream.

load helpers/common
load helpers/redis

setup() {
    redis_start
    T=$BATS_TEST_TMPDIR
}

teardown() {
    [ -n "${REDIS_RESTARTER:-}" ] && wait "$REDIS_RESTARTER" 2>/dev/null
    redis_stop
}

@test "sp-redis-sink: --help, --version, bad usage, missing input" {
    run sp-redis-sink --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"--give-up-after"* ]]
    run sp-redis-sink --version
    [ "$output" = "sp-redis-sink 0.1.0" ]
    run sp-redis-sink --batch 0
    [ "$status" -eq 64 ]
    run sp-redis-sink --url http://x
    [ "$status" -eq 64 ]
    run sp-redis-sink --url "$REDIS_URL" "$T/does-not-exist"
    [ "$status" -eq 66 ]
}

@test "sp-redis-sink: writes the SPEC layout (checked by an independent oracle)" {
    gen_results 7 25 >"$T/r.ndjson"
    sp-redis-sink --url "$REDIS_URL" --batch 40 "$T/r.ndjson"
    python3 "$TESTS_DIR/helpers/redis_layout.py" check "$REDIS_PORT" "$T/r.ndjson"
    # the value is the exact input line
    line=$(sed -n 9p "$T/r.ndjson")
    start=$(jq -r '.windowStart | fromdate' <<<"$line")
    region=$(jq -r .regionId <<<"$line")
    [ "$(rcli get "region:$region:window:$start")" = "$line" ]
}

@test "sp-redis-sink: --rank and --ttl 0 (no expiry, no trimming)" {
    gen_results 3 10 >"$T/r.ndjson"
    sp-redis-sink --url "$REDIS_URL" --ttl 0 --rank p99Duration --rank totalDistance <"$T/r.ndjson"
    python3 "$TESTS_DIR/helpers/redis_layout.py" check "$REDIS_PORT" "$T/r.ndjson" --ttl 0 \
        --rank p99Duration --rank totalDistance
    key=$(rcli --scan --pattern 'region:1:window:*' | head -n 1)
    [ "$(rcli ttl "$key")" -eq -1 ]
}

@test "sp-redis-sink: TTL on values and ranks; the index trimmed by event time" {
    gen_results 4 30 >"$T/r.ndjson"
    sp-redis-sink --url "$REDIS_URL" --ttl 5m <"$T/r.ndjson"
    python3 "$TESTS_DIR/helpers/redis_layout.py" check "$REDIS_PORT" "$T/r.ndjson" --ttl 300
    # 30 one-minute windows, ttl 300 s back from the newest start: 6 starts kept
    [ "$(rcli zcard region:2:windows)" -eq 6 ]
    for key in "$(rcli --scan --pattern 'region:2:window:*' | head -n 1)" \
               "$(rcli --scan --pattern 'window:*:rank:avgFare' | head -n 1)"; do
        ttl=$(rcli ttl "$key")
        [ "$ttl" -gt 0 ] && [ "$ttl" -le 300 ]
    done
    [ "$(rcli ttl regions)" -eq -1 ]
    [ "$(rcli ttl sp:latest_window)" -eq -1 ]
}

@test "sp-redis-sink: the same input twice leaves the same state" {
    gen_results 5 12 >"$T/r.ndjson"
    sp-redis-sink --url "$REDIS_URL" --batch 7 <"$T/r.ndjson"
    redis_dump >"$T/first"
    sp-redis-sink --url "$REDIS_URL" --batch 13 <"$T/r.ndjson"
    redis_dump >"$T/second"
    [ -s "$T/first" ]
    diff "$T/first" "$T/second"
}

@test "sp-redis-sink: sp:latest_window moves only forward, and only for final results" {
    gen_results 2 5 10 >"$T/new.ndjson"       # minutes 10-14, final
    gen_results 2 5 0 >"$T/old.ndjson"        # minutes 0-4, final
    gen_results 2 3 20 false >"$T/prov.ndjson" # minutes 20-22, provisional
    want=$(jq -r '.windowStart | fromdate' "$T/new.ndjson" | sort -n | tail -n 1)
    sp-redis-sink --url "$REDIS_URL" <"$T/new.ndjson"
    [ "$(rcli get sp:latest_window)" = "$want" ]
    sp-redis-sink --url "$REDIS_URL" <"$T/old.ndjson"
    [ "$(rcli get sp:latest_window)" = "$want" ]
    sp-redis-sink --url "$REDIS_URL" <"$T/prov.ndjson"
    [ "$(rcli get sp:latest_window)" = "$want" ]
    # the provisional results are stored and indexed all the same
    prov=$(head -n 1 "$T/prov.ndjson")
    start=$(jq -r '.windowStart | fromdate' <<<"$prov")
    [ "$(rcli get "region:1:window:$start")" = "$prov" ]
    [ "$(rcli zscore region:1:windows "$start")" = "$start" ]
}

@test "sp-redis-sink: lines that are not results become DLQ records, one each" {
    gen_results 2 2 >"$T/r.ndjson"
    {
        head -n 2 "$T/r.ndjson"
        echo 'not json at all'
        echo '{"regionId":3,"tripCount":4}'
        echo '{"regionId":-1,"windowStart":"2025-08-31T08:00:00Z","windowEnd":"2025-08-31T08:01:00Z","tripCount":1}'
        echo '{"regionId":"north","windowStart":"2025-08-31T08:00:00Z","windowEnd":"2025-08-31T08:01:00Z"}'
        printf '\xff\xfe\n'
        tail -n 2 "$T/r.ndjson"
    } >"$T/mixed.ndjson"
    run sp-redis-sink --url "$REDIS_URL" --dlq "$T/dlq" --metrics-file "$T/m.prom" "$T/mixed.ndjson"
    [ "$status" -eq 0 ]
    [ "$(count_lines "$T/dlq")" -eq 5 ]
    [ "$(jq -r .error_type "$T/dlq" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" = \
      "JSON_PARSE_ERROR=2 SCHEMA_VIOLATION=3 " ]
    [ "$(jq -r .source.line "$T/dlq" | tr '\n' ' ')" = "3 4 5 6 7 " ]
    [ "$(jq -r 'select(.source.line == 7) | .original_base64' "$T/dlq")" = "//4=" ]
    jq -s -e '.[0].original == "not json at all" and .[0].component == "sp-redis-sink"' "$T/dlq"
    python3 "$TESTS_DIR/helpers/redis_layout.py" check "$REDIS_PORT" "$T/mixed.ndjson"
    grep -q '^sp_events_in_total{tool="sp-redis-sink"} 9$' "$T/m.prom"
    grep -q '^sp_events_out_total{tool="sp-redis-sink"} 4$' "$T/m.prom"
}

@test "sp-redis-sink: a result that gives a member twice is a dead letter, not stored" {
    local twice='{"regionId":3,"windowStart":"2025-08-31T08:00:00Z","windowEnd":"2025-08-31T08:01:00Z","tripCount":1,"avgFare":2,"final":true,"tripCount":5}'
    run sp-redis-sink --url "$REDIS_URL" --dlq "$T/dlq" <<<"$twice"
    [ "$status" -eq 0 ]
    [ "$(jq -r .error_type "$T/dlq")" = SCHEMA_VIOLATION ]
    [[ "$(jq -r .error_reason "$T/dlq")" == "duplicate object key"* ]]
    [ "$(rcli exists region:3:window:1756627200)" = 0 ]
}

@test "sp-redis-sink: a partial batch is written while the input is idle" {
    gen_results 1 1 >"$T/one.ndjson"
    start=$(jq -r '.windowStart | fromdate' "$T/one.ndjson")
    # one result, then the pipe stays open: the sink must not wait for more
    # (or for the end of input) before writing it
    mkfifo "$T/fifo"
    sp-redis-sink --url "$REDIS_URL" --batch 1000 <"$T/fifo" 3>&- &
    pid=$!
    exec 4>"$T/fifo"
    cat "$T/one.ndjson" >&4
    wait_for "[ \$(rcli exists region:1:window:$start) = 1 ]"
    kill -0 "$pid"   # still reading: written while the input was idle
    exec 4>&-
    wait "$pid"
}

@test "sp-redis-sink: Redis stopped mid-stream, restarted: nothing lost, said on stderr" {
    gen_results 5 40 >"$T/r.ndjson"   # 200 results
    head -n 50 "$T/r.ndjson" >"$T/before"
    tail -n +51 "$T/r.ndjson" >"$T/after"
    mkfifo "$T/fifo"
    sp-redis-sink --url "$REDIS_URL" --batch 10 --metrics-file "$T/m.prom" <"$T/fifo" 2>"$T/err" &
    pid=$!
    exec 4>"$T/fifo"
    cat "$T/before" >&4
    last=$(tail -n 1 "$T/before" | jq -r '"region:\(.regionId):window:\(.windowStart | fromdate)"')
    wait_for "[ \$(rcli exists '$last') = 1 ]"
    redis_stop
    redis_restart_later 2 4>&-
    # written while Redis is away: the sink holds them and retries
    while IFS= read -r line; do printf '%s\n' "$line" >&4; sleep 0.01; done <"$T/after"
    exec 4>&-
    wait "$pid"
    # shutdown nosave dropped what came before; everything after it arrived
    python3 "$TESTS_DIR/helpers/redis_layout.py" check "$REDIS_PORT" "$T/after"
    grep -q 'unavailable' "$T/err"
    grep -q 'is back' "$T/err"
    [ "$(grep -c 'unavailable' "$T/err")" -eq 1 ]
    retries=$(sed -n 's/^sp_redis_retries_total{tool="sp-redis-sink"} //p' "$T/m.prom")
    [ "$retries" -gt 0 ]
    grep -q '^sp_events_out_total{tool="sp-redis-sink"} 200$' "$T/m.prom"
}

@test "sp-redis-sink --checkpoint: a barrier moves the pending checkpoint into place after Redis has what came before" {
    gen_results 3 20 >"$T/r.ndjson"   # 60 results
    echo old >"$T/w.ckpt"
    echo new >"$T/w.ckpt.pending"
    barrier='{"_checkpoint":{"written_at":"2026-01-01T00:00:00.000Z"}}'
    # 40 results, the barrier, then the sink sits on an open pipe: the
    # checkpoint must be in place with the 40 results stored, before any end
    mkfifo "$T/fifo"
    sp-redis-sink --url "$REDIS_URL" --batch 1000 --checkpoint "$T/w.ckpt" \
        --metrics-file "$T/m.prom" --dlq "$T/dlq" <"$T/fifo" 2>"$T/err" 3>&- &
    pid=$!
    exec 4>"$T/fifo"
    { head -n 40 "$T/r.ndjson"; echo "$barrier"; } >&4
    wait_for "[ \"\$(cat '$T/w.ckpt')\" = new ]"
    [ ! -e "$T/w.ckpt.pending" ]
    head -n 40 "$T/r.ndjson" >"$T/first40"
    python3 "$TESTS_DIR/helpers/redis_layout.py" check "$REDIS_PORT" "$T/first40"
    tail -n +41 "$T/r.ndjson" >&4
    exec 4>&-
    wait "$pid"
    # a barrier is neither a result nor a dead letter
    grep -q '^sp_events_in_total{tool="sp-redis-sink"} 60$' "$T/m.prom"
    grep -q '^sp_events_out_total{tool="sp-redis-sink"} 60$' "$T/m.prom"
    grep -q '^sp_checkpoints_completed_total{tool="sp-redis-sink"} 1$' "$T/m.prom"
    [ ! -s "$T/dlq" ]
}

@test "sp-redis-sink --checkpoint: Redis away, the barrier is not completed" {
    gen_results 1 3 >"$T/r.ndjson"
    echo '{"_checkpoint":{}}' >>"$T/r.ndjson"
    echo old >"$T/w.ckpt"
    echo new >"$T/w.ckpt.pending"
    port=$(free_port)
    run sp-redis-sink --url "redis://127.0.0.1:$port" --give-up-after 300ms \
        --checkpoint "$T/w.ckpt" "$T/r.ndjson"
    [ "$status" -eq 69 ]
    [ "$(cat "$T/w.ckpt")" = old ]
    [ "$(cat "$T/w.ckpt.pending")" = new ]
}

@test "sp-redis-sink: barriers without --checkpoint are ignored, with one warning" {
    gen_results 1 4 >"$T/r.ndjson"
    { head -n 2 "$T/r.ndjson"; echo '{"_checkpoint":{}}'; tail -n 2 "$T/r.ndjson"; echo '{"_checkpoint":{}}'; } >"$T/in"
    echo new >"$T/w.ckpt.pending"
    run sp-redis-sink --url "$REDIS_URL" --dlq "$T/dlq" "$T/in"
    [ "$status" -eq 0 ]
    [ "$(grep -c 'no --checkpoint' <<<"$output")" -eq 1 ]
    [ -e "$T/w.ckpt.pending" ]
    [ ! -s "$T/dlq" ]
    python3 "$TESTS_DIR/helpers/redis_layout.py" check "$REDIS_PORT" "$T/r.ndjson"
}

@test "sp-redis-sink: --give-up-after ends with 69 when Redis stays away" {
    gen_results 1 3 >"$T/r.ndjson"
    port=$(free_port)
    run sp-redis-sink --url "redis://127.0.0.1:$port" --give-up-after 300ms "$T/r.ndjson"
    [ "$status" -eq 69 ]
    [[ "$output" == *"3 results not written"* ]]
}

@test "sp-redis-sink: password, database number and unix socket" {
    redis_stop
    REDIS_PORT=$(free_port)
    _redis_launch --requirepass s3cret --unixsocket "$REDIS_DIR/r.sock" --unixsocketperm 700
    gen_results 2 3 >"$T/r.ndjson"
    sp-redis-sink --url "redis://:s3cret@127.0.0.1:$REDIS_PORT/3" <"$T/r.ndjson"
    [ "$(redis-cli -a s3cret -p "$REDIS_PORT" -n 3 zcard region:2:windows 2>/dev/null)" -eq 3 ]
    [ "$(redis-cli -a s3cret -p "$REDIS_PORT" -n 0 exists regions 2>/dev/null)" -eq 0 ]
    redis-cli -a s3cret -p "$REDIS_PORT" flushall >/dev/null 2>&1
    sp-redis-sink --socket "$REDIS_DIR/r.sock" --url "redis://:s3cret@127.0.0.1:1/0" <"$T/r.ndjson"
    [ "$(redis-cli -a s3cret -s "$REDIS_DIR/r.sock" scard regions 2>/dev/null)" -eq 2 ]
    redis-cli -a s3cret -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    REDIS_PORT=
}

@test "sp-redis-sink: end to end, the 50k CSV through sp-replay | sp-validate | sp-window" {
    csv=$SP_EXAMPLES/streampulse_load_test_50k.csv
    [ -f "$csv" ] || skip "needs examples/data/streampulse_load_test_50k.csv"
    sp-replay --speed max "$csv" | sp-validate --dlq "$T/dlq" |
        sp-window --late "$T/late" --dlq "$T/dlq" | tee "$T/results.ndjson" |
        sp-redis-sink --url "$REDIS_URL" --dlq "$T/sink-dlq"
    [ "$(count_lines "$T/results.ndjson")" -gt 1000 ]
    [ ! -s "$T/sink-dlq" ]
    python3 "$TESTS_DIR/helpers/redis_layout.py" check "$REDIS_PORT" "$T/results.ndjson"
    # every trip counted once: the rank sets in Redis hold the same total
    # as the results sp-window wrote
    want=$(jq -s 'map(.tripCount) | add' "$T/results.ndjson")
    got=$(for key in $(rcli --scan --pattern 'window:*:rank:tripCount'); do
        rcli zrange "$key" 0 -1 withscores | sed -n 'n;p'; done | awk '{ s += $1 } END { print s }')
    [ "$got" = "$want" ]
}

@test "sp-redis-sink: Redis out of memory (noeviction) holds the input until it has room" {
    gen_results 10 30 >"$T/r.ndjson"
    rcli config set maxmemory-policy noeviction >/dev/null
    rcli config set maxmemory 1 >/dev/null   # 1 byte: every write is refused
    sp-redis-sink --url "$REDIS_URL" --metrics-file "$T/m.prom" <"$T/r.ndjson" 2>"$T/err" &
    pid=$!
    wait_for "grep -q unavailable '$T/err'"
    grep -q 'OOM' "$T/err"
    [ "$(rcli exists regions)" = 0 ]
    rcli config set maxmemory 0 >/dev/null
    wait "$pid"
    grep -q 'is back' "$T/err"
    python3 "$TESTS_DIR/helpers/redis_layout.py" check "$REDIS_PORT" "$T/r.ndjson"
    errors=$(sed -n 's/^sp_redis_errors_total{tool="sp-redis-sink"} //p' "$T/m.prom")
    [ "$errors" -gt 0 ]
}
