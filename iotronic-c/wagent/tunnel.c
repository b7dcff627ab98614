/* wagent/tunnel.c: who may open a tunnel (board-protocol.md 9.5).
 *
 * The tunnel server (tunnel/server.h) asks for each control channel
 * (uuid, public_port, auth). It is allowed only when all hold:
 *   - the board's valid session is live on this wagent (checked on the loop,
 *     before and again after the database lookup);
 *   - exposed_services has (board_uuid, public_port): the database is the
 *     allowlist, as the conductor writes it (iotronic-api-v1.md 2.14.4);
 *   - the board proves itself with auth=<ts>.<sig>, HMAC-SHA256 under its
 *     secret, within 300 s of our clock; a board that never authenticated
 *     (the original agent, which has no secret) may omit it while anonymous
 *     boards are allowed.
 * The lookup runs on a worker; the answer goes back on the loop. */
#include "wagent/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "wamp/cra.h"

struct auth_job {
    struct wag *w;
    uint64_t id;
    char uuid[UUID_STR_LEN];
    int port;
    char auth[WAMP_WSTUN_AUTH_MAX + 64];
    int has_auth;
    int allow_anonymous;
    int allowed;
    char reason[160];
};

static const struct db_stmt lookup = {
    "wag_tunnel_lookup",
    "SELECT EXISTS (SELECT 1 FROM exposed_services WHERE board_uuid = $1::uuid AND "
    "public_port = $2::integer), c.secret, coalesce(c.auth_required, false) "
    "FROM (SELECT 1) one LEFT JOIN board_credentials c ON c.board_uuid = $1::uuid",
    2,
};

static void judge(struct auth_job *j, PGresult *res)
{
    const char *secret = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1);
    int auth_required = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
    struct error err;

    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        snprintf(j->reason, sizeof(j->reason), "port %d is not exposed for this board", j->port);
    } else if (j->has_auth) {
        if (secret == NULL)
            snprintf(j->reason, sizeof(j->reason), "the board has no secret");
        else if (wamp_wstun_verify(secret, strlen(secret), j->uuid, (unsigned)j->port, j->auth,
                                   (int64_t)time(NULL), &err) < 0)
            snprintf(j->reason, sizeof(j->reason), "bad proof: %.120s", err.msg);
        else
            j->allowed = 1;
    } else if (auth_required || !j->allow_anonymous) {
        snprintf(j->reason, sizeof(j->reason), "a proof is required");
    } else {
        j->allowed = 1;
    }
}

static void auth_work(void *arg, void *thread_ctx)
{
    struct auth_job *j = arg;
    char port[16];
    const char *p[2] = {j->uuid, port};
    PGresult *res = NULL;
    struct error err;

    snprintf(port, sizeof(port), "%d", j->port);
    if (thread_ctx == NULL || db_exec_stmt(thread_ctx, &lookup, p, &res, &err) < 0) {
        snprintf(j->reason, sizeof(j->reason), "database: %.120s",
                 thread_ctx ? err.msg : "no connection");
        return;
    }
    judge(j, res);
    PQclear(res);
}

static int live_here(struct wag *w, const char *uuid)
{
    struct wag_board *b = wag_board_get(w, uuid, 0);

    return b != NULL && b->sess != NULL;
}

static void auth_done(void *arg)
{
    struct auth_job *j = arg;

    if (j->allowed && !live_here(j->w, j->uuid)) {
        j->allowed = 0;
        snprintf(j->reason, sizeof(j->reason), "the board's session ended");
    }
    if (j->w->tun != NULL)
        tun_server_authorize_done(j->w->tun, j->id, j->allowed, j->reason);
    free(j);
}

void wag_tunnel_authorize(void *arg, const struct tun_auth_request *req)
{
    struct wag *w = arg;
    struct auth_job *j;

    if (!live_here(w, req->uuid)) {
        tun_server_authorize_done(w->tun, req->id, 0, "no live session on this wagent");
        return;
    }
    if (req->auth != NULL && strlen(req->auth) >= sizeof(((struct auth_job *)0)->auth)) {
        tun_server_authorize_done(w->tun, req->id, 0, "malformed proof");
        return;
    }
    j = xcalloc(1, sizeof(*j));
    j->w = w;
    j->id = req->id;
    snprintf(j->uuid, sizeof(j->uuid), "%s", req->uuid);
    j->port = req->public_port;
    if (req->auth != NULL) {
        snprintf(j->auth, sizeof(j->auth), "%s", req->auth);
        j->has_auth = 1;
    }
    j->allow_anonymous = w->cfg->allow_anonymous_boards;
    if (wag_db_submit(w, auth_work, auth_done, j) < 0) {
        free(j);
        tun_server_authorize_done(w->tun, req->id, 0, "the worker queue is full");
    }
}

void wag_tunnel_board_gone(struct wag *w, const char *uuid)
{
    unsigned n;

    if (w->tun == NULL)
        return;
    n = tun_server_close_board(w->tun, uuid);
    if (n > 0)
        log_info("board %s: %u tunnel(s) closed", uuid, n);
}
