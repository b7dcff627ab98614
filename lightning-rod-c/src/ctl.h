/* src/ctl.h: the agent's local control socket, <run_dir>/control.sock
 * (board-protocol.md 10.1).
 *
 * One JSON object per line in each direction. A request names its op:
 *   {"op": "sim_get_line", "chip": "sim0", "line": 3}
 * and gets one reply line, {"ok": true, ...} or {"ok": false, "error":
 * "<text>"}; a malformed line or an unknown op is answered the same way and
 * the connection stays open (a line over 64 KiB is answered, then closed).
 * Ops live in a dispatch table that modules extend with ctl_register():
 * the agent core adds "status", ctl_sim.h the "sim_*" ops. A handler may
 * answer at once or later (the connection's next request waits, so replies
 * keep their order), or turn the connection into a stream of event lines
 * that lasts until the client disconnects (sim_watch).
 *
 * The socket is mode 0600 and only root or the agent's own user may use it
 * (checked with SO_PEERCRED as well). Loop thread only. One struct ctl per
 * agent, made in main; free it before the modules whose ops it serves. */
#ifndef LRC_SRC_CTL_H
#define LRC_SRC_CTL_H

#include <cjson/cJSON.h>

#include "common/error.h"
#include "loop/loop.h"

#define CTL_SOCKET_NAME "control.sock"
#define CTL_MAX_LINE 65536
#define CTL_MAX_OUT (1 << 20) /* unsent bytes per connection (streams drop beyond) */
#define CTL_MAX_CONNS 16
#define CTL_OP_MAX 64 /* longest op name */

struct ctl;
struct ctl_req;    /* one request awaiting its reply */
struct ctl_stream; /* a connection turned into a stream of events */

/* Handles one request; msg is the whole request object, borrowed for the
 * call. It must eventually call ctl_reply(), ctl_reply_error() or
 * ctl_stream_start() exactly once, now or later. */
typedef void (*ctl_op_fn)(struct ctl_req *req, const cJSON *msg, void *arg);

/* The client left (or the ctl is being freed): the stream is gone. */
typedef void (*ctl_stream_end_fn)(void *arg);

/* Listens on path (mode 0600). *out is new (ctl_free). */
int ctl_new(struct loop *loop, const char *path, struct ctl **out, struct error *err) IOT_WUR;

/* Closes every connection (each stream's end callback runs; a request still
 * pending is answered into the void when its handler replies) and removes
 * the socket. Accepts NULL. */
void ctl_free(struct ctl *ctl);

/* Adds op to the dispatch table. -EEXIST when taken, -EINVAL for a name
 * that is empty or longer than CTL_OP_MAX. */
int ctl_register(struct ctl *ctl, const char *op, ctl_op_fn fn, void *arg) IOT_WUR;

/* Answers req with reply (owned from now on; may be NULL for {"ok": true}),
 * putting "ok": true first unless reply has "ok". req is gone afterwards. */
void ctl_reply(struct ctl_req *req, cJSON *reply);

/* Answers {"ok": false, "error": <formatted>}. req is gone afterwards. */
void ctl_reply_error(struct ctl_req *req, const char *fmt, ...) IOT_PRINTF(2, 3);

/* Answers req with first (owned; NULL for {"ok": true}) and keeps the
 * connection as a stream: later lines from the client are ignored, and
 * on_end(arg) runs once when it leaves. Returns the stream, or NULL when
 * the client had already left (on_end never runs then). req is gone. */
struct ctl_stream *ctl_stream_start(struct ctl_req *req, cJSON *first, ctl_stream_end_fn on_end,
                                    void *arg);

/* Sends one event line (obj owned from now on). When the client does not
 * keep up and the buffer is full, the event is dropped and counted, and the
 * next event that fits carries "dropped": <count>. Returns 0 or -E2BIG. */
int ctl_stream_send(struct ctl_stream *s, cJSON *obj);

/* Ends the stream from the server side (the client sees EOF once the
 * events queued are sent). on_end does not run; forget s. */
void ctl_stream_close(struct ctl_stream *s);

#endif
