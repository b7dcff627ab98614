/* src/iosock.h: the mediated IO socket of one container (deviceless-api.md
 * 3.4.3, 3.4.4).
 *
 * The function executor makes one per container before it starts, in the
 * per-container directory it bind-mounts read-only at /run/iotronic, and
 * frees it when the container has exited. The socket lets the function
 * reach exactly the devices it declared, through the HAL, whatever the
 * backend:
 *
 *   {"id": 7, "op": "gpio_write", "chip": "sim0", "line": 3, "value": 1}
 *   {"id": 7, "ok": true, "ts": "2026-11-23T18:02:11.204518Z"}
 *
 * ops devices, gpio_read, gpio_write, sensor_read; errors bad_request (the
 * connection is closed after it), unknown_op, denied, unavailable,
 * rate_limited. At most 4 connections, 4096 bytes per line, replies in
 * request order, [io] max_ops_per_second per container (all connections
 * together). Lines declared `in` are held as inputs by the HAL while the
 * socket lives, so nobody drives them meanwhile ("Line busy"). The time of
 * the first successful gpio_write is kept for the execution's
 * `first_write_at`.
 *
 * Loop thread only. One struct iosock per container; the executor owns it. */
#ifndef LRC_SRC_IOSOCK_H
#define LRC_SRC_IOSOCK_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "hal/hal.h"
#include "loop/loop.h"

#define IOSOCK_NAME "io.sock"
#define IOSOCK_MAX_LINE 4096 /* bytes per request line, before its '\n' */
#define IOSOCK_MAX_CONNS 4
#define IOSOCK_MAX_OUT 65536 /* unsent reply bytes per connection */

struct iosock;

struct iosock_opts {
    int64_t max_ops_per_second; /* 0: the HAL's [io] max_ops_per_second */
};

struct iosock_stats {
    uint64_t ops;          /* requests answered ok */
    uint64_t errors;       /* requests answered with an error */
    uint64_t rate_limited; /* of which rate_limited */
    uint64_t connections;  /* accepted since creation */
};

/* Validates the declared specs (hal/devspec.h: -EINVAL with "Invalid device
 * <spec>: <reason>."), checks the HAL has each device (-ENODEV with "No
 * such device: <spec>."), holds the `in` lines (-EBUSY "Line busy:
 * <chip>:<line>." when one is an output), then creates <dir>/io.sock, mode
 * 0600, owned by uid:gid ((uid_t)-1 / (gid_t)-1 keep ours), and listens.
 * opts may be NULL. On success *out is new (iosock_free). */
int iosock_new(struct loop *loop, struct hal *hal, const char *dir, uid_t uid, gid_t gid,
               const char *const *specs, size_t n, const struct iosock_opts *opts,
               struct iosock **out, struct error *err) IOT_WUR;

/* Closes every connection (a sensor read in flight is dropped), removes the
 * socket and releases the held lines. Accepts NULL. */
void iosock_free(struct iosock *s);

/* CLOCK_REALTIME µs of the first successful gpio_write, or 0 if none. */
int64_t iosock_first_write_at(const struct iosock *s);

/* The socket's path on the host (<dir>/io.sock), borrowed. */
const char *iosock_path(const struct iosock *s);

unsigned iosock_connections(const struct iosock *s);
void iosock_get_stats(const struct iosock *s, struct iosock_stats *out);

/* Serves an already connected socket as one more connection (tests, and a
 * process executor that hands the child one end of a socketpair). The fd is
 * owned from now on. -EBUSY when 4 are open. */
int iosock_adopt(struct iosock *s, int fd, struct error *err) IOT_WUR;

/* ---- The request parser, pure: exposed for the fuzzer and tests. ---- */

enum iosock_op {
    IOSOCK_OP_DEVICES = 0,
    IOSOCK_OP_GPIO_READ = 1,
    IOSOCK_OP_GPIO_WRITE = 2,
    IOSOCK_OP_SENSOR_READ = 3,
};

struct iosock_req {
    cJSON *id; /* a copy of the request's id; NULL echoes null */
    enum iosock_op op;
    char name[HAL_NAME_MAX + 1]; /* chip (gpio) or sensor */
    unsigned line;
    int value; /* gpio_write: 0 or 1 */
};

/* Parses and validates one request line. Returns 0; -EINVAL for a
 * bad_request, -EOPNOTSUPP for an unknown_op, with the reply's message in
 * err. req->id is set whenever the line was a JSON object with a scalar id,
 * even on failure: free it with iosock_req_clear(). */
int iosock_parse(const char *line, size_t len, struct iosock_req *req, struct error *err);
void iosock_req_clear(struct iosock_req *req);

/* The error code a parse result answers with: "bad_request" or "unknown_op". */
const char *iosock_parse_code(int rc);

#endif
