"""Many TCP connections through an echo service at once, every byte checked.

The tunnel tests push 100 MiB through a reverse tunnel to an echo service
over 50 concurrent connections (board-protocol.md 9); this is that load,
shared. Each connection sends its own pseudo-random data in 64 KiB writes
while a reader thread hashes what comes back."""

import hashlib
import random
import socket
import threading
import time


def _one(port, i, per_conn, timeout, results):
    data = random.Random(i).randbytes(per_conn)
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    got = hashlib.sha256()
    received = [0]

    def reader():
        while received[0] < per_conn:
            d = s.recv(262144)
            if not d:
                break
            got.update(d)
            received[0] += len(d)
    t = threading.Thread(target=reader)
    t.start()
    for off in range(0, per_conn, 65536):
        s.sendall(data[off:off + 65536])
    t.join(timeout)
    s.close()
    results[i] = (received[0], got.hexdigest() == hashlib.sha256(data).hexdigest())


def echo_many(port, conns=50, per_conn=2 * 1024 * 1024, timeout=120):
    """Returns ({connection: (bytes received, same bytes)}, seconds); a
    connection missing from the dict did not finish within 1.5 x timeout."""
    results = {}
    t0 = time.monotonic()
    threads = [threading.Thread(target=_one, args=(port, i, per_conn, timeout, results))
               for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout * 1.5)
    return results, time.monotonic() - t0
