/* src/trigger_store.c: <state_dir>/triggers.json (deviceless-api.md 3.7.3,
 * board-protocol.md 10.1).
 *
 *   {"version": 1, "triggers": [{"def": <the TriggerSet definition>,
 *                                "seq_reserved": N}, ...]}
 *
 * seq_reserved promises that no firing of that trigger ever used a number
 * at or above N, so a restart continues from N. Writes go through the agent's
 * state-file writer (atomic, fsynced, with a .bak, coalesced on the worker
 * pool); when one completes, the reservations it carried become durable and
 * firings held for them are released (trigger_fire.c). */
#include "src/trigger_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"

#define STORE_VERSION 1

/* One write's reservations, applied when it is durable. */
struct save_ctx {
    struct save_ctx *next;
    struct trig_engine *eng;
    size_t n;
    char (*ids)[UUID_STR_LEN];
    int64_t *reserved;
    lrc_store_done_fn done;
    void *arg;
};

char *trig_store_text(const struct trig_engine *t, size_t *len)
{
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "triggers");
    char *text;

    json_add_int(root, "version", STORE_VERSION);
    for (const struct trig *g = t->list; g != NULL; g = g->next) {
        cJSON *e = cJSON_CreateObject();

        cJSON_AddItemToObject(e, "def", cJSON_Duplicate(g->def.raw, 1));
        json_add_int(e, "seq_reserved", g->reserved);
        cJSON_AddItemToArray(arr, e);
    }
    text = json_print(root);
    cJSON_Delete(root);
    *len = strlen(text);
    return text;
}

static void save_unlink(struct save_ctx *c)
{
    struct save_ctx **p = &c->eng->saves;

    while (*p != NULL && *p != c)
        p = &(*p)->next;
    if (*p != NULL)
        *p = c->next;
}

static void save_free(struct save_ctx *c)
{
    free(c->ids);
    free(c->reserved);
    free(c);
}

static void on_saved(void *arg, int rc, const struct error *err)
{
    struct save_ctx *c = arg;
    struct trig_engine *t = c->eng;

    save_unlink(c);
    /* A failed write (a full disk) must not stop the triggers: the numbers
     * are used all the same, and the failure is loud. */
    if (rc < 0)
        log_error("cannot write %s: %s; firing sequence numbers may repeat after a crash", t->path,
                  err != NULL ? err->msg : "error");
    for (size_t i = 0; i < c->n; i++) {
        struct trig *g = trig_find(t->list, c->ids[i]);

        if (g != NULL)
            trig_seq_durable(g, c->reserved[i]);
    }
    if (c->done != NULL)
        c->done(c->arg, rc, err);
    save_free(c);
}

void trig_store_save(struct trig_engine *t, lrc_store_done_fn done, void *arg)
{
    struct save_ctx *c = xcalloc(1, sizeof(*c));
    size_t len, i = 0;
    char *text = trig_store_text(t, &len);

    c->eng = t;
    c->done = done;
    c->arg = arg;
    c->n = (size_t)t->count;
    c->ids = xcalloc(c->n + 1, sizeof(*c->ids));
    c->reserved = xcalloc(c->n + 1, sizeof(*c->reserved));
    for (const struct trig *g = t->list; g != NULL && i < c->n; g = g->next, i++) {
        memcpy(c->ids[i], g->def.id, UUID_STR_LEN);
        c->reserved[i] = g->reserved;
    }
    c->next = t->saves;
    t->saves = c;
    lrc_store_write(t->store, text, len, on_saved, c);
}

void trig_store_forget(struct trig_engine *t)
{
    struct error err;

    error_set(&err, -ECANCELED, "the agent is stopping");
    while (t->saves != NULL) {
        struct save_ctx *c = t->saves;

        t->saves = c->next;
        /* A TriggerSet waiting for this write is answered (exactly once). */
        if (c->done != NULL)
            c->done(c->arg, -ECANCELED, &err);
        save_free(c);
    }
}

/* Validator for lrc_statefile_load(): the file's shape, not each trigger's
 * (a definition this version refuses is skipped, not the whole file). */
static int check_text(const char *text, size_t len, void *arg, struct error *err)
{
    cJSON *root = NULL;
    int rc = json_parse(text, len, &root, err);

    (void)arg;
    if (rc == 0 && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "triggers")))
        rc = error_set(err, -EINVAL, "\"triggers\" must be an array");
    cJSON_Delete(root);
    return rc;
}

int trig_store_read(struct trig_engine *t, cJSON **out, struct error *err)
{
    char *text = NULL;
    size_t len = 0;
    int from_bak = 0, rc;

    *out = NULL;
    rc = lrc_statefile_load(t->path, check_text, NULL, &text, &len, &from_bak, err);
    if (rc == -ENOENT)
        return 0;
    if (rc == -EBADMSG) {
        log_error("%s is corrupt and has no good copy: %s; starting without triggers", t->path,
                  err->msg);
        return 0;
    }
    if (rc < 0)
        return rc;
    if (from_bak)
        log_warn("%s was corrupt; its last good copy is used", t->path);
    rc = json_parse(text, len, out, err);
    free(text);
    return rc;
}
