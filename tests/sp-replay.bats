#!/usr/bin/env bats
# sp-replay as a user runs it. Expected events come from python3's csv
# module (written apart from the C code), counts from wc, sed and jq.

bats_require_minimum_version 1.5.0
load helpers/common

V1=$SP_EXAMPLES/streampulse_sample_trips.csv
NYC=$SP_EXAMPLES/yellow_tripdata_sample_2019-01.csv
MALFORMED=$SP_DATA/malformed_trips.csv

# data_rows FILE: rows after the header, as python's csv module counts them.
data_rows() {
    python3 -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1]))) - 1)' "$1"
}

# paced CSV ROWS SECONDS OPTION...: sp-replay OPTION... CSV writes ROWS rows
# spread over SECONDS, within 2 %. The clock starts at the first row's
# arrival, not at process start, so start-up time (large under sanitizers)
# is not counted; python starts sp-replay itself so that it is already
# reading when the first arrives.
paced() {
    local csv=$1 rows=$2 seconds=$3 n secs
    shift 3
    python3 - "$csv" "$@" >"$BATS_TEST_TMPDIR/timing" <<'EOF'
import subprocess, sys, time
p = subprocess.Popen(['sp-replay', *sys.argv[2:], sys.argv[1]], stdout=subprocess.PIPE)
first = last = None
n = 0
for line in p.stdout:
    last = time.monotonic()
    if first is None: first = last
    n += 1
p.wait()
print(n, last - first)
EOF
    read -r n secs <"$BATS_TEST_TMPDIR/timing"
    [ "$n" -eq "$rows" ] || { echo "wrote $n rows, not $rows"; return 1; }
    python3 -c "import sys; s = $secs; sys.exit(0 if abs(s / $seconds - 1) <= 0.02 else 1)" || {
        echo "took $secs s for $seconds s"; false; }
}

@test "StreamPulse v1: every row, field by field as python's csv module reads it" {
    sp-replay "$V1" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
    [ ! -s "$BATS_TEST_TMPDIR/err" ]
    python3 - "$V1" "$BATS_TEST_TMPDIR/out" <<'EOF'
import csv, json, re, sys
number = re.compile(r'-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$')
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
# Numbers are kept as their text, to see that 23.0 stays 23.0.
events = [json.loads(l, parse_float=str, parse_int=str) for l in open(sys.argv[2])]
assert len(events) == len(rows) == 300, (len(events), len(rows))
for row, ev in zip(rows, events):
    assert list(ev) == ['trip_id', 'region_id', 'event_time', 'fare', 'duration', 'distance'], ev
    assert ev['trip_id'] == row['trip_id'], (ev, row)
    assert ev['event_time'] == row['event_time'], (ev, row)
    for k in ('region_id', 'fare', 'duration', 'distance'):
        assert number.match(row[k]), row
        assert ev[k] == row[k], (k, ev, row)
EOF
}

@test "NYC TLC: trip id, pickup zone, RFC 3339 pickup time, whole-second duration" {
    sp-replay "$NYC" >"$BATS_TEST_TMPDIR/out"
    python3 - "$NYC" "$BATS_TEST_TMPDIR/out" <<'EOF'
import csv, json, sys
from datetime import datetime
fmt = '%Y-%m-%d %H:%M:%S'
reader = csv.DictReader(open(sys.argv[1], newline=''))
events = [json.loads(l, parse_float=str, parse_int=str) for l in open(sys.argv[2])]
n = 0
for row, ev in zip(reader, events):
    n += 1
    pick = datetime.strptime(row['pickup_datetime'], fmt)
    drop = datetime.strptime(row['dropoff_datetime'], fmt)
    want = {
        'trip_id': 'yellow_tripdata_sample_2019-01:%d' % reader.line_num,
        'region_id': row['pickup_location_id'],
        'event_time': pick.strftime('%Y-%m-%dT%H:%M:%SZ'),
        'fare': row['fare_amount'],
        'duration': str(int((drop - pick).total_seconds())),
        'distance': row['trip_distance'],
    }
    assert ev == want, (ev, want)
assert n == len(events) == 10000, (n, len(events))
EOF
}

@test "NYC TLC header variant and stdin: columns by name, trip ids from stdin" {
    # The TLC's own header, columns in another order.
    python3 - "$NYC" >"$BATS_TEST_TMPDIR/tlc.csv" <<'EOF'
import csv, sys
rename = {'vendor_id': 'VendorID', 'pickup_datetime': 'tpep_pickup_datetime',
          'dropoff_datetime': 'tpep_dropoff_datetime', 'pickup_location_id': 'PULocationID',
          'dropoff_location_id': 'DOLocationID', 'rate_code_id': 'RatecodeID'}
rows = list(csv.DictReader(open(sys.argv[1], newline='')))[:50]
cols = list(reversed(list(rows[0].keys())))
w = csv.writer(sys.stdout, lineterminator='\n')
w.writerow([rename.get(c, c) for c in cols])
for r in rows:
    w.writerow([r[c] for c in cols])
EOF
    sp-replay "$NYC" | head -n 50 | sed 's/yellow_tripdata_sample_2019-01:/stdin:/' >"$BATS_TEST_TMPDIR/want"
    sp-replay <"$BATS_TEST_TMPDIR/tlc.csv" >"$BATS_TEST_TMPDIR/got"
    cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "any other CSV with --time-field: column by column, numbers typed as numbers" {
    printf '%s\n' 'id,ts,reading,label' \
        '007,2024-03-01T10:00:00Z,-1.5e3,"a, ""quoted"" label"' \
        '8,2024-03-01 10:00:05,12,' \
        '9,"2024-03-01T10:00:09+01:00",0.50,"two' 'lines"' \
        '10,2024-03-01T10:00:10Z,+5,1.' >"$BATS_TEST_TMPDIR/in.csv"
    sp-replay --time-field ts "$BATS_TEST_TMPDIR/in.csv" >"$BATS_TEST_TMPDIR/out"
    python3 - "$BATS_TEST_TMPDIR/in.csv" "$BATS_TEST_TMPDIR/out" <<'EOF'
import csv, json, re, sys
number = re.compile(r'-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$')
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
events = [json.loads(l, parse_float=str, parse_int=str) for l in open(sys.argv[2])]
assert len(rows) == len(events) == 4, events
for row, ev in zip(rows, events):
    assert list(ev) == list(row), (ev, row)
    for k, text in row.items():
        assert ev[k] == text, (k, ev[k], text)
# Now with real types: a JSON number exactly when the text is one.
for line, row in zip(open(sys.argv[2]), rows):
    ev = json.loads(line)
    for k, text in row.items():
        assert isinstance(ev[k], str) != bool(number.match(text)), (k, ev[k], text)
EOF
}

@test "an unrecognised header without --time-field is a usage error that says so" {
    printf 'a,b\n1,2\n' >"$BATS_TEST_TMPDIR/in.csv"
    run --separate-stderr sp-replay "$BATS_TEST_TMPDIR/in.csv"
    [ "$status" -eq 64 ]
    [ -z "$output" ]
    [[ $stderr == *"sp-replay: "*"--time-field"* ]]
    run --separate-stderr sp-replay --time-field when "$BATS_TEST_TMPDIR/in.csv"
    [ "$status" -eq 64 ]
    [[ $stderr == *"when"* ]]
}

@test "broken rows: each gives one CSV_PARSE_ERROR with its line, and the rows after go on" {
    sp-replay --dlq "$BATS_TEST_TMPDIR/dlq" "$MALFORMED" >"$BATS_TEST_TMPDIR/out"
    events=$(count_lines "$BATS_TEST_TMPDIR/out")
    dead=$(count_lines "$BATS_TEST_TMPDIR/dlq")
    [ $((events + dead)) -eq "$(($(count_lines "$MALFORMED") - 1))" ]
    [ "$dead" -gt 0 ]
    jq -e -s 'all(.error_type == "CSV_PARSE_ERROR" and .component == "sp-replay")' "$BATS_TEST_TMPDIR/dlq"
    # Each record carries its row, found in the file at the line it names.
    jq -r '"\(.source.line)\t\(.original)"' "$BATS_TEST_TMPDIR/dlq" | while IFS=$'\t' read -r line original; do
        [ "$(sed -n "${line}p" "$MALFORMED")" = "$original" ]
    done
    # Each names a column of the header (here every defect sits in one).
    header=$(head -n 1 "$MALFORMED")
    jq -r .field "$BATS_TEST_TMPDIR/dlq" | while read -r field; do
        [[ ,$header, == *,$field,* ]] || { echo "field $field"; false; }
    done
    # The rows after a broken one went on: the last row of the file is an event.
    [ "$(tail -n 1 "$MALFORMED" | cut -d, -f1)" = "$(tail -n 1 "$BATS_TEST_TMPDIR/out" | jq -r .trip_id)" ]
}

@test "the malformed file through sp-validate: valid rows out, one DLQ record per defect" {
    [ -x "$SP_BIN/sp-validate" ] || skip "sp-validate is not built"
    sp-replay --speed max --dlq "$BATS_TEST_TMPDIR/dlq" "$MALFORMED" |
        sp-validate --dlq "$BATS_TEST_TMPDIR/dlq" >"$BATS_TEST_TMPDIR/out"
    # Valid rows are those whose id says so (tests/data/README.md lists them).
    grep -o '^trip_ok[0-9]*' "$MALFORMED" >"$BATS_TEST_TMPDIR/want"
    jq -r .trip_id "$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/got"
    cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
    rows=$(($(count_lines "$MALFORMED") - 1))
    [ "$(count_lines "$BATS_TEST_TMPDIR/dlq")" -eq $((rows - $(count_lines "$BATS_TEST_TMPDIR/want"))) ]
    # Every record names its field, whichever program caught the defect.
    jq -e -s 'all(.error_type == "CSV_PARSE_ERROR" or .error_type == "SCHEMA_VIOLATION") and
              all((.field | type) == "string")' "$BATS_TEST_TMPDIR/dlq"
    # No valid row is among the dead letters.
    ! grep -q trip_ok "$BATS_TEST_TMPDIR/dlq"
}

@test "--metrics-file counts rows in, events out and DLQ records by type" {
    # -q: stderr then holds the DLQ records alone, without the loss summary
    sp-replay -q --metrics-file "$BATS_TEST_TMPDIR/m.prom" "$MALFORMED" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/dlq"
    m=$BATS_TEST_TMPDIR/m.prom
    grep -q "^sp_events_in_total{tool=\"sp-replay\"} $(($(count_lines "$MALFORMED") - 1))\$" "$m"
    grep -q "^sp_events_out_total{tool=\"sp-replay\"} $(count_lines "$BATS_TEST_TMPDIR/out")\$" "$m"
    parse=$(jq -s 'map(select(.error_type == "CSV_PARSE_ERROR")) | length' "$BATS_TEST_TMPDIR/dlq")
    grep -q "^sp_dlq_total{tool=\"sp-replay\",error_type=\"CSV_PARSE_ERROR\"} $parse\$" "$m"
}

@test "--dlq appends" {
    sp-replay --dlq "$BATS_TEST_TMPDIR/dlq" "$MALFORMED" >/dev/null
    once=$(count_lines "$BATS_TEST_TMPDIR/dlq")
    sp-replay --dlq "$BATS_TEST_TMPDIR/dlq" "$MALFORMED" >/dev/null
    [ "$(count_lines "$BATS_TEST_TMPDIR/dlq")" -eq $((once * 2)) ]
}

@test "--skip and --limit cut the same rows as sed" {
    sp-replay "$V1" >"$BATS_TEST_TMPDIR/all"
    sp-replay --skip 10 --limit 25 "$V1" >"$BATS_TEST_TMPDIR/part"
    sed -n '11,35p' "$BATS_TEST_TMPDIR/all" | cmp - "$BATS_TEST_TMPDIR/part"
    sp-replay --skip 1000 "$V1" >"$BATS_TEST_TMPDIR/none"
    [ ! -s "$BATS_TEST_TMPDIR/none" ]
}

@test "--sort: a stable sort by event time of the unsorted output" {
    for f in "$V1" "$NYC"; do
        sp-replay "$f" >"$BATS_TEST_TMPDIR/unsorted"
        sp-replay --sort "$f" >"$BATS_TEST_TMPDIR/sorted"
        python3 - "$BATS_TEST_TMPDIR/unsorted" "$BATS_TEST_TMPDIR/sorted" <<'EOF'
import json, sys
from datetime import datetime
def ms(line):
    t = json.loads(line)['event_time'].replace('Z', '+00:00')
    d = datetime.fromisoformat(t)
    return int(d.timestamp()) * 1000 + d.microsecond // 1000
unsorted = open(sys.argv[1]).read().splitlines()
got = open(sys.argv[2]).read().splitlines()
assert sorted(unsorted) == sorted(got), 'not a permutation'
assert all(ms(a) <= ms(b) for a, b in zip(got, got[1:])), 'not in time order'
assert got == sorted(unsorted, key=ms), 'not the stable order'
assert got != unsorted
EOF
    done
}

@test "--loop --limit: later passes shift times by the span plus a second, ids stay unique" {
    sp-replay --loop --limit 650 "$V1" >"$BATS_TEST_TMPDIR/out"
    sp-replay --sort --loop --limit 650 "$V1" >"$BATS_TEST_TMPDIR/sorted"
    python3 - "$V1" "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/sorted" <<'EOF'
import csv, json, sys
from datetime import datetime, timezone
def ms(t):
    d = datetime.fromisoformat(t.replace('Z', '+00:00'))
    return int(d.timestamp()) * 1000 + d.microsecond // 1000
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
times = [ms(r['event_time']) for r in rows]
period = max(times) - min(times) + 1000
for path, order in ((sys.argv[2], rows), (sys.argv[3], sorted(rows, key=lambda r: ms(r['event_time'])))):
    events = [json.loads(l) for l in open(path)]
    assert len(events) == 650
    ids = [e['trip_id'] for e in events]
    assert len(set(ids)) == 650, 'duplicate trip ids'
    for i, e in enumerate(events):
        k, row = divmod(i, len(rows))
        r = order[row]
        assert e['trip_id'] == (r['trip_id'] + ('#%d' % k if k else '')), (e, r)
        if k == 0:
            assert e['event_time'] == r['event_time']
        else:
            assert ms(e['event_time']) == ms(r['event_time']) + k * period, (e, r)
        assert e['fare'] == float(r['fare'])
EOF
}

@test "--loop cannot re-read a pipe without --sort" {
    run --separate-stderr sp-replay --loop --limit 5 < <(cat "$V1")
    [ "$status" -eq 64 ]
    [[ $stderr == *"--loop"* ]]
    cat "$V1" | sp-replay --loop --sort --limit 305 >"$BATS_TEST_TMPDIR/out"
    [ "$(count_lines "$BATS_TEST_TMPDIR/out")" -eq 305 ]
}

@test "several files in a row, each with its own layout" {
    sp-replay "$V1" "$NYC" >"$BATS_TEST_TMPDIR/both"
    { sp-replay "$V1"; sp-replay "$NYC"; } | cmp - "$BATS_TEST_TMPDIR/both"
}

@test "--speed 60 replays 3 minutes of event time in 3 seconds, within 2 %" {
    python3 - >"$BATS_TEST_TMPDIR/in.csv" <<'EOF'
print('trip_id,region_id,event_time,fare,duration,distance')
for i in range(0, 181, 3):
    print('t%d,1,2025-01-01T00:%02d:%02dZ,1,60,1' % (i, i // 60, i % 60))
EOF
    paced "$BATS_TEST_TMPDIR/in.csv" 61 3.0 --speed 60
}

@test "SIGTERM ends a slow replay cleanly with whole lines" {
    sp-replay --speed 1 "$V1" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
    pid=$!
    # The first event out means the signal handlers are in place.
    wait_for "[ -s '$BATS_TEST_TMPDIR/out' ]"
    kill -TERM "$pid"
    wait "$pid"
    [ ! -s "$BATS_TEST_TMPDIR/err" ]
    [ -s "$BATS_TEST_TMPDIR/out" ]
    jq -e . "$BATS_TEST_TMPDIR/out" >/dev/null
}

@test "a closed downstream pipe ends sp-replay quietly" {
    sp-replay --loop "$V1" 2>"$BATS_TEST_TMPDIR/err" | head -n 3 >/dev/null
    [ "${PIPESTATUS[0]}" -eq 0 ]
    [ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "no progress line when stderr is not a terminal" {
    sp-replay --speed max "$NYC" 2>"$BATS_TEST_TMPDIR/err" >/dev/null
    [ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "a missing input exits 66, a bad option 64, before any output" {
    run --separate-stderr sp-replay "$V1" /no/such/file.csv
    [ "$status" -eq 66 ]
    [ -z "$output" ]
    [[ $stderr == "sp-replay: /no/such/file.csv: "* ]]
    for bad in --bogus "--speed 0" "--speed fast" "--rate -1" "--limit x" "--skip -3"; do
        run --separate-stderr sp-replay $bad "$V1"
        [ "$status" -eq 64 ] || { echo "$bad: $status"; false; }
        [ -z "$output" ]
        [[ $stderr == "sp-replay: "* ]]
    done
}

@test "--help and --version" {
    run sp-replay --help
    [ "$status" -eq 0 ]
    [[ $output == usage:\ sp-replay* ]]
    for opt in --speed --rate --sort --skip --limit --loop --time-field --dlq --metrics-file --quiet --version; do
        [[ $output == *"$opt"* ]] || { echo "missing $opt"; false; }
    done
    run sp-replay --version
    [ "$status" -eq 0 ]
    version=$(sed -n 's/^#define SP_VERSION "\(.*\)"$/\1/p' "$PROJECT_DIR/lib/diag.h")
    [ "$output" = "sp-replay $version" ]
}

@test "shared data: the 50k load-test file, whole and in time order" {
    require_shared_data streampulse/streampulse_load_test_50k.csv
    f=$SHARED_DATA/streampulse/streampulse_load_test_50k.csv
    sp-replay "$f" >"$BATS_TEST_TMPDIR/out"
    [ "$(count_lines "$BATS_TEST_TMPDIR/out")" -eq "$(data_rows "$f")" ]
    jq -r .trip_id "$BATS_TEST_TMPDIR/out" | cmp - <(tail -n +2 "$f" | cut -d, -f1)
}

@test "--rate 20 sends 31 rows over 1.5 s, within 2 %" {
    head -n 32 "$V1" >"$BATS_TEST_TMPDIR/in.csv"
    paced "$BATS_TEST_TMPDIR/in.csv" 31 1.5 --rate 20
}

@test "a line over 1 MiB, bytes that are not UTF-8, CRLF endings: one output per row" {
    python3 - "$BATS_TEST_TMPDIR/in.csv" <<'EOF'
import sys
with open(sys.argv[1], 'wb') as f:
    f.write(b'trip_id,region_id,event_time,fare,duration,distance\r\n')
    f.write(b't1,1,2025-01-01T00:00:00Z,1,60,1\r\n')
    f.write(b't2,' + b'9' * (2 * 1024 * 1024) + b',2025-01-01T00:00:01Z,1,60,1\r\n')
    f.write(b't3\xff\xfe,1,2025-01-01T00:00:02Z,1,60,1\r\n')
    f.write(b't4,1,2025-01-01T00:00:03Z,1,60,1')
EOF
    sp-replay --dlq "$BATS_TEST_TMPDIR/dlq" "$BATS_TEST_TMPDIR/in.csv" >"$BATS_TEST_TMPDIR/out"
    [ "$(jq -r .trip_id "$BATS_TEST_TMPDIR/out" | tr '\n' ' ')" = "t1 t4 " ]
    [ "$(jq -r '"\(.source.line) \(.error_type)"' "$BATS_TEST_TMPDIR/dlq" | tr '\n' ' ')" = \
        "3 LINE_TOO_LONG 4 CSV_PARSE_ERROR " ]
    # The row that is not UTF-8 keeps every byte, in base64.
    want=$(sed -n 4p "$BATS_TEST_TMPDIR/in.csv" | tr -d '\r\n' | base64 -w0)
    [ "$(jq -r 'select(.source.line == 4) | .original_base64' "$BATS_TEST_TMPDIR/dlq")" = "$want" ]
}

@test "--limit 0 sends nothing; --loop on a seekable stdin starts where stdin started" {
    sp-replay --limit 0 "$V1" >"$BATS_TEST_TMPDIR/none"
    [ ! -s "$BATS_TEST_TMPDIR/none" ]
    # stdin is the file with its first (junk) line already read by the shell.
    { echo junk; cat "$V1"; } >"$BATS_TEST_TMPDIR/in.csv"
    { read -r _; sp-replay --loop --limit 600; } <"$BATS_TEST_TMPDIR/in.csv" >"$BATS_TEST_TMPDIR/out"
    sp-replay --loop --limit 600 "$V1" >"$BATS_TEST_TMPDIR/want"
    cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/out"
}

@test "loud loss: a CSV whose time column mostly does not parse ends with the count and the column" {
    printf 'id,zone,when\n1,3,2025-01-01 10:00:00\n2,3,yesterday\n3,4,today\n4,4,2025-01-01 10:03:00\n5,5,soon\n' >"$BATS_TEST_TMPDIR/mine.csv"
    # the oracle: rows whose "when" python's strptime cannot read
    bad=$(python3 -c '
import csv, sys, datetime
n = 0
for r in csv.DictReader(open(sys.argv[1])):
    try: datetime.datetime.strptime(r["when"], "%Y-%m-%d %H:%M:%S")
    except ValueError: n += 1
print(n)' "$BATS_TEST_TMPDIR/mine.csv")
    run --separate-stderr sp-replay --time-field when --dlq "$BATS_TEST_TMPDIR/dlq.ndjson" "$BATS_TEST_TMPDIR/mine.csv"
    [ "$status" -eq 0 ]
    [ "$stderr" = "sp-replay: $bad of 5 rows had an unreadable when" ]
    [ "$(count_lines "$BATS_TEST_TMPDIR/dlq.ndjson")" -eq "$bad" ]
    run --separate-stderr sp-replay -q --time-field when --dlq "$BATS_TEST_TMPDIR/dlq.ndjson" "$BATS_TEST_TMPDIR/mine.csv"
    [ -z "$stderr" ]
}
