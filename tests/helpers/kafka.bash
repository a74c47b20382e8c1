# kafka.bash: a private Kafka cluster (sp-kafka-mock) for a bats test.
# Load after helpers/common.
#
#   kafka_mock_start [sp-kafka-mock options...]
#       start the mock in the background, wait for the bootstrap address it
#       prints, export it as KAFKA_BROKERS; KAFKA_MOCK_PID is its process
#   kafka_mock_down, kafka_mock_up
#       take every broker down (SIGUSR1) or bring them back (SIGUSR2), and
#       wait until the mock says it did
#   kafka_mock_stop
#       stop it (call from teardown; harmless when it is not running)
#
# The mock's stderr is kept in $BATS_TEST_TMPDIR/kafka-mock.err. Its fd 3 is
# closed so bats does not wait for it.

kafka_mock_start() {
    local out="$BATS_TEST_TMPDIR/kafka-mock.out" err="$BATS_TEST_TMPDIR/kafka-mock.err"
    : >"$out"
    "$SP_BIN/sp-kafka-mock" "$@" >"$out" 2>"$err" 3>&- &
    KAFKA_MOCK_PID=$!
    wait_for "[ -s '$out' ] || ! kill -0 $KAFKA_MOCK_PID 2>/dev/null"
    if [ ! -s "$out" ]; then
        echo "sp-kafka-mock did not print its address:" >&2
        cat "$err" >&2
        return 1
    fi
    KAFKA_BROKERS=$(head -n 1 "$out")
    export KAFKA_BROKERS KAFKA_MOCK_PID
}

# _kafka_mock_signal SIGNAL WORD: send SIGNAL, wait for one more "all brokers
# WORD" line from the mock.
_kafka_mock_signal() {
    local err="$BATS_TEST_TMPDIR/kafka-mock.err" before
    before=$(grep -c "all brokers $2" "$err" || true)
    kill -"$1" "$KAFKA_MOCK_PID"
    wait_for "[ \$(grep -c 'all brokers $2' '$err') -gt $before ]"
}

kafka_mock_down() {
    _kafka_mock_signal USR1 down
}

kafka_mock_up() {
    _kafka_mock_signal USR2 up
}

kafka_mock_stop() {
    [ -n "${KAFKA_MOCK_PID:-}" ] || return 0
    kill "$KAFKA_MOCK_PID" 2>/dev/null || true
    wait "$KAFKA_MOCK_PID" 2>/dev/null || true
    unset KAFKA_MOCK_PID
}
