#!/bin/sh
# lightning-rod-c/runtime/busybox/launch.sh: the busybox runtime's launcher
# (deviceless-api.md 3.2). The container runs `/bin/sh launch.sh <entry>`:
#   - if <code>/<entry> is a file, it is run with sh;
#   - otherwise the part of <entry> before the first dot, plus ".sh", is, so
#     the default entry "main.main" runs main.sh.
# stdin (the input JSON), the environment (FUNCTION_RESULT, ...) and the
# working directory pass through unchanged. <code> is /code in a container,
# or $FUNCTION_CODE_DIR under the process executor (3.8).
code="${FUNCTION_CODE_DIR:-/code}"
entry="$1"
if [ -z "$entry" ]; then
    echo "launcher: no entry given" >&2
    exit 2
fi
case "$entry" in
    /* | *..*) echo "launcher: entry $entry must be a relative name inside the package" >&2
               exit 2 ;;
esac
if [ -f "$code/$entry" ]; then
    script="$code/$entry"
else
    script="$code/${entry%%.*}.sh"
fi
if [ ! -f "$script" ]; then
    echo "launcher: the package has neither $entry nor ${entry%%.*}.sh" >&2
    exit 127
fi
exec sh "$script"
