/* qengine/payload.c: see payload.h. */
#include "qengine/payload.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/timeutil.h"
#include "qmodel/token.h"

static void add_blob(const struct qe *e, cJSON *o, const char *board, const char *sha,
                     const char *md5, int64_t size, const char *format)
{
    char url[1200], tok[QM_TOKEN_MAX];
    int64_t expiry = time_now_us() / 1000000 + e->cfg->board_token_ttl;

    snprintf(url, sizeof(url), "%s/v1/blobs/%s", e->base_url, sha);
    qm_token_mint(e->cfg->board_token_secret, board, sha, expiry, tok);
    cJSON_AddStringToObject(o, "sha256", sha);
    if (md5 != NULL && md5[0] != '\0')
        cJSON_AddStringToObject(o, "md5sum", md5);
    json_add_int(o, "size", size);
    cJSON_AddStringToObject(o, "format", format);
    cJSON_AddStringToObject(o, "url", url);
    cJSON_AddStringToObject(o, "token", tok);
}

/* The board's executor keys [process_runtimes] by name (A-Z a-z 0-9 . _ -);
 * a runtime without such a name is named by its id. */
static const char *runtime_name(const struct qm_rt *rt)
{
    if (rt->name[0] == '\0')
        return rt->id;
    for (const char *p = rt->name; *p; p++)
        if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
            return rt->id;
    return rt->name;
}

static cJSON *runtime(const struct qe *e, const struct qm_fn *fn, const char *board,
                      const struct qe_blob *b)
{
    cJSON *rt = cJSON_CreateObject();

    cJSON_AddStringToObject(rt, "id", fn->rt.id);
    cJSON_AddStringToObject(rt, "name", runtime_name(&fn->rt));
    if (b != NULL && b->sha256[0] != '\0')
        add_blob(e, rt, board, b->sha256, NULL, b->size, b->format);
    else
        add_blob(e, rt, board, fn->rt.sha256, NULL, fn->rt.size, fn->rt.format);
    cJSON_AddItemToObject(rt, "config", json_dup_or_object(fn->rt.config));
    return rt;
}

static void add_exec(cJSON *p, const struct qm_fn *fn, const struct qe_exec_args *x)
{
    char t[TIME_ISO_LEN];
    char *stdin_text = qm_input_stdin(x->input, x->kind);

    cJSON_AddStringToObject(p, "execution_id", x->execution_id);
    json_add_str_or_null(p, "input", stdin_text);
    cJSON_AddStringToObject(p, "input_kind", qm_input_kind_name(x->kind));
    /* Image functions take raw input as entrypoint arguments (2.6.2). */
    if (fn->image && x->kind == QM_INPUT_RAW)
        cJSON_AddItemToObject(p, "image_args", qm_input_words(x->input));
    cJSON_AddStringToObject(p, "deadline", time_format(x->deadline_us, TIME_Z_US, t));
    cJSON_AddStringToObject(p, "dispatched_at", time_format(x->dispatched_us, TIME_Z_US, t));
    free(stdin_text);
}

cJSON *qe_payload(const struct qe *e, const struct qm_fn *fn, const char *board,
                  const struct qe_exec_args *x)
{
    cJSON *p = cJSON_CreateObject(), *pkg;
    struct qe_blob cur;
    const struct qe_blob *b = &cur;

    snprintf(cur.sha256, sizeof(cur.sha256), "%s", fn->pkg_sha256);
    snprintf(cur.md5, sizeof(cur.md5), "%s", fn->pkg_md5);
    cur.size = fn->pkg_size;
    snprintf(cur.format, sizeof(cur.format), "%s", fn->pkg_format);
    if (x != NULL && x->pkg.sha256[0] != '\0')
        b = &x->pkg;

    if (x != NULL)
        add_exec(p, fn, x);
    cJSON_AddStringToObject(p, "function_id", fn->id);
    json_add_int(p, "function_version", fn->version);
    json_add_str_or_null(p, "entry", fn->image ? NULL : fn->entry);
    json_add_int(p, "timeout", fn->timeout);
    json_add_int(p, "cpu", fn->cpu);
    json_add_int(p, "memory_size", fn->memory_size);
    cJSON_AddItemToObject(p, "devices", qm_devices_json(fn->devs, fn->ndevs));
    cJSON_AddStringToObject(p, "device_access", fn->raw ? "raw" : "mediated");
    cJSON_AddStringToObject(p, "network", fn->net_host ? "host" : "none");
    json_add_int(p, "keep_warm", fn->keep_warm);
    json_add_int(p, "warm_ttl", fn->warm_ttl);
    if (fn->image || b->sha256[0] == '\0') {
        cJSON_AddNullToObject(p, "package");
    } else {
        pkg = cJSON_AddObjectToObject(p, "package");
        add_blob(e, pkg, board, b->sha256, b->md5, b->size, b->format);
    }
    cJSON_AddItemToObject(p, "runtime", runtime(e, fn, board, x != NULL ? &x->rt : NULL));
    return p;
}
