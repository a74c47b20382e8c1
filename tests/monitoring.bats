#!/usr/bin/env bats
# monitoring/: Prometheus config and rules checked and unit-tested by promtool,
# Alertmanager config by amtool, the Grafana dashboards by jq and promtool.
# promtool is in the Debian package prometheus (make deps installs it); amtool
# (prometheus-alertmanager) is optional and its tests skip without it.

load helpers/common

MON=$PROJECT_DIR/monitoring
RULES=$MON/rules/streampulse.rules.yml
RULES_TEST=$MON/rules/streampulse.rules.test.yml
DASHBOARDS=$MON/grafana/dashboards

setup() {
    command -v promtool >/dev/null || fail_missing promtool
}

fail_missing() {
    echo "$1 is missing: install the Debian package prometheus (make deps)" >&2
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
    command -v amtool >/dev/null || skip "amtool not installed (Debian package prometheus-alertmanager)"
    run amtool check-config "$MON/alertmanager.yml"
    echo "$output"
    [ "$status" -eq 0 ]
}

@test "alertmanager routes critical alerts to oncall and the rest to team" {
    command -v amtool >/dev/null || skip "amtool not installed (Debian package prometheus-alertmanager)"
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
