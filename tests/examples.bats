#!/usr/bin/env bats
# examples/: the systemd units pass systemd-analyze verify, their pipeline
# shells behave (a stop drains every stage, a crash fails the unit), the
# programs and options they name exist, and the cron entry is well formed.
# README.md: what it names exists, and every example runs as written.

load helpers/common

SYSTEMD_DIR=$PROJECT_DIR/examples/systemd
CRON_FILE=$PROJECT_DIR/examples/cron/streampulse-nightly-replay

setup() {
    scratch=$(mktemp -d)
}

teardown() {
    # Only the processes this test started: the pipeline shell, its children
    # and theirs, found from the pid recorded when it started.
    if [ -n "${shell_pid:-}" ] && kill -0 "$shell_pid" 2>/dev/null; then
        for child in $(pgrep -P "$shell_pid"); do
            pkill -KILL -P "$child" 2>/dev/null || true
            kill -KILL "$child" 2>/dev/null || true
        done
        kill -KILL "$shell_pid" 2>/dev/null || true
    fi
    # A stand-in killed a moment ago may still be writing its count file.
    wait_for "rm -rf '$scratch' 2>/dev/null"
}

# unit_script UNIT INSTANCE: the bash program of the unit's ExecStart, as
# systemd hands it to /bin/bash -c: continuation lines joined, specifiers
# (%t %S %L %i %%) resolved under $scratch, $$ turned into $.
unit_script() {
    sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' "$1" |
        sed -n "s/^ExecStart=\/bin\/bash -c '\(.*\)'\$/\1/p" |
        sed -e 's/%%/\x01/g' -e "s|%t|$scratch/run|g" -e "s|%S|$scratch/lib|g" \
            -e "s|%L|$scratch/log|g" -e "s|%i|$2|g" -e 's/\x01/%/g' -e 's/\$\$/$/g'
}

# Stand-ins for the programs, named as they are so the unit's pkill finds
# them: each logs what ended it (SIGTERM, end of input, or a closed
# downstream pipe, which ends it quietly with status 0 as the real programs
# do) and how many lines it passed on, to $STUB_LOG. The source counts what
# it emitted in a file so the test can wait for the pipeline to be flowing.
make_stubs() {
    mkdir -p "$scratch/stubs"
    cat >"$scratch/stubs/source" <<'EOF'
#!/bin/bash
name=${0##*/}
trap 'echo "$name TERM sent=$i" >>"$STUB_LOG"; exit 0' TERM
trap '' PIPE
i=0
while :; do
    echo "{\"n\":$((i + 1))}" 2>/dev/null || { echo "$name EPIPE sent=$i" >>"$STUB_LOG"; exit 0; }
    i=$((i + 1))
    echo "$i" >"$STUB_DIR/$name.count"
    sleep 0.01
done
EOF
    cat >"$scratch/stubs/filter" <<'EOF'
#!/bin/bash
name=${0##*/}
dlq=/dev/null
while [ $# -gt 0 ]; do
    case $1 in --dlq) dlq=$2; shift ;; esac
    shift
done
exec 3>"$dlq"
n=0
trap 'echo "$name TERM sent=$n" >>"$STUB_LOG"; exit 0' TERM
trap '' PIPE
while read -r line; do
    echo "$line" 2>/dev/null || { echo "$name EPIPE sent=$n" >>"$STUB_LOG"; exit 0; }
    n=$((n + 1))
    [ $((n % 10)) -ne 0 ] || echo "{\"dead\":$n}" >&3
done
echo "$name EOF sent=$n" >>"$STUB_LOG"
EOF
    cat >"$scratch/stubs/sink" <<'EOF'
#!/bin/bash
name=${0##*/}
n=0
trap 'echo "$name TERM received=$n" >>"$STUB_LOG"; exit 0' TERM
while read -r line; do n=$((n + 1)); done
echo "$name EOF received=$n" >>"$STUB_LOG"
EOF
    cat >"$scratch/stubs/follower" <<'EOF'
#!/bin/bash
name=${0##*/}
file=${!#}
n=0
trap 'echo "$name TERM followed=$n" >>"$STUB_LOG"; exit 0' TERM
while :; do
    n=$(wc -l <"$file")
    sleep 0.05
done
EOF
    chmod +x "$scratch/stubs/source" "$scratch/stubs/filter" "$scratch/stubs/sink" \
        "$scratch/stubs/follower"
    for p in "$@"; do
        role=${p%%:*} name=${p#*:}
        ln -s "$role" "$scratch/stubs/$name"
    done
    export STUB_LOG=$scratch/stub.log STUB_DIR=$scratch
    : >"$STUB_LOG"
}

# wait_flowing NAME: until the stub source NAME has sent 30 lines.
wait_flowing() {
    wait_for "[ \"\$(cat '$scratch/$1.count' 2>/dev/null || echo 0)\" -ge 30 ]"
}

# start_unit_shell UNIT INSTANCE: run the unit's pipeline shell on the stubs.
start_unit_shell() {
    mkdir -p "$scratch/run/streampulse/metrics" "$scratch/run/streampulse/process-$2" \
        "$scratch/lib/streampulse" "$scratch/log/streampulse"
    unit_script "$1" "$2" >"$scratch/script"
    [ -s "$scratch/script" ]
    PATH=$scratch/stubs:$PATH SP_BROKERS=127.0.0.1:1 SP_TOPIC=events SP_DLQ_TOPIC=events_dlq \
        SP_REDIS_URL=redis://127.0.0.1:1/0 SP_WINDOW_OPTS= SP_INGEST_OPTS=--speed=max \
        SP_INGEST_FILES=/dev/null bash -c "$(cat "$scratch/script")" &
    shell_pid=$!
}

# logged NAME: the line the stub NAME left in the log.
logged() {
    grep "^$1 " "$STUB_LOG"
}

verify_available() {
    command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
    printf '[Service]\nExecStart=/bin/true\n' >"$scratch/probe.service"
    systemd-analyze verify --man=no "$scratch/probe.service" >/dev/null 2>&1 ||
        skip "systemd-analyze verify cannot run in this environment"
}

# installable_units: copies of the units in $scratch/units, ExecStart pointed
# at executable stand-ins: the programs are installed to /usr/local/bin,
# which CI does not have. A template is copied as its instance @0-3. Sets
# the array units.
installable_units() {
    mkdir -p "$scratch/units" "$scratch/bin"
    for p in $(grep -ho '/usr/local/bin/sp-[a-z-]*' "$SYSTEMD_DIR"/*.service | sort -u); do
        printf '#!/bin/sh\n' >"$scratch/bin/${p##*/}"
        chmod +x "$scratch/bin/${p##*/}"
    done
    units=()
    for u in "$SYSTEMD_DIR"/*.service "$SYSTEMD_DIR"/*.target; do
        name=${u##*/}
        [[ $name == *@.service ]] && name=${name/@.service/@0-3.service}
        sed "s|/usr/local/bin/|$scratch/bin/|g" "$u" >"$scratch/units/$name"
        units+=("$scratch/units/$name")
    done
}

@test "systemd-analyze verify: every unit is clean (no warning at all)" {
    verify_available
    installable_units
    [ "${#units[@]}" -ge 4 ]
    run systemd-analyze verify --man=no "${units[@]}"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "systemd-analyze security rates every service's sandbox OK (exposure 2.0 or less)" {
    verify_available
    systemd-analyze security --offline=yes --no-pager "$scratch/probe.service" >/dev/null 2>&1 ||
        skip "this systemd-analyze has no offline security check"
    installable_units
    for u in "$scratch"/units/*.service; do
        run systemd-analyze security --offline=yes --threshold=20 --no-pager "$u"
        echo "$output" | tail -n 1
        [ "$status" -eq 0 ]
    done
}

@test "systemd-analyze verify catches a broken unit (the check above can fail)" {
    verify_available
    sed -e 's/^Restart=/Restat=/' -e "s|/usr/local/bin/|/bin/true #|" \
        "$SYSTEMD_DIR/streampulse-serve.service" >"$scratch/broken.service"
    run systemd-analyze verify --man=no "$scratch/broken.service"
    [[ "$output" == *"Unknown key 'Restat'"* ]]
}

@test "every stage restarts on failure, keeps state under StateDirectory and is sandboxed" {
    for u in "$SYSTEMD_DIR"/*.service; do
        for line in Restart=on-failure User=streampulse NoNewPrivileges=yes \
            ProtectSystem=strict ProtectHome=yes PrivateTmp=yes; do
            grep -qx "$line" "$u" || { echo "${u##*/}: no $line"; return 1; }
        done
    done
    grep -qx 'StateDirectory=streampulse' "$SYSTEMD_DIR/streampulse-process@.service"
    grep -q -- '--state-url "$$SP_REDIS_URL"' "$SYSTEMD_DIR/streampulse-process@.service"
}

@test "process unit: a stop drains every stage and exits 0" {
    make_stubs source:sp-kcat-in filter:sp-validate filter:sp-window sink:sp-redis-sink follower:sp-kcat-out
    start_unit_shell "$SYSTEMD_DIR/streampulse-process@.service" 0-3
    wait_flowing sp-kcat-in
    kill -TERM "$shell_pid"
    status=0
    wait "$shell_pid" || status=$?
    cat "$STUB_LOG"
    [ "$status" -eq 0 ]
    # sp-window was told to stop (it must not see the end of its input: that
    # would close its open windows); the stages upstream of it ended too...
    logged sp-window | grep -q '^sp-window TERM '
    logged sp-validate | grep -qE '^sp-validate (TERM|EPIPE) '
    logged sp-kcat-in | grep -qE '^sp-kcat-in (TERM|EPIPE) '
    # ...and the sink was not: it read its input to its end, so every line
    # sp-window sent reached the sink.
    sent=$(logged sp-window | sed -n 's/.* sent=//p')
    [ "$sent" -gt 0 ]
    [ "$(logged sp-redis-sink)" = "sp-redis-sink EOF received=$sent" ]
    # The DLQ producer, following sp-validate's journal, was stopped last,
    # having seen every dead letter written into it.
    [ "$(tail -n 1 "$STUB_LOG" | cut -d' ' -f1-2)" = "sp-kcat-out TERM" ]
    journal=$scratch/lib/streampulse/dlq-0-3.ndjson
    [ "$(logged sp-kcat-out | sed -n 's/^sp-kcat-out TERM followed=//p')" -eq "$(wc -l <"$journal")" ]
    [ "$(wc -l <"$journal")" -ge 1 ]
}

@test "process unit: a stage killed with SIGKILL fails the unit (so Restart= applies)" {
    make_stubs source:sp-kcat-in filter:sp-validate filter:sp-window sink:sp-redis-sink follower:sp-kcat-out
    start_unit_shell "$SYSTEMD_DIR/streampulse-process@.service" 0-3
    wait_flowing sp-kcat-in
    # The stages are children of the pipeline's subshell, the shell's child.
    window=$(pgrep -x sp-window -P "$(pgrep -d, -P "$shell_pid")")
    [ -n "$window" ]
    kill -KILL "$window"
    status=0
    wait "$shell_pid" || status=$?
    cat "$STUB_LOG"
    [ "$status" -ne 0 ]
}

@test "process unit: the DLQ producer killed fails the unit, after the chain is stopped cleanly" {
    make_stubs source:sp-kcat-in filter:sp-validate filter:sp-window sink:sp-redis-sink follower:sp-kcat-out
    start_unit_shell "$SYSTEMD_DIR/streampulse-process@.service" 0-3
    wait_flowing sp-kcat-in
    producer=$(pgrep -x sp-kcat-out -P "$shell_pid")
    [ -n "$producer" ]
    kill -KILL "$producer"
    status=0
    wait "$shell_pid" || status=$?
    cat "$STUB_LOG"
    [ "$status" -ne 0 ]
    logged sp-window | grep -q '^sp-window TERM '
    sent=$(logged sp-window | sed -n 's/.* sent=//p')
    [ "$(logged sp-redis-sink)" = "sp-redis-sink EOF received=$sent" ]
}

@test "process unit: the -p partitions and the files follow the instance name" {
    script=$(unit_script "$SYSTEMD_DIR/streampulse-process@.service" 2-3)
    grep -q -- "-p 2-3 " <<<"$script"
    grep -q -- "--late $scratch/log/streampulse/late-2-3.ndjson " <<<"$script"
    # bash accepts the program systemd hands it.
    bash -n -c "$script"
}

@test "ingest unit: a stop ends sp-replay and sp-kcat-out delivers all it was sent" {
    make_stubs source:sp-replay sink:sp-kcat-out
    start_unit_shell "$SYSTEMD_DIR/streampulse-ingest.service" x
    wait_flowing sp-replay
    kill -TERM "$shell_pid"
    status=0
    wait "$shell_pid" || status=$?
    cat "$STUB_LOG"
    [ "$status" -eq 0 ]
    logged sp-replay | grep -q '^sp-replay TERM '
    sent=$(logged sp-replay | sed -n 's/.* sent=//p')
    [ "$(logged sp-kcat-out)" = "sp-kcat-out EOF received=$sent" ]
}

# The programs and options the units and the cron entry use, checked against
# each program's own --help. Skips a program not built yet.
@test "every program and long option the examples use exists" {
    commands=$(
        for u in "$SYSTEMD_DIR"/*.service; do unit_script "$u" 0-3; grep -h '^ExecStart=/usr' "$u"; done
        grep -v '^#' "$CRON_FILE"
    )
    programs=$(grep -o 'sp-[a-z-]*' <<<"$commands" | grep -v -- '-$' | sort -u)
    checked=0
    for p in $programs; do
        [ -f "$PROJECT_DIR/tools/$p.c" ] || { echo "no program $p (tools/$p.c)"; return 1; }
        [ -x "$SP_BIN/$p" ] || continue
        help=$("$SP_BIN/$p" --help)
        # Each invocation of p: its words up to the next | & ; or quote.
        for opt in $(grep -oE "$p( [^|&;']*)?" <<<"$commands" | grep -oE -- ' --[a-z-]+' | sort -u); do
            grep -q -- "$opt" <<<"$help" || { echo "$p has no option $opt"; return 1; }
        done
        checked=$((checked + 1))
    done
    [ "$checked" -gt 0 ] || skip "none of the programs is built in $SP_BIN"
}

# The cron file, parsed as Debian's cron reads /etc/cron.d: comments, blank
# lines, NAME=value settings, and jobs of five time fields, a user and a
# command, with every % in a command escaped (cron turns a bare % into a
# newline).
@test "cron entry: five valid time fields, a user, a command that bash parses" {
    python3 - "$CRON_FILE" <<'EOF'
import re, subprocess, sys
ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
names = [None, None, None,
         'jan feb mar apr may jun jul aug sep oct nov dec'.split(),
         'sun mon tue wed thu fri sat'.split()]

def valid_field(field, lo, hi, words):
    for part in field.split(','):
        base, _, step = part.partition('/')
        if step and not (step.isdigit() and int(step) > 0):
            return False
        if base == '*':
            continue
        ends = base.split('-')
        if len(ends) > 2:
            return False
        for e in ends:
            if words and e.lower() in words:
                continue
            if not e.isdigit() or not lo <= int(e) <= hi:
                return False
        if len(ends) == 2 and ends[0].isdigit() and ends[1].isdigit() and int(ends[0]) > int(ends[1]):
            return False
    return True

jobs, errors = 0, []
for n, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip('\n')
    if not line.strip() or line.lstrip().startswith('#'):
        continue
    if re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', line):
        continue
    fields = line.split(None, 6)
    if len(fields) < 7:
        errors.append(f'{n}: needs 5 time fields, a user and a command')
        continue
    for f, (lo, hi), words in zip(fields[:5], ranges, names):
        if not valid_field(f, lo, hi, words):
            errors.append(f'{n}: bad time field {f!r}')
    if not re.match(r'^[a-z_][a-z0-9_-]*$', fields[5]):
        errors.append(f'{n}: bad user {fields[5]!r}')
    command = fields[6]
    if re.search(r'(?<!\\)%', command):
        errors.append(f'{n}: unescaped % in the command')
    shell = subprocess.run(['bash', '-n', '-c', command.replace('\\%', '%')], capture_output=True, text=True)
    if shell.returncode != 0:
        errors.append(f'{n}: bash cannot parse the command: {shell.stderr.strip()}')
    jobs += 1
if jobs == 0:
    errors.append('no job line')
print('\n'.join(errors))
sys.exit(1 if errors else 0)
EOF
}

@test "cron entry: a name cron.d accepts and a final newline" {
    # Debian's cron skips files in /etc/cron.d whose names have other
    # characters (a dot, say), and ignores a last line without a newline.
    [[ ${CRON_FILE##*/} =~ ^[A-Za-z0-9_-]+$ ]]
    [ "$(tail -c 1 "$CRON_FILE" | od -An -c | tr -d ' ')" = '\n' ]
}

@test "cron entry: the nightly job replays yesterday's file into Redis, without overlap" {
    job=$(grep -v '^#' "$CRON_FILE" | grep 'sp-replay')
    [ -n "$job" ]
    grep -q 'flock -n' <<<"$job"
    grep -q 'date -u -d yesterday' <<<"$job"
    grep -q 'set -o pipefail' <<<"$job"
    grep -q '| sp-redis-sink' <<<"$job"
}

# ---- README.md ---------------------------------------------------------------

@test "README: the licence it names is in LICENSE, the MIT text in full" {
    grep -q '^Licence: MIT (see LICENSE)' "$PROJECT_DIR/README.md"
    license=$PROJECT_DIR/LICENSE
    [ "$(head -n 1 "$license")" = "MIT License" ]
    grep -q '^Copyright (c) [0-9]\{4\} ' "$license"
    # the permission, the condition and the disclaimer, each whole
    tr '\n' ' ' <"$license" | grep -q 'Permission is hereby granted, free of charge, to any person obtaining a copy of this software'
    tr '\n' ' ' <"$license" | grep -q 'The above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.'
    tr '\n' ' ' <"$license" | grep -q 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND'
}

@test "README: every path it names exists" {
    # `pipelines/local`, `examples/`, (see LICENSE), examples/data/…csv
    missing=$(grep -oE '(`[a-z][a-z0-9_./-]*/[a-z0-9_.*/-]*`|see [A-Z]+\b|examples/data/[a-z0-9_.-]+)' \
        "$PROJECT_DIR/README.md" | tr -d '`' | sed 's/^see //' | sort -u |
        while read -r p; do compgen -G "$PROJECT_DIR/$p" >/dev/null || echo "$p"; done)
    echo "missing: $missing"
    [ -z "$missing" ]
}

# readme_session DIR: the README's example commands (the lines of its code
# blocks that start with "$ "), in order, as one bash session of DIR/session.sh
# that leaves each command's output (stdout and stderr, as a terminal shows
# them) in DIR/out.N and its status in DIR/status.N; the command in
# DIR/command.N and what the README shows after it in DIR/want.N. Prints the
# number of commands.
readme_session() {
    python3 - "$PROJECT_DIR/README.md" "$1" <<'PY'
import re, shlex, sys
readme, out = sys.argv[1], sys.argv[2]
text = open(readme, encoding="utf-8").read()
commands = []
for block in re.findall(r"^```\n(.*?)^```", text, re.S | re.M):
    if not block.startswith("$ "):
        continue
    for line in block.splitlines():
        if line.startswith("$ "):
            commands.append([line[2:], []])
        elif line.strip():
            commands[-1][1].append(line)
with open(f"{out}/session.sh", "w") as script:
    for n, (command, want) in enumerate(commands):
        open(f"{out}/want.{n}", "w").write("".join(l + "\n" for l in want))
        open(f"{out}/command.{n}", "w").write(command + "\n")
        script.write(f"eval {shlex.quote(command)} >{out}/out.{n} 2>&1; echo $? >{out}/status.{n}\n")
print(len(commands))
PY
}

@test "README: every example runs as written on a fresh clone and prints what the README shows" {
    [ "$(id -u)" = 0 ] && unshare --net --pid --fork true 2>/dev/null ||
        skip "needs root for a private network (ports 6379 and 8000) and process namespace"
    # The clone: the files git would check out, with the build already done
    # in this checkout copied in, so `make` has nothing left to do.
    clone=$scratch/streampulse
    mkdir -p "$clone"
    git -C "$PROJECT_DIR" ls-files -z --cached --others --exclude-standard |
        (cd "$PROJECT_DIR" && xargs -0 tar -cf - --no-recursion) | tar -C "$clone" -xf -
    for d in bin build/release; do
        [ -d "$PROJECT_DIR/$d" ] && mkdir -p "$clone/$d" && cp -a "$PROJECT_DIR/$d/." "$clone/$d/"
    done
    mkdir "$scratch/run"
    n=$(readme_session "$scratch/run")
    [ "$n" -ge 10 ]
    # A private network (its own 127.0.0.1: ports 6379 and 8000 are free)
    # and process space (whatever the session leaves running dies with it),
    # no terminal, the PATH of a fresh login; a stage that fails fails its
    # command (pipefail), and an example that never ends fails the test.
    (cd "$clone" && env -i HOME="$scratch" PATH=/usr/local/bin:/usr/bin:/bin \
        timeout 300 unshare --net --pid --fork --kill-child \
        bash -o pipefail -c "ip link set lo up && . '$scratch/run/session.sh'") </dev/null 3>&- || true
    bad=0
    for ((i = 0; i < n; i++)); do
        command=$(cat "$scratch/run/command.$i")
        status=$(cat "$scratch/run/status.$i" 2>/dev/null || echo "none: the session ended before it")
        if [ "$status" != 0 ]; then
            echo "\$ $command: exit $status"; cat "$scratch/run/out.$i" 2>/dev/null; bad=1; continue
        fi
        [ -s "$scratch/run/want.$i" ] || continue
        # The time a dead letter was made is the one thing that differs (and
        # curl ends its answer without a newline: the shell's prompt follows).
        if ! diff <(sed 's/"processed_at":"[^"]*"/"processed_at":…/' "$scratch/run/want.$i") \
            <(sed 's/"processed_at":"[^"]*"/"processed_at":…/' "$scratch/run/out.$i" | sed '$a\'); then
            echo "\$ $command: printed other than the README shows"; bad=1
        fi
    done
    [ "$bad" = 0 ]
}
