/* http/exchange.c: one request on a worker: authentication, the service's
 * before hook, 404/405, the handler, serialisation; then back on the loop.
 * The order is the one both contracts fix (iotronic-api-v1.md 1.14,
 * deviceless-api.md 1.9): authentication before routing errors. */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "http/internal.h"

static const char *header_lookup(void *ctx, const char *name)
{
    return http_req_header(ctx, name);
}

/* 0 when the request may go on, otherwise the response is set. */
static int authenticate(struct http_req *r)
{
    struct http_server *srv = r->srv;
    int public_route = r->route != NULL && (r->route->flags & HTTP_ROUTE_PUBLIC);
    struct auth_failure fail;

    /* Inline routes run on the loop, where nothing may block: they are
     * public by construction and need no identity. */
    if (srv->opts.auth == NULL || (r->route != NULL && (r->route->flags & HTTP_ROUTE_INLINE))) {
        r->cred.is_public_api = public_route;
        return 0;
    }
    if (auth_authenticate(srv->opts.auth, header_lookup, r, public_route, &r->cred, &fail) == 0)
        return 0;
    http_server_error(r, fail.status, fail.message);
    if (fail.www_authenticate[0] != '\0' &&
        http_resp_header(r, "WWW-Authenticate", fail.www_authenticate) < 0)
        log_error("http: cannot add WWW-Authenticate");
    return -1;
}

static void method_not_allowed(struct http_req *r)
{
    const char *tmpl = r->srv->svc.msgs.method_not_allowed;
    const char *pct = strstr(tmpl, "%s");
    char allow[128];

    if (pct != NULL)
        http_resp_error(r, 405, "%.*s%s%s", (int)(pct - tmpl), tmpl, http_req_method_name(r),
                        pct + 2);
    else
        http_server_error(r, 405, tmpl);
    http_allow_string(r->allow, allow, sizeof(allow));
    if (http_resp_header(r, "Allow", allow) < 0)
        log_error("http: cannot add Allow");
}

static void run(struct http_req *r)
{
    struct http_service *svc = &r->srv->svc;

    if (authenticate(r) < 0)
        return;
    if (svc->before != NULL && svc->before(r, svc->arg) != 0) {
        if (r->status == 0)
            http_server_error(r, 500, svc->msgs.internal);
        return;
    }
    if (r->route == NULL) {
        if (r->allow != 0)
            method_not_allowed(r);
        else
            http_server_error(r, 404, svc->msgs.not_found);
        return;
    }
    r->route->handler(r);
    if (r->status == 0) {
        log_error("http: handler of %s %s set no response", http_req_method_name(r),
                  r->route->pattern);
        http_server_error(r, 500, svc->msgs.internal);
    }
}

void http_exchange_work(void *arg, void *thread_ctx)
{
    struct http_req *r = arg;

    r->thread_ctx = thread_ctx;
    log_set_request_id(http_req_ensure_id(r));
    run(r);
    if (r->spool != NULL) {
        /* The handler is done with the upload: remove an unclaimed file now,
         * so that it is gone before the client sees the response. */
        http_spool_free(r->spool, !r->upload_claimed);
        r->spool = NULL;
        r->has_upload = 0;
    }
    http_respond_finish(r);
    log_set_request_id(NULL);
}

void http_exchange_done(void *arg)
{
    struct http_req *r = arg;

    r->inflight--;
    if (http_req_release_orphan(r))
        return;
    http_conn_send(r->conn);
}

void http_exchange_inline(struct http_req *r)
{
    char saved[LOG_REQID_MAX];

    /* The loop thread may be in the middle of nothing else, but keep its
     * request id as it was. */
    snprintf(saved, sizeof(saved), "%s", log_request_id());
    log_set_request_id(http_req_ensure_id(r));
    run(r);
    http_respond_finish(r);
    log_set_request_id(saved[0] ? saved : NULL);
    http_conn_send(r->conn);
}
