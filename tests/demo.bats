#!/usr/bin/env bats
# The README's first command, run as a user would but without a terminal:
# make demo with DEMO_SECONDS set. The API must show trip metrics for real
# NYC taxi zones that agree with a count made straight from the CSV files,
# busy enough to look alive; a second demo must be refused without touching
# the first; Ctrl-C must stop the pipelines before the services they use;
# and nothing the demo started may be left running.

load helpers/common

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

setup_file() {
    PORT=$(free_port)
    export PORT URL=http://127.0.0.1:$PORT
    DEMO_SECONDS=25 DEMO_PORT=$PORT make -C "$PROJECT_DIR" --no-print-directory -s demo \
        >"$BATS_FILE_TMPDIR/demo.out" 2>&1 3>&- &
    echo $! >"$BATS_FILE_TMPDIR/demo.pid"
}

teardown_file() {
    local pids
    pids=$(lock_holders)
    [ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true
}

# lock_holders: the processes that hold the demo's lock open: every one
# the demo started inherits it.
lock_holders() {
    local fd
    for fd in /proc/[0-9]*/fd/*; do
        [ "$(readlink "$fd" 2>/dev/null)" = "$PROJECT_DIR/build/demo.lock" ] && echo "${fd%/fd/*}"
    done | sed 's|/proc/||' | sort -u
}

# demo_running: some process of a demo of this checkout is alive.
demo_running() {
    [ -n "$(lock_holders)" ]
}

# demo_gone: wait until the demo setup_file started has ended, so a test
# may start its own.
demo_gone() {
    pid=$(cat "$BATS_FILE_TMPDIR/demo.pid")
    wait_for "! kill -0 $pid 2>/dev/null" 60
    wait_for "! demo_running" 10
}

# zone_hour_counts: "HOUR ZONE COUNT" for every pickup zone and hour of the
# day, counted from the bundled CSVs with the rules of schemas/nyc_tlc.json
# read by Python: a computation apart from the demo's folding, sp-replay,
# sp-validate and sp-window. The demo lays every trip onto one day by its
# time of day, so an hour of that day holds the trips of that hour of every
# day of the samples.
zone_hour_counts() {
    python3 - "$PROJECT_DIR" <<'PY'
import collections, csv, datetime, json, sys
root = sys.argv[1]
props = json.load(open(f"{root}/schemas/nyc_tlc.json"))["properties"]
def ok(name, v):
    rule = props[name]
    if "minimum" in rule and v < rule["minimum"]: return False
    if "exclusiveMinimum" in rule and v <= rule["exclusiveMinimum"]: return False
    if "maximum" in rule and v > rule["maximum"]: return False
    return True
counts = collections.Counter()
for month in ("01", "02"):
    for row in csv.DictReader(open(f"{root}/examples/data/yellow_tripdata_sample_2019-{month}.csv")):
        try:
            pu = datetime.datetime.strptime(row["pickup_datetime"], "%Y-%m-%d %H:%M:%S")
            do = datetime.datetime.strptime(row["dropoff_datetime"], "%Y-%m-%d %H:%M:%S")
            region, fare, dist = int(row["pickup_location_id"]), float(row["fare_amount"]), float(row["trip_distance"])
        except ValueError:
            continue
        dur = int((do - pu).total_seconds())
        if ok("region_id", region) and ok("fare", fare) and ok("duration", dur) and ok("distance", dist):
            counts[(pu.hour, region)] += 1
for (hour, zone), n in sorted(counts.items()):
    print(hour, zone, n)
PY
}

@test "make demo: real NYC zones, busy (10 trips or more in the busiest zone of any hour), as the CSV counts them" {
    wait_for "top=\$(curl -s '$URL/metrics/regions/top?limit=5') && [ \"\$(jq '.regions | length' <<<\"\$top\")\" -gt 0 ]"
    echo "top: $top"
    jq -e '.regions | all(.regionId >= 1 and .regionId <= 265 and .value >= 1)' <<<"$top"

    # The busiest zone of that final window, read back whole, agrees with
    # the count made from the CSV files, and is busy.
    zone=$(jq '.regions[0].regionId' <<<"$top")
    start=$(jq -r '.windowStart' <<<"$top")
    [[ $start == 2019-01-01T??:00:00Z ]]
    window=$(curl -s "$URL/metrics/region/$zone?at=$start")
    echo "window: $window"
    jq -e '.final == true and .avgFare > 0 and .p50Duration > 0' <<<"$window"
    zone_hour_counts >"$BATS_TEST_TMPDIR/counts"
    hour=$((10#${start:11:2}))
    [ "$(jq '.tripCount' <<<"$window")" -eq "$(awk -v h="$hour" -v z="$zone" '$1 == h && $2 == z {print $3}' "$BATS_TEST_TMPDIR/counts")" ]
    [ "$(jq '.tripCount' <<<"$window")" -ge 10 ]
    # ...and so is every hour of the day the demo will show.
    quietest=$(awk '$3 > best[$1] {best[$1] = $3} END {m = 1e9; for (h in best) if (best[h] < m) m = best[h]; print m}' \
        "$BATS_TEST_TMPDIR/counts")
    echo "the busiest zone of the quietest hour: $quietest trips"
    [ "$quietest" -ge 10 ]
    [ "$(curl -s "$URL/health" | jq -r .status)" = healthy ]
    # the page says what the data is
    curl -s "$URL/" | grep -q 'laid onto one day by time of day'
}

@test "make demo: a second one is refused at once and leaves the running one and its state alone" {
    wait_for "curl -s -o /dev/null '$URL/health'"
    state=$PROJECT_DIR/build/demo
    before=$(stat -c '%i %Y' "$state/nyc_one_day.csv")
    # the same port, and another: either way, one demo per checkout
    for port in "$PORT" "$(free_port)"; do
        run env DEMO_SECONDS=5 DEMO_PORT=$port make -C "$PROJECT_DIR" --no-print-directory -s demo 3>&-
        echo "$output"
        [ "$status" -ne 0 ]
        [[ $output == *"demo: a demo is already running from this checkout (its page: $URL/, pid "*"); stop it with Ctrl-C first"* ]]
        [[ $output != *"StreamPulse demo:"* ]]
    done
    [ "$(stat -c '%i %Y' "$state/nyc_one_day.csv")" = "$before" ]
    [ -S "$state/redis.sock" ]
    [ "$(curl -s "$URL/health" | jq -r .status)" = healthy ]
}

@test "make demo: ends by itself after DEMO_SECONDS, having said where to look, leaving nothing running" {
    demo_gone
    grep -q "$URL/" "$BATS_FILE_TMPDIR/demo.out"
    # Nothing it started is left (every process it starts holds its lock),
    # and no sanitizer complained.
    ! demo_running
    ! grep -i 'sanitizer' "$PROJECT_DIR/build/demo/pipeline.log"
}

@test "make demo: a port already taken is refused before anything starts" {
    demo_gone
    python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print(s.getsockname()[1], flush=True)
time.sleep(600)' >"$BATS_TEST_TMPDIR/port" 3>&- &
    holder=$!
    wait_for "[ -s '$BATS_TEST_TMPDIR/port' ]"
    taken=$(cat "$BATS_TEST_TMPDIR/port")
    run env DEMO_SECONDS=5 DEMO_PORT=$taken make -C "$PROJECT_DIR" --no-print-directory -s demo 3>&-
    kill "$holder"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ $output == *"demo: 127.0.0.1:$taken is already in use; stop what listens there or choose another port: make demo DEMO_PORT=8001"* ]]
    [[ $output != *"starting redis-server"* ]]
}

# holder NAME: the pid of the process of the demo whose program is NAME.
holder() {
    local pid
    for pid in $(lock_holders); do
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]; then echo "$pid"; fi
    done
}

@test "make demo KAFKA=1: Ctrl-C stops the pipelines before the broker, so the consumer leaves its group" {
    demo_gone
    port=$(free_port)
    # A job of its own (job control on), as a terminal runs a command:
    # Ctrl-C is SIGINT to the job's whole process group.
    set -m
    KAFKA=1 DEMO_PORT=$port make -C "$PROJECT_DIR" --no-print-directory -s demo \
        >"$BATS_TEST_TMPDIR/kafka.out" 2>&1 3>&- &
    leader=$!
    set +m
    wait_for "curl -sf '127.0.0.1:$port/metrics/regions/top' | jq -e '.regions | length > 0' >/dev/null" 60
    curl -s "127.0.0.1:$port/metrics/regions/top" | jq -e '.regions | length > 0'
    wait_for "broker=\$(holder sp-kafka-mock) && [ -n \"\$broker\" ]"
    wait_for "consumer=\$(holder sp-kcat-in) && [ -n \"\$consumer\" ]"
    kill -INT -- "-$leader"
    # The consumer leaves its group and ends while the broker still runs.
    # Watched without a pause: the demo stops the broker moments after the
    # pipelines have ended, well within one 50 ms step of wait_for.
    run timeout 60 bash -c "while kill -0 $consumer 2>/dev/null; do :; done
        kill -0 $broker 2>/dev/null && echo 'broker running' || echo 'broker gone'"
    [ "$output" = "broker running" ]
    wait_for "! demo_running" 60 || true
    cat "$BATS_TEST_TMPDIR/kafka.out"
    ! demo_running
    log=$PROJECT_DIR/build/demo/pipeline.log
    ! grep -q 'could not leave the consumer group' "$log"
    ! grep -qi 'sanitizer' "$log"
}
