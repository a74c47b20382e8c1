#!/usr/bin/env bats
# sp-validate as a user runs it. Every test checks that each input line gave
# exactly one output line (stdout + DLQ). The verdicts are compared with an
# independent reference: a small python3 reading of the same schema file
# (oracle.py below), written apart from the C code.

load helpers/common
bats_require_minimum_version 1.5.0

setup_file() {
    cat >"$BATS_FILE_TMPDIR/oracle.py" <<'EOF'
# oracle.py SCHEMA INPUT VALID_OUT: print one verdict per input line
# ("VALID", or "ERROR_TYPE FIELD" with "-" for no field) and write the lines
# that pass to VALID_OUT. Lines split on "\n" only, as sp-validate does.
import datetime, json, re, sys

schema = json.load(open(sys.argv[1]))
props = schema.get("properties", {})
required = schema.get("required", [])
order = list(props) + [r for r in required if r not in props]
# Unicode White_Space.
SPACE = {chr(c) for c in [9, 10, 11, 12, 13, 32, 0x85, 0xA0, 0x1680, 0x2028, 0x2029,
                          0x202F, 0x205F, 0x3000] + list(range(0x2000, 0x200B))}
TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)(?:[Tt](\d\d):(\d\d):(\d\d)(?:\.\d+)?"
                  r"(?:[Zz]|[+-](\d\d):(\d\d))| (\d\d):(\d\d):(\d\d)(?:\.\d+)?)\Z")

def is_event_time(s):
    m = TIME.match(s)
    if not m:
        return False
    g = m.groups()
    try:
        datetime.date(int(g[0]), int(g[1]), int(g[2]))
    except ValueError:
        return False
    h, mi, sec = (g[3], g[4], g[5]) if g[3] else (g[8], g[9], g[10])
    if int(h) > 23 or int(mi) > 59 or int(sec) > 60:
        return False
    return g[6] is None or (int(g[6]) <= 23 and int(g[7]) <= 59)

def kind(v):
    if isinstance(v, bool): return "boolean"
    if isinstance(v, int): return "integer"
    if isinstance(v, float): return "number"
    if isinstance(v, str): return "string"
    if v is None: return "null"
    return "object" if isinstance(v, dict) else "array"

class Pairs(dict):
    pass

def pairs(items):
    d = Pairs(items)
    d.names = [k for k, _ in items]
    return d

def reject(name):
    raise ValueError(name)

def verdict(raw):
    if len(raw) > 1048576:
        return "LINE_TOO_LONG -"
    try:
        obj = json.loads(raw.decode("utf-8"), object_pairs_hook=pairs, parse_constant=reject)
    except ValueError:
        return "JSON_PARSE_ERROR -"
    if not isinstance(obj, dict):
        return "JSON_PARSE_ERROR -"
    if obj.names[:1] == ["_kafka_assignment"]:
        return "VALID"
    for name in order:
        rule = props.get(name, {})
        if name not in obj:
            if name in required:
                return "SCHEMA_VIOLATION " + name
            continue
        if obj.names.count(name) > 1:
            return "SCHEMA_VIOLATION " + name
        v, k, t = obj[name], kind(obj[name]), rule.get("type")
        bad = t is not None and not (k == t or (t == "number" and k == "integer"))
        if k in ("integer", "number"):
            bad = bad or ("minimum" in rule and v < rule["minimum"])
            bad = bad or ("maximum" in rule and v > rule["maximum"])
            bad = bad or ("exclusiveMinimum" in rule and v <= rule["exclusiveMinimum"])
            bad = bad or ("exclusiveMaximum" in rule and v >= rule["exclusiveMaximum"])
        if k == "string":
            bad = bad or len(v) < rule.get("minLength", 0)
            bad = bad or ("maxLength" in rule and len(v) > rule["maxLength"])
            bad = bad or (rule.get("notBlank") and all(c in SPACE for c in v))
            bad = bad or (rule.get("format") == "event-time" and not is_event_time(v))
        if bad:
            return "SCHEMA_VIOLATION " + name
    return "VALID"

data = open(sys.argv[2], "rb").read()
lines = data.split(b"\n")
if data.endswith(b"\n"):
    lines.pop()
with open(sys.argv[3], "wb") as valid:
    for raw in lines:
        v = verdict(raw)
        print(v)
        if v == "VALID":
            valid.write(raw + b"\n")
EOF
}

setup() {
    cd "$BATS_TEST_TMPDIR"
}

# The verdict sp-validate gave each line of INPUT (N lines), in the oracle's
# form, from the DLQ file: lines without a record passed.
verdicts_from_dlq() {
    local dlq=$1 n=$2
    jq -r '"\(.source.line) \(.error_type) \(.field // "-")"' "$dlq" |
        awk -v n="$n" '{ v[$1] = $2 " " $3 } END { for (i = 1; i <= n; i++) print (i in v ? v[i] : "VALID") }'
}

# Run sp-validate and the oracle on INPUT with SCHEMA (default: the shipped
# v1 schema); compare the verdicts, stdout with the lines the oracle passed,
# and the count of outputs with the count of inputs.
check_against_oracle() {
    local input=$1 schema=${2:-}
    local n
    n=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d.count(b"\n") + (0 if d.endswith(b"\n") or not d else 1))' "$input")
    if [ -n "$schema" ]; then
        sp-validate --schema "$schema" --dlq dlq.ndjson <"$input" >out.ndjson
    else
        sp-validate --dlq dlq.ndjson <"$input" >out.ndjson
        schema=$PROJECT_DIR/schemas/streampulse_v1.json
    fi
    python3 "$BATS_FILE_TMPDIR/oracle.py" "$schema" "$input" oracle_valid.ndjson >oracle.txt
    verdicts_from_dlq dlq.ndjson "$n" >ours.txt
    diff oracle.txt ours.txt
    cmp oracle_valid.ndjson out.ndjson
    [ $(($(count_lines out.ndjson) + $(count_lines dlq.ndjson))) -eq "$n" ]
}

# A valid v1 event with member NAME set to the JSON text VALUE (or removed
# when VALUE is "-").
event_with() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
name, value = sys.argv[1], sys.argv[2]
members = [("trip_id", '"trip_000001"'), ("region_id", "5"), ("event_time", '"2025-08-31T08:00:02Z"'),
           ("fare", "73.79"), ("duration", "2113"), ("distance", "23.0")]
print("{" + ",".join('"%s":%s' % (k, value if k == name else v)
                     for k, v in members if not (k == name and value == "-")) + "}")
EOF
}

@test "valid events pass byte for byte, whatever their spacing and extra members" {
    python3 - "$SP_EXAMPLES/streampulse_load_test_50k.csv" >events.ndjson <<'EOF'
import csv, json, sys
for i, r in enumerate(csv.DictReader(open(sys.argv[1]))):
    e = {"trip_id": r["trip_id"], "region_id": int(r["region_id"]), "event_time": r["event_time"],
         "fare": float(r["fare"]), "duration": int(r["duration"]), "distance": float(r["distance"])}
    if i % 3 == 0: e["note"] = {"via": ["é", None, True]}
    if i % 3 == 1: print(json.dumps(e, ensure_ascii=True, indent=None, separators=(" , ", " : ")))
    else: print(json.dumps(e, ensure_ascii=False, separators=(",", ":")))
EOF
    sp-validate --dlq dlq.ndjson <events.ndjson >out.ndjson
    cmp events.ndjson out.ndjson
    [ ! -s dlq.ndjson ]
    [ "$(count_lines out.ndjson)" -eq 50000 ]
}

@test "truncated JSON is a JSON_PARSE_ERROR carrying the line as it came" {
    printf '%s\n' '{"trip_id":"t1","region_id":5,"event_ti' '{"trip_id":"t1"' '{' >in.ndjson
    sp-validate --dlq dlq.ndjson <in.ndjson >out.ndjson
    [ ! -s out.ndjson ]
    [ "$(jq -r .error_type dlq.ndjson | sort -u)" = JSON_PARSE_ERROR ]
    diff <(jq -r .original dlq.ndjson) in.ndjson
    [ "$(count_lines dlq.ndjson)" -eq 3 ]
}

@test "JSON that is not an object is a JSON_PARSE_ERROR saying what it is" {
    printf '%s\n' '[1,2,3]' '42' '"a string"' 'null' 'true' >in.ndjson
    sp-validate --dlq dlq.ndjson <in.ndjson >out.ndjson
    [ ! -s out.ndjson ]
    run jq -r '"\(.source.line) \(.error_type) \(.error_reason)"' dlq.ndjson
    [ "${lines[0]}" = "1 JSON_PARSE_ERROR not a JSON object: an array" ]
    [ "${lines[1]}" = "2 JSON_PARSE_ERROR not a JSON object: an integer" ]
    [ "${lines[4]}" = "5 JSON_PARSE_ERROR not a JSON object: a boolean" ]
    [ "${#lines[@]}" -eq 5 ]
}

@test "an empty or blank line is a JSON_PARSE_ERROR: one input line, one output line" {
    { event_with - x; echo; printf ' \t\n'; event_with - x; } >in.ndjson
    sp-validate --dlq dlq.ndjson <in.ndjson >out.ndjson
    [ "$(count_lines out.ndjson)" -eq 2 ]
    run jq -r '"\(.source.line) \(.error_type) \(.error_reason)"' dlq.ndjson
    [ "${lines[0]}" = "2 JSON_PARSE_ERROR empty line" ]
    [ "${lines[1]}" = "3 JSON_PARSE_ERROR blank line" ]
    [ "${#lines[@]}" -eq 2 ]
}

@test "wrong types are SCHEMA_VIOLATIONs naming the field, as the oracle says" {
    {
        for v in '"5"' 2.5 2.0 1e2 null true '[5]' '{"id":5}'; do event_with region_id "$v"; done
        for v in '"abc"' '"73.79"' null false '[]'; do event_with fare "$v"; done
        for v in 2113.0 '"2113"' 2.113e3; do event_with duration "$v"; done
        for v in 5 null '["t"]'; do event_with trip_id "$v"; done
        for v in 1756627202 null; do event_with event_time "$v"; done
        event_with distance '"23"'
    } >in.ndjson
    check_against_oracle in.ndjson
    [ ! -s out.ndjson ]
    run jq -r .error_reason dlq.ndjson
    [ "${lines[0]}" = 'region_id: "5" is not an integer' ]
    [ "${lines[1]}" = 'region_id: 2.5 is not an integer' ]
    [ "${lines[8]}" = 'fare: "abc" is not a number' ]
}

@test "every bound of the default schema, on both sides, agrees with the oracle" {
    {
        for v in -1 0 1 2 99 100 101 999 -9223372036854775808 9223372036854775807; do event_with region_id "$v"; done
        for v in -0.01 -0.0 0 0.0 0.01 999.99 1000 1000.0 1000.01 1e3 1.0e3 1001 5e-324; do event_with fare "$v"; done
        for v in 0 59 60 61 7199 7200 7201 -60; do event_with duration "$v"; done
        for v in 0 0.09 0.09999999999999999 0.1 0.10000000000000001 0.11 199.99 200 200.0 200.00000000000003 201; do event_with distance "$v"; done
        for v in '""' '"a"' '" "' '"\t\u00a0\u3000"' '" a "' '"\u00e9"' \
            "\"$(printf 'x%.0s' {1..50})\"" "\"$(printf 'x%.0s' {1..51})\"" \
            "\"$(printf 'é%.0s' {1..50})\"" "\"$(printf 'é%.0s' {1..51})\""; do event_with trip_id "$v"; done
        for v in '"2025-08-31T08:00:02Z"' '"2025-08-31t08:00:02z"' '"2025-08-31T08:00:02.123456789+05:30"' \
            '"2025-08-31 08:00:02"' '"2024-02-29T00:00:00Z"' '"2025-02-29T00:00:00Z"' '"2025-13-01T00:00:00Z"' \
            '"2025-08-31T24:00:00Z"' '"2025-08-31T08:60:00Z"' '"2025-08-31"' '"yesterday"' '""' \
            '"2025-08-31T08:00:02"' '"2025-08-31T08:00:02+0530"'; do event_with event_time "$v"; done
    } >in.ndjson
    check_against_oracle in.ndjson
    # The bounds themselves pass; both neighbours fail.
    [ "$(grep -c VALID oracle.txt)" -gt 20 ]
    [ "$(grep -c SCHEMA_VIOLATION oracle.txt)" -gt 20 ]
    grep -q '"region_id: 101 is above the maximum 100"' dlq.ndjson
    grep -q '"distance: 0.09999999999999999 is below the minimum 0.1"' dlq.ndjson
}

@test "each missing field is named" {
    for f in trip_id region_id event_time fare duration distance; do event_with "$f" -; done >in.ndjson
    check_against_oracle in.ndjson
    diff <(jq -r .error_reason dlq.ndjson) <(printf '%s: missing\n' trip_id region_id event_time fare duration distance)
}

@test "a field given twice is a SCHEMA_VIOLATION: JSON readers disagree on which copy counts" {
    printf '%s\n' '{"trip_id":"t","region_id":5,"event_time":"2025-08-31T08:00:02Z","fare":1,"duration":100,"distance":1,"region_id":500}' >in.ndjson
    check_against_oracle in.ndjson
    [ "$(jq -r .error_reason dlq.ndjson)" = "region_id: given 2 times" ]
}

@test "invalid UTF-8 keeps every byte: original_base64 decodes to the line" {
    printf '{"trip_id":"\xff"}\n{"trip_id":"\xc3\x28"}\n{"a":"\xc0\xaf"}\n\xed\xa0\x80\n' >in.ndjson
    sp-validate --dlq dlq.ndjson <in.ndjson >out.ndjson
    [ ! -s out.ndjson ]
    [ "$(count_lines dlq.ndjson)" -eq 4 ]
    for i in 1 2 3 4; do
        sed -n "${i}p" dlq.ndjson | jq -r .original_base64 | base64 -d >got
        sed -n "${i}p" in.ndjson | head -c -1 >want
        cmp got want
    done
    [ "$(jq -r .error_type dlq.ndjson | sort -u)" = JSON_PARSE_ERROR ]
    [ "$(jq -r .error_reason dlq.ndjson | head -1)" = "invalid UTF-8 at byte 13" ]
}

@test "a 2 MiB line is a LINE_TOO_LONG record and the lines after it still count" {
    {
        event_with - x
        python3 -c 'import sys; sys.stdout.write("{\"trip_id\":\"" + "x" * (2 << 20) + "\"}\n")'
        event_with region_id 0
        event_with - x
    } >in.ndjson
    sp-validate --dlq dlq.ndjson <in.ndjson >out.ndjson
    [ "$(count_lines out.ndjson)" -eq 2 ]
    run jq -r '"\(.source.line) \(.error_type) \(.original_truncated // false)"' dlq.ndjson
    [ "${lines[0]}" = "2 LINE_TOO_LONG true" ]
    [[ ${lines[1]} == "3 SCHEMA_VIOLATION"* ]]
    [ "${#lines[@]}" -eq 2 ]
}

@test "the NYC schema on real NYC TLC trips agrees with the oracle and rejects refunds and zero distances" {
    python3 - "$SP_EXAMPLES"/yellow_tripdata_sample_2019-0[12].csv >nyc.ndjson <<'EOF'
import csv, datetime, json, os, sys
fmt = "%Y-%m-%d %H:%M:%S"
for path in sys.argv[1:]:
    label = os.path.basename(path)[:-4]
    for n, r in enumerate(csv.DictReader(open(path)), start=2):
        pickup = datetime.datetime.strptime(r["pickup_datetime"], fmt)
        dropoff = datetime.datetime.strptime(r["dropoff_datetime"], fmt)
        print(json.dumps({"trip_id": "%s:%d" % (label, n), "region_id": int(r["pickup_location_id"]),
                          "event_time": pickup.strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "fare": float(r["fare_amount"]), "duration": int((dropoff - pickup).total_seconds()),
                          "distance": float(r["trip_distance"])}, separators=(",", ":")))
EOF
    check_against_oracle nyc.ndjson "$PROJECT_DIR/schemas/nyc_tlc.json"
    [ "$(count_lines out.ndjson)" -gt 19000 ]
    jq -r .error_reason dlq.ndjson | grep -q '^fare: -52.0 is not above the exclusive minimum 0$'
    jq -r .error_reason dlq.ndjson | grep -q '^distance: 0.0 is not above the exclusive minimum 0$'
    # The same trips break the v1 schema, whose regions stop at 100.
    sp-validate --dlq v1.ndjson <nyc.ndjson >/dev/null
    jq -r .error_reason v1.ndjson | grep -q '^region_id: 230 is above the maximum 100$'
}

@test "the malformed v1 rows replayed by sp-replay: one DLQ record per defective row, naming the field" {
    [ -x "$SP_BIN/sp-replay" ] || skip "sp-replay is not built"
    sp-replay --speed max "$SP_DATA/malformed_trips.csv" 2>/dev/null >replayed.ndjson
    check_against_oracle replayed.ndjson
    [ "$(jq -r .trip_id out.ndjson | tr '\n' ' ')" = "trip_ok1 trip_ok2 trip_ok3 trip_ok4 trip_ok5 " ]
    [ "$(count_lines dlq.ndjson)" -eq 14 ]
    [ "$(jq -r .field dlq.ndjson | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" = \
        "distance=2 duration=3 fare=3 region_id=4 trip_id=2 " ]
}

@test "a schema using every keyword, on random events near its bounds, agrees with the oracle" {
    cat >custom.json <<'EOF'
{"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "every keyword",
 "type": "object", "required": ["id", "score", "when"], "additionalProperties": true,
 "properties": {
   "id": {"type": "string", "minLength": 2, "maxLength": 4, "notBlank": true},
   "score": {"type": "number", "exclusiveMinimum": -1.5, "exclusiveMaximum": 2.5},
   "count": {"type": "integer", "minimum": -3, "maximum": 3},
   "when": {"type": "string", "format": "event-time"},
   "flag": {"type": "boolean"}, "nothing": {"type": "null"},
   "tags": {"type": "array"}, "meta": {"type": "object"},
   "loose": {"minimum": 0, "maxLength": 1, "description": "no type: each rule for its kind"}}}
EOF
    python3 - >random.ndjson <<'EOF'
import json, random
random.seed(7)
values = [None, True, False, 0, 1, -1, 2, 3, 4, -3, -4, 2.5, 2.4999, -1.5, -1.4999, 0.0, 1e0,
          "", " ", "a", "ab", "abcd", "abcde", "\u00e9\u00e9", "\u3000\u3000", "2025-08-31T08:00:02Z",
          "2025-02-30T00:00:00Z", "2025-08-31 08:00:02", [], [1], {}, {"a": 1}]
good = {"id": ["ab", "abcd", "\u00e9\u00e9"], "score": [0, 2.4999, -1.4999, 1.0],
        "count": [-3, 0, 3], "when": ["2025-08-31T08:00:02Z", "2025-08-31 08:00:02"],
        "flag": [True, False], "nothing": [None], "tags": [[], [1]], "meta": [{}, {"a": 1}],
        "loose": [0, 1.5, "a", "", None], "other": values}
for _ in range(3000):
    event = {n: random.choice(good[n] if random.random() < 0.9 else values)
             for n in good if random.random() < 0.9}
    print(json.dumps(event, ensure_ascii=random.random() < 0.5))
EOF
    check_against_oracle random.ndjson custom.json
    [ "$(grep -c VALID oracle.txt)" -gt 10 ]
    # Every rule of the schema was broken at least once.
    [ "$(grep -v VALID oracle.txt | sort -u | wc -l)" -eq 9 ]
}

@test "Kafka coordinates are the DLQ source; _raw messages and control lines" {
    {
        echo '{"_kafka_assignment":[{"topic":"events","partition":0},{"topic":"events","partition":1}]}'
        echo '{"_kafka":{"topic":"events","partition":1,"offset":41},"trip_id":"t","region_id":500,"event_time":"2025-08-31T08:00:02Z","fare":1,"duration":100,"distance":1}'
        echo '{"_kafka":{"topic":"events","partition":1,"offset":42},"_raw":"not json at all"}'
        echo '{"_kafka":{"topic":"events","partition":0,"offset":7},"trip_id":"t","region_id":5,"event_time":"2025-08-31T08:00:02Z","fare":1,"duration":100,"distance":1}'
        echo '{"trip_id":"t","_kafka":{"topic":"events","partition":0,"offset":8}}'
    } >in.ndjson
    sp-validate --dlq dlq.ndjson --metrics-file m.prom <in.ndjson >out.ndjson
    diff out.ndjson <(sed -n '1p;4p' in.ndjson)
    run jq -c '[.error_type, .source, .original]' dlq.ndjson
    [ "${lines[0]}" = '["SCHEMA_VIOLATION",{"topic":"events","partition":1,"offset":41},'"$(sed -n 2p in.ndjson | jq -R .)"']' ]
    [ "${lines[1]}" = '["JSON_PARSE_ERROR",{"topic":"events","partition":1,"offset":42},"not json at all"]' ]
    # _kafka not first: not coordinates, the line number stays.
    [[ ${lines[2]} == '["SCHEMA_VIOLATION",{"line":5},'* ]]
    [ "${#lines[@]}" -eq 3 ]
    # The control line is not an event.
    grep -qx 'sp_events_in_total{tool="sp-validate"} 4' m.prom
}

@test "--metrics-file counts add up: in = out + every DLQ record" {
    {
        for i in 1 2 3; do event_with - x; done
        event_with region_id 0
        echo '[1]'
        echo
        python3 -c 'import sys; sys.stdout.write("{" + " " * (2 << 20) + "}\n")'
    } >in.ndjson
    sp-validate --dlq dlq.ndjson --metrics-file m.prom <in.ndjson >out.ndjson
    [ $(($(count_lines out.ndjson) + $(count_lines dlq.ndjson))) -eq 7 ]
    value() { awk -v m="$1" 'index($0, m) == 1 { print $NF }' m.prom; }
    [ "$(value 'sp_events_in_total{')" -eq 7 ]
    [ "$(value 'sp_events_out_total{')" -eq "$(count_lines out.ndjson)" ]
    dlq_sum=$(value 'sp_dlq_total{' | awk '{ s += $1 } END { print s }')
    [ "$dlq_sum" -eq "$(count_lines dlq.ndjson)" ]
    [ "$dlq_sum" -eq 4 ]
    grep -q 'error_type="JSON_PARSE_ERROR"} 2$' m.prom
    grep -q 'error_type="SCHEMA_VIOLATION"} 1$' m.prom
    grep -q 'error_type="LINE_TOO_LONG"} 1$' m.prom
}

@test "without --dlq the records go to stderr, even with -q; files and '-' are read in order" {
    event_with region_id 0 >bad.ndjson
    event_with - x >good.ndjson
    run --separate-stderr sp-validate -q good.ndjson - bad.ndjson <good.ndjson
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 2 ]
    [ "$(grep -c . <<<"$stderr")" -eq 1 ]
    [ "$(jq -r .error_reason <<<"$stderr")" = "region_id: 0 is below the minimum 1" ]
    [ "$(jq -r .source.line <<<"$stderr")" = 1 ]
}

@test "--dlq appends and works with a FIFO" {
    event_with region_id 0 >bad.ndjson
    echo '{"earlier":"record"}' >dlq.ndjson
    sp-validate --dlq dlq.ndjson <bad.ndjson
    [ "$(count_lines dlq.ndjson)" -eq 2 ]
    mkfifo fifo
    cat fifo >from_fifo &
    sp-validate --dlq fifo <bad.ndjson
    wait
    [ "$(count_lines from_fifo)" -eq 1 ]
    [ "$(jq -r .field from_fifo)" = region_id ]
}

@test "SIGTERM mid-stream exits 0 with every line read so far written out" {
    mkfifo in
    sp-validate --dlq dlq.ndjson --metrics-file m.prom <in >out.ndjson &
    pid=$!
    exec 7>in
    event_with - x >&7
    event_with region_id 0 >&7
    # The idle flush writes both while the input stays open.
    wait_for '[ "$(count_lines out.ndjson)" -eq 1 ] && [ "$(count_lines dlq.ndjson)" -eq 1 ]'
    kill -TERM "$pid"
    status=0
    wait "$pid" || status=$?
    exec 7>&-
    [ "$status" -eq 0 ]
    [ "$(count_lines out.ndjson)" -eq 1 ]
    [ "$(count_lines dlq.ndjson)" -eq 1 ]
    grep -qx 'sp_events_in_total{tool="sp-validate"} 2' m.prom
}

@test "a closed downstream pipe ends it quietly" {
    event_with - x >one.ndjson
    for _ in $(seq 17); do cat one.ndjson one.ndjson >two.ndjson && mv two.ndjson one.ndjson; done
    sp-validate --metrics-file m.prom <one.ndjson 2>err | head -1 >first.ndjson
    [ "${PIPESTATUS[0]}" -eq 0 ]
    [ ! -s err ]
    [ "$(count_lines first.ndjson)" -eq 1 ]
    # It stopped through the usual shutdown: the metrics file was written.
    grep -q '^sp_events_in_total{tool="sp-validate"} [1-9]' m.prom
}

@test "exit codes: missing input 66, bad option 64, missing schema 66, broken schema 64" {
    run --separate-stderr sp-validate no-such-file.ndjson
    [ "$status" -eq 66 ]
    [[ $stderr == "sp-validate: no-such-file.ndjson: No such file or directory" ]]
    run --separate-stderr sp-validate --bogus
    [ "$status" -eq 64 ]
    run --separate-stderr sp-validate --schema no-such-schema.json </dev/null
    [ "$status" -eq 66 ]
    echo '{"properties":{"a":{"maximun":5}}}' >typo.json
    run --separate-stderr sp-validate --schema typo.json </dev/null
    [ "$status" -eq 64 ]
    [[ $stderr == *'properties.a: unknown keyword "maximun"'* ]]
}

@test "--print-default-schema prints the shipped v1 schema; --version and --help" {
    sp-validate --print-default-schema >printed.json
    cmp printed.json "$PROJECT_DIR/schemas/streampulse_v1.json"
    run sp-validate --version
    [ "$output" = "sp-validate 0.1.0" ]
    run sp-validate --help
    [ "$status" -eq 0 ]
    [[ $output == *"--schema FILE"* ]]
}

@test "loud loss: NYC trips under the default schema end with the count, the cause and the fix; -q and the NYC schema are quiet" {
    sp-replay -q "$SP_EXAMPLES/yellow_tripdata_sample_2019-01.csv" >nyc.ndjson
    # The oracle, by jq: trip_id always passes, so region_id (the schema's
    # second rule) is the first one an NYC zone above 100 breaks.
    over=$(jq -s 'map(select(.region_id > 100)) | length' nyc.ndjson)
    total=$(count_lines nyc.ndjson)
    [ "$over" -gt $((total / 2)) ]
    run --separate-stderr sp-validate --dlq dlq.ndjson nyc.ndjson
    [ "$status" -eq 0 ]
    echo "$stderr"
    [ "$(head -n 1 <<<"$stderr")" = "sp-validate: $over of $total lines failed region_id's maximum: NYC taxi data needs --schema schemas/nyc_tlc.json (zones 1-265)" ]
    # every dead letter is accounted for: the rest on one more line
    rest=$(($(count_lines dlq.ndjson) - over))
    [ "$(sed -n 2p <<<"$stderr")" = "sp-validate: and $rest more for other reasons (see the dead-letter records)" ]
    run --separate-stderr sp-validate -q --dlq dlq2.ndjson nyc.ndjson
    [ -z "$stderr" ]
    # The right schema loses under 1 % (refunds, zero distances): no word.
    run --separate-stderr sp-validate --schema "$PROJECT_DIR/schemas/nyc_tlc.json" --dlq dlq3.ndjson nyc.ndjson
    [ -z "$stderr" ]
    [ "$(count_lines dlq3.ndjson)" -gt 0 ]
}

@test "loud loss: a CSV piped in unconverted is named as not NDJSON, with the program that converts it" {
    printf 'id,zone,when\n1,3,2025-01-01 10:00:00\n2,4,2025-01-01 10:01:00\n' >mine.csv
    run --separate-stderr sp-validate --dlq dlq.ndjson mine.csv
    [ "$stderr" = "sp-validate: 3 of 3 lines were not JSON objects: is the input NDJSON? sp-replay turns CSV into events" ]
}
