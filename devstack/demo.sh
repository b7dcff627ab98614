#!/bin/bash
# devstack/demo.sh: what `make demo` runs once the tree is built.
#
#   devstack/demo.sh [--build DIR] [--state-dir DIR]
#
# Starts the all-in-one stack (devstack/iotronic-aio: PostgreSQL, RabbitMQ,
# the IoTronic API, conductor and wagent, the deviceless service and two
# simulated boards, in a private state directory on free loopback ports),
# then walks the smart-city scenario (devstack/aiolib/scenario.py) and says
# how to explore the running stack and how to stop it. A stack left running
# by an earlier demo in the same state directory is stopped first.
#
# Exit status: 0 when every step passed; 1 when one failed (the stack is
# left running for inspection, and the message says how to stop it); 2 usage.
set -euo pipefail

usage() {
    echo "usage: $0 [--build DIR] [--state-dir DIR]" >&2
    exit 2
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
STATE_DIR=${IOTRONIC_AIO_DIR:-/tmp/iotronic-aio}
while [ $# -gt 0 ]; do
    case "$1" in
        --build) [ $# -ge 2 ] || usage; BUILD=$2; shift 2 ;;
        --state-dir) [ $# -ge 2 ] || usage; STATE_DIR=$2; shift 2 ;;
        -h | --help) usage ;;
        *) usage ;;
    esac
done
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac

AIO=(/usr/bin/python3 "$ROOT/devstack/iotronic-aio" --state-dir "$STATE_DIR")

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: run as root (make demo): PostgreSQL and RabbitMQ run as their own users," >&2
    echo "      and boards run functions in crun containers" >&2
    exit 1
fi
for prog in iotronic-dbsync iotronic-conductor iotronic-wagent iotronic-api qinling-engine \
    qinling-api lightning-rod-c lrc-probe lrc-fetch lrc-unpack; do
    if [ ! -x "$BUILD/bin/$prog" ]; then
        echo "demo: $BUILD/bin/$prog is not built: run make" >&2
        exit 1
    fi
done

start=$(date +%s%N)
echo "== IoTronic-C smart-city demo"
if [ -e "$STATE_DIR/state.json" ]; then
    echo "== stopping the stack an earlier run left in $STATE_DIR"
    "${AIO[@]}" stop
fi
if [ ! -f "$BUILD/runtimes/python3.tar.gz" ]; then
    echo "== building the function runtimes into $BUILD/runtimes (once)"
    "$ROOT/tools/build-runtimes.sh" "$BUILD/runtimes"
fi
echo "== starting the all-in-one stack"
"${AIO[@]}" start --build "$BUILD" --boards 2
echo
echo "== the scenario"
rc=0
"${AIO[@]}" demo --runtimes "$BUILD/runtimes" || rc=$?
end=$(date +%s%N)
echo
ms=$(((end - start) / 1000000))
printf '== demo %s in %d.%d s (start to end, stack included)\n' \
    "$([ $rc -eq 0 ] && echo finished || echo FAILED)" $((ms / 1000)) $((ms % 1000 / 100))
exit $rc
