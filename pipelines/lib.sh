# pipelines/lib.sh: what the pipeline scripts share. Sourced, not run.
#
# Settings come from the environment, each with a default:
#   SP_BIN         where the sp-* programs are (default: the checkout's bin/,
#                  else whatever PATH finds)
#   SP_STATE       checkpoints, DLQ, late events, metrics files, logs
#                  (default: ${XDG_STATE_HOME:-~/.local/state}/streampulse)
#   SP_REDIS_URL   redis://[:password@]host:port/db (default redis://127.0.0.1:6379/0)
#   SP_REDIS_SOCKET  a unix socket instead of SP_REDIS_URL
#   SP_RESTART_MAX_DELAY  cap of the restart backoff in seconds (default 30)

PIPELINES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT_DIR=$(cd "$PIPELINES_DIR/.." && pwd)
if [ -z "${SP_BIN:-}" ] && [ -x "$PROJECT_DIR/bin/sp-window" ]; then
    SP_BIN=$PROJECT_DIR/bin
fi
[ -n "${SP_BIN:-}" ] && PATH=$SP_BIN:$PATH
: "${SP_STATE:=${XDG_STATE_HOME:-$HOME/.local/state}/streampulse}"
: "${SP_RESTART_MAX_DELAY:=30}"
export PATH SP_STATE
mkdir -p "$SP_STATE"

SCRIPT_NAME=$(basename "$0")
CHILDREN=()

say() {
    printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2
}

# redis_args [PREFIX]: the options that name Redis, on one line to paste
# into a command: --url/--socket of sp-redis-sink and sp-serve, or with
# PREFIX --state- sp-kcat-in's --state-url/--state-socket.
redis_args() {
    local prefix=${1:---}
    if [ -n "${SP_REDIS_SOCKET:-}" ]; then
        echo "${prefix}socket $SP_REDIS_SOCKET"
    else
        echo "${prefix}url ${SP_REDIS_URL:-redis://127.0.0.1:6379/0}"
    fi
}

# supervise NAME COMMAND [once]: run the shell pipeline COMMAND; when it fails (any
# stage exits non-zero or is killed), run it again after a pause that doubles
# from 1 s up to SP_RESTART_MAX_DELAY, the restart strategy of the Flink job
# StreamPulse replaces. The whole pipeline restarts together: sp-window
# resumes from its checkpoint (skipping the records it had already counted,
# or, from Kafka, at the saved offsets) and sp-redis-sink's writes are
# idempotent, so a crash costs seconds, not data. Returns when COMMAND
# succeeds or the script is stopping.
supervise() {
    local name=$1 command=$2 once=${3:-} delay=1 status
    # SIGTERM to this supervisor goes on to the programs of its pipeline,
    # which flush and checkpoint: to the children of the bash that runs a
    # pipeline, or to the program itself when bash exec'd a single command.
    # Not to that bash as well: it would die at once, and the wait below
    # would return while its programs were still finishing (a demo then
    # stopped the Kafka broker under a consumer leaving its group).
    trap 'STOPPING=1; pkill -TERM -P "$SUPERVISED_PID" 2>/dev/null ||
          kill -TERM "$SUPERVISED_PID" 2>/dev/null' TERM INT
    while :; do
        say "starting $name: $command"
        bash -o pipefail -c "$command" &
        SUPERVISED_PID=$!
        wait "$SUPERVISED_PID"
        status=$?
        # a signal cuts wait short: wait on until the pipeline has exited
        while [ -n "${STOPPING:-}" ] && kill -0 "$SUPERVISED_PID" 2>/dev/null; do
            wait "$SUPERVISED_PID"
        done
        [ -n "${STOPPING:-}" ] && return 0
        if [ "$status" -eq 0 ]; then
            say "$name finished"
            return 0
        fi
        if [ -n "$once" ]; then
            say "$name failed (status $status); not restarted (see the script's notes)"
            return "$status"
        fi
        say "$name failed (status $status); restarting in ${delay}s from its checkpoint"
        sleep "$delay" & wait $!
        [ -n "${STOPPING:-}" ] && return 0
        delay=$((delay * 2 > SP_RESTART_MAX_DELAY ? SP_RESTART_MAX_DELAY : delay * 2))
    done
}

# start NAME COMMAND [once]: supervise COMMAND in the background (with
# "once", run it once and never restart it); stop_all ends it.
start() {
    supervise "$1" "$2" "${3:-}" &
    CHILDREN+=($!)
}

# stop_all: SIGTERM every process this script started (pipelines then flush
# and write their final checkpoints) and wait until they are gone.
stop_all() {
    STOPPING=1
    local pid
    for pid in "${CHILDREN[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${CHILDREN[@]}"; do
        while kill -0 "$pid" 2>/dev/null; do wait "$pid" 2>/dev/null; done
    done
}

# on_stop: Ctrl-C and SIGTERM stop everything this script started.
on_stop() {
    trap - INT TERM
    say "stopping"
    stop_all
    exit 0
}
trap on_stop INT TERM
