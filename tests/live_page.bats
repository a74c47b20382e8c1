#!/usr/bin/env bats
# The live page sp-serve answers GET / with, loaded in Debian's headless
# Chromium over a private redis-server that the real pipeline filled from the
# bundled NYC yellow-taxi sample of January 2019 (hourly windows). What the
# browser shows after the page's polling ran is compared with independent
# reads: the top-regions table with curl of the API the page polls, its
# fares with redis-cli over the stored results. The screenshot is kept in
# $BATS_TEST_TMPDIR and copied to build/live_page.png.

load helpers/common
load helpers/redis

CSV=$SP_EXAMPLES/yellow_tripdata_sample_2019-01.csv

setup_file() {
    redis_start
    sp-replay -q --speed max --sort "$CSV" |
        sp-validate -q --schema "$PROJECT_DIR/schemas/nyc_tlc.json" --dlq /dev/null |
        sp-window -q --size 1h --late /dev/null --dlq /dev/null |
        sp-redis-sink -q --url "$REDIS_URL"
    serve_start --threads 2
    export SERVE_PID
}

teardown_file() {
    serve_stop
    redis_stop
}

# chromium ARGS... URL: headless Debian Chromium with no network of its own
# (no updates, sync or QUIC), a fresh profile and HOME in the test's
# directory; stderr (D-Bus noise in a container) in $BATS_TEST_TMPDIR.
chromium_run() {
    local profile
    profile=$(mktemp -d "$BATS_TEST_TMPDIR/profile.XXXXXX")
    HOME=$BATS_TEST_TMPDIR timeout 90 chromium --headless --no-sandbox --disable-gpu \
        --disable-quic --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --user-data-dir="$profile" \
        "$@" 2>>"$BATS_TEST_TMPDIR/chromium.err"
}

# Skip, with the reason, when Chromium is missing or cannot run here.
require_chromium() {
    command -v chromium >/dev/null || skip "chromium is not installed (Debian package chromium)"
    local dom
    dom=$(chromium_run --dump-dom 'data:text/html,<p id="p"></p><script>p.textContent="ran"</script>' || true)
    [[ "$dom" == *'<p id="p">ran</p>'* ]] ||
        skip "chromium cannot run a page here: $(grep -v dbus "$BATS_TEST_TMPDIR/chromium.err" | tail -n 1)"
}

@test "live page: GET / and HEAD / answer the page as HTML; other methods 405; route \"/\" counted" {
    curl -s -D "$BATS_TEST_TMPDIR/get.h" -o "$BATS_TEST_TMPDIR/page.html" "$SERVE_URL/"
    grep -qi '^HTTP/1.1 200' "$BATS_TEST_TMPDIR/get.h"
    grep -qi '^Content-Type: text/html; charset=utf-8' "$BATS_TEST_TMPDIR/get.h"
    # the bytes of lib/live_page.html, as compiled in
    cmp "$BATS_TEST_TMPDIR/page.html" "$PROJECT_DIR/lib/live_page.html"
    curl -s -I -o "$BATS_TEST_TMPDIR/head.h" "$SERVE_URL/"
    grep -qi '^HTTP/1.1 200' "$BATS_TEST_TMPDIR/head.h"
    grep -qi '^Content-Type: text/html; charset=utf-8' "$BATS_TEST_TMPDIR/head.h"
    code=$(curl -s -o "$BATS_TEST_TMPDIR/post" -w '%{http_code}' -X POST "$SERVE_URL/")
    [ "$code" = 405 ]
    jq -e .detail "$BATS_TEST_TMPDIR/post"
    curl -s "$SERVE_URL/metrics" | grep -q '^sp_http_requests_total{route="/",status="200"} [2-9]'
}

@test "live page: refers to nothing outside its own origin" {
    curl -sf -o "$BATS_TEST_TMPDIR/page.html" "$SERVE_URL/"
    # no absolute URL anywhere, scripts and comments included
    ! grep -nEi 'https?:|wss?:|ftp:' "$BATS_TEST_TMPDIR/page.html"
    # every src, href, url(), @import and fetch() target is a path on the
    # same origin ("/…" but not "//host…") or a fragment
    python3 - "$BATS_TEST_TMPDIR/page.html" <<'PY'
import re, sys
html = open(sys.argv[1], encoding='utf-8').read()
targets = re.findall(r'''(?:src|href)\s*=\s*["']?([^"'\s>]*)''', html, re.I)
targets += re.findall(r'''url\(\s*["']?([^"')]*)''', html, re.I)
targets += re.findall(r'''@import\s+["']([^"']*)''', html, re.I)
targets += re.findall(r'''(?:fetch|getJSON)\(\s*[`"']([^`"']*)''', html)
bad = [t for t in targets if not (t.startswith('#') or (t.startswith('/') and not t.startswith('//')))]
print('\n'.join(bad))
sys.exit(1 if bad else 0)
PY
}

@test "live page: in headless Chromium the table and charts show what the API and Redis hold" {
    require_chromium
    # Reload until the page's polling filled the table and both chart
    # legends (a legend is written only once its chart has points).
    local dom=$BATS_TEST_TMPDIR/dom.html
    page_filled() {
        chromium_run --virtual-time-budget=8000 --dump-dom "$SERVE_URL/" >"$dom" || true
        grep -q '<tbody><tr>' "$dom" && grep -q 'id="trips-legend"><span>' "$dom" &&
            grep -q 'id="durations-legend"><span>' "$dom"
    }
    wait_for page_filled 120
    # the independent reads
    curl -sf "$SERVE_URL/metrics/regions/top?metric=tripCount&limit=8" >"$BATS_TEST_TMPDIR/top.json"
    latest=$(rcli get sp:latest_window)
    for r in $(jq -r '.regions[].regionId' "$BATS_TEST_TMPDIR/top.json"); do
        printf '%s %s\n' "$r" "$(rcli get "region:$r:window:$latest" | jq .avgFare)"
    done >"$BATS_TEST_TMPDIR/fares.txt"
    python3 - "$dom" "$BATS_TEST_TMPDIR/top.json" "$BATS_TEST_TMPDIR/fares.txt" "$latest" <<'PY'
import datetime, html.parser, json, sys
dom_path, top_path, fares_path, latest = sys.argv[1:]

class Page(html.parser.HTMLParser):
    """The #top tbody cells, and the text of elements with an id."""
    def __init__(self):
        super().__init__()
        self.rows, self.text, self.ids, self.in_top = [], {}, [], False
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in ('meta', 'link', 'br', 'img', 'input', 'hr'):  # no end tag
            self.ids.append(attrs.get('id'))
        if attrs.get('id') == 'top':
            self.in_top = True
        if self.in_top and tag == 'tr':
            self.rows.append([])
        if self.in_top and tag == 'td':
            self.rows[-1].append('')
    def handle_endtag(self, tag):
        if tag == 'table':
            self.in_top = False
        if self.ids:
            self.ids.pop()
    def handle_data(self, data):
        for i in self.ids:
            if i:
                self.text[i] = self.text.get(i, '') + data
        if self.in_top and self.rows and self.rows[-1] and self.lasttag == 'td':
            self.rows[-1][-1] += data

page = Page()
page.feed(open(dom_path, encoding='utf-8').read())
top = json.load(open(top_path))
fares = {int(r): float(f) for r, f in (line.split() for line in open(fares_path))}
bad = []
rows = [r for r in page.rows if r]
want = [(r['regionId'], r['value']) for r in top['regions']]
got = [(int(r[0]), float(r[1])) for r in rows]
if got != want:
    bad.append(f'table {got} != API {want}')
for r in rows:
    if abs(float(r[2]) - fares[int(r[0])]) > 0.0051:
        bad.append(f'region {r[0]}: fare {r[2]} != Redis {fares[int(r[0])]}')
start = datetime.datetime.fromtimestamp(int(latest), datetime.timezone.utc)
if page.text.get('top-window') != start.strftime('%Y-%m-%dT%H:%M:%SZ'):
    bad.append(f"window {page.text.get('top-window')} != sp:latest_window {latest}")
legend = page.text.get('trips-legend', '')
for region, _ in want[:5]:
    if f'region {region}' not in legend:
        bad.append(f'trips chart has no line for region {region}: {legend!r}')
if page.text.get('durations-legend') != 'p50p95p99':
    bad.append(f"durations legend {page.text.get('durations-legend')!r}")
if not page.text.get('status', '').startswith('healthy'):
    bad.append(f"status {page.text.get('status')!r}")
if not want:
    bad.append('the API has no top regions: nothing was compared')
print('\n'.join(bad))
sys.exit(1 if bad else 0)
PY
    # the picture, for a person to look at
    shot=$BATS_TEST_TMPDIR/live_page.png
    chromium_run --virtual-time-budget=8000 --window-size=1280,900 --screenshot="$shot" \
        "$SERVE_URL/" >/dev/null
    [ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
    mkdir -p "$PROJECT_DIR/build"
    cp "$shot" "$PROJECT_DIR/build/live_page.png"
}
