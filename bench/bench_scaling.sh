# How the cost grows (issue 7): events/s and peak RSS of sp-validate and
# sp-window for 10^5, 10^6 and 10^7 events (100 keys), and of sp-window for
# 10, 1,000 and 100,000 keys (10^6 events). BENCH_BIG=1 adds sp-window's
# memory curve over 10^8 events, streamed from the generator.

# scale_gen N KEYS: N trip events over KEYS regions, twenty a second of
# event time, cached as a file.
scale_gen() {
    local file=$BENCH_DIR/scale-$1-$2.ndjson
    if [ ! -s "$file" ]; then
        scale_stream "$1" "$2" >"$file"
    fi
    echo "$file"
}

scale_stream() {
    awk -v n="$1" -v k="$2" 'BEGIN {
        base = 1756627200
        for (i = 0; i < n; i++) {
            t = base + int(i / 20)
            printf "{\"trip_id\":\"t%d\",\"region_id\":%d,\"event_time\":\"%s\",\"fare\":%.2f,\"duration\":%d,\"distance\":%.1f}\n",
                i, 1 + (i * 7919) % k, strftime("%Y-%m-%dT%H:%M:%SZ", t, 1), 3 + i % 97, 60 + (i * 7) % 3540, 0.1 + (i % 400) / 10
        }
    }'
}

bench_section "scaling with events (100 keys)"
for n in 100000 1000000 10000000; do
    f=$(scale_gen "$n" 100)
    bench_cmd "sp-validate $n events" "$n" "$f" "$SP_BIN/sp-validate -q"
    bench_cmd "sp-window $n events" "$n" "$f" "$SP_BIN/sp-window -q"
done

bench_section "scaling with keys (10^6 events)"
for k in 10 1000 100000; do
    f=$(scale_gen 1000000 "$k")
    bench_cmd "sp-window $k keys" 1000000 "$f" "$SP_BIN/sp-window -q"
done

if [ -n "${BENCH_BIG:-}" ]; then
    bench_section "sp-window memory over a stream of 10^8 events (100,000 keys), generator-bound"
    for n in 1000000 10000000 100000000; do
        rss=$( { /usr/bin/time -f %M bash -c "$(declare -f scale_stream); scale_stream $n 100000 | $SP_BIN/sp-window -q >/dev/null"; } 2>&1 | tail -n 1)
        printf '  sp-window %d events: peak RSS %.1f MB\n' "$n" "$(echo "$rss / 1024" | bc -l)" | tee -a "$BENCH_RESULTS"
    done
fi
