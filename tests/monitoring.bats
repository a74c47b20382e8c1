#!/usr/bin/env bats
# monitoring/: Prometheus config and rules checked and unit-tested by promtool,
# Alertmanager config by amtool, the Grafana dashboards by jq and promtool,
# monitoring/README.md against what the programs write. promtool and amtool
# are in the Debian packages prometheus and prometheus-alertmanager, which
# make deps installs: without them these tests fail, they do not skip.

load helpers/common

MON=$PROJECT_DIR/monitoring
RULES=$MON/rules/streampulse.rules.yml
RULES_TEST=$MON/rules/streampulse.rules.test.yml
DASHBOARDS=$MON/grafana/dashboards

setup() {
    command -v promtool >/dev/null || fail_missing promtool
}

# fail_missing PROGRAM [PACKAGE]: fail, naming the Debian package to install.
fail_missing() {
    echo "$1 is missing: install the Debian package ${2:-prometheus} (make deps)" >&2
    return 1
}

# The metric names monitoring/README.md's table documents: the allowlist every
# expression is checked against.
documented_metrics() {
    sed -n 's/^| `\([A-Za-z_:][A-Za-z0-9_:]*\)` |.*/\1/p' "$MON/README.md" | sort -u
}

# Every PromQL expression of the panels of the dashboards given (default: all),
# one per line.
dashboard_exprs() {
    [ "$#" -gt 0 ] || set -- "$DASHBOARDS"/*.json
    jq -r '.panels[].targets[].expr' "$@"
}

# Every expression of the rules file, one per line: a one-line `expr: X`, or
# an `expr: |` block (its indented lines joined).
rule_exprs() {
    awk '
        /^ *expr: *\|/ { inexpr = 1; indent = -1; line = ""; next }
        /^ *expr: /    { sub(/^ *expr: */, ""); print; next }
        inexpr {
            match($0, /^ */)
            if (indent < 0) indent = RLENGTH
            if (RLENGTH < indent || $0 ~ /^ *$/) { print line; inexpr = 0 }
            else { line = line " " substr($0, indent + 1); next }
        }
        END { if (inexpr) print line }
    ' "$RULES"
}

# Metric names an expression refers to: identifiers of the families this
# project, Prometheus and redis_exporter own. A histogram's _bucket/_sum/
# _count series map to the family name.
metric_names_in() {
    grep -oE '\b(sp_[a-z0-9_]+|redis_[a-z0-9_]+|up|ALERTS)\b' |
        sed -E 's/^(sp_[a-z0-9_]+_seconds)_(bucket|sum|count)$/\1/' | sort -u
}

@test "promtool check config accepts prometheus.yml and finds its rule file" {
    run promtool check config "$MON/prometheus.yml"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"SUCCESS: 1 rule files found"* ]]
}

@test "prometheus.yml scrapes sp-serve and redis_exporter and alerts to :9093" {
    grep -q '"127.0.0.1:8000"' "$MON/prometheus.yml"
    grep -q 'metrics_path: /metrics' "$MON/prometheus.yml"
    grep -q '"127.0.0.1:9121"' "$MON/prometheus.yml"
    grep -q '"127.0.0.1:9093"' "$MON/prometheus.yml"
}

@test "promtool check rules accepts the alert rules" {
    run promtool check rules "$RULES"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "promtool test rules: every alert case passes" {
    run promtool test rules "$RULES_TEST"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *SUCCESS* ]]
}

@test "every alert is tested firing and tested silent, and has severity, summary and description" {
    python3 - "$RULES" "$RULES_TEST" <<'EOF'
import re, sys
rules, tests = open(sys.argv[1]).read(), open(sys.argv[2]).read()
alerts = re.findall(r'^\s*- alert: (\S+)', rules, re.M)
assert len(alerts) >= 8, alerts
bad = []
for block in re.split(r'^\s*- alert: ', rules, flags=re.M)[1:]:
    name = block.split()[0]
    for needed in (r'severity: (critical|warning)\b', r'\bsummary: ', r'\bdescription: '):
        if not re.search(needed, block):
            bad.append(f'{name}: no {needed}')
# A case is "alertname: X" followed by its exp_alerts: "[]" is silence, a
# list with exp_labels is firing.
cases = re.findall(r'alertname: (\S+)\s*\n\s*exp_alerts:\s*(\[\]|\n\s*- exp_labels)', tests)
for name in alerts:
    kinds = {'silent' if k == '[]' else 'firing' for n, k in cases if n == name}
    for kind in ('firing', 'silent'):
        if kind not in kinds:
            bad.append(f'{name}: no {kind} case')
unknown = {n for n, _ in cases} - set(alerts)
if unknown:
    bad.append(f'tests name alerts that do not exist: {sorted(unknown)}')
print('\n'.join(bad))
sys.exit(1 if bad else 0)
EOF
}

@test "the rule tests fail when a threshold is wrong (they can fail)" {
    scratch=$(mktemp -d)
    cp "$RULES_TEST" "$scratch/"
    # Halve the DLQ bound: the healthy 4 % case must now fire and the test fail.
    sed 's/^\( *\)> 0.05$/\1> 0.02/' "$RULES" >"$scratch/streampulse.rules.yml"
    ! cmp -s "$RULES" "$scratch/streampulse.rules.yml"
    run promtool test rules "$scratch/streampulse.rules.test.yml"
    rm -rf "$scratch"
    [ "$status" -ne 0 ]
}

@test "rule expressions use only documented metric names" {
    names=$(rule_exprs | metric_names_in)
    [ -n "$names" ]
    undocumented=$(comm -23 <(echo "$names") <(documented_metrics))
    echo "not in monitoring/README.md: $undocumented"
    [ -z "$undocumented" ]
}

@test "amtool check-config accepts alertmanager.yml" {
    command -v amtool >/dev/null || fail_missing amtool prometheus-alertmanager
    run amtool check-config "$MON/alertmanager.yml"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "alertmanager routes critical alerts to oncall and the rest to team" {
    command -v amtool >/dev/null || fail_missing amtool prometheus-alertmanager
    run amtool config routes test --config.file="$MON/alertmanager.yml" severity=critical alertname=StreamPulseAPIDown
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = oncall ]
    run amtool config routes test --config.file="$MON/alertmanager.yml" severity=warning alertname=StreamPulseDLQRateHigh
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = team ]
}

@test "alertmanager receivers are webhooks on localhost (work offline)" {
    urls=$(sed -n 's/^ *- url: *//p' "$MON/alertmanager.yml")
    [ -n "$urls" ]
    ! grep -v '^http://127\.0\.0\.1:' <<<"$urls"
}

@test "every dashboard is valid JSON with a unique uid and unique panel ids" {
    n=0
    for d in "$DASHBOARDS"/*.json; do
        jq -e '.uid and .title and (.panels | length > 0)' "$d" >/dev/null
        jq -e '[.panels[].id] | length == (unique | length)' "$d" >/dev/null
        n=$((n + 1))
    done
    [ "$n" -ge 2 ]
    [ "$(jq -r .uid "$DASHBOARDS"/*.json | sort | uniq -d)" = "" ]
}

@test "every panel has targets with an expression on the provisioned datasource" {
    uid=$(sed -n 's/^ *uid: *//p' "$MON/grafana/provisioning/datasources/streampulse.yml")
    [ -n "$uid" ]
    for d in "$DASHBOARDS"/*.json; do
        jq -e --arg uid "$uid" 'all(.panels[];
            (.targets | length > 0)
            and all(.targets[]; (.expr | length > 0) and .datasource.uid == $uid)
            and .datasource.uid == $uid)' "$d" >/dev/null || {
            echo "$d: a panel without targets, an empty expr or another datasource"
            return 1
        }
    done
}

@test "every panel expression is valid PromQL (promtool parses it as a recording rule)" {
    scratch=$(mktemp -d)
    {
        echo "groups:"
        echo "  - name: dashboards"
        echo "    rules:"
        # Grafana's variables become what they stand for at query time.
        dashboard_exprs | sed -e 's/\$__rate_interval/1m/g' -e 's/\$region/.*/g' |
            jq -Rn '[inputs] | to_entries[] | {record: "dashboard:expr_\(.key)", expr: .value}' -c |
            sed 's/^/      - /'
    } >"$scratch/dash.rules.yml"
    run promtool check rules "$scratch/dash.rules.yml"
    echo "$output"
    rm -rf "$scratch"
    [ "$status" -eq 0 ]
    [[ "$output" == *"SUCCESS: $(dashboard_exprs | wc -l) rules found"* ]]
}

@test "every Grafana variable a panel uses is defined by its dashboard or built in" {
    for d in "$DASHBOARDS"/*.json; do
        used=$(dashboard_exprs "$d" | grep -oE '\$[A-Za-z_]+' | tr -d '$' | sort -u)
        defined=$(jq -r '.templating.list[].name' "$d"; printf '%s\n' __rate_interval __interval __range)
        undefined=$(comm -23 <(echo "$used" | sed '/^$/d') <(echo "$defined" | sort -u))
        [ -z "$undefined" ] || { echo "${d##*/}: undefined variables: $undefined"; return 1; }
    done
}

@test "dashboard expressions use only documented metric names" {
    names=$(dashboard_exprs | metric_names_in)
    [ -n "$names" ]
    undocumented=$(comm -23 <(echo "$names") <(documented_metrics))
    echo "not in monitoring/README.md: $undocumented"
    [ -z "$undocumented" ]
}

@test "the Trips dashboard plots trips per region, fares and duration percentiles" {
    trips=$(dashboard_exprs "$DASHBOARDS/streampulse-trips.json")
    grep -q 'sp_window_trip_count' <<<"$trips"
    grep -q 'sp_window_avg_fare' <<<"$trips"
    for q in 0.5 0.95 0.99; do
        grep -q "sp_window_duration_seconds{quantile=\"$q\"" <<<"$trips"
    done
}

@test "the Pipeline health dashboard covers every pipeline metric" {
    health=$(dashboard_exprs "$DASHBOARDS/streampulse-pipeline-health.json")
    for m in sp_events_in_total sp_events_out_total sp_dlq_total sp_late_events_total \
        sp_watermark_lag_seconds sp_checkpoint_age_seconds sp_open_windows \
        sp_redis_errors_total sp_redis_retries_total sp_kafka_consumer_lag \
        sp_kafka_delivery_errors_total sp_http_requests_total \
        sp_http_request_duration_seconds_bucket; do
        grep -q "$m" <<<"$health" || { echo "no panel uses $m"; return 1; }
    done
}

@test "the dashboards provider loads the directory the JSON files are in" {
    prov=$MON/grafana/provisioning/dashboards/streampulse.yml
    grep -q 'type: file' "$prov"
    grep -q 'path: \$STREAMPULSE_DASHBOARDS' "$prov"
    grep -q 'STREAMPULSE_DASHBOARDS=.*monitoring/grafana/dashboards' "$MON/README.md"
}

# The programs really write what the rules watch: run the first two stages on
# real data with --metrics-file; promtool lints each file, and the event
# counters the stalled-pipeline and DLQ alerts divide by are there, labelled
# with the tool. Skips while those programs are not built.
@test "metrics files sp-replay and sp-validate write are valid and carry the event counters" {
    [ -x "$SP_BIN/sp-replay" ] && [ -x "$SP_BIN/sp-validate" ] ||
        skip "sp-replay and sp-validate are not built in $SP_BIN"
    scratch=$(mktemp -d)
    "$SP_BIN/sp-replay" -q --speed max --limit 2000 --metrics-file "$scratch/replay.prom" \
        "$SP_EXAMPLES/streampulse_sample_trips.csv" |
        "$SP_BIN/sp-validate" -q --dlq /dev/null --metrics-file "$scratch/validate.prom" >/dev/null
    for tool in replay validate; do
        f=$scratch/$tool.prom
        run promtool check metrics <"$f"
        echo "$output"
        [ "$status" -eq 0 ] || { cat "$f"; rm -rf "$scratch"; return 1; }
        for m in sp_events_in_total sp_events_out_total; do
            grep -q "^$m{tool=\"sp-$tool\"} " "$f" || { cat "$f"; rm -rf "$scratch"; return 1; }
        done
    done
    rm -rf "$scratch"
}

# serve_pipeline: the bundled sample trips through sp-replay (events kept in
# $BATS_TEST_TMPDIR/events.ndjson), sp-validate, sp-window and sp-redis-sink
# into a private redis-server, each program writing its metrics file into
# $BATS_TEST_TMPDIR/metrics, and sp-serve started over both (SERVE_URL).
# Skips while a program is not built in $SP_BIN.
serve_pipeline() {
    for p in sp-replay sp-validate sp-window sp-redis-sink sp-serve; do
        [ -x "$SP_BIN/$p" ] || skip "$p is not built in $SP_BIN"
    done
    load helpers/redis
    redis_start
    metrics_dir=$BATS_TEST_TMPDIR/metrics
    mkdir -p "$metrics_dir"
    "$SP_BIN/sp-replay" -q --sort --metrics-file "$metrics_dir/replay.prom" \
        "$SP_EXAMPLES/streampulse_sample_trips.csv" >"$BATS_TEST_TMPDIR/events.ndjson"
    "$SP_BIN/sp-validate" -q --dlq /dev/null --metrics-file "$metrics_dir/validate.prom" \
        <"$BATS_TEST_TMPDIR/events.ndjson" |
        "$SP_BIN/sp-window" -q --late /dev/null --dlq /dev/null --metrics-file "$metrics_dir/window.prom" |
        "$SP_BIN/sp-redis-sink" -q --url "$REDIS_URL" --metrics-file "$metrics_dir/sink.prom"
    serve_start --metrics-dir "$metrics_dir"
}

# What sp-serve's GET /metrics carries with a pipeline's metrics files: valid
# for promtool's strict parser, and each family of the type the README's table
# gives (the programs' own # TYPE lines are the oracle).
@test "GET /metrics passes promtool check metrics and every family has the README's type" {
    serve_pipeline
    curl -sf "$SERVE_URL/metrics" >"$BATS_TEST_TMPDIR/metrics.txt"
    serve_stop
    redis_stop
    run promtool check metrics <"$BATS_TEST_TMPDIR/metrics.txt"
    echo "$output"
    [ "$status" -eq 0 ]
    documented=$(sed -n 's/^| `\(sp_[a-z0-9_]*\)` | \([a-z]*\) |.*/\1 \2/p' "$MON/README.md" | sort)
    served=$(sed -n 's/^# TYPE \(sp_[a-z0-9_]*\) \([a-z]*\)$/\1 \2/p' "$BATS_TEST_TMPDIR/metrics.txt" | sort -u)
    [ "$(wc -l <<<"$served")" -ge 15 ]
    echo "served, not as documented:"
    comm -23 <(echo "$served") <(echo "$documented") | tee "$BATS_TEST_TMPDIR/diff"
    [ ! -s "$BATS_TEST_TMPDIR/diff" ]
    # the file label, on samples from a file and on no other
    grep -q '^sp_events_in_total{file="validate.prom",tool="sp-validate"} ' "$BATS_TEST_TMPDIR/metrics.txt"
    ! grep -q '^sp_http_requests_total{file=' "$BATS_TEST_TMPDIR/metrics.txt"
}

@test "the docs a user reads cite no SPEC section: the repository's contract is streampulse(7)" {
    cd "$PROJECT_DIR"
    ! grep -n 'SPEC' README.md monitoring/README.md examples/README.md examples/systemd/* man/*
}

# The whole monitoring path, live: real programs write their metrics files,
# sp-serve serves them beside its own, a real Prometheus scrapes it with
# monitoring/prometheus.yml (ports and intervals changed, nothing else) and
# loads the alert rules. Skips while sp-serve or the pipeline programs are not
# built; needs redis-server and the prometheus binary (make deps).
@test "Prometheus scrapes the pipeline through sp-serve and evaluates every rule" {
    command -v prometheus >/dev/null || fail_missing prometheus
    serve_pipeline

    prom_port=$(free_port)
    sed -e "s/127.0.0.1:8000/127.0.0.1:$SERVE_PORT/" -e 's/_interval: 15s/_interval: 1s/' \
        -e "s|  - rules/streampulse.rules.yml|  - $RULES|" "$MON/prometheus.yml" \
        >"$BATS_TEST_TMPDIR/prometheus.yml"
    prometheus --config.file="$BATS_TEST_TMPDIR/prometheus.yml" \
        --storage.tsdb.path="$BATS_TEST_TMPDIR/tsdb" \
        --web.listen-address="127.0.0.1:$prom_port" --log.level=error \
        >"$BATS_TEST_TMPDIR/prometheus.log" 2>&1 3>&- &
    prom_pid=$!
    api=http://127.0.0.1:$prom_port/api/v1

    # scraped_and_evaluated: sp-validate's counter is scraped and every rule
    # evaluated (rules not evaluated yet carry the zero time, year 0001)
    scraped_and_evaluated() {
        validated=$(curl -s "$api/query" --data-urlencode 'query=sp_events_in_total{tool="sp-validate"}' |
            jq -r '.data.result[0].value[1] // empty' 2>/dev/null || true)
        pending=$(curl -s "$api/rules" |
            jq '[.data.groups[].rules[] | select(.lastEvaluation < "2000")] | length' 2>/dev/null || true)
        [ -n "$validated" ] && [ "${pending:-1}" -eq 0 ]
    }
    wait_for scraped_and_evaluated
    rules=$(curl -s "$api/rules")
    up=$(curl -s "$api/query" --data-urlencode 'query=up{job="streampulse"}' | jq -r '.data.result[0].value[1]')
    kill -TERM "$prom_pid"
    wait "$prom_pid" || true
    serve_stop
    redis_stop

    # sp-serve was scraped and carried sp-validate's file: the counter equals
    # the lines sp-validate was given (the independent count is wc -l).
    [ "$up" = 1 ]
    [ "$validated" = "$(count_lines "$BATS_TEST_TMPDIR/events.ndjson")" ]
    # Every alert rule was loaded and evaluates without error against the
    # real series.
    [ "$(jq '[.data.groups[].rules[]] | length' <<<"$rules")" -eq "$(grep -c -- '- alert:' "$RULES")" ]
    jq -r '.data.groups[].rules[] | "\(.name) \(.health) \(.lastError // "")"' <<<"$rules"
    [ "$(jq '[.data.groups[].rules[] | select(.health != "ok")] | length' <<<"$rules")" -eq 0 ]
}

# The trip gauges the Trips dashboard plots (monitoring/README.md says what
# sp-serve exports), compared with what redis-cli reads straight from the
# keys of streampulse(7)'s Redis layout.
@test "sp-serve's trip gauges match the newest final window in Redis" {
    serve_pipeline
    curl -s "$SERVE_URL/metrics" >"$BATS_TEST_TMPDIR/metrics.txt"
    serve_stop
    # The oracle: sp:latest_window, then each region's value key at it.
    latest=$(rcli get sp:latest_window)
    for r in $(rcli smembers regions); do
        printf '%s %s\n' "$r" "$(rcli get "region:$r:window:$latest")"
    done >"$BATS_TEST_TMPDIR/redis.txt"
    redis_stop
    [ -n "$latest" ]
    # sp-serve exports them: their absence is a regression, not a reason to skip
    grep -q '^sp_window_trip_count{' "$BATS_TEST_TMPDIR/metrics.txt"
    python3 - "$latest" "$BATS_TEST_TMPDIR/metrics.txt" "$BATS_TEST_TMPDIR/redis.txt" <<'PY'
import json, re, sys
latest, metrics_path, redis_path = sys.argv[1:]
samples = {}
for line in open(metrics_path):
    m = re.match(r'^(sp_window_[a-z_]+)(?:\{(.*)\})? (\S+)$', line)
    if m:
        labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2) or '')))
        samples[(m.group(1), labels)] = float(m.group(3))
expected = {('sp_window_start_timestamp_seconds', ()): float(latest)}
for line in open(redis_path):
    region, _, value = line.rstrip('\n').partition(' ')
    rid = (('region_id', region),)
    if not value:
        expected[('sp_window_trip_count', rid)] = 0.0
        continue
    w = json.loads(value)
    expected[('sp_window_trip_count', rid)] = float(w['tripCount'])
    expected[('sp_window_avg_fare', rid)] = float(w['avgFare'])
    expected[('sp_window_total_distance', rid)] = float(w['totalDistance'])
    for q, field in (('0.5', 'p50Duration'), ('0.95', 'p95Duration'), ('0.99', 'p99Duration')):
        expected[('sp_window_duration_seconds', tuple(sorted(rid + (('quantile', q),))))] = float(w[field])
bad = [f'{k}: expected {v}, got {samples.get(k)}' for k, v in expected.items()
       if k not in samples or abs(samples[k] - v) > 1e-6 * max(1.0, abs(v))]
bad += [f'{k}: not in Redis' for k in samples if k not in expected]
print('\n'.join(bad[:20]))
sys.exit(1 if bad else 0)
PY
}
