/* src/linesock.h: a Unix stream socket server speaking one line per message.
 *
 * The IO socket (iosock.h) and the control socket (ctl.h) share it: a
 * listening socket at a path with a given mode and owner, at most max_conns
 * connections (one more is told busy_line and closed), lines of at most
 * max_line bytes before their '\n', a bounded output buffer per connection,
 * and no blocking anywhere: everything runs on the loop with ev_io.
 *
 * Order and flow: lines of a connection are handed to on_line one at a
 * time, in order. on_line may return LINESOCK_PAUSE to hold the next lines
 * until linesock_resume() (an answer that completes later keeps replies in
 * order). When a connection's unsent output passes half of max_out, its
 * lines wait until the peer reads; when its input buffer is full, the
 * socket is not read. So a peer that never reads cannot make the agent
 * buffer without bound.
 *
 * Lifetime: a connection is closed by the peer (EOF: the lines already
 * received are still answered, then it closes once its output is sent), by
 * an error, by linesock_close()/linesock_close_after_flush(), or by
 * linesock_free(). Its memory is released from an ev_prepare watcher, never
 * inside one of its own callbacks; on_close runs then, exactly once per
 * connection, and is the place to free per-connection state. Loop thread
 * only. */
#ifndef LRC_SRC_LINESOCK_H
#define LRC_SRC_LINESOCK_H

#include <cjson/cJSON.h>
#include <ev.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

#define LINESOCK_PAUSE 1

struct linesock;
struct linesock_conn;

struct linesock_ops {
    /* A new connection (may be NULL). */
    void (*on_open)(struct linesock_conn *c, void *arg);
    /* One line without its '\n', NUL-terminated at line[len] (so text can be
     * used in place; it may also hold NUL bytes before len). Valid during
     * the call. Returns 0 or LINESOCK_PAUSE. */
    int (*on_line)(struct linesock_conn *c, char *line, size_t len, void *arg);
    /* More than max_line bytes came without a '\n'. The connection reads no
     * more; answer and call linesock_close_after_flush(). */
    void (*on_overflow)(struct linesock_conn *c, void *arg);
    /* The connection is gone (may be NULL). */
    void (*on_close)(struct linesock_conn *c, void *arg);
};

struct linesock_opts {
    const char *path;
    mode_t mode;     /* of the socket node, e.g. 0600 */
    uid_t uid;       /* owner of the node; (uid_t)-1 keeps ours */
    gid_t gid;       /* (gid_t)-1 keeps ours */
    size_t max_line; /* bytes before the '\n' */
    size_t max_out;  /* unsent bytes per connection */
    unsigned max_conns;
    const char *busy_line; /* sent to a connection beyond max_conns, or NULL */
    int local_users_only;  /* refuse peers that are neither root nor our euid */
};

/* Creates the socket at o->path (a stale socket there is replaced; any other
 * file is -EEXIST) with o->mode and owner, and starts accepting. *out is new
 * (linesock_free). */
int linesock_listen(struct ev_loop *ev, const struct linesock_opts *o,
                    const struct linesock_ops *ops, void *arg, struct linesock **out,
                    struct error *err) IOT_WUR;

/* Serves an already connected socket (one end of a socketpair, say) as if it
 * had been accepted; fd is made non-blocking and owned from now on. Counts
 * against max_conns: -EBUSY (fd closed) when full. */
int linesock_adopt(struct linesock *ls, int fd, struct error *err) IOT_WUR;

/* Closes every connection (on_close runs for each), stops listening and
 * removes the node. Accepts NULL. */
void linesock_free(struct linesock *ls);

unsigned linesock_conn_count(const struct linesock *ls);

/* Queues data (normally one or more whole lines) for the peer. -E2BIG when
 * it does not fit in the output buffer (nothing queued), -EPIPE when the
 * connection is closing. */
int linesock_send(struct linesock_conn *c, const char *data, size_t len) IOT_WUR;

/* Queues the compact text of obj and a '\n'. */
int linesock_send_json(struct linesock_conn *c, const cJSON *obj) IOT_WUR;

/* Stops reading; closes once the queued output has been sent. */
void linesock_close_after_flush(struct linesock_conn *c);

/* Closes now, dropping unsent output. */
void linesock_close(struct linesock_conn *c);

/* Lets lines flow again after LINESOCK_PAUSE; they are handed over on a
 * later loop iteration, not inside this call. */
void linesock_resume(struct linesock_conn *c);

void linesock_set_data(struct linesock_conn *c, void *data);
void *linesock_data(const struct linesock_conn *c);

/* 1 while the connection is open and not closing. */
int linesock_open(const struct linesock_conn *c);

/* 1 when s[0..len) is well-formed UTF-8 without NUL bytes. */
int linesock_utf8_valid(const char *s, size_t len);

#endif
