#!/usr/bin/env bats
# sp-serve against a private redis-server filled by sp-redis-sink: every
# endpoint compared with what redis-cli reads and with jq over the input,
# bad requests, /metrics, and Redis going away and coming back.

load helpers/common
load helpers/redis
bats_require_minimum_version 1.5.0

setup_file() {
    redis_start
    export RESULTS=$BATS_FILE_TMPDIR/results.ndjson
    gen_results 5 90 >"$RESULTS"              # minutes 0-89, final
    gen_results 5 1 90 false >>"$RESULTS"     # minute 90, provisional
    sp-redis-sink --url "$REDIS_URL" <"$RESULTS"
    export PROM_DIR=$BATS_FILE_TMPDIR/prom
    mkdir -p "$PROM_DIR"
    printf 'sp_events_in_total{tool="sp-window"} 4242\n' >"$PROM_DIR/window.prom"
    printf 'ignored 1\n' >"$PROM_DIR/notes.txt"
    serve_start --threads 2 --metrics-dir "$PROM_DIR"
    export SERVE_PID
}

teardown_file() {
    serve_stop
    redis_stop
}

# get PATH: body in $body, status in $code (curl sends the path as is).
get() {
    local out
    out=$(curl -s --path-as-is -w '\n%{http_code}' "$@")
    code=${out##*$'\n'}
    body=${out%$'\n'*}
}

# The input's line for region R and window start TIME (as written there).
input_result() {
    grep "^{\"regionId\":$1,\"windowStart\":\"$2\"" "$RESULTS"
}

@test "sp-serve: --help, --version, bad usage" {
    run sp-serve --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"--metrics-dir"* ]]
    run sp-serve --version
    [ "$output" = "sp-serve 0.1.0" ]
    run sp-serve --threads 0
    [ "$status" -eq 64 ]
    run sp-serve --listen nowhere
    [ "$status" -eq 64 ]
    run sp-serve extra-argument
    [ "$status" -eq 64 ]
}

# (timeout: a server that takes a bad option serves until it is stopped)
@test "sp-serve: a port outside 0-65535 is bad usage, not another port" {
    run --separate-stderr timeout 10 sp-serve --listen 127.0.0.1:99999
    [ "$status" -eq 64 ]
    [[ "${stderr_lines[0]}" == "sp-serve: --listen port 99999: "* ]]
    run --separate-stderr timeout 10 sp-serve --listen 127.0.0.1:-1
    [ "$status" -eq 64 ]
}

@test "sp-serve: a busy address is refused with the system's reason" {
    run --separate-stderr timeout 10 sp-serve --listen "127.0.0.1:$SERVE_PORT" --url "$REDIS_URL"
    [ "$status" -eq 69 ]
    [ "${stderr_lines[0]}" = "sp-serve: cannot listen on 127.0.0.1:$SERVE_PORT: Address already in use" ]
}

@test "sp-serve: --rank takes metric names only, as sp-redis-sink; --timeout takes durations" {
    for bad in 'trip count' '' 'a*' "$(printf 'x%.0s' $(seq 64))"; do
        run --separate-stderr timeout 10 sp-serve --rank "$bad"
        [ "$status" -eq 64 ] || { echo "--rank '$bad': $status"; false; }
        run --separate-stderr sp-redis-sink --rank "$bad"
        [ "$status" -eq 64 ] || { echo "sp-redis-sink --rank '$bad': $status"; false; }
    done
    for bad in 0 0s 2d nope; do
        run --separate-stderr timeout 10 sp-serve --timeout "$bad"
        [ "$status" -eq 64 ] || { echo "--timeout $bad: $status"; false; }
    done
    # a duration as every other program takes it, and a bare number is seconds
    local port
    for timeout in 2s 1m 45; do
        port=$(free_port)
        sp-serve -q --listen "127.0.0.1:$port" --url "$REDIS_URL" --timeout "$timeout" 3>&- &
        local pid=$!
        wait_for "curl -sf -o /dev/null http://127.0.0.1:$port/health"
        kill -TERM "$pid"
        wait "$pid"
    done
}

@test "sp-serve: GET /health is healthy with the v1 shape" {
    get "$SERVE_URL/health"
    [ "$code" = 200 ]
    jq -e '.status == "healthy" and .services.redis == "connected"
           and .services.kafka == "not_configured" and .services.api == "running"
           and (.services.response_time_ms | test("^[0-9]+$"))
           and (.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"))' <<<"$body"
}

@test "sp-serve: /metrics/region/{id} is the newest window, as redis-cli and the input say" {
    for r in 1 2 3 4 5; do
        get "$SERVE_URL/metrics/region/$r"
        [ "$code" = 200 ]
        newest=$(rcli zrevrange "region:$r:windows" 0 0)
        [ "$body" = "$(rcli get "region:$r:window:$newest")" ]
        [ "$body" = "$(grep "^{\"regionId\":$r," "$RESULTS" | tail -n 1)" ]
    done
    get "$SERVE_URL/metrics/region/77"
    [ "$code" = 404 ]
    jq -e '.detail | length > 0' <<<"$body"
}

@test "sp-serve: /metrics/region/{id}?at= finds the window holding the time" {
    start=$(date -u -d 2025-08-31T08:37:00Z +%s)
    want=$(input_result 3 2025-08-31T08:37:00Z)
    [ -n "$want" ]
    get "$SERVE_URL/metrics/region/3?at=2025-08-31T08:37:59.5Z"
    [ "$code" = 200 ] && [ "$body" = "$want" ]
    get "$SERVE_URL/metrics/region/3?at=$((start + 30))"
    [ "$code" = 200 ] && [ "$body" = "$want" ]
    get "$SERVE_URL/metrics/region/3?at=2025-08-31T10:37:00%2B02:00"
    [ "$code" = 200 ] && [ "$body" = "$want" ]
    get "$SERVE_URL/metrics/region/3?at=$start&window=1m"
    [ "$code" = 200 ] && [ "$body" = "$want" ]
    get "$SERVE_URL/metrics/region/3?at=2025-08-31T07:59:59Z"
    [ "$code" = 404 ]
    get "$SERVE_URL/metrics/region/3?at=2025-08-31T12:00:00Z"
    [ "$code" = 404 ]
    get "$SERVE_URL/metrics/region/3?window=5m"
    [ "$code" = 404 ]
    jq -e '.detail' <<<"$body"
}

@test "sp-serve: /metrics/timeline/{id}?hours= counts back from the newest window" {
    get "$SERVE_URL/metrics/timeline/2"
    [ "$code" = 200 ]
    [ "$(jq -r .regionId <<<"$body")" = 2 ]
    diff <(jq -c '.windows[]' <<<"$body") \
         <(jq -c 'select(.regionId == 2)' "$RESULTS" | tail -n 60)
    get "$SERVE_URL/metrics/timeline/2?hours=0.5"
    diff <(jq -c '.windows[]' <<<"$body") \
         <(jq -c 'select(.regionId == 2)' "$RESULTS" | tail -n 30)
    get "$SERVE_URL/metrics/timeline/2?hours=24"
    [ "$(jq '.windows | length' <<<"$body")" -eq 91 ]
    get "$SERVE_URL/metrics/timeline/66"
    [ "$code" = 200 ] && [ "$body" = '{"regionId":66,"windows":[]}' ]
}

@test "sp-serve: /metrics/timeline/{id}?from=&to= in time order" {
    from=$(date -u -d 2025-08-31T08:10:00Z +%s) to=$(date -u -d 2025-08-31T08:19:00Z +%s)
    want=$(jq -c --argjson f "$from" --argjson t "$to" \
        'select(.regionId == 4 and (.windowStart | fromdate) >= $f and (.windowStart | fromdate) <= $t)' \
        "$RESULTS")
    get "$SERVE_URL/metrics/timeline/4?from=2025-08-31T08:10:00Z&to=2025-08-31T08:19:00Z"
    [ "$code" = 200 ]
    [ "$(jq -c '.windows[]' <<<"$body")" = "$want" ]
    [ "$(jq '.windows | length' <<<"$body")" -eq 10 ]
    get "$SERVE_URL/metrics/timeline/4?from=$from&to=$to"
    [ "$(jq -c '.windows[]' <<<"$body")" = "$want" ]
    # the same as the index read directly
    [ "$(jq -c '[.windows[].windowStart | fromdate]' <<<"$body")" = \
      "$(rcli zrangebyscore region:4:windows "$from" "$to" | jq -cs .)" ]
}

@test "sp-serve: /metrics/regions/top ranks the newest final window" {
    latest=$(rcli get sp:latest_window)
    [ "$latest" = "$(date -u -d 2025-08-31T09:29:00Z +%s)" ]   # minute 89; 90 is provisional
    get "$SERVE_URL/metrics/regions/top"
    [ "$code" = 200 ]
    [ "$(jq -r .windowStart <<<"$body")" = 2025-08-31T09:29:00Z ]
    [ "$(jq -r .metric <<<"$body")" = tripCount ]
    # as redis-cli reads the rank, and as jq computes it from the input
    [ "$(jq -c '[.regions[] | [.regionId, .value]]' <<<"$body")" = \
      "$(rcli zrevrange "window:$latest:rank:tripCount" 0 9 withscores | paste - - | jq -Rcs 'split("\n")[:-1] | map(split("\t") | map(tonumber))')" ]
    [ "$(jq -c '[.regions[] | [.regionId, .value]] | sort' <<<"$body")" = \
      "$(jq -cs --argjson s "$latest" '[.[] | select((.windowStart | fromdate) == $s) | [.regionId, .tripCount]] | sort' "$RESULTS")" ]
    jq -e '[.regions[].value] | . == (sort | reverse)' <<<"$body"

    get "$SERVE_URL/metrics/regions/top?metric=avgFare&limit=2"
    [ "$code" = 200 ]
    [ "$(jq -c '[.regions[].value]' <<<"$body")" = \
      "$(jq -cs --argjson s "$latest" '[.[] | select((.windowStart | fromdate) == $s) | .avgFare] | sort | reverse | .[:2]' "$RESULTS")" ]
}

@test "sp-serve: /metrics/regions/top?at= ranks the window holding the time" {
    get "$SERVE_URL/metrics/regions/top?at=2025-08-31T08:05:10Z&limit=5"
    [ "$code" = 200 ]
    [ "$(jq -r .windowStart <<<"$body")" = 2025-08-31T08:05:00Z ]
    start=$(date -u -d 2025-08-31T08:05:00Z +%s)
    [ "$(jq -c '[.regions[] | [.regionId, .value]] | sort' <<<"$body")" = \
      "$(jq -cs --argjson s "$start" '[.[] | select((.windowStart | fromdate) == $s) | [.regionId, .tripCount]] | sort' "$RESULTS")" ]
    get "$SERVE_URL/metrics/regions/top?at=2025-08-30T00:00:00Z"
    [ "$code" = 404 ]
}

@test "sp-serve: /metrics/regions/top without ?metric= ranks by the first --rank; an unranked metric names the ranked ones" {
    # A pipeline that ranks only maxFare, into database 1 of the same server.
    url=${REDIS_URL%/0}/1
    sp-replay -q --sort "$SP_EXAMPLES/streampulse_sample_trips.csv" | sp-validate -q |
        sp-window -q --agg tripCount=count --agg maxFare=max:fare | tee "$BATS_TEST_TMPDIR/results" |
        sp-redis-sink -q --url "$url" --rank maxFare
    port=$(free_port)
    sp-serve --listen "127.0.0.1:$port" --url "$url" --rank maxFare >"$BATS_TEST_TMPDIR/serve.log" 2>&1 3>&- &
    pid=$!
    for _ in $(seq 200); do curl -s -o /dev/null "127.0.0.1:$port/health" && break; sleep 0.05; done
    get "127.0.0.1:$port/metrics/regions/top"
    echo "$body"
    [ "$code" = 200 ]
    [ "$(jq -r .metric <<<"$body")" = maxFare ]
    # the newest window's highest fares, as jq reads them from the results
    start=$(jq -r .windowStart <<<"$body")
    [ "$(jq -c '[.regions[].value]' <<<"$body")" = \
      "$(jq -cs --arg s "$start" '[.[] | select(.windowStart == $s and .final) | .maxFare] | sort | reverse | .[:10]' "$BATS_TEST_TMPDIR/results")" ]
    get "127.0.0.1:$port/metrics/regions/top?metric=tripCount"
    [ "$code" = 400 ]
    [ "$(jq -r .detail <<<"$body")" = "unknown metric 'tripCount': ranked are maxFare (sp-serve --rank)" ]
    kill -TERM "$pid"
    wait "$pid"
}

@test "sp-serve: bad requests get the right status and a JSON detail" {
    # just over API_TARGET_MAX (8192): the API's own 414
    huge=$(head -c 9000 /dev/zero | tr '\0' a)
    while read -r want path; do
        get "$SERVE_URL$path"
        echo "$path -> $code $body"
        [ "$code" = "$want" ]
        jq -e '.detail | type == "string" and length > 0' <<<"$body"
    done <<EOF
400 /metrics/region/abc
400 /metrics/region/-1
400 /metrics/region/99999999999999999999999
400 /metrics/region/1%00
400 /metrics/timeline/1.5
400 /metrics/region/1?at=yesterday
400 /metrics/region/1?at=2025-13-01T00:00:00Z
400 /metrics/region/1?window=forever
400 /metrics/timeline/1?from=2025-08-31T09:00:00Z&to=2025-08-31T08:00:00Z
400 /metrics/timeline/1?hours=0
400 /metrics/timeline/1?hours=-3
400 /metrics/timeline/1?hours=lots
400 /metrics/timeline/1?hours=1&from=0
400 /metrics/regions/top?metric=fareStddev
400 /metrics/regions/top?limit=0
400 /metrics/regions/top?limit=1000000000
400 /metrics/regions/top?limit=ten
400 /metrics/region/1?at=%zz
400 /metrics/region/1?at=1%002
404 /index.html
404 /metrics/region
404 /metrics/region/
404 /metrics/region/1/extra
404 /metrics/../health
404 /metrics/region/../region/1
404 /health%00
404 /metrics%2Fregion%2F1
404 /etc/passwd
414 /metrics/region/1?x=$huge
EOF
}

@test "sp-serve: a request larger than its connection memory gets 414 or 431, and the server goes on" {
    huge=$(head -c 100000 /dev/zero | tr '\0' a)
    get "$SERVE_URL/metrics/region/1?x=$huge"
    [ "$code" = 414 ] || [ "$code" = 431 ]
    get "$SERVE_URL/health"
    [ "$code" = 200 ]
}

@test "sp-serve: other methods get 405 with an Allow header" {
    for method in POST DELETE PUT PATCH; do
        out=$(curl -s -i -X "$method" -d '{"x":1}' "$SERVE_URL/metrics/region/1")
        [[ "$out" == "HTTP/1.1 405"* ]]
        grep -qi '^Allow: GET, HEAD' <<<"$out"
        jq -e .detail <<<"${out##*$'\r\n\r\n'}"
    done
}

@test "sp-serve: garbage on the socket never brings it down" {
    python3 - "$SERVE_PORT" <<'PY'
import random, socket, sys
from concurrent.futures import ThreadPoolExecutor
port = int(sys.argv[1])
rnd = random.Random(7)
payloads = [b"\x00\xff" * 50, b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: " + b"b" * 300000 + b"\r\n\r\n",
            b"GET /metrics/region/1 HTTP/1.1\r\nContent-Length: -5\r\n\r\n", b"\r\n" * 100]
payloads += [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 400))) for _ in range(150)]

def send(p):
    # a request the server cannot complete waits for its connection timeout;
    # the client gives up after 2 s (all of them at once), the server must not
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    try:
        s.sendall(p)
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()

with ThreadPoolExecutor(max_workers=64) as pool:
    list(pool.map(send, payloads))
PY
    get "$SERVE_URL/health"
    [ "$code" = 200 ]
}

@test "sp-serve: /metrics has counts and latency per route template, and --metrics-dir files" {
    get "$SERVE_URL/metrics/region/1"
    get "$SERVE_URL/metrics/region/2"
    get "$SERVE_URL/metrics"
    [ "$code" = 200 ]
    n=$(sed -n 's/^sp_http_requests_total{route="\/metrics\/region\/{id}",status="200"} //p' <<<"$body")
    [ "$n" -ge 2 ]
    grep -q '^sp_http_requests_total{route="/metrics/region/{id}",status="400"} [1-9]' <<<"$body"
    grep -q '^sp_http_request_duration_seconds_bucket{route="/metrics/region/{id}",le="0.0005"} ' <<<"$body"
    grep -q '^sp_http_request_duration_seconds_bucket{route="/metrics/region/{id}",le="+Inf"} ' <<<"$body"
    grep -q '^sp_http_request_duration_seconds_count{route="/metrics/region/{id}"} ' <<<"$body"
    grep -q '^sp_redis_errors_total{tool="sp-serve"} ' <<<"$body"
    grep -qx 'sp_events_in_total{file="window.prom",tool="sp-window"} 4242' <<<"$body"
    ! grep -q 'ignored' <<<"$body"
    # never a raw path as a label
    ! grep -q 'route="/metrics/region/[0-9]' <<<"$body"
    # the +Inf bucket equals the count
    inf=$(sed -n 's/^sp_http_request_duration_seconds_bucket{route="\/health",le="+Inf"} //p' <<<"$body")
    cnt=$(sed -n 's/^sp_http_request_duration_seconds_count{route="\/health"} //p' <<<"$body")
    [ -n "$inf" ] && [ "$inf" = "$cnt" ]
}

# Real metrics files: two sp-validate runs (one tool twice on one machine)
# and a pipeline's sp-window and sp-redis-sink, whose sp_redis_errors_total
# family sp-serve also writes. Pasted together they are not a valid
# exposition (promtool says so: the check can fail); /metrics is, and every
# sample of every file is in it, told apart by its file label.
@test "sp-serve: /metrics merges real metrics files of one tool into one exposition promtool accepts" {
    command -v promtool >/dev/null || skip "promtool not installed (Debian package prometheus)"
    local dir=$BATS_TEST_TMPDIR/prom port pid
    mkdir -p "$dir"
    sp-replay -q --speed max --sort "$SP_EXAMPLES/streampulse_sample_trips.csv" >"$BATS_TEST_TMPDIR/ev"
    sp-validate -q --dlq /dev/null --metrics-file "$dir/validate-a.prom" <"$BATS_TEST_TMPDIR/ev" >/dev/null
    head -n 100 "$BATS_TEST_TMPDIR/ev" |
        sp-validate -q --dlq /dev/null --metrics-file "$dir/validate-b.prom" |
        sp-window -q --metrics-file "$dir/window.prom" |
        sp-redis-sink -q --url "$REDIS_URL" --metrics-file "$dir/sink.prom"
    run promtool check metrics < <(cat "$dir"/*.prom)
    [ "$status" -ne 0 ]
    port=$(free_port)
    sp-serve -q --listen "127.0.0.1:$port" --url "$REDIS_URL" --threads 1 --metrics-dir "$dir" 3>&- &
    pid=$!
    wait_for "curl -sf -o /dev/null http://127.0.0.1:$port/health"
    get "http://127.0.0.1:$port/metrics"
    kill -TERM "$pid"
    wait "$pid"
    [ "$code" = 200 ]
    run promtool check metrics <<<"$body"
    echo "$output"
    [ "$status" -eq 0 ]
    # every sample of every file, with file="<name>" added to its labels
    printf '%s\n' "$body" >"$BATS_TEST_TMPDIR/served.txt"
    python3 - "$dir" "$BATS_TEST_TMPDIR/served.txt" <<'PY'
import os, re, sys
def samples(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ''))
            out[(m.group(1), labels)] = m.group(3)
    return out
served = samples(open(sys.argv[2]).read())
missing = []
for name in sorted(os.listdir(sys.argv[1])):
    for (metric, labels), value in samples(open(os.path.join(sys.argv[1], name)).read()).items():
        key = (metric, labels | {('file', name)})
        if served.get(key) != value:
            missing.append(f'{name}: {metric}{sorted(labels)} {value} -> {served.get(key)}')
print('\n'.join(missing))
sys.exit(1 if missing else 0)
PY
}

# The trip gauges over the file's Redis: the newest final window (minute 89;
# minute 90 is provisional) and a trip count for each of its regions, both
# read back with redis-cli. monitoring.bats compares every value.
@test "sp-serve: /metrics has the trip gauges of sp:latest_window" {
    get "$SERVE_URL/metrics"
    [ "$code" = 200 ]
    latest=$(rcli get sp:latest_window)
    grep -qx "sp_window_start_timestamp_seconds $latest" <<<"$body"
    [ "$(grep -c '^sp_window_trip_count{region_id=' <<<"$body")" -eq "$(rcli scard regions)" ]
    for r in $(rcli smembers regions); do
        want=$(rcli get "region:$r:window:$latest" | jq .tripCount)
        grep -qx "sp_window_trip_count{region_id=\"$r\"} $want" <<<"$body"
        [ "$(grep -c "^sp_window_duration_seconds{region_id=\"$r\"," <<<"$body")" -eq 3 ]
    done
}

@test "sp-serve: --kafka reports the cluster in /health; Kafka down is degraded, not unhealthy" {
    load helpers/kafka
    kafka_mock_start
    serve_start --kafka "$KAFKA_BROKERS" --metrics-file "$BATS_TEST_TMPDIR/serve.prom"
    get "$SERVE_URL/health"
    [ "$code" = 200 ]
    jq -e '.status == "healthy" and .services.kafka == "connected"' <<<"$body"
    kafka_mock_down
    wait_for 'get "$SERVE_URL/health"; jq -e ".services.kafka == \"error\"" <<<"$body" >/dev/null'
    [ "$code" = 200 ]
    jq -e '.status == "degraded" and .services.kafka == "error" and .services.redis == "connected"' <<<"$body"
    serve_stop
    kafka_mock_stop
    grep -q '^sp_http_requests_total{route="/health",status="200"} [1-9]' "$BATS_TEST_TMPDIR/serve.prom"
}

@test "sp-serve: Redis down gives 503, and it recovers by itself" {
    redis_stop
    get "$SERVE_URL/health"
    [ "$code" = 503 ]
    jq -e '.status == "unhealthy" and (.services.redis == "disconnected" or .services.redis == "error")' <<<"$body"
    get "$SERVE_URL/metrics/region/1"
    [ "$code" = 503 ]
    jq -e .detail <<<"$body"
    # a scrape still answers, without the trip gauges
    get "$SERVE_URL/metrics"
    [ "$code" = 200 ]
    grep -q '^sp_http_requests_total{' <<<"$body"
    ! grep -q '^sp_window_' <<<"$body"
    _redis_launch
    wait_for 'get "$SERVE_URL/health"; [ "$code" = 200 ]'
    jq -e '.status == "healthy"' <<<"$body"
    # the restarted Redis is empty (shutdown nosave): nothing found, and no
    # request fails on a worker whose connection died with the old server
    for i in $(seq 10); do
        get "$SERVE_URL/metrics/region/1"
        [ "$code" = 404 ]
    done
    get "$SERVE_URL/metrics"
    errors=$(sed -n 's/^sp_redis_errors_total{tool="sp-serve"} //p' <<<"$body")
    [ "$errors" -ge 1 ]
}
