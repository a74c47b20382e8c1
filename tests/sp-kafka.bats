#!/usr/bin/env bats
# sp-kafka-mock, sp-kcat-out and sp-kcat-in against a real (mock) cluster,
# with kcat as the independent client and jq/python3 as the oracles.

load helpers/common
load helpers/kafka
bats_require_minimum_version 1.5.0

setup() {
    T=$BATS_TEST_TMPDIR
    kafka_mock_start -t events:4 -t one:1
    # 300 trip events as NDJSON, made by python from the sample CSV (not by
    # any StreamPulse program).
    python3 - "$SP_EXAMPLES/streampulse_sample_trips.csv" >"$T/trips.ndjson" <<'EOF'
import csv, json, sys
for row in csv.DictReader(open(sys.argv[1])):
    print(json.dumps({"trip_id": row["trip_id"], "region_id": int(row["region_id"]),
                      "event_time": row["event_time"], "fare": float(row["fare"])},
                     separators=(",", ":")))
EOF
}

# The mock holds a group's rebalance for the session timeout less a second
# when a member rejoins: keep it short so a restarted member waits seconds.
GROUP_OPTS=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=1000)

teardown() {
    kafka_mock_stop
}

# kcat_all TOPIC FORMAT: every message of TOPIC, one per line, in kcat's -f format.
kcat_all() {
    kcat -C -b "$KAFKA_BROKERS" -t "$1" -e -q -f "$2"
}

@test "help, version and the man pages list every option" {
    for prog in sp-kafka-mock sp-kcat-out sp-kcat-in; do
        run "$SP_BIN/$prog" --version
        [ "$status" -eq 0 ]
        [[ "$output" == "$prog "[0-9]* ]]
        run "$SP_BIN/$prog" --help
        [ "$status" -eq 0 ]
        for opt in $(grep -o -- '--[a-z][a-z-]*' <<<"$output" | sort -u); do
            grep -q -- "Fl ${opt#-}" "$PROJECT_DIR/man/$prog.1" || {
                echo "$prog: $opt not in the man page"
                return 1
            }
        done
        run "$SP_BIN/$prog" --no-such-option
        [ "$status" -eq 64 ]
    done
}

@test "sp-kafka-mock creates the topics it is given, kcat sees them" {
    run kcat -L -J -b "$KAFKA_BROKERS"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.topics[] | select(.topic=="events") | .partitions | length' <<<"$output")" = 4 ]
    [ "$(jq -r '.topics[] | select(.topic=="one") | .partitions | length' <<<"$output")" = 1 ]
    run "$SP_BIN/sp-kafka-mock" -t bad:0
    [ "$status" -eq 64 ]
    run "$SP_BIN/sp-kafka-mock" --broker-count 0
    [ "$status" -eq 64 ]
    # -b is a broker list wherever it is taken; the mock has none to take
    # (timeout: a mock that took it would serve until stopped)
    run --separate-stderr timeout 10 "$SP_BIN/sp-kafka-mock" -b 3
    [ "$status" -eq 64 ]
    [ "${stderr_lines[0]}" = "sp-kafka-mock: unknown option -b" ]
}

@test "sp-kcat-out: kcat reads back every line with its region as key" {
    run "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --key region_id \
        --metrics-file "$T/out.prom" "$T/trips.ndjson"
    [ "$status" -eq 0 ]
    kcat_all events '%k\t%s\n' | sort >"$T/got"
    paste <(jq -r .region_id "$T/trips.ndjson") "$T/trips.ndjson" | sort >"$T/want"
    diff "$T/want" "$T/got"
    grep -q '^sp_events_out_total{tool="sp-kcat-out"} 300$' "$T/out.prom"
    grep -q '^sp_kafka_delivery_errors_total{tool="sp-kcat-out"} 0$' "$T/out.prom"
}

@test "sp-kcat-out: one region always lands on one partition" {
    "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --key region_id "$T/trips.ndjson"
    "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --key region_id <"$T/trips.ndjson"
    kcat_all events '%k %p\n' | sort -u >"$T/pairs"
    [ "$(wc -l <"$T/pairs")" -eq "$(jq -r .region_id "$T/trips.ndjson" | sort -u | wc -l)" ]
    # and more than one partition is used at all
    [ "$(cut -d' ' -f2 "$T/pairs" | sort -u | wc -l)" -gt 1 ]
}

@test "sp-kcat-out: -p forces the partition; a line without the key field has no key" {
    printf '%s\n' '{"region_id":5}' '{"other":1}' | \
        "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events -p 2 --key region_id
    run kcat_all events '%p|%k|%s\n'
    [ "${lines[0]}" = '2|5|{"region_id":5}' ]
    [ "${lines[1]}" = '2||{"other":1}' ]
}

@test "sp-kcat-out: a line that gives the key member twice is keyed by the first; sp-validate refuses it" {
    local twice='{"trip_id":"d9","region_id":9,"event_time":"2025-08-31T08:00:02Z","fare":1,"duration":600,"distance":1.5,"region_id":59}'
    printf '%s\n' "$twice" | "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t one --key region_id
    run kcat_all one '%k|%s\n'
    [ "${lines[0]}" = "9|$twice" ]
    # wherever it lands, nothing counts it
    "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t one -e | "$SP_BIN/sp-validate" --dlq "$T/dlq" >"$T/valid"
    [ ! -s "$T/valid" ] || [ "$(grep -c trip_id "$T/valid")" -eq 0 ]
    [ "$(jq -r .error_reason "$T/dlq")" = "region_id: given 2 times" ]
}

@test "sp-kcat-out: an undeliverable message is reported and exits 69" {
    run "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events -p 9 <"$T/trips.ndjson"
    [ "$status" -eq 69 ]
    [[ "$output" == *"line 1: not delivered to events"* ]]
    [[ "$output" == *"300 of 300 messages not delivered"* ]]
}

@test "sp-kcat-out: a cluster that is gone: retries, then every message reported, exit 69" {
    kafka_mock_stop
    run "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events -X message.timeout.ms=1500 \
        --metrics-file "$T/out.prom" "$T/trips.ndjson"
    [ "$status" -eq 69 ]
    [[ "$output" == *"retrying"* ]]
    [[ "$output" == *"Message timed out"* ]]
    [[ "$output" == *"300 of 300 messages not delivered to events"* ]]
    grep -q '^sp_kafka_delivery_errors_total{tool="sp-kcat-out"} 300$' "$T/out.prom"
}

@test "sp-kcat-out: brokers down for a while, back before the timeout: nothing lost" {
    kafka_mock_down
    "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --key region_id \
        "$T/trips.ndjson" 2>"$T/err" &
    producer=$!
    # up again only once the producer has found them down
    wait_for "grep -q retrying '$T/err'"
    kafka_mock_up
    wait "$producer"
    [ "$(kcat_all events '%s\n' | sort | uniq | wc -l)" -eq 300 ]
}

@test "sp-kcat-out: SIGTERM sends what it read, then exits 0" {
    mkfifo "$T/in"
    "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t one <"$T/in" 2>"$T/err" 3>&- &
    producer=$!
    exec 4>"$T/in"
    head -n 10 "$T/trips.ndjson" >&4
    wait_for "[ \$(kcat_all one '%s\n' | wc -l) -eq 10 ]"
    kill -TERM "$producer"
    status=0
    wait "$producer" || status=$?
    exec 4>&-
    [ "$status" -eq 0 ]
    kcat_all one '%s\n' | diff <(head -n 10 "$T/trips.ndjson") -
}

@test "sp-kcat-out: SIGTERM with the brokers unreachable stops within the grace; what did not go is on stdout, and said" {
    kafka_mock_stop
    "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --metrics-file "$T/out.prom" \
        "$T/trips.ndjson" >"$T/undelivered" 2>"$T/err" 3>&- &
    producer=$!
    for _ in $(seq 100); do
        grep -qx 'sp_events_in_total{tool="sp-kcat-out"} 300' "$T/out.prom" 2>/dev/null && break
        sleep 0.1
    done
    kill -TERM "$producer"
    status=0
    wait "$producer" || status=$?
    cat "$T/err"
    [ "$status" -eq 69 ]
    # purged at the stop, not timed out a minute later (message.timeout.ms)
    grep -q 'not delivered to events: Local: Purged' "$T/err"
    [ "$(tail -n 1 "$T/err")" = "sp-kcat-out: 300 of 300 messages not delivered to events (stopped before the brokers answered); they are on standard output, as read" ]
    # every line that did not go, byte for byte, ready to be sent again
    diff <(sort "$T/trips.ndjson") <(sort "$T/undelivered")
    grep -qx 'sp_kafka_delivery_errors_total{tool="sp-kcat-out"} 300' "$T/out.prom"
}

@test "sp-kcat-out: a line over 1 MiB becomes a LINE_TOO_LONG record, the rest is sent" {
    { echo '{"a":1}'
      python3 -c 'print("{\"big\":\"" + "x" * (1 << 20) + "\"}")'
      echo '{"b":2}'; } >"$T/in"
    run --separate-stderr "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t one "$T/in"
    [ "$status" -eq 0 ]
    [ "$(jq -r .error_type <<<"$stderr")" = LINE_TOO_LONG ]
    [ "$(jq -r .source.line <<<"$stderr")" = 2 ]
    run kcat_all one '%s\n'
    [ "${lines[0]}" = '{"a":1}' ]
    [ "${lines[1]}" = '{"b":2}' ]
    [ "${#lines[@]}" -eq 2 ]
}

@test "sp-kcat-out: missing input file exits 66, -t is required" {
    run "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events "$T/nope"
    [ "$status" -eq 66 ]
    run "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" "$T/trips.ndjson"
    [ "$status" -eq 64 ]
}

@test "sp-kcat-in and sp-kcat-out: -b is required, like -t: exit 64 at once" {
    # Without it, sp-kcat-out waited for message.timeout.ms (60 s) and
    # sp-kcat-in retried three times, then both exited 69.
    run --separate-stderr timeout 10 "$SP_BIN/sp-kcat-out" -t events "$T/trips.ndjson"
    [ "$status" -eq 64 ]
    [ "${stderr_lines[0]}" = "sp-kcat-out: -b BROKERS is required" ]
    run --separate-stderr timeout 10 "$SP_BIN/sp-kcat-in" -t events -e
    [ "$status" -eq 64 ]
    [ "${stderr_lines[0]}" = "sp-kcat-in: -b BROKERS is required" ]
    # -X bootstrap.servers names them too, as in kcat
    run timeout 30 "$SP_BIN/sp-kcat-in" -X "bootstrap.servers=$KAFKA_BROKERS" -t one -e
    [ "$status" -eq 0 ]
}

@test "sp-kcat-in: kcat -P then sp-kcat-in: same values, _kafka first, right coordinates" {
    for p in 0 1 2 3; do
        sed -n "$((p * 75 + 1)),$((p * 75 + 75))p" "$T/trips.ndjson" |
            kcat -P -b "$KAFKA_BROKERS" -t events -p "$p"
    done
    run "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t events -e
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = '{"_kafka_assignment":[{"topic":"events","partition":0},{"topic":"events","partition":1},{"topic":"events","partition":2},{"topic":"events","partition":3}]}' ]
    printf '%s\n' "${lines[@]:1}" | sort >"$T/got"
    # The oracle: kcat's view of partition, offset and value, put together
    # as SPEC section 5 says: the _kafka member, then the object's own bytes.
    kcat_all events '%p %o %s\n' |
        awk '{ p = $1; o = $2; sub(/^[0-9]+ [0-9]+ \{/, "");
               printf "{\"_kafka\":{\"topic\":\"events\",\"partition\":%d,\"offset\":%d},%s\n", p, o, $0 }' |
        sort >"$T/want"
    [ "$(wc -l <"$T/want")" -eq 300 ]
    diff "$T/want" "$T/got"
}

@test "sp-kcat-in: non-JSON, multi-line and binary messages become _raw / _raw_base64" {
    printf '%s|%s|%s|%s' 'not json' '[1,2]' '{"a":
1}' '{"ok":true}' | kcat -P -b "$KAFKA_BROKERS" -t one -D '|'
    printf '\xff\xfe' | kcat -P -b "$KAFKA_BROKERS" -t one
    run "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t one -e
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 6 ]
    [ "$(jq -r '._raw' <<<"${lines[1]}")" = 'not json' ]
    [ "$(jq -r '._raw' <<<"${lines[2]}")" = '[1,2]' ]
    [ "$(jq -r '._raw' <<<"${lines[3]}")" = $'{"a":\n1}' ]
    [ "$(jq -c 'del(._kafka)' <<<"${lines[4]}")" = '{"ok":true}' ]
    [ "$(jq -r '._raw_base64' <<<"${lines[5]}" | base64 -d | od -An -tx1 | tr -d ' ')" = fffe ]
    [ "$(jq -r '._kafka.offset' <<<"${lines[5]}")" = 4 ]
}

@test "sp-kcat-in: an object nested as deep as the other programs read is an object, not _raw" {
    local deep
    deep=$(python3 -c 'print("{\"a\":" * 1500 + "1" + "}" * 1500)')
    kcat -P -b "$KAFKA_BROKERS" -t one <<<"$deep"
    run "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t one -e
    [ "$status" -eq 0 ]
    [ "${lines[1]}" = '{"_kafka":{"topic":"one","partition":0,"offset":0},'"${deep#\{}" ]
}

@test "sp-kcat-in: -p assigns only those partitions, -o picks the start" {
    "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --key region_id "$T/trips.ndjson"
    run "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t events -p 1,3 -e
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = '{"_kafka_assignment":[{"topic":"events","partition":1},{"topic":"events","partition":3}]}' ]
    [ "$(printf '%s\n' "${lines[@]:1}" | jq -r ._kafka.partition | sort -u | tr '\n' ' ')" = "1 3 " ]
    [ "$((${#lines[@]} - 1))" -eq "$(kcat_all events '%p\n' | grep -c '^[13]$')" ]
    run "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t events -p 0 -o 5 -e
    [ "$(printf '%s\n' "${lines[@]:1}" | jq -r ._kafka.offset | head -n 1)" = 5 ]
    run "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t events -p 0 -o -2 -e
    [ "${#lines[@]}" -eq 3 ]
    run "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t events -p 0 -o stored
    [ "$status" -eq 64 ]
}

@test "sp-kcat-in -G: a restarted member continues where the group left off" {
    head -n 100 "$T/trips.ndjson" | "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --key region_id
    "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t events -G g1 "${GROUP_OPTS[@]}" -e >"$T/first"
    tail -n 200 "$T/trips.ndjson" | "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --key region_id
    "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t events -G g1 "${GROUP_OPTS[@]}" -e >"$T/second"
    [ "$(grep -c trip_id "$T/first")" -eq 100 ]
    [ "$(grep -c trip_id "$T/second")" -eq 200 ]
    # together exactly every message once, by (partition, offset)
    cat "$T/first" "$T/second" | jq -r 'select(._kafka) | "\(._kafka.partition) \(._kafka.offset)"' | sort >"$T/got"
    kcat_all events '%p %o\n' | sort >"$T/want"
    diff "$T/want" "$T/got"
}

# Read exactly N lines from stdin, not a byte more (bash's read takes a pipe
# byte by byte; head would read a whole buffer and drop what it did not print).
read_lines() {
    local line
    for _ in $(seq "$1"); do IFS= read -r line || break; printf '%s\n' "$line"; done
}

@test "sp-kcat-in -G: a reader that goes away early loses nothing it did not get" {
    # Only what the reader took is committed; records left in the pipe when
    # it went away are read again by the next member.
    head -n 10 "$T/trips.ndjson" >"$T/few"
    for _ in $(seq 10); do cat "$T/trips.ndjson"; done >"$T/many"
    "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --key region_id "$T/few"
    # The reader takes the assignment line and 5 of the 10 records (they are
    # all in the pipe by then), then goes away.
    ("$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t events -G g2 "${GROUP_OPTS[@]}" |
        read_lines 6 >"$T/first") &
    member=$!
    wait_for "[ \$(wc -l <'$T/first') -ge 6 ]"
    # More records: writing them, the member sees its reader gone and leaves.
    "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --key region_id "$T/many"
    wait "$member"
    [ "$(grep -c trip_id "$T/first")" -eq 5 ]
    "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t events -G g2 "${GROUP_OPTS[@]}" -e >"$T/second"
    cat "$T/first" "$T/second" | jq -r 'select(._kafka) | "\(._kafka.partition) \(._kafka.offset)"' | sort -u >"$T/got"
    kcat_all events '%p %o\n' | sort >"$T/want"
    diff "$T/want" "$T/got"
}

@test "sp-kcat-in --resume-from starts each partition at the checkpoint's offset" {
    "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --key region_id "$T/trips.ndjson"
    cat >"$T/ck.json" <<'EOF'
{"format":"sp-window-checkpoint","version":2,"config":"x","records":0,
 "tasks":[{"topic":"events","partition":0,"next_offset":10},
          {"topic":"events","partition":2,"next_offset":3},
          {"topic":"other","partition":1,"next_offset":50}],
 "windows":[]}
EOF
    run "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t events -p 0-2 -e --resume-from "$T/ck.json"
    [ "$status" -eq 0 ]
    printf '%s\n' "${lines[@]:1}" | jq -r '"\(._kafka.partition) \(._kafka.offset)"' | sort >"$T/got"
    kcat_all events '%p %o\n' | awk '($1 == 0 && $2 >= 10) || $1 == 1 || ($1 == 2 && $2 >= 3)' | sort >"$T/want"
    diff "$T/want" "$T/got"
    run "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t events -e --resume-from "$T/absent.json"
    [ "$status" -eq 0 ]
    [[ "$output" == *"no checkpoint at $T/absent.json yet"* ]]
    [ "$(grep -c trip_id <<<"$output")" -eq 300 ]
    echo '{"format":"something else"}' >"$T/bad.json"
    run "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t events -e --resume-from "$T/bad.json"
    [ "$status" -eq 66 ]
}

@test "sp-kcat-in: flushes while idle, SIGTERM ends it cleanly, lag in the metrics" {
    "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t one -G g3 "${GROUP_OPTS[@]}" --metrics-file "$T/in.prom" >"$T/out" 2>"$T/err" 3>&- &
    consumer=$!
    echo '{"first":1}' | kcat -P -b "$KAFKA_BROKERS" -t one
    # written although the consumer keeps running
    wait_for "grep -q '\"first\":1' '$T/out'"
    kill -TERM "$consumer"
    wait "$consumer"
    grep -q '^sp_events_out_total{tool="sp-kcat-in"} 1$' "$T/in.prom"
    grep -q '^sp_kafka_consumer_lag{tool="sp-kcat-in",topic="one",partition="0"} 0$' "$T/in.prom"
    # the group's committed offset is past the message: a restart reads nothing old
    echo '{"second":2}' | kcat -P -b "$KAFKA_BROKERS" -t one
    run "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t one -G g3 "${GROUP_OPTS[@]}" -e
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[1]}" == *'"second":2}' ]]
}

@test "sp-kcat-in: a partition that does not exist exits 69" {
    run "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t one -p 0,5 -e
    [ "$status" -eq 69 ]
    [[ "$output" == *"topic one has no partition 5"* ]]
}

@test "sp-kcat-in: SIGTERM with the brokers gone still ends, within the close deadline" {
    "$SP_BIN/sp-kcat-in" -b "$KAFKA_BROKERS" -t one -G g4 "${GROUP_OPTS[@]}" >"$T/out" 2>"$T/err" 3>&- &
    consumer=$!
    wait_for "grep -q _kafka_assignment '$T/out'"
    kafka_mock_stop
    kill -TERM "$consumer"
    status=0
    wait "$consumer" || status=$?
    [ "$status" -eq 0 ] || [ "$status" -eq 69 ]
    grep -q _kafka_assignment "$T/out"
}

@test "sp-kcat-out --follow --offset-file: ships a growing file; killed while the brokers are down, resends what was unacknowledged" {
    printf '{"n":%d}\n' 1 2 3 >"$T/journal"
    # the saved offset covers the whole journal
    local acked_to_end="[ \"\$(cat '$T/off' 2>/dev/null)\" = \"\$(stat -c %s '$T/journal')\" ]"
    "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --follow --offset-file "$T/off" "$T/journal" \
        --metrics-file "$T/out.prom" 2>"$T/err" 3>&- &
    producer=$!
    wait_for "$acked_to_end"
    # lines appended later go out too; a line without its newline waits. One
    # write: the read that took line 4 saw the start of line 5 after it.
    printf '{"n":4}\n{"n":' >>"$T/journal"
    wait_for "[ \"\$(cat '$T/off')\" = $(($(stat -c %s "$T/journal") - 5)) ]"
    [ "$(kcat_all events '%s\n' | wc -l)" -eq 4 ]
    printf '5}\n' >>"$T/journal"
    wait_for "$acked_to_end"
    # brokers down: what is appended now stays unacknowledged, the offset
    # does not move past it, and a kill -9 loses nothing
    acked=$(cat "$T/off")
    kafka_mock_down
    printf '{"n":%d}\n' 6 7 8 >>"$T/journal"
    # read (8 lines in all), yet not acknowledged
    wait_for "grep -q '^sp_events_in_total{tool=\"sp-kcat-out\"} 8\$' '$T/out.prom'"
    [ "$(cat "$T/off")" -eq "$acked" ]
    kill -9 "$producer"
    wait "$producer" || true
    kafka_mock_up
    "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --follow --offset-file "$T/off" "$T/journal" \
        2>>"$T/err" 3>&- &
    producer=$!
    wait_for "$acked_to_end"
    kill -TERM "$producer"
    wait "$producer"
    [ "$(cat "$T/off")" -eq "$(stat -c %s "$T/journal")" ]
    # every line on the topic, each at least once, as kcat reads it
    kcat_all events '%s\n' | sort -u >"$T/got"
    sort -u "$T/journal" | diff - "$T/got"
    # a restart at the end sends nothing more; an offset past the end is refused
    before=$(kcat_all events '%s\n' | wc -l)
    run timeout 5 "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --offset-file "$T/off" "$T/journal"
    [ "$status" -eq 0 ]
    [ "$(kcat_all events '%s\n' | wc -l)" -eq "$before" ]
    echo 999999 >"$T/off"
    run "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --offset-file "$T/off" "$T/journal"
    [ "$status" -eq 65 ]
    run "$SP_BIN/sp-kcat-out" -b "$KAFKA_BROKERS" -t events --follow
    [ "$status" -eq 64 ]
}
