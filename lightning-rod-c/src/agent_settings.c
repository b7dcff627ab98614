/* src/agent_settings.c: the board's settings in the running agent
 * (board-protocol.md 10.1, 10.2): loaded at startup (a corrupt settings.json
 * falls back to its copy, or stops the agent with status 78), replaced by the
 * registration, and watched on disk, so that `lightning-rod-c configure`
 * takes effect while the agent runs. */
#include "src/agent_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "src/fn_fs.h"
#include "src/link.h"

void lrc_agent_set_settings(struct lrc_agent *a, struct lrc_settings *s, lrc_store_done_fn done,
                            void *arg)
{
    char *text = lrc_settings_text(s);

    lrc_settings_clear(&a->settings);
    a->settings = *s;
    memset(s, 0, sizeof(*s));
    a->settings_gen++;
    if (a->fn != NULL && lrc_agent_board(a) != NULL)
        fn_set_board_id(a->fn, lrc_agent_board(a));
    lrc_store_write(a->settings_store, text, strlen(text), done, arg);
}

/* settings.json changed on disk: `configure` while the agent runs. A file
 * that does not parse is left alone (it may be half written by an editor);
 * the agent keeps what it has. */
struct reread {
    struct lrc_agent *a;
    uint64_t gen; /* the agent's settings_gen when the read began */
    char *text;
    size_t len;
    int rc;
    struct error err;
};

static void work_reread(void *arg, void *ctx)
{
    struct reread *r = arg;

    (void)ctx;
    r->rc = fn_fs_read_file(r->a->settings_path, LRC_STATEFILE_MAX, &r->text, &r->len, &r->err);
}

static void reread_done(void *arg)
{
    struct reread *r = arg;
    struct lrc_agent *a = r->a;
    struct lrc_settings s;
    struct error err;

    /* A read that raced with the agent's own write of settings.json may have
     * seen the old content: the write's completion brings another event. */
    if (r->gen != a->settings_gen || lrc_store_busy(a->settings_store)) {
        free(r->text);
        free(r);
        return;
    }
    if (r->rc == 0 && !a->stopping && !a->resetting &&
        lrc_settings_parse(r->text, r->len, &s, &err) == 0) {
        if (!lrc_settings_equal(&s, &a->settings)) {
            log_info("settings.json changed: %s",
                     s.registered ? "registered settings" : "first-boot settings");
            lrc_settings_clear(&a->settings);
            a->settings = s;
            if (a->fn != NULL && lrc_agent_board(a) != NULL)
                fn_set_board_id(a->fn, lrc_agent_board(a));
            lrc_link_start(a->link);
        } else {
            lrc_settings_clear(&s);
        }
    } else if (r->rc == 0 && !a->stopping) {
        log_warn("settings.json changed but is not usable (%s): keeping the current settings",
                 err.msg);
    }
    free(r->text);
    free(r);
}

/* settings.json may have changed. libev compares stat data with a one
 * second granularity, which misses a rewrite within the same second; every
 * write here is a rename, though, so the inode tells, and the comparison
 * below decides. */
static void on_settings_file(struct ev_loop *ev, ev_stat *w, int revents)
{
    struct lrc_agent *a = w->data;
    struct reread *r;
    struct stat st;

    (void)ev;
    (void)revents;
    if (stat(a->settings_path, &st) < 0)
        return; /* deleted: keep running with what we have */
    if (st.st_ino == a->settings_seen.st_ino && st.st_size == a->settings_seen.st_size &&
        st.st_mtim.tv_sec == a->settings_seen.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == a->settings_seen.st_mtim.tv_nsec)
        return;
    a->settings_seen = st;
    r = xcalloc(1, sizeof(*r));
    r->a = a;
    r->gen = a->settings_gen;
    if (wq_submit(a->wq, work_reread, reread_done, r) < 0)
        free(r);
}

int agent_load_settings(struct lrc_agent *a, int *exit_code, struct error *err)
{
    char *text;
    size_t len;
    int from_bak, rc;

    a->settings_path = xasprintf("%s/%s", a->conf->state_dir, LRC_SETTINGS_NAME);
    if (stat(a->settings_path, &a->settings_seen) < 0)
        memset(&a->settings_seen, 0, sizeof(a->settings_seen));
    rc =
        lrc_statefile_load(a->settings_path, lrc_settings_check, NULL, &text, &len, &from_bak, err);
    if (rc == -ENOENT)
        return 0;
    if (rc == -EBADMSG) {
        *exit_code = LRC_EXIT_CONFIG;
        return error_set(err, -EBADMSG,
                         "%s is corrupt (%s) and there is no good copy (%s.bak): configure "
                         "the board again (lightning-rod-c configure <code> <url>)",
                         a->settings_path, err->msg, a->settings_path);
    }
    if (rc < 0)
        return error_prefix(err, "%s", a->settings_path);
    rc = lrc_settings_parse(text, len, &a->settings, err);
    free(text);
    return rc;
}

void agent_watch_settings(struct lrc_agent *a)
{
    ev_stat_init(&a->settings_watch, on_settings_file, a->settings_path, 2.0);
    a->settings_watch.data = a;
    ev_stat_start(loop_ev(a->loop), &a->settings_watch);
    /* A `configure` between loading settings.json and watching: look now. */
    on_settings_file(loop_ev(a->loop), &a->settings_watch, 0);
}
