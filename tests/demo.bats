#!/usr/bin/env bats
# The README's first command, run as a user would but without a terminal:
# make demo with DEMO_SECONDS set. The API must show trip metrics for real
# NYC taxi zones that agree with a count made straight from the CSV files,
# and nothing the demo started may be left running.

load helpers/common

setup() {
    PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    URL=http://127.0.0.1:$PORT
}

# The demo runs in a session of its own (setsid), whose id is DEMO_SID: all
# it starts is found, and stopped, by that id, and nothing else is.
teardown() {
    [ -n "${DEMO_SID:-}" ] || return 0
    kill -TERM -- -"$DEMO_SID" 2>/dev/null || true
    wait_for "! pgrep -s $DEMO_SID >/dev/null" || kill -KILL -- -"$DEMO_SID" 2>/dev/null || true
}

# zone_hour_count ZONE WINDOW_START: trips of that pickup zone in that hour,
# counted from the bundled CSVs with the rules of schemas/nyc_tlc.json read
# by Python: a computation apart from sp-replay, sp-validate and sp-window.
zone_hour_count() {
    python3 - "$1" "$2" "$PROJECT_DIR" <<'PY'
import csv, datetime, json, sys
zone, start, root = int(sys.argv[1]), sys.argv[2], sys.argv[3]
props = json.load(open(f"{root}/schemas/nyc_tlc.json"))["properties"]
def ok(name, v):
    rule = props[name]
    if "minimum" in rule and v < rule["minimum"]: return False
    if "exclusiveMinimum" in rule and v <= rule["exclusiveMinimum"]: return False
    if "maximum" in rule and v > rule["maximum"]: return False
    return True
t0 = datetime.datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ")
n = 0
for month in ("01", "02"):
    for row in csv.DictReader(open(f"{root}/examples/data/yellow_tripdata_sample_2019-{month}.csv")):
        try:
            pu = datetime.datetime.strptime(row["pickup_datetime"], "%Y-%m-%d %H:%M:%S")
            do = datetime.datetime.strptime(row["dropoff_datetime"], "%Y-%m-%d %H:%M:%S")
            region, fare, dist = int(row["pickup_location_id"]), float(row["fare_amount"]), float(row["trip_distance"])
        except ValueError:
            continue
        dur = int((do - pu).total_seconds())
        if region == zone and t0 <= pu < t0 + datetime.timedelta(hours=1) and \
           ok("region_id", region) and ok("fare", fare) and ok("duration", dur) and ok("distance", dist):
            n += 1
print(n)
PY
}

@test "make demo runs the pipeline, the API shows real NYC zones, and it leaves nothing running" {
    DEMO_SECONDS=20 DEMO_PORT=$PORT setsid make -C "$PROJECT_DIR" --no-print-directory -s demo \
        >"$BATS_TEST_TMPDIR/demo.out" 2>&1 &
    DEMO_SID=$!
    # not a process group leader, setsid makes make its session's leader in place
    wait_for "[ \"\$(ps -o sid= -p $DEMO_SID | tr -d ' ')\" = $DEMO_SID ]"

    wait_for "top=\$(curl -s '$URL/metrics/regions/top?limit=5') && [ \"\$(jq '.regions | length' <<<\"\$top\")\" -gt 0 ]"
    echo "top: $top"
    [ "$(jq '.regions | length' <<<"$top")" -gt 0 ]
    jq -e '.regions | all(.regionId >= 1 and .regionId <= 265 and .value >= 1)' <<<"$top"

    # The busiest zone of that final window, read back whole, agrees with
    # the count made from the CSV files.
    zone=$(jq '.regions[0].regionId' <<<"$top")
    start=$(jq -r '.windowStart' <<<"$top")
    window=$(curl -s "$URL/metrics/region/$zone?at=$start")
    echo "window: $window"
    jq -e '.final == true and .tripCount >= 1 and .avgFare > 0 and .p50Duration > 0' <<<"$window"
    [ "$(jq '.tripCount' <<<"$window")" -eq "$(zone_hour_count "$zone" "$start")" ]
    [ "$(curl -s "$URL/health" | jq -r .status)" = healthy ]

    wait "$DEMO_SID"
    grep -q "$URL/" "$BATS_TEST_TMPDIR/demo.out"
    # Nothing it started is left in its session, and no sanitizer complained.
    ! pgrep -s "$DEMO_SID"
    ! grep -i 'sanitizer' "$PROJECT_DIR/build/demo/pipeline.log"
}
