#!/usr/bin/env bats
# The live page sp-serve answers GET / with, loaded in Debian's headless
# Chromium over a private redis-server that the real pipeline filled from the
# bundled NYC yellow-taxi sample of January 2019 (hourly windows). What the
# browser shows after the page's polling ran is compared with independent
# reads: the top-regions table with curl of the API the page polls, its
# fares with redis-cli over the stored results, the axes and the marks each
# chart says it drew (its data-* attributes) with the rules a reader expects
# (round ticks, a dot for every window, a readable span), and the page's
# extent with the pixels of a screenshot. The screenshot is kept in
# $BATS_TEST_TMPDIR and copied to build/live_page.png.

load helpers/common
load helpers/redis

CSV=$SP_EXAMPLES/yellow_tripdata_sample_2019-01.csv
TITLE='NYC <sample> & "more"'

setup_file() {
    redis_start
    sp-replay -q --speed max --sort "$CSV" |
        sp-validate -q --schema "$PROJECT_DIR/schemas/nyc_tlc.json" --dlq /dev/null |
        sp-window -q --size 1h --late /dev/null --dlq /dev/null |
        sp-redis-sink -q --url "$REDIS_URL"
    serve_start --threads 2 --title "$TITLE"
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

# page_dom URL FILE: the DOM after the page's polling ran (reloaded until
# the table and both chart legends are filled: a legend is written only once
# its chart has points).
page_dom() {
    wait_for "dom_filled '$1' '$2'" 120
}

dom_filled() {
    chromium_run --virtual-time-budget=8000 --window-size=1280,900 --dump-dom "$1" >"$2" || true
    grep -q '<tbody><tr' "$2" && grep -q 'id="trips-legend"><span>' "$2" &&
        grep -q 'id="durations-legend"><span>' "$2"
}

# charts.py DOM: what each chart says it drew, checked against the rules a
# reader expects; prints one line per broken rule.
charts_check() {
    python3 - "$1" <<'PY'
import datetime, html.parser, math, re, sys

class Canvases(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.canvas = {}
    def handle_starttag(self, tag, attrs):
        if tag == "canvas":
            attrs = dict(attrs)
            self.canvas[attrs.get("id")] = attrs

page = Canvases()
page.feed(open(sys.argv[1], encoding="utf-8").read())
bad = []
STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800]
for name in ("trips", "durations"):
    c = page.canvas.get(name, {})
    marks = dict(m.strip().split("=") for m in c.get("data-marks", "").split(";") if m.strip())
    if not marks:
        bad.append(f"{name}: no series drawn")
    for series, n in marks.items():
        if int(n) < 1:
            bad.append(f"{name}: {series} has no mark")
    # round value ticks: 0, s, 2s, ... with s = 1, 2 or 5 times a power of ten
    ticks = [float(v) for v in c.get("data-y-ticks", "").split()]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 0
    mantissa = step / 10 ** math.floor(math.log10(step)) if step > 0 else 0
    if ticks[:1] != [0] or len(ticks) < 3 or round(mantissa, 9) not in (1, 2, 5) or \
            any(abs(b - a - step) > 1e-9 for a, b in zip(ticks, ticks[1:])):
        bad.append(f"{name}: value ticks {ticks} are not round")
    # round time ticks: multiples of one of the usual steps, evenly spaced
    times = [datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
             for t in c.get("data-x-ticks", "").split()]
    gaps = {b - a for a, b in zip(times, times[1:])}
    if len(times) < 2 or len(gaps) != 1 or gaps.pop() not in STEPS or \
            any(t % min(STEPS[STEPS.index(times[1] - times[0])], 86400) for t in times):
        bad.append(f"{name}: time ticks {c.get('data-x-ticks')} are not round")
    # a readable span: no more windows than fit at 16 px each
    label = c.get("aria-label", "")
    width = 1280  # at most; each chart is narrower
    for n in re.findall(r"(\d+) windows?", label):
        if int(n) > width // 16:
            bad.append(f"{name}: {n} windows drawn, more than fit")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}

@test "live page: GET / and HEAD / answer the page as HTML; other methods 405; route \"/\" counted" {
    curl -s -D "$BATS_TEST_TMPDIR/get.h" -o "$BATS_TEST_TMPDIR/page.html" "$SERVE_URL/"
    grep -qi '^HTTP/1.1 200' "$BATS_TEST_TMPDIR/get.h"
    grep -qi '^Content-Type: text/html; charset=utf-8' "$BATS_TEST_TMPDIR/get.h"
    # the bytes of lib/live_page.html, as compiled in, with the --title text
    # HTML-escaped in its header (python's html.escape as the oracle)
    python3 -c '
import html, sys
page = open(sys.argv[1], encoding="utf-8").read()
slot = "<span id=\"dataset\">"
sys.stdout.write(page.replace(slot, slot + html.escape(sys.argv[2], quote=True).replace("&#x27;", "\x27"), 1))
' "$PROJECT_DIR/lib/live_page.html" "$TITLE" >"$BATS_TEST_TMPDIR/want.html"
    cmp "$BATS_TEST_TMPDIR/page.html" "$BATS_TEST_TMPDIR/want.html"
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
    local dom=$BATS_TEST_TMPDIR/dom.html
    page_dom "$SERVE_URL/" "$dom"
    # the independent reads, as many regions as the table shows
    rows=$(grep -o '<tr data-region=' "$dom" | wc -l)
    [ "$rows" -ge 5 ]
    curl -sf "$SERVE_URL/metrics/regions/top?metric=tripCount&limit=$rows" >"$BATS_TEST_TMPDIR/top.json"
    latest=$(rcli get sp:latest_window)
    for r in $(jq -r '.regions[].regionId' "$BATS_TEST_TMPDIR/top.json"); do
        printf '%s %s\n' "$r" "$(rcli get "region:$r:window:$latest" | jq .avgFare)"
    done >"$BATS_TEST_TMPDIR/fares.txt"
    python3 - "$dom" "$BATS_TEST_TMPDIR/top.json" "$BATS_TEST_TMPDIR/fares.txt" "$latest" "$TITLE" <<'PY'
import datetime, html.parser, json, sys
dom_path, top_path, fares_path, latest, title = sys.argv[1:]

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
if page.text.get('kpi-window') != start.strftime('%b %d %H:%M'):
    bad.append(f"newest window tile {page.text.get('kpi-window')!r}")
legend = page.text.get('trips-legend', '')
for region, _ in want[:5]:
    if f'region {region}' not in legend:
        bad.append(f'trips chart has no line for region {region}: {legend!r}')
if page.text.get('durations-legend') != 'p50p95p99':
    bad.append(f"durations legend {page.text.get('durations-legend')!r}")
if page.text.get('pct-region') != str(want[0][0]):
    bad.append(f"percentiles of region {page.text.get('pct-region')!r}, not the busiest {want[0][0]}")
if not page.text.get('status', '').startswith('healthy'):
    bad.append(f"status {page.text.get('status')!r}")
if page.text.get('dataset') != title:
    bad.append(f"dataset {page.text.get('dataset')!r} != --title {title!r}")
if not want:
    bad.append('the API has no top regions: nothing was compared')
print('\n'.join(bad))
sys.exit(1 if bad else 0)
PY
    charts_check "$dom"
}

# png_blank_bottom PNG: how many rows at the bottom of the screenshot are
# blank: one colour from edge to edge. A small PNG reader: 8-bit RGB or
# RGBA, not interlaced, as Chromium writes them.
png_blank_bottom() {
    python3 - "$1" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    pos += 12 + n
    if kind == b"IHDR":
        w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        assert depth == 8 and ctype in (2, 6) and interlace == 0
    elif kind == b"IDAT":
        idat += body
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, rows = bytearray(stride), []
for r in range(h):
    f, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line))
    prev = line
blank = 0
for line in reversed(rows):
    if any(line[x:x + bpp] != line[:bpp] for x in range(0, stride, bpp)):
        break
    blank += 1
print(blank)
PY
}

@test "live page: the page fills a 1280x900 window: no dead space below the panels" {
    require_chromium
    shot=$BATS_TEST_TMPDIR/live_page.png
    chromium_run --virtual-time-budget=8000 --window-size=1280,900 --screenshot="$shot" \
        "$SERVE_URL/" >/dev/null
    [ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
    mkdir -p "$PROJECT_DIR/build"
    cp "$shot" "$PROJECT_DIR/build/live_page.png"
    blank=$(png_blank_bottom "$shot")
    echo "blank rows at the bottom: $blank"
    # the page's own padding, no more
    [ "$blank" -le 30 ]
}

@test "live page: a region with one window gets a mark on every chart" {
    require_chromium
    # Database 1 of the same server: region 7 busiest in the newest hour and
    # seen in no other; regions 1-4 over four hours.
    url=${REDIS_URL%/0}/1
    python3 -c '
import json
events = []
def ev(r, h, m, d):
    events.append({"trip_id": f"t{r}-{h}-{m}", "region_id": r, "event_time": f"2025-08-31T{h:02d}:{m:02d}:00Z",
                   "fare": 10 + m, "duration": d, "distance": 1.5})
for h in range(7, 11):
    for r in range(1, 5):
        for m in range(0, 60, 15 * r):
            ev(r, h, m, 300 + 60 * m)
for m in range(12):
    ev(7, 10, m * 5, 600 + 60 * m)
for e in sorted(events, key=lambda e: e["event_time"]):
    print(json.dumps(e, separators=(",", ":")))
' | sp-window -q --size 1h | sp-redis-sink -q --url "$url"
    [ "$(curl -s "$SERVE_URL/metrics/regions/top" | jq -r .windowStart)" != null ]
    port=$(free_port)
    sp-serve --listen "127.0.0.1:$port" --url "$url" --threads 2 >"$BATS_TEST_TMPDIR/serve.log" 2>&1 3>&- &
    pid=$!
    wait_for "curl -s -o /dev/null '127.0.0.1:$port/health'"
    top=$(curl -s "127.0.0.1:$port/metrics/regions/top?limit=1")
    [ "$(jq '.regions[0].regionId' <<<"$top")" = 7 ]
    [ "$(curl -s "127.0.0.1:$port/metrics/timeline/7?hours=24" | jq '.windows | length')" = 1 ]
    page_dom "http://127.0.0.1:$port/" "$BATS_TEST_TMPDIR/one.html"
    kill -TERM "$pid"
    wait "$pid"
    grep -o '<canvas[^>]*>' "$BATS_TEST_TMPDIR/one.html"
    grep -o '<canvas[^>]*id="trips"[^>]*>' "$BATS_TEST_TMPDIR/one.html" | grep -q 'data-marks="region 7=1;'
    grep -o '<canvas[^>]*id="durations"[^>]*>' "$BATS_TEST_TMPDIR/one.html" | grep -q 'data-marks="p99=1; p95=1; p50=1"'
    charts_check "$BATS_TEST_TMPDIR/one.html"
}

# Last: it stops the file's redis-server.
@test "live page: with Redis down the status says Redis disconnected" {
    require_chromium
    redis_stop
    chromium_run --virtual-time-budget=4000 --dump-dom "$SERVE_URL/" >"$BATS_TEST_TMPDIR/down.html"
    grep -o '<span id="status"[^>]*>[^<]*' "$BATS_TEST_TMPDIR/down.html"
    grep -q '<span id="status" class="bad">Redis disconnected' "$BATS_TEST_TMPDIR/down.html"
}
