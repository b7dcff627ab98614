/* src/outbox.c: see outbox.h.
 *
 * Entries form a FIFO in put order. Only metadata stays in memory for every
 * entry; an entry's text (its file's content) is kept while the cached total
 * is under CACHE_BUDGET, so the usual path (put, write, send at once) never
 * reads the disk, while a backlog of thousands of results with their logs
 * does not sit in the agent's memory: such entries are read back on a
 * worker when their turn comes. File I/O always runs on the worker pool.
 *
 * One call is in flight at a time, for the head entry: that keeps the
 * order the contract asks for, at one round trip per entry.
 *
 * A function_result or event entry is written and renamed into place before
 * its call, but its fsyncs run while the call travels (an entry is deleted
 * only after both): two fsyncs per entry were most of a warm execution's
 * way back. What the order risks is small and covered: the file is in place
 * before the call, so a crash or kill -9 of the agent loses nothing; only a
 * power loss in the few milliseconds between the rename and the fsync, with
 * the call unanswered, can lose the entry, and then a function_result is
 * still reported from its execution record (fsynced by fn_store: "finished"
 * is reported again, "accepted" is reported failed, deviceless-api.md 3.6),
 * while an event is a firing report the contract already lets the board
 * drop (3.7.5). A notify_result has no second copy: it keeps the full write
 * (fsync, rename, fsync of the directory) before its call. */
#include "src/outbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "src/fn_fs.h"
#include "src/link.h"

#define CACHE_BUDGET (256u << 10)
#define ENTRY_MAX (8u << 20)
#define RETRY_MAX_S 60
#define RETRY_LATER "Cloud unavailable, retry later."

enum est { E_WRITING, E_READY, E_LOADING, E_SENDING, E_DELETING };

static const char *const kind_names[] = {"notify_result", "function_result", "event"};

struct entry {
    struct entry *prev, *next;
    struct lrc_outbox *ob;
    uint64_t seq;
    enum lrc_outbox_kind kind;
    char *key;
    char *text; /* the file's content, or NULL when not cached */
    size_t len;
    enum est st;
    int on_disk; /* the file holds it: the text may be dropped from memory */
    int syncing; /* its fsync job runs (beside the call); an unlink waits for it */
};

struct lrc_outbox {
    struct lrc_agent *a;
    char *dir;
    size_t max, n, cached;
    uint64_t next_seq, sent, dropped_total, dropped_pending;
    struct entry *head, *tail;
    struct lrc_outcall *call;
    ev_timer retry;
    unsigned retry_n;
    int online, full;
    lrc_outbox_acked_fn acked;
    void *arg;
};

/* A worker job on one entry's file. */
struct job {
    struct entry *e;
    char *path;
    char *text; /* write: the content; read: what was read */
    size_t len;
    int rc;
    struct error err;
};

static void pump(struct lrc_outbox *ob);

static char *entry_path(const struct lrc_outbox *ob, uint64_t seq)
{
    return xasprintf("%s/%020llu.json", ob->dir, (unsigned long long)seq);
}

static void uncache(struct entry *e)
{
    if (e->text == NULL)
        return;
    e->ob->cached -= e->len;
    free(e->text);
    e->text = NULL;
}

static void entry_remove(struct entry *e)
{
    struct lrc_outbox *ob = e->ob;

    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        ob->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        ob->tail = e->prev;
    uncache(e);
    ob->n--;
    free(e->key);
    free(e);
    if (ob->full && ob->n < ob->max) {
        ob->full = 0;
        if (ob->a->fn != NULL)
            fn_set_outbox_full(ob->a->fn, 0);
    }
}

static void append(struct lrc_outbox *ob, struct entry *e)
{
    e->ob = ob;
    e->prev = ob->tail;
    if (ob->tail != NULL)
        ob->tail->next = e;
    else
        ob->head = e;
    ob->tail = e;
    ob->n++;
}

/* ------------------------------------------------------------ file jobs */

static void work_write(void *arg, void *ctx)
{
    struct job *j = arg;

    (void)ctx;
    j->rc = fn_fs_write_atomic(j->path, j->text, j->len, 0600, &j->err);
}

/* The file in place, not yet durable: work_sync() follows. */
static void work_write_unsynced(void *arg, void *ctx)
{
    struct job *j = arg;
    char *tmp = xasprintf("%s.tmp", j->path);

    (void)ctx;
    j->rc = fn_fs_write_file(tmp, j->text, j->len, 0600, &j->err);
    if (j->rc == 0 && rename(tmp, j->path) < 0)
        j->rc = error_set(&j->err, -errno, "rename %s: %s", j->path, strerror(errno));
    if (j->rc < 0)
        unlink(tmp);
    free(tmp);
}

static void work_sync(void *arg, void *ctx)
{
    struct job *j = arg;
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);

    (void)ctx;
    if (fd < 0 || fsync(fd) < 0)
        j->rc = error_set(&j->err, -errno, "fsync %s: %s", j->path, strerror(errno));
    if (fd >= 0)
        close(fd);
    if (j->rc == 0)
        j->rc = fn_fs_sync_parent(j->path, &j->err);
}

/* Results and firings are sent before their fsync (see the top). */
static int sync_later(enum lrc_outbox_kind kind)
{
    return kind == LRC_OUTBOX_FUNCTION_RESULT || kind == LRC_OUTBOX_EVENT;
}

static void work_read(void *arg, void *ctx)
{
    struct job *j = arg;

    (void)ctx;
    j->rc = fn_fs_read_file(j->path, ENTRY_MAX, &j->text, &j->len, &j->err);
}

static void work_unlink(void *arg, void *ctx)
{
    struct job *j = arg;

    (void)ctx;
    j->rc = unlink(j->path) < 0 && errno != ENOENT ? -errno : 0;
}

static void job_free(struct job *j)
{
    free(j->path);
    free(j->text);
    free(j);
}

static void submit(struct entry *e, wq_work_fn work, wq_done_fn done, char *text, size_t len)
{
    struct job *j = xcalloc(1, sizeof(*j));

    j->e = e;
    j->path = entry_path(e->ob, e->seq);
    j->text = text;
    j->len = len;
    if (wq_submit(e->ob->a->wq, work, done, j) < 0) {
        j->rc = error_set(&j->err, -ESHUTDOWN, "the worker pool is stopping");
        done(j);
    }
}

/* The outbox was freed while this job ran: the entry is an orphan. */
static int orphan(struct job *j)
{
    if (j->e->ob != NULL)
        return 0;
    free(j->e->text);
    free(j->e->key);
    free(j->e);
    job_free(j);
    return 1;
}

static void synced(void *arg);

static void written(void *arg)
{
    struct job *j = arg;
    struct entry *e = j->e;

    if (orphan(j))
        return;
    e->on_disk = j->rc == 0;
    if (j->rc < 0)
        log_error("outbox: cannot write entry %llu (%s): sending it from memory",
                  (unsigned long long)e->seq, j->err.msg);
    e->st = E_READY;
    job_free(j);
    if (e->on_disk && sync_later(e->kind)) {
        e->syncing = 1;
        submit(e, work_sync, synced, NULL, 0);
    }
    pump(e->ob);
}

static void deleted(void *arg)
{
    struct job *j = arg;
    struct lrc_outbox *ob = j->e->ob;

    if (orphan(j))
        return;
    if (j->rc < 0)
        log_warn("outbox: cannot delete entry %llu: %s", (unsigned long long)j->e->seq,
                 strerror(-j->rc));
    entry_remove(j->e);
    job_free(j);
    pump(ob);
}

static void loaded(void *arg)
{
    struct job *j = arg;
    struct entry *e = j->e;

    if (orphan(j))
        return;
    if (j->rc < 0) {
        log_error("outbox: entry %llu cannot be read (%s): dropped", (unsigned long long)e->seq,
                  j->err.msg);
        job_free(j);
        e->st = E_DELETING;
        submit(e, work_unlink, deleted, NULL, 0);
        return;
    }
    e->text = j->text;
    e->len = j->len;
    e->ob->cached += e->len;
    j->text = NULL;
    e->st = E_READY;
    job_free(j);
    pump(e->ob);
}

static void drop_entry(struct entry *e)
{
    e->st = E_DELETING;
    if (e->syncing)
        return; /* synced() unlinks: one job per entry at a time */
    submit(e, work_unlink, deleted, NULL, 0);
}

static void synced(void *arg)
{
    struct job *j = arg;
    struct entry *e = j->e;

    if (orphan(j))
        return;
    if (j->rc < 0)
        log_warn("outbox: entry %llu may not survive a power loss: %s",
                 (unsigned long long)e->seq, j->err.msg);
    e->syncing = 0;
    job_free(j);
    if (e->st == E_DELETING)
        drop_entry(e);
}

/* ------------------------------------------------------------- sending */

static void schedule_retry(struct lrc_outbox *ob)
{
    unsigned s = ob->retry_n < 6 ? 1u << ob->retry_n : RETRY_MAX_S;

    if (s > RETRY_MAX_S)
        s = RETRY_MAX_S;
    ob->retry_n++;
    ev_timer_stop(loop_ev(ob->a->loop), &ob->retry);
    ev_timer_set(&ob->retry, (double)s, 0.);
    ev_timer_start(loop_ev(ob->a->loop), &ob->retry);
}

static int transient(int rc, const struct wamp_wampmsg *wm, const char *why)
{
    if (rc == -ETIMEDOUT || rc == -ECONNRESET || rc == -ENOTCONN)
        return 1;
    if (rc == -EREMOTEIO)
        return strstr(why, "iotronic.error.busy") != NULL ||
               strstr(why, "wamp.error.no_such_procedure") != NULL ||
               strstr(why, "wamp.error.canceled") != NULL;
    if (rc < 0)
        return 0;
    return cJSON_IsString(wm->message) && strcmp(wm->message->valuestring, RETRY_LATER) == 0;
}

static void on_reply(void *arg, int rc, const struct wamp_wampmsg *wm, const char *why)
{
    struct entry *e = arg;
    struct lrc_outbox *ob = e->ob;
    char *text;

    ob->call = NULL;
    if (rc == 0 && wm->result == WAMP_RESULT_SUCCESS) {
        ob->sent++;
        ob->retry_n = 0;
        if (ob->acked != NULL)
            ob->acked(ob->arg, e->kind, e->key);
        drop_entry(e);
        /* The next entry need not wait for this one's fsync and unlink. */
        pump(ob);
        return;
    }
    if (transient(rc, wm, why)) {
        e->st = E_READY;
        log_info("outbox: %s entry %llu not delivered (%s): will retry", kind_names[e->kind],
                 (unsigned long long)e->seq, rc == 0 ? wm->message->valuestring : why);
        if (ob->online)
            schedule_retry(ob);
        return;
    }
    text = rc == 0 ? json_print(wm->message) : xstrdup(why);
    log_error("outbox: the cloud refused %s entry %llu for good: %s (dropped)", kind_names[e->kind],
              (unsigned long long)e->seq, text);
    free(text);
    if (ob->acked != NULL)
        ob->acked(ob->arg, e->kind, e->key);
    drop_entry(e);
}

static void send_entry(struct lrc_outbox *ob, struct entry *e)
{
    cJSON *doc = NULL, *kw;
    struct error err;
    int rc;

    if (json_parse(e->text, e->len, &doc, &err) < 0 ||
        !cJSON_IsObject(kw = cJSON_GetObjectItemCaseSensitive(doc, "kwargs"))) {
        log_error("outbox: entry %llu is not valid (%s): dropped", (unsigned long long)e->seq,
                  doc ? "no kwargs" : err.msg);
        cJSON_Delete(doc);
        drop_entry(e);
        return;
    }
    rc = lrc_link_call(ob->a->link, kind_names[e->kind], e->kind == LRC_OUTBOX_NOTIFY, kw,
                       ob->a->conf->call_timeout * 1000, on_reply, e, &ob->call);
    cJSON_Delete(doc);
    if (rc < 0)
        return; /* offline: the next online event pumps again */
    e->st = E_SENDING;
    /* The file is the copy of record now; keep memory for new entries. Not
     * while its fsync runs: a read-back job would be a second job on it. */
    if (e->on_disk && !e->syncing && ob->cached > CACHE_BUDGET / 2)
        uncache(e);
}

static void pump(struct lrc_outbox *ob)
{
    struct entry *e = ob->head;

    while (e != NULL && e->st == E_DELETING)
        e = e->next;
    if (!ob->online || ob->call != NULL || ev_is_active(&ob->retry) || e == NULL ||
        e->st != E_READY)
        return;
    if (e->text == NULL) {
        e->st = E_LOADING;
        submit(e, work_read, loaded, NULL, 0);
        return;
    }
    send_entry(ob, e);
}

static void on_retry(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    pump(t->data);
}

void lrc_outbox_online(struct lrc_outbox *ob, int online)
{
    ob->online = online;
    ev_timer_stop(loop_ev(ob->a->loop), &ob->retry);
    if (online) {
        ob->retry_n = 0;
        pump(ob);
    }
}

/* ------------------------------------------------------------- putting */

static struct entry *find(struct lrc_outbox *ob, enum lrc_outbox_kind kind, const char *key)
{
    if (key == NULL)
        return NULL;
    for (struct entry *e = ob->head; e != NULL; e = e->next)
        if (e->kind == kind && e->key != NULL && strcmp(e->key, key) == 0 && e->st != E_DELETING)
            return e;
    return NULL;
}

/* Room for one more: the oldest waiting event goes first (3.7.5). */
static void make_room(struct lrc_outbox *ob)
{
    if (ob->n < ob->max)
        return;
    for (struct entry *e = ob->head; e != NULL; e = e->next)
        if (e->kind == LRC_OUTBOX_EVENT && e->st == E_READY) {
            ob->dropped_pending++;
            ob->dropped_total++;
            drop_entry(e);
            return;
        }
    if (!ob->full) {
        ob->full = 1;
        log_warn("outbox: %zu entries wait: new executions are refused until it drains", ob->n);
        if (ob->a->fn != NULL)
            fn_set_outbox_full(ob->a->fn, 1);
    }
}

void lrc_outbox_put(struct lrc_outbox *ob, enum lrc_outbox_kind kind, cJSON *kwargs,
                    const char *key)
{
    struct entry *e;
    cJSON *doc;
    char *text;

    if (find(ob, kind, key) != NULL) {
        cJSON_Delete(kwargs);
        return;
    }
    make_room(ob);
    if (kind == LRC_OUTBOX_EVENT && ob->dropped_pending > 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(kwargs, "dropped");
        json_add_int(kwargs, "dropped", (int64_t)ob->dropped_pending);
        ob->dropped_pending = 0;
    }
    doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "kind", kind_names[kind]);
    json_add_str_or_null(doc, "key", key);
    cJSON_AddItemToObject(doc, "kwargs", kwargs);
    text = json_print(doc);
    cJSON_Delete(doc);
    e = xcalloc(1, sizeof(*e));
    e->seq = ob->next_seq++;
    e->kind = kind;
    e->key = key ? xstrdup(key) : NULL;
    e->text = text;
    e->len = strlen(text);
    e->st = E_WRITING;
    append(ob, e);
    ob->cached += e->len;
    submit(e, sync_later(kind) ? work_write_unsynced : work_write, written, xstrdup(text),
           e->len);
}

size_t lrc_outbox_count(const struct lrc_outbox *ob)
{
    return ob->n;
}

cJSON *lrc_outbox_status(const struct lrc_outbox *ob)
{
    cJSON *o = cJSON_CreateObject();

    json_add_int(o, "waiting", (int64_t)ob->n);
    json_add_int(o, "sent", (int64_t)ob->sent);
    json_add_int(o, "dropped", (int64_t)ob->dropped_total);
    return o;
}

/* ------------------------------------------------------------- loading */

static int kind_of(const char *s)
{
    for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
        if (strcmp(s, kind_names[i]) == 0)
            return (int)i;
    return -1;
}

static int is_entry_name(const char *name, uint64_t *seq)
{
    char *end;

    if (strlen(name) != 25 || strcmp(name + 20, ".json") != 0)
        return 0;
    errno = 0;
    *seq = strtoull(name, &end, 10);
    return errno == 0 && end == name + 20;
}

/* Reads one file left by a previous run into a new entry (text not cached). */
static struct entry *load_one(struct lrc_outbox *ob, uint64_t seq)
{
    char *path = entry_path(ob, seq), *text = NULL;
    const char *k = NULL, *key = NULL;
    struct entry *e = NULL;
    cJSON *doc = NULL;
    struct error err;
    size_t len;
    int kind = -1;

    if (fn_fs_read_file(path, ENTRY_MAX, &text, &len, &err) == 0 &&
        json_parse(text, len, &doc, &err) == 0 &&
        json_get_str(doc, "kind", JSON_REQUIRED, 32, &k, &err) == 0 && (kind = kind_of(k)) >= 0 &&
        json_get_str(doc, "key", JSON_NULLABLE, 255, &key, &err) >= 0 &&
        cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "kwargs"))) {
        e = xcalloc(1, sizeof(*e));
        e->seq = seq;
        e->kind = (enum lrc_outbox_kind)kind;
        e->key = key ? xstrdup(key) : NULL;
        e->st = E_READY;
        e->on_disk = 1;
    } else {
        log_error("outbox: %s is not a valid entry: removed", path);
        unlink(path);
    }
    cJSON_Delete(doc);
    free(text);
    free(path);
    return e;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static int load_all(struct lrc_outbox *ob, struct error *err)
{
    DIR *d = opendir(ob->dir);
    struct dirent *de;
    uint64_t *seqs = NULL, seq;
    size_t n = 0, cap = 0;

    if (d == NULL)
        return error_set(err, -errno, "open %s: %s", ob->dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        if (!is_entry_name(de->d_name, &seq))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            seqs = xrealloc(seqs, cap * sizeof(*seqs));
        }
        seqs[n++] = seq;
    }
    closedir(d);
    if (n > 0)
        qsort(seqs, n, sizeof(*seqs), cmp_u64);
    for (size_t i = 0; i < n; i++) {
        struct entry *e = load_one(ob, seqs[i]);

        if (e != NULL)
            append(ob, e);
        if (seqs[i] >= ob->next_seq)
            ob->next_seq = seqs[i] + 1;
    }
    free(seqs);
    if (ob->n > 0)
        log_info("outbox: %zu entries from a previous run wait for delivery", ob->n);
    return 0;
}

int lrc_outbox_new(struct lrc_agent *a, size_t max, lrc_outbox_acked_fn acked, void *arg,
                   struct lrc_outbox **out, struct error *err)
{
    struct lrc_outbox *ob = xcalloc(1, sizeof(*ob));
    int rc;

    ob->a = a;
    ob->dir = xasprintf("%s/%s", a->conf->state_dir, LRC_OUTBOX_DIR);
    ob->max = max ? max : 1;
    ob->next_seq = 1;
    ob->acked = acked;
    ob->arg = arg;
    ev_timer_init(&ob->retry, on_retry, 0., 0.);
    ob->retry.data = ob;
    rc = fn_fs_mkdirs(ob->dir, 0700, err);
    if (rc == 0)
        rc = load_all(ob, err);
    if (rc < 0) {
        lrc_outbox_free(ob);
        return rc;
    }
    *out = ob;
    return 0;
}

void lrc_outbox_purge(struct lrc_outbox *ob)
{
    lrc_outcall_cancel(ob->call);
    ob->call = NULL;
    for (struct entry *e = ob->head; e != NULL; e = e->next)
        if (e->st == E_SENDING)
            e->st = E_READY;
    ev_timer_stop(loop_ev(ob->a->loop), &ob->retry);
    /* Entries with a job in flight are freed by its completion. */
    for (struct entry *e = ob->head, *next; e != NULL; e = next) {
        next = e->next;
        if (e->st == E_READY)
            drop_entry(e);
    }
    ob->dropped_pending = 0;
}

void lrc_outbox_free(struct lrc_outbox *ob)
{
    if (ob == NULL)
        return;
    lrc_outcall_cancel(ob->call);
    ev_timer_stop(loop_ev(ob->a->loop), &ob->retry);
    for (struct entry *e = ob->head, *next; e != NULL; e = next) {
        next = e->next;
        if (e->st == E_WRITING || e->st == E_LOADING || e->st == E_DELETING || e->syncing) {
            e->ob = NULL; /* its job frees it (orphan()) */
            continue;
        }
        free(e->text);
        free(e->key);
        free(e);
    }
    free(ob->dir);
    free(ob);
}
