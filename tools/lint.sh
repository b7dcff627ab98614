#!/usr/bin/env bash
# make lint: formatting, banned calls and complexity of our C sources.
# Prints findings; exits non-zero when a banned call is found.
set -uo pipefail
cd "$(dirname "$0")/.."
mapfile -t src < <(git ls-files '*.c' '*.h')
status=0

echo "== banned calls (system, popen, sprintf, strcpy, strcat, atoi, gets)"
if grep -nE '\b(system|popen|sprintf|vsprintf|strcpy|strcat|atoi|atol|gets)[[:space:]]*\(' \
        "${src[@]}" | grep -vE '^\S+:[0-9]+:\s*(\*|//|/\*)'; then
    status=1
else
    echo "none"
fi

echo "== SQL built with printf-like calls"
if grep -nE 'printf[[:space:]]*\([^;]*"[[:space:]]*(SELECT|INSERT|UPDATE|DELETE)[[:space:]]' "${src[@]}"; then
    status=1
else
    echo "none"
fi

echo "== formatting (clang-format, report only)"
n=0
for f in "${src[@]}"; do
    if ! clang-format --dry-run "$f" >/dev/null 2>&1; then :; fi
    c=$(clang-format --dry-run "$f" 2>&1 | grep -c 'warning:' || true)
    n=$((n + c))
done
echo "$n lines differ from .clang-format"

echo "== complexity (pmccabe, functions above 20)"
if command -v pmccabe >/dev/null; then
    pmccabe "${src[@]}" 2>/dev/null | sort -rn | awk '$1 > 20 {print}' | head -20
fi
exit $status
