/* qapi/h_function_create.c: POST /v1/functions (2.3 create rules, 3.1).
 *
 * The package is checked completely and written to a temporary file before
 * the transaction; the transaction upserts its blob row, moves the file into
 * the store and inserts the function, so a failure leaves neither a row nor
 * a reference behind (an orphaned file is collected by the sweeper). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/uuid.h"
#include "db/row.h"
#include "qapi/function.h"
#include "qapi/handlers.h"
#include "qmodel/fault.h"

static const struct db_stmt runtime_stmt = {
    "qa_fn_runtime",
    "SELECT id, status FROM runtimes WHERE (CASE WHEN $2::uuid IS NOT NULL THEN id = $2::uuid "
    "ELSE name = $1 END) AND ($3::text IS NULL OR project_id = $3 OR is_public) "
    "ORDER BY created_at LIMIT 1",
    3,
};

static const struct db_stmt insert_stmt = {
    "qa_fn_insert",
    "INSERT INTO functions (id, name, description, runtime_id, image_runtime_id, code, entry, "
    "cpu, memory_size, timeout, package_sha256, devices, device_access, network, board_id, "
    "fleet_id, placement, keep_warm, warm_ttl, project_id) VALUES ($1::uuid, $2, $3, $4::uuid, "
    "$5::uuid, $6::jsonb, $7, $8::int, $9::bigint, $10::int, $11, $12::jsonb, $13, $14, "
    "$15::uuid, $16::uuid, $17, $18::int, $19::int, $20)",
    20,
};

struct create {
    struct qa_call *c;
    const struct qa_fnspec *s;
    char id[UUID_STR_LEN];
    char runtime[UUID_STR_LEN];
    const struct qa_pkg *pkg; /* NULL for image functions */
    const char *tmp;
    struct qm_target target;
};

/* Finds the runtime by id (package functions) or id or name (image). 0 and
 * its status in status, or answered. */
static int find_runtime(struct create *k, const char *ref, int by_name, char status[16])
{
    char u[UUID_STR_LEN];
    int is_uuid = uuid_normalize(ref, u) == 0;
    const char *p[3] = {ref, is_uuid ? u : NULL, qa_scope(k->c)};
    PGresult *res = NULL;
    int rc;

    if (!is_uuid && !by_name)
        return qa_fail(k->c, 400, "Expected a uuid but received %s.", ref);
    if (qa_exec(k->c, &runtime_stmt, p, &res) < 0)
        return -1;
    rc = PQntuples(res) == 0 ? qa_fail(k->c, 404, "Runtime not found [id=%s]", ref) : 0;
    if (rc == 0) {
        snprintf(k->runtime, sizeof(k->runtime), "%s", PQgetvalue(res, 0, 0));
        snprintf(status, 16, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return rc;
}

static int insert_tx(struct db *db, void *arg, struct error *err)
{
    struct create *k = arg;
    const struct qa_value *v = k->s->v;
    const struct qm_config *cfg = k->c->a->cfg;
    int image = strcmp(k->s->source, "image") == 0;
    cJSON *code = image ? cJSON_Duplicate(k->s->code, 1) : qa_package_code(k->pkg);
    char *code_text, *devices = k->s->devices_json ? json_print(k->s->devices_json) : NULL;
    char cpu[DB_INT_LEN], mem[DB_INT_LEN], to[DB_INT_LEN], kw[DB_INT_LEN], ttl[DB_INT_LEN];
    int rc = 0;

    if (image) /* code.image names the runtime by its id from now on (3.2) */
        cJSON_ReplaceItemInObjectCaseSensitive(code, "image", cJSON_CreateString(k->runtime));
    code_text = json_print(code);
    if (!image)
        rc = qa_package_commit(db, cfg->file_system_dir, k->tmp, k->pkg, err);
    const char *p[20] = {
        k->id,
        v[QF_NAME].s,
        v[QF_DESC].s,
        image ? NULL : k->runtime,
        image ? k->runtime : NULL,
        code_text,
        image ? NULL : (v[QF_ENTRY].present ? v[QF_ENTRY].s : "main.main"),
        db_param_int(cpu, v[QF_CPU].present ? v[QF_CPU].i : cfg->default_cpu),
        db_param_int(mem, v[QF_MEMORY].present ? v[QF_MEMORY].i : cfg->default_memory),
        db_param_int(to, v[QF_TIMEOUT].present ? v[QF_TIMEOUT].i : cfg->default_timeout),
        image ? NULL : k->pkg->sha256,
        devices != NULL ? devices : "[]",
        v[QF_ACCESS].present ? v[QF_ACCESS].s : "mediated",
        v[QF_NETWORK].present ? v[QF_NETWORK].s : "none",
        k->target.board_id[0] ? k->target.board_id : NULL,
        k->target.fleet_id[0] ? k->target.fleet_id : NULL,
        k->target.placement[0] ? k->target.placement : NULL,
        db_param_int(kw, v[QF_KEEP_WARM].present ? v[QF_KEEP_WARM].i : 0),
        db_param_int(ttl, v[QF_WARM_TTL].present ? v[QF_WARM_TTL].i : 600),
        k->c->project,
    };
    if (rc == 0)
        rc = db_exec_stmt(db, &insert_stmt, p, NULL, err);
    cJSON_Delete(code);
    free(code_text);
    free(devices);
    return rc;
}

/* The runtime, the target, the package: lookups, then semantic checks. */
static int prepare(struct create *k, struct qa_pkg *pkg, char **tmp)
{
    const struct qa_fnspec *s = k->s;
    int image = strcmp(s->source, "image") == 0;
    char status[16];

    if (!image && !s->v[QF_RUNTIME].present)
        return qa_fail(k->c, 400, "\"runtime_id\" must be specified.");
    if (image && s->image == NULL)
        return qa_fail(k->c, 400, "Invalid input, code.image must name a runtime.");
    if (find_runtime(k, image ? s->image : s->v[QF_RUNTIME].s, image, status) < 0 ||
        qa_fnspec_target(k->c, s, &k->target) < 0)
        return -1;
    if (image && strcmp(status, "available") != 0)
        return qa_fail(k->c, 409, "Runtime %s is not available.", k->runtime);
    if (!image && strcmp(status, "available") != 0)
        return qa_fail(k->c, 400, "Runtime %s is not available.", k->runtime);
    if (image)
        return 0;
    if (s->package == NULL)
        return qa_fail(k->c, 400, "A package is required for package type function.");
    if (qa_fnspec_package(k->c, s, pkg) < 0 || qa_package_stage(k->c, s, tmp) < 0)
        return -1;
    k->pkg = pkg;
    k->tmp = *tmp;
    return 0;
}

QA_HANDLER(function_create)
{
    struct create k = {0};
    struct qa_fnspec s;
    struct qa_body b;
    struct qa_call c;
    struct qa_pkg pkg;
    struct error err;
    char *tmp = NULL;
    int rc;

    if (qa_call_init(r, &c) < 0 || qa_body_read(&c, QA_ACCEPT_FORM, &b) < 0)
        return;
    k.c = &c;
    k.s = &s;
    if (qa_fnspec_read(&c, &b, 0, &s) == 0 && qa_authorize(&c, "function:create", NULL) == 0) {
        if (s.code == NULL) {
            qa_fail(&c, 400, "Required param is missing. Required: code");
        } else if (prepare(&k, &pkg, &tmp) == 0) {
            uuid_v4(k.id);
            rc = db_tx(c.db, insert_tx, &k, &err);
            if (rc < 0) {
                log_error("function create: %s", err.msg);
                qm_db_fail(rc == -EBUSY ? -EAGAIN : rc, &err);
                qa_respond_error(&c, &err);
            } else {
                qa_function_answer(&c, k.id, 201);
            }
        }
    }
    if (tmp != NULL) {
        unlink(tmp); /* gone already when the transaction placed it */
        free(tmp);
    }
    qa_fnspec_clear(&s);
    qa_body_free(&b);
}
