# kafka.bash: a private Kafka cluster (sp-kafka-mock) for a bats test.
#
#   kafka_mock_start [sp-kafka-mock options...]
#       start the mock in the background, wait for the bootstrap address it
#       prints, export it as KAFKA_BROKERS; KAFKA_MOCK_PID is its process
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
    local i
    for i in $(seq 200); do
        if [ -s "$out" ]; then
            KAFKA_BROKERS=$(head -n 1 "$out")
            export KAFKA_BROKERS KAFKA_MOCK_PID
            return 0
        fi
        kill -0 "$KAFKA_MOCK_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "sp-kafka-mock did not print its address:" >&2
    cat "$err" >&2
    return 1
}

kafka_mock_stop() {
    [ -n "${KAFKA_MOCK_PID:-}" ] || return 0
    kill "$KAFKA_MOCK_PID" 2>/dev/null || true
    wait "$KAFKA_MOCK_PID" 2>/dev/null || true
    unset KAFKA_MOCK_PID
}
