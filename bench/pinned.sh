#!/bin/bash
# bench/pinned.sh: run ltibench with the load generator on CPU 0 and the
# tools under test with their database on CPU 1 (Linux, root, 2+ CPUs).
# ltibench itself runs under taskset -c 0; a loop moves PostgreSQL's
# processes, ltibench's own-process child, demo-tool and node to CPU 1 as
# they appear, and gives PostgreSQL both CPUs back at the end. The derived
# "ceiling" line assumes shared CPUs and means nothing here.
#
#   bash bench/pinned.sh -targets own-process,demo-tool,ltijs -stores postgres \
#       -launches 3000 -warmup 300 -repeat 3 -lookup-cache 30s -micro 0 -floors 0
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
bin=$dir/ltibench

pin() {
	for p in $(pgrep postgres) $(pgrep -x node) $(pgrep -f "^$bin\$") $(pgrep -f "demo-tool serve"); do
		taskset -a -p -c 1 "$p" >/dev/null 2>&1 || true
	done
}
unpin() {
	for p in $(pgrep postgres); do taskset -a -p -c 0-"$(($(nproc --all) - 1))" "$p" >/dev/null 2>&1 || true; done
}
trap 'unpin; rm -rf "$dir"' EXIT
go build -o "$bin" ./cmd/ltibench

taskset -c 0 "$bin" "$@" &
parent=$!
while kill -0 "$parent" 2>/dev/null; do
	pin
	sleep 0.2
done
wait "$parent"
