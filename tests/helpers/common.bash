# common.bash: loaded by every tests/*.bats file (load helpers/common).
#
# SP_BIN     the programs under test (make check sets it to the sanitized build)
# SP_DATA    fixtures made for the tests (tests/data)
# SP_EXAMPLES real data shipped with the project (examples/data: StreamPulse v1
#             sample and 50k files, NYC TLC samples)
# SHARED_DATA the larger real data beside the checkout, when it exists
#             (tests that need it skip without it)

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROJECT_DIR=$(cd "$TESTS_DIR/.." && pwd)
: "${SP_BIN:=$PROJECT_DIR/bin}"
SP_DATA=$TESTS_DIR/data
SP_EXAMPLES=$PROJECT_DIR/examples/data
SHARED_DATA=$PROJECT_DIR/../shared/data
export SP_BIN SP_DATA SP_EXAMPLES SHARED_DATA PATH="$SP_BIN:$PATH"

# The sanitized build of make check: a leak or an error makes the program
# exit non-zero, which the tests see as a failure.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# require_shared_data FILE: skip the test when ../shared/data is absent.
require_shared_data() {
    [ -f "$SHARED_DATA/$1" ] || skip "needs ../shared/data/$1"
}

# count_lines FILE: number of lines, no padding.
count_lines() {
    wc -l <"$1" | tr -d ' '
}

# metric FILE NAME: the value of a counter in a Prometheus textfile.
metric() {
    awk -v name="$2" '$1 ~ "^" name "[{ ]" { print $2; exit }' "$1"
}

# wait_for CONDITION [SECONDS]: until the shell condition CONDITION holds,
# tried every 50 ms. After SECONDS (default 30) it fails, saying what it
# waited for: the limit only keeps a hang from lasting, so make it generous;
# a test never asserts how long anything took.
wait_for() {
    local condition=$1 deadline=$((SECONDS + ${2:-30}))
    until eval "$condition"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "wait_for: gave up after ${2:-30} s waiting for: $condition" >&2
            return 1
        fi
        sleep 0.05
    done
}
