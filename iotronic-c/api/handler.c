/* api/handler.c: see handler.h. */
#include "api/handler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/fault.h"
#include "api/ident.h"
#include "common/jsonw.h"
#include "common/log.h"
#include "conductor/rpc.h"

#define LIST_BUF_MAX (256u << 20) /* a page of max_limit boards fits many times */

int api_call_init(struct http_req *r, struct api_call *c)
{
    api_call_base(r, c);
    if (c->db == NULL) {
        http_resp_error(r, 503, "Resource temporarily unavailable, please retry.");
        return -1;
    }
    return 0;
}

void api_call_base(struct http_req *r, struct api_call *c)
{
    memset(c, 0, sizeof(*c));
    c->r = r;
    c->a = http_req_service(r);
    c->db = http_req_thread_ctx(r);
    c->cred = http_req_cred(r);
    c->id.user_id = c->cred->id->user_id;
    c->id.project_id = c->cred->id->project_id;
    c->id.is_admin = c->cred->is_admin;
    c->base = c->a->cfg.public_endpoint;
    if (c->base == NULL)
        c->base = http_req_base_url(r);
    if (c->base == NULL)
        c->base = http_req_printf(r, "%s://%s:%lld", http_req_scheme(r), c->a->cfg.host_ip,
                                  (long long)c->a->cfg.port);
}

int api_respond_error(struct api_call *c, const struct error *err)
{
    http_resp_error(c->r, api_errno_status(err->code), "%s", err->msg);
    return -1;
}

int api_authorize(struct api_call *c, const char *rule, int resource, const char *owner,
                  const char *project)
{
    struct policy_target t[3];
    size_t n = 0;

    if (resource) {
        t[n++] = (struct policy_target){"owner", owner};
        t[n++] = (struct policy_target){"project_id", project};
        t[n++] = (struct policy_target){"project", project};
    } else {
        t[n++] = (struct policy_target){"user_id", c->id.user_id};
        t[n++] = (struct policy_target){"project_id", c->id.project_id};
    }
    if (policy_authorize(c->a->policy, rule, c->cred, t, n) == 0)
        return 0;
    http_resp_error(c->r, 403, "Access was denied to the following resource: %s", rule);
    return -1;
}

int api_parse_body(struct api_call *c, const struct api_schema *s, struct api_body *b)
{
    struct error err;
    size_t len = 0;
    const char *text = http_req_body(c->r, &len);
    const char *mt = http_req_media_type(c->r);

    memset(b, 0, sizeof(*b));
    if (len > 0 && mt[0] != '\0' && strcmp(mt, "application/json") != 0) {
        http_resp_error(c->r, 415, "Unknown mimetype: %s", mt);
        return -1;
    }
    if (api_body_parse(s, text, len, b, &err) < 0)
        return api_respond_error(c, &err);
    return 0;
}

int api_find(struct api_call *c, enum api_coll_id coll, const char *ref, int uuid_only,
             struct api_row *row)
{
    char u[UUID_STR_LEN];
    struct error err;
    int is_uuid;

    memset(row, 0, sizeof(*row));
    if (ref == NULL)
        ref = "";
    is_uuid =
        uuid_only ? (api_parse_uuid(ref, u, &err) == 0 ? 1 : -1) : api_parse_ref(ref, u, &err);
    if (is_uuid < 0)
        return api_respond_error(c, &err);
    if (api_store_find(c->a->store, c->db, coll, &c->id, is_uuid ? u : ref, is_uuid, row, &err) < 0)
        return api_respond_error(c, &err);
    return 0;
}

int api_check_ref(struct api_call *c, const char *ref, int uuid_only)
{
    char u[UUID_STR_LEN];
    struct error err;
    int rc = uuid_only ? api_parse_uuid(ref ? ref : "", u, &err)
                       : api_parse_ref(ref ? ref : "", u, &err);

    return rc < 0 ? api_respond_error(c, &err) : 0;
}

int api_fields(struct api_call *c, const struct api_kind *k, uint32_t *mask)
{
    struct api_qparam p[16];
    struct api_listq q;
    struct error err;
    size_t n = http_req_query_count(c->r);

    if (n > 16)
        n = 16;
    for (size_t i = 0; i < n; i++) {
        p[i].name = http_req_query_at(c->r, i)->name;
        p[i].value = http_req_query_at(c->r, i)->value;
    }
    if (api_listq_parse(k, API_Q_FIELDS, 1, 1, 1, p, n, &q, &err) < 0)
        return api_respond_error(c, &err);
    *mask = q.fields;
    return 0;
}

cJSON *api_args(void)
{
    return cJSON_CreateObject();
}

static cJSON *ctx_object(const struct api_call *c)
{
    cJSON *o = cJSON_CreateObject(), *roles = cJSON_CreateArray();
    const struct auth_identity *id = c->cred->id;

    cJSON_AddItemToObject(o, "user_id",
                          id->user_id ? cJSON_CreateString(id->user_id) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "project_id",
                          id->project_id ? cJSON_CreateString(id->project_id) : cJSON_CreateNull());
    for (size_t i = 0; i < id->nroles; i++)
        cJSON_AddItemToArray(roles, cJSON_CreateString(id->roles[i]));
    cJSON_AddItemToObject(o, "roles", roles);
    cJSON_AddBoolToObject(o, "is_admin", c->cred->is_admin);
    return o;
}

void api_request_header(struct api_call *c, const cJSON *obj)
{
    const cJSON *rq = cJSON_GetObjectItemCaseSensitive(obj, "request");

    if (cJSON_IsString(rq) && rq->valuestring[0] != '\0' &&
        http_resp_header(c->r, "X-Iotronic-Request-Uuid", rq->valuestring) < 0)
        log_warn("cannot add X-Iotronic-Request-Uuid");
}

int api_conductor(struct api_call *c, const char *method, cJSON *args, const char *board,
                  cJSON **out)
{
    int64_t timeout = board ? (c->a->cfg.board_call_timeout + COND_BOARD_CALL_MARGIN_S)
                            : c->a->cfg.rpc_response_timeout;
    struct mq_result res;
    int rc;

    cJSON_AddItemToObject(args, "ctx", ctx_object(c));
    rc = mq_call(c->a->mq, COND_QUEUE, method, args, (int)(timeout * 1000), &res);
    cJSON_Delete(args);
    if (rc == 0) {
        *out = res.result;
        res.result = NULL;
        mq_result_free(&res);
        return 0;
    }
    if (rc == -EREMOTE) {
        if (res.remote_data)
            api_request_header(c, res.remote_data);
        http_resp_error(c->r, res.remote_status ? res.remote_status : 500, "%s", res.err.msg);
    } else if (mq_rc_unsent(rc)) {
        http_resp_error(c->r, 503, "Resource temporarily unavailable, please retry.");
    } else if (board != NULL) {
        http_resp_error(c->r, 504, "Board %s did not answer in time.", board);
    } else {
        http_resp_error(c->r, 504, "Timed out waiting for the conductor.");
    }
    log_info("conductor %s: %s", method, res.err.msg);
    mq_result_free(&res);
    return -1;
}

static void send_buf(struct api_call *c, int status, struct buf *b)
{
    size_t len;
    char *p = buf_take(b, &len);

    http_resp_body_take(c->r, status, "application/json", p, len);
}

void api_send_row(struct api_call *c, int status, const struct api_row *row, uint32_t mask)
{
    struct buf b;
    struct jw w;

    buf_init(&b, LIST_BUF_MAX);
    jw_init(&w, &b, 1);
    api_row_render(row, &w, mask, c->base);
    if (jw_error(&w) < 0) {
        buf_free(&b);
        http_resp_error(c->r, 500, "An unknown exception occurred.");
        return;
    }
    send_buf(c, status, &b);
}

void api_send_action(struct api_call *c, const cJSON *result)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(result, "message");
    struct buf b;
    struct jw w;

    api_request_header(c, result);
    buf_init(&b, LIST_BUF_MAX);
    jw_init(&w, &b, 1);
    jw_str(&w, cJSON_IsString(m) ? m->valuestring : "");
    if (jw_error(&w) < 0) {
        buf_free(&b);
        http_resp_error(c->r, 500, "An unknown exception occurred.");
        return;
    }
    send_buf(c, 200, &b);
}

void api_send_fresh(struct api_call *c, int status, enum api_coll_id coll, const char *uuid)
{
    struct api_ident admin = c->id;
    struct api_row row;
    struct error err;

    admin.is_admin = 1; /* the caller just wrote it: read it whatever the scope */
    if (api_store_find(c->a->store, c->db, coll, &admin, uuid, 1, &row, &err) < 0) {
        api_respond_error(c, &err);
        return;
    }
    api_send_row(c, status, &row, api_kind_all(row.sk->kind));
    api_row_clear(&row);
}

/* Scope of a list (4.6): the caller's own project (user for plugins), an
 * admin's project= or all_projects. */
static void scope(const struct api_call *c, const struct api_listq *q, int plugins,
                  struct api_scope *sc)
{
    sc->who = plugins ? c->id.user_id : c->id.project_id;
    if (c->id.is_admin && q->project != NULL)
        sc->who = q->project;
    sc->all = c->id.is_admin && q->all_projects;
    sc->with_public = q->with_public;
    if (q->status != NULL)
        sc->status = q->status;
}

void api_send_list(struct api_call *c, enum api_coll_id coll, unsigned allowed, int detail,
                   const char *rule, struct api_scope *sc, const char *path)
{
    const struct api_kind *k = api_sqlkinds[coll].kind;
    struct api_qparam p[32];
    struct api_listq q;
    struct error err;
    struct buf b;
    size_t n = http_req_query_count(c->r);

    if (n > 32) {
        http_resp_error(c->r, 400, "Unknown argument: \"%s\"", http_req_query_at(c->r, 32)->name);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        p[i].name = http_req_query_at(c->r, i)->name;
        p[i].value = http_req_query_at(c->r, i)->value;
    }
    /* /v1/services/public also refuses `location` with the unquoted message. */
    const struct api_kind *pk = k == &api_kind_service && strcmp(path, "/v1/services/public") == 0
                                    ? &api_kind_service_public
                                    : k;

    if (api_listq_parse(pk, allowed, detail, c->id.is_admin, c->a->cfg.max_limit, p, n, &q, &err) <
        0) {
        api_respond_error(c, &err);
        return;
    }
    if (rule != NULL && api_authorize(c, rule, 0, NULL, NULL) < 0)
        return;
    scope(c, &q, k == &api_kind_plugin, sc);
    buf_init(&b, LIST_BUF_MAX);
    if (api_store_list(c->a->store, c->db, coll, sc, &q, c->base, path, &b, &err) < 0) {
        buf_free(&b);
        api_respond_error(c, &err);
        return;
    }
    send_buf(c, 200, &b);
}

void api_send_sublist(struct api_call *c, const struct api_kind *k, const char *key)
{
    struct error err;
    struct buf b;

    buf_init(&b, LIST_BUF_MAX);
    if (api_store_sublist(c->a->store, c->db, k, key, c->base, &b, &err) < 0) {
        buf_free(&b);
        api_respond_error(c, &err);
        return;
    }
    send_buf(c, 200, &b);
}
