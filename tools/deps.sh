#!/usr/bin/env bash
# Installs the Debian packages of tools/deps.list that are missing; does
# nothing (and needs no network) when all are present.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t want < <(grep -v '^\s*#' tools/deps.list | grep -v '^\s*$')
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: packages are missing and this is not root; run as root:" >&2
    echo "  apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# .ci/run has already refreshed the package lists: do it once per run.
[ -n "${IOT_APT_UPDATED:-}" ] || apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
