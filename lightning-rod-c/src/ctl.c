/* src/ctl.c: see ctl.h.
 *
 * A connection has at most one request in flight (cc->pending): while its
 * handler has not answered, linesock holds the connection's next lines. A
 * request whose connection goes away is orphaned (req->cc = NULL) and its
 * late reply is dropped; a stream's end callback runs from the connection's
 * on_close, which linesock calls outside any of the connection's callbacks. */
#include "src/ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "src/linesock.h"

struct ctl_op {
    char *name;
    ctl_op_fn fn;
    void *arg;
};

struct ctl {
    struct linesock *ls;
    struct ctl_op *ops;
    size_t nops;
};

struct ctlconn {
    struct ctl *ctl;
    struct linesock_conn *c;
    struct ctl_req *pending;
    struct ctl_stream *stream;
};

struct ctl_req {
    struct ctlconn *cc; /* NULL once the client is gone */
    int in_call;        /* the handler has not returned yet */
};

struct ctl_stream {
    struct ctlconn *cc;
    ctl_stream_end_fn on_end;
    void *arg;
    uint64_t dropped;
    int closed; /* ended by the server: on_end must not run */
};

static void send_error(struct ctlconn *cc, const char *msg)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddBoolToObject(o, "ok", 0);
    cJSON_AddStringToObject(o, "error", msg);
    if (linesock_send_json(cc->c, o) < 0)
        log_debug("control: a reply could not be queued");
    cJSON_Delete(o);
}

static const struct ctl_op *find_op(const struct ctl *ctl, const char *name)
{
    for (size_t i = 0; i < ctl->nops; i++)
        if (strcmp(ctl->ops[i].name, name) == 0)
            return &ctl->ops[i];
    return NULL;
}

/* Parses a request line into its object and op; answers errors itself. */
static cJSON *parse_request(struct ctlconn *cc, const char *line, size_t len,
                            const struct ctl_op **op)
{
    struct error err;
    const cJSON *name;
    cJSON *msg = NULL;
    char text[160];

    if (!linesock_utf8_valid(line, len)) {
        send_error(cc, "The request is not valid UTF-8.");
        return NULL;
    }
    if (json_parse(line, len, &msg, &err) < 0) {
        snprintf(text, sizeof(text), "The request is not valid JSON: %.100s.", err.msg);
        send_error(cc, text);
        return NULL;
    }
    name = cJSON_GetObjectItemCaseSensitive(msg, "op");
    if (!cJSON_IsObject(msg) || !cJSON_IsString(name)) {
        send_error(cc, cJSON_IsObject(msg) ? "The request has no op."
                                           : "The request must be a JSON object.");
        cJSON_Delete(msg);
        return NULL;
    }
    *op = find_op(cc->ctl, name->valuestring);
    if (*op == NULL) {
        snprintf(text, sizeof(text), "Unknown op %.64s.", name->valuestring);
        send_error(cc, text);
        cJSON_Delete(msg);
        return NULL;
    }
    return msg;
}

static int on_line(struct linesock_conn *c, char *line, size_t len, void *arg)
{
    struct ctlconn *cc = linesock_data(c);
    const struct ctl_op *op = NULL;
    struct ctl_req *req;
    cJSON *msg;

    (void)arg;
    if (cc->stream != NULL)
        return 0; /* a stream only watches for the client leaving */
    msg = parse_request(cc, line, len, &op);
    if (msg == NULL)
        return 0;
    req = xcalloc(1, sizeof(*req));
    req->cc = cc;
    req->in_call = 1;
    cc->pending = req;
    op->fn(req, msg, op->arg);
    cJSON_Delete(msg);
    if (cc->pending == NULL)
        return 0; /* answered (or streaming) already */
    cc->pending->in_call = 0;
    return LINESOCK_PAUSE;
}

static void on_overflow(struct linesock_conn *c, void *arg)
{
    char msg[64];

    (void)arg;
    snprintf(msg, sizeof(msg), "Request line longer than %d bytes.", CTL_MAX_LINE);
    send_error(linesock_data(c), msg);
    linesock_close_after_flush(c);
}

static void on_open(struct linesock_conn *c, void *arg)
{
    struct ctlconn *cc = xcalloc(1, sizeof(*cc));

    cc->ctl = arg;
    cc->c = c;
    linesock_set_data(c, cc);
}

static void on_close(struct linesock_conn *c, void *arg)
{
    struct ctlconn *cc = linesock_data(c);

    (void)arg;
    if (cc->pending != NULL)
        cc->pending->cc = NULL;
    if (cc->stream != NULL) {
        if (!cc->stream->closed && cc->stream->on_end != NULL)
            cc->stream->on_end(cc->stream->arg);
        free(cc->stream);
    }
    free(cc);
}

static const struct linesock_ops ctl_ops = {on_open, on_line, on_overflow, on_close};

int ctl_new(struct loop *loop, const char *path, struct ctl **out, struct error *err)
{
    struct linesock_opts o;
    struct ctl *ctl = xcalloc(1, sizeof(*ctl));
    int rc;

    *out = NULL;
    memset(&o, 0, sizeof(o));
    o.path = path;
    o.mode = 0600;
    o.uid = (uid_t)-1;
    o.gid = (gid_t)-1;
    o.max_line = CTL_MAX_LINE;
    o.max_out = CTL_MAX_OUT;
    o.max_conns = CTL_MAX_CONNS;
    o.busy_line = "{\"ok\":false,\"error\":\"Too many control connections.\"}\n";
    o.local_users_only = 1;
    rc = linesock_listen(loop_ev(loop), &o, &ctl_ops, ctl, &ctl->ls, err);
    if (rc < 0) {
        free(ctl);
        return rc;
    }
    *out = ctl;
    return 0;
}

void ctl_free(struct ctl *ctl)
{
    if (ctl == NULL)
        return;
    linesock_free(ctl->ls);
    for (size_t i = 0; i < ctl->nops; i++)
        free(ctl->ops[i].name);
    free(ctl->ops);
    free(ctl);
}

int ctl_register(struct ctl *ctl, const char *op, ctl_op_fn fn, void *arg)
{
    size_t n = strlen(op);

    if (n == 0 || n > CTL_OP_MAX)
        return -EINVAL;
    if (find_op(ctl, op) != NULL)
        return -EEXIST;
    ctl->ops = xrealloc(ctl->ops, (ctl->nops + 1) * sizeof(*ctl->ops));
    ctl->ops[ctl->nops].name = xstrdup(op);
    ctl->ops[ctl->nops].fn = fn;
    ctl->ops[ctl->nops].arg = arg;
    ctl->nops++;
    return 0;
}

/* reply with "ok": true first, unless it says ok itself. Takes reply. */
static cJSON *with_ok(cJSON *reply)
{
    cJSON *o;

    if (reply != NULL && cJSON_GetObjectItemCaseSensitive(reply, "ok") != NULL)
        return reply;
    o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", 1);
    while (reply != NULL && reply->child != NULL) {
        cJSON *item = cJSON_DetachItemViaPointer(reply, reply->child);

        cJSON_AddItemToObject(o, item->string, item);
    }
    cJSON_Delete(reply);
    return o;
}

/* Sends the answer of req and forgets req; 1 when it reached a live client. */
static int finish(struct ctl_req *req, cJSON *answer)
{
    struct ctlconn *cc = req->cc;
    int live = cc != NULL;

    if (live) {
        if (linesock_send_json(cc->c, answer) < 0)
            log_debug("control: a reply could not be queued");
        cc->pending = NULL;
        if (!req->in_call)
            linesock_resume(cc->c);
    }
    cJSON_Delete(answer);
    free(req);
    return live;
}

void ctl_reply(struct ctl_req *req, cJSON *reply)
{
    finish(req, with_ok(reply));
}

void ctl_reply_error(struct ctl_req *req, const char *fmt, ...)
{
    cJSON *o = cJSON_CreateObject();
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON_AddBoolToObject(o, "ok", 0);
    cJSON_AddStringToObject(o, "error", msg);
    finish(req, o);
}

struct ctl_stream *ctl_stream_start(struct ctl_req *req, cJSON *first, ctl_stream_end_fn on_end,
                                    void *arg)
{
    struct ctlconn *cc = req->cc;
    struct ctl_stream *s;

    if (cc == NULL) { /* the client left while the request was pending */
        finish(req, with_ok(first));
        return NULL;
    }
    s = xcalloc(1, sizeof(*s));
    s->cc = cc;
    s->on_end = on_end;
    s->arg = arg;
    cc->stream = s;
    finish(req, with_ok(first));
    return s;
}

int ctl_stream_send(struct ctl_stream *s, cJSON *obj)
{
    int rc;

    if (s->closed) {
        cJSON_Delete(obj);
        return -EPIPE;
    }
    if (s->dropped > 0)
        json_add_int(obj, "dropped", (int64_t)s->dropped);
    rc = linesock_send_json(s->cc->c, obj);
    if (rc == -E2BIG)
        s->dropped++;
    else if (rc == 0)
        s->dropped = 0;
    cJSON_Delete(obj);
    return rc;
}

void ctl_stream_close(struct ctl_stream *s)
{
    s->closed = 1;
    linesock_close_after_flush(s->cc->c);
}
