#!/usr/bin/env bash
# make bench: runs the benchmark suite (tools/bench/bench.py says what it
# measures) against the programs of a build directory, and writes
# bench/results.json and bench/REPORT.md.
#   tools/bench/run.sh --build DIR [bench.py options]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build="$2"; shift 2 ;;
    --build=*) build="${1#--build=}"; shift ;;
    *) args+=("$1"); shift ;;
    esac
done
for tool in wrk gnuplot; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make deps)" >&2; exit 1; }
done
if [ "$(id -u)" -ne 0 ]; then
    echo "bench: run as root (PostgreSQL and RabbitMQ are started as their own users)" >&2
    exit 1
fi
# The suites start lr-swarm and the daemons; build what they need if missing.
make --no-print-directory BUILD="$build" -j"$(nproc)" "$build/bin/lr-swarm" >/dev/null
exec /usr/bin/python3 tools/bench/bench.py --build "$build" ${args[@]+"${args[@]}"}
