#!/usr/bin/env bash
# dlq-to-kafka.sh: validate trip events and produce every dead-letter record
# to a Kafka topic, through a FIFO between sp-validate --dlq and sp-kcat-out.
#
#   pipelines/dlq-to-kafka.sh BROKERS [DLQ_TOPIC] <events.ndjson >valid.ndjson
#
# Valid events go to stdout unchanged; each invalid line becomes one DLQ
# record on DLQ_TOPIC (default events_dlq). sp-kcat-out stops at the end of
# the FIFO (when sp-validate closes it), after every record is acknowledged;
# a record it could not deliver goes to stderr (stdout carries the valid
# events) and makes the script exit 69. SP_BIN names the
# programs' directory (default: bin/ of this checkout).
set -euo pipefail
brokers=${1:?usage: dlq-to-kafka.sh BROKERS [DLQ_TOPIC] <events.ndjson >valid.ndjson}
topic=${2:-events_dlq}
bin=${SP_BIN:-$(cd "$(dirname "$0")/.." && pwd)/bin}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkfifo "$work/dlq.fifo"

# The producer opens the FIFO first and waits; sp-validate's open for
# writing lets both go on, and its exit is the producer's end of input.
"$bin/sp-kcat-out" -b "$brokers" -t "$topic" "$work/dlq.fifo" >&2 &
producer=$!
validate_status=0
"$bin/sp-validate" --dlq "$work/dlq.fifo" || validate_status=$?
producer_status=0
wait "$producer" || producer_status=$?
[ "$producer_status" -eq 0 ] || exit "$producer_status"
exit "$validate_status"
