#!/usr/bin/env bats
# A full disk under sp-window's checkpoint: a 64 KiB tmpfs, filled up while
# sp-window runs. The old checkpoint must stay intact (and sp-window say why
# it could not write a new one), checkpoints resume once space returns, and
# a crash while the disk is full restarts from the old checkpoint to the
# results of an uninterrupted run.

load ../helpers/common
load helpers

setup_file() {
    local dir=$BATS_FILE_TMPDIR
    # shellcheck disable=SC2046
    sp-replay -q --speed max $(fault_input) | sp-validate -q 2>/dev/null >"$dir/events.ndjson"
    sp-window -q --late "$dir/base.late" <"$dir/events.ndjson" >"$dir/base.out"
    sort "$dir/base.out" >"$dir/base.sorted"
}

setup() {
    T=$BATS_TEST_TMPDIR
    DISK=$T/disk
    mkdir -p "$DISK"
    mount -t tmpfs -o size=64k tmpfs "$DISK" 2>/dev/null ||
        skip "cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)"
    MOUNTED=1
}

teardown() {
    if [ -n "${WINDOW_PID:-}" ]; then
        kill -TERM "$WINDOW_PID" 2>/dev/null || true
        wait "$WINDOW_PID" 2>/dev/null || true
    fi
    [ -n "${MOUNTED:-}" ] && umount "$DISK"
    return 0
}

# window_run CHECKPOINT: the input at 10,000 rows a second into sp-window,
# checkpointing every 200 ms, in the background (WINDOW_PID: sp-window's).
window_run() {
    # shellcheck disable=SC2046
    sp-replay -q --speed max --rate 10000 $(fault_input) 2>/dev/null 3>&- |
        sp-validate -q 2>/dev/null 3>&- |
        sp-window --checkpoint "$1" --checkpoint-interval 200ms --late "$T/late" \
            --metrics-file "$T/window.prom" >>"$T/out" 2>>"$T/window.err" 3>&- &
    WINDOW_PID=$!
}

# rows_read: the records the running sp-window has read, by its metrics file
# (rewritten every 2 s; 0 before the first).
rows_read() {
    sed -n 's/^sp_events_in_total{tool="sp-window"} //p' "$T/window.prom" 2>/dev/null | grep . || echo 0
}

# disk_full_said: sp-window has reported a checkpoint it could not write.
disk_full_said() {
    grep -q "sp-window: .*window.ckpt: No space left on device" "$T/window.err"
}

# window_wait: until the sp-window of window_run has ended, its status.
window_wait() {
    local status=0
    wait "$WINDOW_PID" || status=$?
    WINDOW_PID=
    return "$status"
}

records() {
    jq -e .records "$1"
}

# fill_disk: take all the space left on the tmpfs.
fill_disk() {
    dd if=/dev/zero of="$DISK/filler" bs=4k 2>/dev/null || true
    [ "$(df --output=avail -k "$DISK" | tail -n 1 | tr -d ' ')" -eq 0 ]
}

# same_results: the final results written (the last one of each window,
# a restarted run writing some again) equal the uninterrupted run's, and
# every valid event is in one of them or among the late events.
same_results() {
    jq -c 'select(.final)' "$T/out" |
        jq -sc 'reduce .[] as $r ({}; .["\($r.regionId) \($r.windowStart)"] = $r) | .[]' |
        sort >"$T/merged"
    diff "$BATS_FILE_TMPDIR/base.sorted" "$T/merged" | head -n 5 >&2
    cmp -s "$BATS_FILE_TMPDIR/base.sorted" "$T/merged"
    local valid counted late
    valid=$(count_lines "$BATS_FILE_TMPDIR/events.ndjson")
    counted=$(jq -s 'map(.tripCount) | add' "$T/merged")
    late=$(count_lines "$T/late")
    echo "# valid=$valid tripCount=$counted late=$late" >&3
    [ "$valid" -eq $((counted + late)) ]
    [ "$late" -eq "$(count_lines "$BATS_FILE_TMPDIR/base.late")" ]
}

@test "faults/disk: a full checkpoint disk keeps the old checkpoint; checkpoints resume after" {
    local ckpt=$DISK/window.ckpt before
    window_run "$ckpt"
    wait_for "[ -s '$ckpt' ]"
    fill_disk
    # Once a write has failed, no checkpoint is in flight (sp-window writes
    # them one at a time): the one in place stays.
    wait_for disk_full_said
    before=$(records "$ckpt")
    cp "$ckpt" "$T/old.ckpt"
    # 5000 more rows read (at 10,000 a second): intervals of 200 ms passed
    local read
    read=$(rows_read)
    wait_for "[ \$(rows_read) -ge $((read + 5000)) ]"
    # still the old checkpoint, whole
    cmp "$ckpt" "$T/old.ckpt"
    kill -0 "$WINDOW_PID"
    rm "$DISK/filler"
    wait_for "[ \"\$(records '$ckpt')\" -gt $before ]"
    # said once, however many intervals failed, and once when it recovered
    [ "$(grep -c 'No space left on device' "$T/window.err")" -eq 1 ]
    grep -q "window.ckpt: checkpoints are written again" "$T/window.err"
    echo "# held at $before records while full, then $(records "$ckpt")" >&3
    window_wait
    # the end-of-input checkpoint made it too
    [ "$(records "$ckpt")" -eq "$(count_lines "$BATS_FILE_TMPDIR/events.ndjson")" ]
    [ "$(ls -A "$DISK")" = window.ckpt ]
    same_results
}

@test "faults/disk: kill -9 while the disk is full, restart from the old checkpoint" {
    local ckpt=$DISK/window.ckpt before
    window_run "$ckpt"
    wait_for "[ -s '$ckpt' ]"
    fill_disk
    wait_for disk_full_said
    before=$(records "$ckpt")
    kill -0 "$WINDOW_PID"
    kill -9 "$WINDOW_PID"
    window_wait || true
    rm "$DISK/filler"
    echo "# killed with a checkpoint of $before records, restarting" >&3
    [ "$before" -gt 0 ]
    window_run "$ckpt"
    window_wait
    same_results
}
