#!/usr/bin/env bats
# sp-window as a user runs it: results against the independent reference
# (tests/reference/window_reference.py), disorder, lateness, hopping windows,
# per-partition watermarks, provisional results, dead letters, checkpoints
# and recovery from kill -9.

load helpers/common
bats_require_minimum_version 1.5.0

REF=$TESTS_DIR/reference/window_reference.py
FAR=36500d # a --max-delay under which nothing in the sample data is late

setup() {
    W=$BATS_TEST_TMPDIR
}

# ev KEY TIME [FARE [DURATION]]: one trip event line.
ev() {
    printf '{"trip_id":"t","region_id":%s,"event_time":"%s","fare":%s,"duration":%s,"distance":1.5}\n' \
        "$1" "$2" "${3:-10}" "${4:-600}"
}

# replay CSV OUT [--sort]: the CSV as trip-event NDJSON, through sp-replay.
replay() {
    local csv=$1 out=$2
    shift 2
    sp-replay -q "$@" "$csv" >"$out"
}

# final_set FILE: the final results as a sorted set of lines; a partial last
# line (a process killed mid-write) is left out.
final_set() {
    python3 -c '
import sys
text = open(sys.argv[1], encoding="utf-8").read()
lines = text.split("\n")[:-1]
print("\n".join(sorted({l for l in lines if l.endswith("\"final\":true}")})))' "$1"
}

# last_finals FILE: what an idempotent sink keeps of FILE: the last final
# result of each key and window, sorted; a partial last line is left out.
last_finals() {
    python3 -c '
import json, sys
last = {}
for line in open(sys.argv[1], encoding="utf-8").read().split("\n")[:-1]:
    r = json.loads(line)
    if r["final"]:
        last[(str(r["regionId"]), r["windowStart"], r["windowEnd"])] = line
print("\n".join(sorted(last.values())))' "$1"
}

check_against_reference() {
    local input=$1
    shift
    python3 "$REF" compute "$@" "$input" >"$W/ref"
    sp-window --max-delay "$FAR" "$@" <"$input" >"$W/out"
    python3 "$REF" compare "$W/ref" "$W/out"
}

@test "--help names every option; --version; bad usage exits 64; a missing file exits 66" {
    run sp-window --help
    [ "$status" -eq 0 ]
    for o in --key --time --size --slide --agg --max-delay --allowed-lateness --max-future \
        --idle-timeout --emit-every --late --dlq --checkpoint --checkpoint-interval --metrics-file; do
        [[ $output == *"$o"* ]] || { echo "missing $o"; false; }
    done
    run sp-window --version
    [ "$output" = "sp-window 0.1.0" ]
    run sp-window --size nope
    [ "$status" -eq 64 ]
    run sp-window --agg 'x=median:fare'
    [ "$status" -eq 64 ]
    run sp-window --size 1m --slide 2m
    [ "$status" -eq 64 ]
    run sp-window --agg regionId=count
    [ "$status" -eq 64 ]
    run sp-window "$W/no-such-file"
    [ "$status" -eq 66 ]
}

@test "StreamPulse 50k file equals the reference, as given and replayed with --sort" {
    replay "$SP_EXAMPLES/streampulse_load_test_50k.csv" "$W/in.ndjson"
    check_against_reference "$W/in.ndjson"
    replay "$SP_EXAMPLES/streampulse_load_test_50k.csv" "$W/sorted.ndjson" --sort
    check_against_reference "$W/sorted.ndjson"
}

@test "NYC samples (unsorted, real gaps and odd rows) equal the reference, with and without --sort" {
    for month in 01 02; do
        replay "$SP_EXAMPLES/yellow_tripdata_sample_2019-$month.csv" "$W/nyc.ndjson"
        check_against_reference "$W/nyc.ndjson"
        replay "$SP_EXAMPLES/yellow_tripdata_sample_2019-$month.csv" "$W/nyc.ndjson" --sort
        check_against_reference "$W/nyc.ndjson"
    done
}

@test "a window of more than 1024 values: percentiles within 1%, the rest exact" {
    python3 -c '
import random
random.seed(7)
for i in range(5000):
    print("{\"region_id\":1,\"event_time\":\"2025-01-01T00:00:%02dZ\",\"fare\":%.2f,\"duration\":%d,\"distance\":%.1f}"
          % (i % 60, random.uniform(3, 300), random.randint(60, 7200), random.uniform(0.1, 50)))' >"$W/big.ndjson"
    check_against_reference "$W/big.ndjson"
}

@test "string keys, unsorted times, 5-minute windows: equal to the reference, keys in byte order" {
    python3 -c '
import json, random
random.seed(11)
zones = ["Zone \u00e9", "zone-b", "Zone-A", "z", "a,b", "\"q\""]
for i in range(4000):
    print(json.dumps({"zone": random.choice(zones), "event_time": "2025-03-01T%02d:%02d:%02d.%03dZ" % (
        random.randint(0, 3), random.randint(0, 59), random.randint(0, 59), random.randint(0, 999)),
        "fare": round(random.uniform(2, 80), 2), "duration": random.randint(60, 5000),
        "distance": round(random.uniform(0.1, 30), 1)}))' >"$W/zones.ndjson"
    check_against_reference "$W/zones.ndjson" --key zone --size 300
    # Within each window end, keys ascend bytewise.
    python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = [(r["windowEnd"], r["zone"].encode()) for r in rows]
assert keys == sorted(keys), "not in end-then-key order"' "$W/out"
}

@test "hopping windows (--slide) equal the reference: each event in size/slide windows" {
    head -n 3000 "$SP_EXAMPLES/streampulse_load_test_50k.csv" >"$W/small.csv"
    replay "$W/small.csv" "$W/in.ndjson"
    check_against_reference "$W/in.ndjson" --size 300 --slide 60
    # Each event counted 5 times in all.
    total=$(jq -s 'map(.tripCount) | add' "$W/out")
    [ "$total" -eq $((5 * $(count_lines "$W/in.ndjson"))) ]
}

@test "same input, same bytes" {
    replay "$SP_EXAMPLES/yellow_tripdata_sample_2019-01.csv" "$W/in.ndjson"
    sp-window --max-delay 10m <"$W/in.ndjson" >"$W/a" 2>"$W/late-a"
    sp-window --max-delay 10m <"$W/in.ndjson" >"$W/b" 2>"$W/late-b"
    cmp "$W/a" "$W/b"
    [ "$(jq -c 'del(.processed_at)' "$W/late-a")" = "$(jq -c 'del(.processed_at)' "$W/late-b")" ]
}

@test "disorder inside --max-delay counts in the right window; past it goes to --late with the window" {
    {
        ev 1 2025-01-01T00:10:00Z 10
        ev 1 2025-01-01T00:06:30Z 20 # 3.5 minutes behind: inside the delay
        ev 1 2025-01-01T00:12:00Z 30
        ev 1 2025-01-01T00:05:10Z 40 # watermark is 00:07:00: late
    } >"$W/in"
    sp-window --max-delay 5m --late "$W/late" <"$W/in" >"$W/out"
    [ "$(jq -c 'select(.windowStart == "2025-01-01T00:06:00Z") | [.tripCount, .avgFare]' "$W/out")" = "[1,20]" ]
    [ "$(jq -s 'map(.tripCount) | add' "$W/out")" -eq 3 ]
    [ "$(count_lines "$W/late")" -eq 1 ]
    [ "$(jq -c '[.error_type, .windowStart, .windowEnd, .source.line]' "$W/late")" = \
        '["LATE_EVENT","2025-01-01T00:05:00Z","2025-01-01T00:06:00Z",4]' ]
    [ "$(jq -r .original "$W/late" | jq .fare)" = 40 ]
}

@test "--allowed-lateness re-emits an updated final result; later events are late" {
    {
        ev 7 2025-01-01T00:00:10Z 10
        ev 7 2025-01-01T00:01:30Z 10 # watermark 00:01:30 closes [00:00, 00:01)
        ev 7 2025-01-01T00:00:20Z 40 # within 2 minutes of lateness: updates it
        ev 7 2025-01-01T00:04:00Z 10 # watermark 00:04: [00:00,00:01) + 2m is past
        ev 7 2025-01-01T00:00:30Z 99 # late
    } >"$W/in"
    sp-window --max-delay 0 --allowed-lateness 2m --late "$W/late" --metrics-file "$W/m.prom" <"$W/in" >"$W/out"
    first=$(jq -c 'select(.windowStart == "2025-01-01T00:00:00Z") | [.tripCount, .avgFare, .final]' "$W/out")
    [ "$first" = "$(printf '[1,10,true]\n[2,25,true]')" ]
    [ "$(jq -r .error_type "$W/late")" = LATE_EVENT ]
    grep -q '^sp_late_events_total{tool="sp-window"} 1$' "$W/m.prom"
}

@test "a far-future event is a FUTURE_EVENT dead letter and makes nothing else late" {
    {
        ev 1 2025-01-01T00:00:10Z
        ev 1 2999-01-01T00:00:00Z
        ev 1 2025-01-01T00:00:20Z
        ev 1 2025-01-01T00:01:20Z
    } >"$W/in"
    sp-window --max-delay 0 --dlq "$W/dlq" --late "$W/late" <"$W/in" >"$W/out"
    [ "$(jq -r .error_type "$W/dlq")" = FUTURE_EVENT ]
    [ ! -s "$W/late" ]
    [ "$(jq -s 'map(.tripCount) | add' "$W/out")" -eq 3 ]
}

@test "records that are not usable events become counted dead letters, never vanish" {
    {
        ev 1 2025-01-01T00:00:10Z
        echo 'not json'
        echo '[1,2]'
        echo '{"event_time":"2025-01-01T00:00:11Z"}'
        echo '{"region_id":1,"event_time":"yesterday"}'
        echo '{"region_id":{"x":1},"event_time":"2025-01-01T00:00:11Z"}'
        printf '{"region_id":1,"event_time":"2025-01-01T00:00:12Z","fare":"\xff"}\n'
    } >"$W/in"
    sp-window --dlq "$W/dlq" --metrics-file "$W/m.prom" <"$W/in" >"$W/out"
    [ "$(count_lines "$W/dlq")" -eq 6 ]
    [ "$(jq -r .error_type "$W/dlq" | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" = \
        "JSON_PARSE_ERROR=3 SCHEMA_VIOLATION=3 " ]
    jq -e 'select(.original_base64 != null)' "$W/dlq" >/dev/null
    grep -q '^sp_dlq_total{tool="sp-window",error_type="SCHEMA_VIOLATION"} 3$' "$W/m.prom"
    grep -q '^sp_events_in_total{tool="sp-window"} 7$' "$W/m.prom"
    [ "$(jq .tripCount "$W/out")" -eq 1 ]
}

@test "a record that gives region_id twice is a dead letter, as in sp-validate, and counts nowhere" {
    local twice='{"trip_id":"d9","region_id":9,"event_time":"2025-01-01T00:00:10Z","fare":1,"duration":600,"distance":1.5,"region_id":59}'
    { ev 1 2025-01-01T00:00:10Z; echo "$twice"; } >"$W/in"
    sp-window --dlq "$W/dlq" <"$W/in" >"$W/out"
    [ "$(jq -r '.error_type + " " + .field + " " + .error_reason' "$W/dlq")" = \
        "SCHEMA_VIOLATION region_id region_id: given 2 times" ]
    [ "$(jq -c '[.regionId, .tripCount]' "$W/out")" = '[1,1]' ]
    # sp-validate refuses it the same way
    run sp-validate -q --dlq "$W/vdlq" <<<"$twice"
    [ -z "$output" ]
    [ "$(jq -r .error_reason "$W/vdlq")" = "region_id: given 2 times" ]
}

@test "a line over 1 MiB is a LINE_TOO_LONG dead letter and the next line still counts" {
    python3 -c 'print("{\"region_id\":1,\"event_time\":\"2025-01-01T00:00:00Z\",\"pad\":\"" + "x" * 2000000 + "\"}")' >"$W/in"
    ev 1 2025-01-01T00:00:01Z >>"$W/in"
    sp-window --dlq "$W/dlq" <"$W/in" >"$W/out"
    [ "$(jq -r .error_type "$W/dlq")" = LINE_TOO_LONG ]
    [ "$(jq .tripCount "$W/out")" -eq 1 ]
}

@test "--agg replaces the default metrics, in the given order, over any numeric field" {
    {
        ev 3 2025-01-01T00:00:01Z 10 100
        ev 3 2025-01-01T00:00:02Z 30 300
        echo '{"region_id":3,"event_time":"2025-01-01T00:00:03Z","fare":"n/a","duration":200}'
    } >"$W/in"
    sp-window --agg n=count --agg fares=count:fare --agg hi=max:fare --agg lo=min:duration \
        --agg med=p50:duration <"$W/in" >"$W/out"
    [ "$(jq -c 'del(.windowStart, .windowEnd)' "$W/out")" = \
        '{"regionId":3,"n":3,"fares":2,"hi":30,"lo":100,"med":200,"final":true}' ]
}

@test "string keys with --key, and --time naming another field" {
    printf '{"zone":"b","ts":"2025-01-01 00:00:01","fare":1}\n{"zone":"a","ts":"2025-01-01 00:00:02","fare":3}\n' >"$W/in"
    sp-window --key zone --time ts --agg n=count <"$W/in" >"$W/out"
    [ "$(jq -r .zone "$W/out" | tr '\n' ' ')" = "a b " ]
}

@test "--emit-every gives provisional results while the input is open, final ones at the end" {
    mkfifo "$W/in"
    sp-window --emit-every 100ms <"$W/in" >"$W/out" 3>&- &
    pid=$!
    exec 4>"$W/in"
    ev 1 2025-01-01T00:00:10Z >&4
    ev 2 2025-01-01T00:00:11Z >&4
    # Written while the input is open and idle, before it ends.
    wait_for "grep -q '\"final\":false' '$W/out'"
    exec 4>&-
    wait "$pid"
    [ "$(jq -c 'select(.final) | .regionId' "$W/out" | tr '\n' ' ')" = "1 2 " ]
}

@test "a quiet stream still closes its windows (--idle-timeout)" {
    mkfifo "$W/in"
    sp-window --max-delay 100ms --idle-timeout 500ms <"$W/in" >"$W/out" 3>&- &
    pid=$!
    exec 4>"$W/in"
    ev 1 2025-01-01T00:00:59.800Z >&4
    # The window closes while the input is still open.
    wait_for "grep -q '\"final\":true' '$W/out'"
    exec 4>&-
    wait "$pid"
}

# kafka_lines IN OUT PARTITIONS...: events of IN as sp-kcat-in would emit them,
# partition = region_id % 4, the consumer reading blocks of 500 per partition in
# turn (so partitions run far apart in event time), preceded by the assignment.
kafka_lines() {
    python3 - "$@" <<'EOF'
import json, sys
src, dst, parts = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
queues = {p: [] for p in parts}
for line in open(src):
    ev = json.loads(line)
    p = ev['region_id'] % 4
    if p in queues:
        queues[p].append(ev)
with open(dst, 'w') as out:
    out.write(json.dumps({"_kafka_assignment": [{"topic": "events", "partition": p} for p in parts]}) + "\n")
    offsets = {p: 0 for p in parts}
    while any(queues.values()):
        for p in parts:
            block, queues[p] = queues[p][:500], queues[p][500:]
            for ev in block:
                rec = {"_kafka": {"topic": "events", "partition": p, "offset": offsets[p]}}
                rec.update(ev)
                offsets[p] += 1
                out.write(json.dumps(rec, separators=(',', ':')) + "\n")
EOF
}

@test "per-partition watermarks: a backlog in one partition makes no other late; 0-3 equals 0-1 plus 2-3" {
    head -n 20001 "$SP_EXAMPLES/streampulse_load_test_50k.csv" >"$W/part.csv"
    replay "$W/part.csv" "$W/in.ndjson"
    kafka_lines "$W/in.ndjson" "$W/all" 0 1 2 3
    kafka_lines "$W/in.ndjson" "$W/low" 0 1
    kafka_lines "$W/in.ndjson" "$W/high" 2 3
    opts=(--max-delay 1m --idle-timeout 0)
    sp-window "${opts[@]}" --late "$W/late-all" <"$W/all" >"$W/out-all"
    sp-window "${opts[@]}" --late "$W/late-low" <"$W/low" >"$W/out-low"
    sp-window "${opts[@]}" --late "$W/late-high" <"$W/high" >"$W/out-high"
    [ ! -s "$W/late-all" ] && [ ! -s "$W/late-low" ] && [ ! -s "$W/late-high" ]
    cat "$W/out-low" "$W/out-high" >"$W/out-two"
    [ "$(final_set "$W/out-all")" = "$(final_set "$W/out-two")" ]
    # And that is the complete answer.
    python3 "$REF" compute "$W/in.ndjson" >"$W/ref"
    python3 "$REF" compare "$W/ref" "$W/out-all"
    # Without the coordinates, one watermark for all: the same blocks are late.
    jq -c 'select(._kafka) | del(._kafka)' "$W/all" | sp-window "${opts[@]}" --late "$W/late-one" >/dev/null
    [ -s "$W/late-one" ]
}

@test "Kafka input: the checkpoint keeps each partition's next offset; a resumed or replayed stream skips what was counted" {
    head -n 12001 "$SP_EXAMPLES/streampulse_load_test_50k.csv" >"$W/part.csv"
    replay "$W/part.csv" "$W/in.ndjson"
    kafka_lines "$W/in.ndjson" "$W/all" 0 1 2 3
    opts=(--max-delay 1m --idle-timeout 0 --late "$W/late")
    sp-window "${opts[@]}" <"$W/all" >"$W/whole"
    mkfifo "$W/fifo"
    sp-window "${opts[@]}" --checkpoint "$W/cp" --metrics-file "$W/m.prom" <"$W/fifo" \
        >"$W/part1" 3>&- &
    pid=$!
    exec 4>"$W/fifo"
    head -n 7001 "$W/all" >&4
    # SIGTERM once all 7001 lines are read, the input still open
    wait_for "grep -q '^sp_events_in_total{tool=\"sp-window\"} 7001\$' '$W/m.prom'"
    kill -TERM "$pid"
    wait "$pid"
    exec 4>&-
    # next_offset of each partition = the records of it among the lines read.
    want=$(head -n 7001 "$W/all" | jq -r 'select(._kafka) | ._kafka.partition' | sort | uniq -c |
        awk '{print $2 ":" $1}' | tr '\n' ' ')
    got=$(jq -r '.tasks[] | select(.topic == "events") | "\(.partition):\(.next_offset)"' "$W/cp" |
        sort | tr '\n' ' ')
    [ "$got" = "$want" ]
    cp "$W/cp" "$W/cp2"
    # The whole topic again (a replay): counted offsets are skipped.
    sp-window "${opts[@]}" --checkpoint "$W/cp" <"$W/all" >"$W/part2"
    cat "$W/part1" "$W/part2" >"$W/both"
    [ "$(final_set "$W/both")" = "$(final_set "$W/whole")" ]
    # Resumed from the saved offsets (what sp-kcat-in --resume-from sends).
    { head -n 1 "$W/all"; tail -n +7002 "$W/all"; } |
        sp-window "${opts[@]}" --checkpoint "$W/cp2" >"$W/part3"
    cat "$W/part1" "$W/part3" >"$W/both"
    [ "$(final_set "$W/both")" = "$(final_set "$W/whole")" ]
    [ ! -s "$W/late" ]
}

@test "a partition whose records start late is measured by its own watermark, not the others'" {
    {
        echo '{"_kafka_assignment":[{"topic":"t","partition":0},{"topic":"t","partition":1}]}'
        echo '{"_kafka":{"topic":"t","partition":0,"offset":0},"region_id":1,"event_time":"2025-01-01T00:00:00Z"}'
        echo '{"_kafka":{"topic":"t","partition":0,"offset":1},"region_id":1,"event_time":"2025-01-01T01:00:00Z"}'
        echo '{"_kafka":{"topic":"t","partition":1,"offset":0},"region_id":2,"event_time":"2025-01-01T00:00:05Z"}'
    } >"$W/in"
    sp-window --max-delay 0 --idle-timeout 0 --late "$W/late" <"$W/in" >"$W/out"
    [ ! -s "$W/late" ]
    [ "$(jq -s 'map(.tripCount) | add' "$W/out")" -eq 3 ]
}

@test "end of input checkpoints the open windows, then closes them; a second run emits the same again" {
    replay "$SP_EXAMPLES/streampulse_sample_trips.csv" "$W/in"
    sp-window --max-delay 1h --late /dev/null --checkpoint "$W/cp" <"$W/in" >"$W/out1"
    [ "$(jq -r .format "$W/cp")" = sp-window-checkpoint ]
    [ "$(jq .records "$W/cp")" -eq "$(count_lines "$W/in")" ]
    # The checkpoint was written before the end-of-input close: the windows
    # the close emitted are still open in it, the watermark short of them.
    open=$(jq '.windows | length' "$W/cp")
    [ "$open" -gt 0 ]
    [ "$(jq '.watermark as $w | [.windows[] | select(.start + 60000 > $w)] | length' "$W/cp")" -eq "$open" ]
    sp-window --max-delay 1h --late /dev/null --checkpoint "$W/cp" <"$W/in" >"$W/out2"
    # Every line is skipped; the windows closed at the end come out again,
    # the same bytes as the last lines of the first run.
    [ "$(count_lines "$W/out2")" -eq "$open" ]
    [ "$(cat "$W/out2")" = "$(tail -n "$open" "$W/out1")" ]
    # Other options than the checkpoint's are refused.
    run sp-window --size 2m --late /dev/null --checkpoint "$W/cp" <"$W/in"
    [ "$status" -eq 65 ]
}

@test "an upstream killed mid-stream is an end of input: the restart on the whole input completes the windows" {
    replay "$SP_EXAMPLES/streampulse_load_test_50k.csv" "$W/in"
    opts=(--max-delay 5m --idle-timeout 0 --late "$W/late")
    sp-window "${opts[@]}" --late "$W/late-whole" <"$W/in" >"$W/whole"
    : >"$W/all"
    for n in 15000 30000; do
        # The producer dies by SIGKILL after n lines: sp-window sees its end
        # of input, emits partial results marked final, and exits 0.
        (head -n "$n" "$W/in"; kill -KILL "$BASHPID") |
            sp-window "${opts[@]}" --checkpoint "$W/cp" >>"$W/all"
        [ "$(jq .records "$W/cp")" -eq "$n" ]
    done
    sp-window "${opts[@]}" --checkpoint "$W/cp" <"$W/in" >>"$W/all"
    # The partial results were overwritten by complete ones: an idempotent
    # sink keeps exactly what it keeps of an uninterrupted run.
    [ "$(last_finals "$W/all")" = "$(last_finals "$W/whole")" ]
    [ "$(grep -c . "$W/all")" -gt "$(grep -c . "$W/whole")" ]
    # And nothing became late by the restarts.
    [ "$(count_lines "$W/late")" -eq "$(count_lines "$W/late-whole")" ]
}

@test "SIGTERM finishes, writes the checkpoint and exits 0; the restart completes the run" {
    replay "$SP_EXAMPLES/streampulse_load_test_50k.csv" "$W/in"
    sp-window --max-delay 10m --idle-timeout 0 <"$W/in" >"$W/whole"
    mkfifo "$W/fifo"
    sp-window --max-delay 10m --idle-timeout 0 --checkpoint "$W/cp" --metrics-file "$W/m.prom" \
        <"$W/fifo" >"$W/part1" 3>&- &
    pid=$!
    exec 4>"$W/fifo"
    head -n 20000 "$W/in" >&4
    # SIGTERM once all 20000 lines are read, the input still open
    wait_for "grep -q '^sp_events_in_total{tool=\"sp-window\"} 20000\$' '$W/m.prom'"
    kill -TERM "$pid"
    wait "$pid"
    exec 4>&-
    [ "$(jq .records "$W/cp")" -eq 20000 ]
    sp-window --max-delay 10m --idle-timeout 0 --checkpoint "$W/cp" <"$W/in" >"$W/part2"
    cat "$W/part1" "$W/part2" >"$W/both"
    [ "$(final_set "$W/both")" = "$(final_set "$W/whole")" ]
}

# feed IN CHECKPOINT: IN on stdout, the lines the checkpoint has counted at
# once, the rest trickling at about 20000 lines/s, so a kill lands mid-stream.
feed() {
    python3 - "$1" "$2" <<'EOF'
import json, os, sys, time
lines = open(sys.argv[1], 'rb').read().splitlines(keepends=True)
done = json.load(open(sys.argv[2]))['records'] if os.path.exists(sys.argv[2]) else 0
try:
    sys.stdout.buffer.write(b''.join(lines[:done]))
    for i in range(done, len(lines), 200):
        sys.stdout.buffer.write(b''.join(lines[i:i + 200]))
        sys.stdout.buffer.flush()
        time.sleep(0.01)
except BrokenPipeError:
    os._exit(0)
EOF
}

# killed_runs IN CHECKPOINT OUT "PAUSE..." OPTION...: for each pause, run
# sp-window OPTION... on IN as fed from CHECKPOINT (see feed), appending to
# OUT, and kill -9 it after that many seconds. OUT starts empty; a line cut
# by a kill is ended so the next run starts on a new line.
killed_runs() {
    local in=$1 checkpoint=$2 out=$3 pauses=$4 pause pid
    shift 4
    : >"$out"
    for pause in $pauses; do
        feed "$in" "$checkpoint" | sp-window "$@" >>"$out" 3>&- &
        pid=$!
        sleep "$pause"
        kill -KILL "$pid"
        wait "$pid" || true
        [ -z "$(tail -c 1 "$out")" ] || echo >>"$out"
    done
}

@test "kill -9 at several points, restart on the same input: exactly the final results of an uninterrupted run" {
    replay "$SP_EXAMPLES/streampulse_load_test_50k.csv" "$W/in"
    opts=(--max-delay 5m --allowed-lateness 1m --idle-timeout 0 --checkpoint-interval 20ms --late "$W/late")
    sp-window "${opts[@]}" <"$W/in" >"$W/whole"
    killed_runs "$W/in" "$W/cp" "$W/all" "0.3 0.4 0.5 0.6" "${opts[@]}" --checkpoint "$W/cp"
    [ "$(jq .records "$W/cp")" -gt 0 ]
    sp-window "${opts[@]}" --checkpoint "$W/cp" <"$W/in" >>"$W/all"
    [ "$(final_set "$W/all")" = "$(final_set "$W/whole")" ]
}

# disorder IN: IN with every tenth line arriving up to 3000 lines late (a
# fixed seed), so that a tight --max-delay makes thousands of late events.
disorder() {
    python3 - "$1" <<'EOF'
import random, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
rng = random.Random(7)
moved = [(i + (rng.randrange(3000) if i % 10 == 0 else 0), i, l) for i, l in enumerate(lines)]
print("\n".join(l for _, _, l in sorted(moved)))
EOF
}

@test "kill -9 at several points of a disordered input: the --late and --dlq files end as after an uninterrupted run" {
    replay "$SP_EXAMPLES/streampulse_load_test_50k.csv" "$W/sorted"
    # Every 500th line is not an event: dead letters all along the input.
    disorder "$W/sorted" | awk 'NR % 500 == 0 { print "{\"broken\":" } { print }' >"$W/in"
    opts=(--max-delay 1m --allowed-lateness 30s --idle-timeout 0 --checkpoint-interval 200ms)
    sp-window "${opts[@]}" --late "$W/late-whole" --dlq "$W/dlq-whole" <"$W/in" >"$W/whole"
    [ "$(count_lines "$W/late-whole")" -gt 1000 ]
    [ "$(count_lines "$W/dlq-whole")" -eq 100 ]
    opts+=(--late "$W/late" --dlq "$W/dlq" --checkpoint "$W/cp")
    killed_runs "$W/in" "$W/cp" "$W/all" "0.4 0.6 0.8 1.0" "${opts[@]}"
    [ "$(jq .records "$W/cp")" -gt 0 ]
    sp-window "${opts[@]}" <"$W/in" >>"$W/all"
    [ "$(final_set "$W/all")" = "$(final_set "$W/whole")" ]
    # Each record once, in the same order; processed_at is the wall clock.
    [ "$(jq -c 'del(.processed_at)' "$W/late")" = "$(jq -c 'del(.processed_at)' "$W/late-whole")" ]
    [ "$(jq -c 'del(.processed_at)' "$W/dlq")" = "$(jq -c 'del(.processed_at)' "$W/dlq-whole")" ]
}

@test "a --late file shorter than the checkpoint recorded: a warning, and the run goes on" {
    { ev 1 2025-01-01T10:00:00Z; ev 1 2025-01-01T09:00:00Z; } >"$W/in"
    sp-window --max-delay 0 --late "$W/late" --checkpoint "$W/cp" <"$W/in" >/dev/null
    [ "$(count_lines "$W/late")" -eq 1 ]
    [ "$(jq .outputs.late "$W/cp")" -eq "$(stat -c %s "$W/late")" ]
    [ "$(jq .outputs.dlq "$W/cp")" = null ]
    : >"$W/late"
    run sp-window --max-delay 0 --late "$W/late" --checkpoint "$W/cp" <"$W/in"
    [ "$status" -eq 0 ]
    [[ $output == *"sp-window: $W/late: 0 bytes, shorter than"* ]]
}

@test "--metrics-file: the promised metrics in Prometheus text" {
    replay "$SP_EXAMPLES/streampulse_sample_trips.csv" "$W/in"
    sp-window --metrics-file "$W/m.prom" --late /dev/null <"$W/in" >"$W/out"
    for m in sp_events_in_total sp_events_out_total sp_late_events_total sp_dlq_total \
        sp_watermark_lag_seconds sp_checkpoint_age_seconds sp_open_windows; do
        grep -q "^$m{tool=\"sp-window\"" "$W/m.prom" || { echo "no $m"; false; }
    done
    grep -q "^sp_events_out_total{tool=\"sp-window\"} $(count_lines "$W/out")$" "$W/m.prom"
}

@test "a closed downstream pipe ends quietly" {
    replay "$SP_EXAMPLES/streampulse_load_test_50k.csv" "$W/in"
    run bash -c "sp-window --max-delay 1d <'$W/in' 2>'$W/err' | head -n 1"
    [ "$status" -eq 0 ]
    [ ! -s "$W/err" ]
}

@test "--barriers: checkpoints go to PATH.pending with a barrier line after them, one in flight at a time" {
    run sp-window --barriers
    [ "$status" -eq 64 ]
    echo stale >"$W/w.ckpt.pending"
    mkfifo "$W/in"
    sp-window --max-delay 1s --checkpoint "$W/w.ckpt" --barriers --checkpoint-interval 100ms \
        <"$W/in" >"$W/out" 2>"$W/err" &
    pid=$!
    exec 4>"$W/in"
    # the pending file a dead run left was never completed: gone at start
    wait_for "[ ! -e '$W/w.ckpt.pending' ]"
    ev 1 2026-01-01T00:00:10Z >&4
    ev 1 2026-01-01T00:01:30Z >&4
    wait_for "grep -q '\"_checkpoint\"' '$W/out'"
    # the window of 00:00 was closed by the watermark: its result comes before
    # the barrier, and the checkpoint that follows it counts both events
    first=$(grep -n '"_checkpoint"' "$W/out" | head -n 1 | cut -d: -f1)
    head -n "$first" "$W/out" | grep -q '"windowStart":"2026-01-01T00:00:00Z"'
    [ "$(jq -c 'select(._checkpoint) | ._checkpoint | keys' "$W/out" | head -n 1)" = '["written_at"]' ]
    [ "$(jq .records "$W/w.ckpt.pending")" -eq 2 ]
    [ ! -e "$W/w.ckpt" ]   # not sp-window's to complete
    # nobody completes it: no second checkpoint, although intervals pass. The
    # result of 00:01, closed by the next event, is flushed on a clock tick
    # after that tick's checkpoint decision, so once it is out a checkpoint
    # was due and held back.
    ev 1 2026-01-01T00:03:00Z >&4
    wait_for "grep -q '\"windowStart\":\"2026-01-01T00:01:00Z\"' '$W/out'"
    [ "$(grep -c '"_checkpoint"' "$W/out")" -eq 1 ]
    [ "$(jq .records "$W/w.ckpt.pending")" -eq 2 ]
    # completed (as sp-redis-sink would): the next interval writes the next one
    mv "$W/w.ckpt.pending" "$W/w.ckpt"
    wait_for "[ -e '$W/w.ckpt.pending' ]"
    [ "$(jq .records "$W/w.ckpt.pending")" -eq 3 ]
    [ "$(grep -c '"_checkpoint"' "$W/out")" -eq 2 ]
    exec 4>&-
    wait "$pid"
}

@test "--barriers with sp-redis-sink --checkpoint: the run's checkpoints completed, the last one counting every line" {
    load helpers/redis
    redis_start
    replay "$SP_EXAMPLES/streampulse_sample_trips.csv" "$W/events"
    sp-window --max-delay "$FAR" --checkpoint "$W/w.ckpt" --barriers --checkpoint-interval 10ms \
        "$W/events" 2>"$W/err" |
        sp-redis-sink --url "$REDIS_URL" --checkpoint "$W/w.ckpt" --metrics-file "$W/m.prom"
    redis_stop
    [ ! -e "$W/w.ckpt.pending" ]
    [ "$(jq .records "$W/w.ckpt")" -eq "$(count_lines "$W/events")" ]
    completed=$(sed -n 's/^sp_checkpoints_completed_total{tool="sp-redis-sink"} //p' "$W/m.prom")
    [ "$completed" -ge 1 ]
}

@test "Kafka input: a late event's DLQ record names its topic, partition and offset, nothing more" {
    {
        echo '{"_kafka":{"topic":"events","partition":0,"offset":0},"trip_id":"a","region_id":1,"event_time":"2025-08-31T08:10:00Z","fare":1,"duration":60,"distance":1}'
        echo '{"_kafka":{"topic":"ev\u0065nts","partition":0,"offset":1},"trip_id":"b","region_id":1,"event_time":"2025-08-31T08:00:00Z","fare":1,"duration":60,"distance":1}'
        echo '{"_kafka":{"topic":"events","partition":0,"offset":2},"trip_id":"c","region_id":1,"event_time":"2025-08-31T07:00:00Z","fare":1,"duration":60,"distance":1}'
    } >"$W/in"
    sp-window -q --max-delay 1m --late "$W/late" <"$W/in" >/dev/null
    [ "$(jq -c .source "$W/late")" = "$(printf '%s\n' '{"topic":"events","partition":0,"offset":1}' '{"topic":"events","partition":0,"offset":2}')" ]
}

@test "loud loss: unsorted NYC trips end with how many were late and the fix; sorted ones are quiet" {
    replay "$SP_EXAMPLES/yellow_tripdata_sample_2019-01.csv" "$W/nyc.ndjson"
    # The oracle: a single-task watermark, highest event time so far minus
    # the default --max-delay 5m, against each one-minute window's end.
    late=$(python3 - "$W/nyc.ndjson" <<'PY'
import calendar, json, sys, time
highest, late = None, 0
for line in open(sys.argv[1]):
    t = calendar.timegm(time.strptime(json.loads(line)["event_time"], "%Y-%m-%dT%H:%M:%SZ"))
    if highest is not None and t // 60 * 60 + 60 <= highest - 300:
        late += 1
    highest = t if highest is None else max(highest, t)
print(late)
PY
    )
    total=$(count_lines "$W/nyc.ndjson")
    run --separate-stderr sp-window --late "$W/late.ndjson" "$W/nyc.ndjson"
    [ "$status" -eq 0 ]
    [ "$(count_lines "$W/late.ndjson")" -eq "$late" ]
    [ "$stderr" = "sp-window: $late of $total events were late: is the input in event-time order? sp-replay --sort, or a larger --max-delay" ]
    run --separate-stderr sp-window -q --late "$W/late2.ndjson" "$W/nyc.ndjson"
    [ -z "$stderr" ]
    replay "$SP_EXAMPLES/yellow_tripdata_sample_2019-01.csv" "$W/sorted.ndjson" --sort
    run --separate-stderr sp-window --late "$W/late3.ndjson" "$W/sorted.ndjson"
    [ -z "$stderr" ]
}
