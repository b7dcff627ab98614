#!/bin/bash
# tools/build-runtimes.sh: builds the runtimes shipped with the project
# (deviceless-api.md 3.2) from the Debian packages installed on this machine.
#
#   tools/build-runtimes.sh OUTDIR
#
# writes OUTDIR/busybox.tar.gz and OUTDIR/python3.tar.gz, each a "bundle":
# a top-level runtime.json (entrypoint, env, cwd) and rootfs/. The output is
# deterministic: names sorted, owner 0:0, every mtime the epoch, gzip without
# a name or a time, and Python bytecode compiled with unchecked hashes (a
# timestamp-based .pyc would not match the epoch mtimes, and a read-only
# rootfs could not take a new one). Running it twice gives the same bytes.
#
# Needs: busybox-static, python3.11 (python3-minimal and libpython3.11-stdlib),
# GNU tar and gzip. Every file copied is listed below with the reason it is
# there; everything else is left out on purpose.
set -euo pipefail

usage() { echo "usage: $0 OUTDIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
OUT=$(mkdir -p "$1" && cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export LC_ALL=C

# The containers' mount points (3.2): created here so the shared tree never
# has to be written when a container starts (the board adds any missing).
mount_points() {
    mkdir -p "$1"/{proc,sys,dev,tmp,code,run/function,run/iotronic}
}

# A user database with the container user, so that `id` and Python's pwd
# module name it (containers run as 65534:65534, [function] container_uid).
etc_files() {
    mkdir -p "$1/etc"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
        >"$1/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$1/etc/group"
}

pack() { # pack NAME STAGEDIR
    find "$2" -exec touch -h -d @0 {} +
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu \
        -C "$2" -cf - runtime.json rootfs | gzip -n -9 >"$OUT/$1.tar.gz.tmp"
    mv "$OUT/$1.tar.gz.tmp" "$OUT/$1.tar.gz"
    echo "$OUT/$1.tar.gz $(stat -c %s "$OUT/$1.tar.gz") bytes"
}

# ------------------------------------------------------------------ busybox
build_busybox() {
    local s="$WORK/busybox" r="$WORK/busybox/rootfs" bb=/bin/busybox applet
    mkdir -p "$r/bin" "$r/lib/lrc"
    # The static busybox binary (busybox-static): the shell and every tool.
    file -L "$bb" | grep -q 'statically linked' || { echo "$bb is not busybox-static" >&2; exit 1; }
    install -m 0755 "$bb" "$r/bin/busybox"
    # One link per applet, so that scripts find sh, cat, sleep... in /bin.
    for applet in $("$bb" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$r/bin/$applet"
    done
    # The launcher that implements the entry rule of 3.2.
    install -m 0755 "$ROOT/lightning-rod-c/runtime/busybox/launch.sh" "$r/lib/lrc/launch.sh"
    etc_files "$r"
    mount_points "$r"
    cat >"$s/runtime.json" <<'JSON'
{"entrypoint": ["/bin/sh", "/lib/lrc/launch.sh"], "env": ["PATH=/bin"], "cwd": "/code", "architecture": "ARCH"}
JSON
    sed -i "s/ARCH/$(dpkg --print-architecture)/" "$s/runtime.json"
    pack busybox "$s"
}

# ------------------------------------------------------------------ python3
PY=/usr/bin/python3.11
PYLIB=/usr/lib/python3.11

# Standard-library parts left out, and why: tests and development tools
# (test, idlelib, lib2to3, pydoc_data, ensurepip, distutils, venv, unittest,
# config-3.11-*: 25 MB of static libpython), GUI and terminal front ends
# (tkinter, turtle*, curses), databases needing extra shared libraries
# (sqlite3, dbm), Debian's own packaging (site/dist-packages, the marker
# file) and the interpreter's self-test package (__phello__).
PY_EXCLUDE=(test idlelib lib2to3 pydoc_data ensurepip distutils venv unittest tkinter
            turtledemo turtle.py curses sqlite3 dbm site-packages dist-packages __phello__
            __pycache__ EXTERNALLY-MANAGED 'config-3.11-*')

# Extension modules kept (lib-dynload), and why: asyncio's and contextvars'
# accelerators, decimal (its C version, self-contained), json's speedups,
# queue (threads, concurrent.futures), typing, zoneinfo (time zones), mmap
# and resource (common in device code), ctypes (libraries that talk to
# hardware), and the shared libffi it needs. Left out: ssl and hashlib's
# OpenSSL backend (5 MB of libssl/libcrypto; hashlib keeps its built-in
# md5/sha1/sha2/sha3/blake2), bz2/lzma/uuid (extra libraries; uuid falls back
# to pure Python), the CJK codecs, readline, audio, curses, dbm, sqlite and
# the test modules.
PY_DYNLOAD=(_asyncio _contextvars _decimal _json _queue _typing _zoneinfo mmap resource _ctypes)

copy_with_libs() { # copy_with_libs ROOTFS FILE: the file and the shared libraries it loads
    local r="$1" f="$2" lib
    install -D -m 0755 "$f" "$r$f"
    for lib in $(ldd "$f" | awk '/=> \//{print $3} /^\t\/lib/{print $1}'); do
        [ -e "$r$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$r$lib"
    done
}

build_python3() {
    local s="$WORK/python3" r="$WORK/python3/rootfs" ex mod so
    mkdir -p "$r/usr/bin" "$r/usr/lib/lrc" "$r$PYLIB/lib-dynload"
    # The interpreter, with the libraries it links (libc, libm, libz,
    # libexpat, the dynamic loader at its absolute path).
    copy_with_libs "$r" "$PY"
    ln -sf python3.11 "$r/usr/bin/python3"
    # Debian's merged /usr: /lib and /lib64 are links into /usr.
    for d in lib lib64; do
        if [ -d "$r/$d" ] && [ ! -L "$r/$d" ]; then
            mkdir -p "$r/usr/$d" && cp -a "$r/$d/." "$r/usr/$d/" && rm -rf "${r:?}/$d"
        fi
        [ -e "$r/usr/$d" ] && ln -sfn "usr/$d" "$r/$d"
    done
    # The standard library, minus PY_EXCLUDE.
    local args=()
    for ex in "${PY_EXCLUDE[@]}"; do args+=(--exclude="$ex"); done
    tar -C "$PYLIB" "${args[@]}" --exclude=lib-dynload -cf - . | tar -C "$r$PYLIB" -xf -
    for mod in "${PY_DYNLOAD[@]}"; do
        so="$PYLIB/lib-dynload/$mod.cpython-311-$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu).so"
        [ -e "$so" ] || so=$(ls "$PYLIB"/lib-dynload/"$mod".cpython-311-*.so)
        copy_with_libs "$r" "$so"
    done
    # The launcher (Qinling's module.function convention, 2.6.2).
    install -m 0644 "$ROOT/lightning-rod-c/runtime/python3/launcher.py" "$r/usr/lib/lrc/launcher.py"
    # Bytecode, so that imports never compile (the tree is read-only).
    PYTHONHASHSEED=0 "$PY" -I -m compileall -q -j 1 --invalidation-mode unchecked-hash \
        -d "$PYLIB" "$r$PYLIB" "$r/usr/lib/lrc" >/dev/null
    etc_files "$r"
    mount_points "$r"
    # -I: no environment or user site influence; -S: no site module (a
    # faster start, and nothing outside the stdlib to find); -B: never try to
    # write bytecode.
    cat >"$s/runtime.json" <<'JSON'
{"entrypoint": ["/usr/bin/python3", "-I", "-S", "-B", "/usr/lib/lrc/launcher.py"], "env": ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"], "cwd": "/code", "architecture": "ARCH"}
JSON
    sed -i "s/ARCH/$(dpkg --print-architecture)/" "$s/runtime.json"
    pack python3 "$s"
}

build_busybox
build_python3
