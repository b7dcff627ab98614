/* src/helper.h: the agent's helper programs (lrc-fetch, lrc-unpack), run on the loop.
 *
 * Work that parses outside input with large libraries runs in short-lived
 * helper processes instead of the agent: HTTP downloads and DeviceRestSubmit
 * with libcurl (lrc-fetch), archives with libarchive (lrc-unpack). The agent
 * then maps neither library nor the ~40 others they pull in (DESIGN.md's
 * memory target), and a flaw in a parser compromises a helper that has
 * dropped its privileges (helpers/hlp.h) rather than the agent.
 *
 * Protocol of every helper: it is started through ctr_spawn() with an argv
 * array (never a shell) and a small environment (proxies, sanitizer
 * options); the agent writes `input` to its stdin and closes it; the helper
 * writes one JSON object on one line to stdout: {"ok": true, ...} with exit
 * status 0, or {"ok": false, "error": "<reason>", "errno": N, ...} with
 * status 1. Its stderr is the agent's, so its log lines and any sanitizer
 * report land in the agent's log.
 *
 * One struct lrc_helper per running helper, owned by the module that
 * started it until its callback ran (it is freed right after) or until
 * lrc_helper_cancel(). Loop thread only, except lrc_helper_find(). */
#ifndef LRC_SRC_HELPER_H
#define LRC_SRC_HELPER_H

#include <cjson/cJSON.h>
#include <ev.h>
#include <stddef.h>

#include "common/error.h"
#include "src/ctr_reaper.h"

/* Where packages install the helpers (beside lrc-probe). */
#define LRC_HELPER_DIR "/usr/lib/lightning-rod-c"

struct lrc_helper;

/* rc 0: the helper succeeded and res is its object (borrowed for the call).
 * rc < 0: err says why; res is the helper's {"ok": false, ...} object when
 * it wrote one (extra fields such as "transient"), NULL when it died,
 * timed out or wrote something else. */
typedef void (*lrc_helper_fn)(void *arg, int rc, const cJSON *res, const struct error *err);

struct lrc_helper_spec {
    const char *path;  /* absolute path of the helper (lrc_helper_find()) */
    char *const *argv; /* NULL-terminated; argv[0] is the name used in messages */
    const char *input; /* written to its stdin, then closed; NULL: nothing */
    size_t input_len;
    size_t output_max; /* stdout beyond this fails the run; 0: 64 KiB */
    double timeout_s;  /* SIGKILL after this long; 0: no limit */
};

/* Starts the helper described by s (copied as needed). Returns 0 and *out
 * (for lrc_helper_cancel(); out may be NULL): fn will run exactly once,
 * later, on the loop. Or a negated errno with err set when it cannot be
 * started, and fn never runs. */
int lrc_helper_start(struct ev_loop *ev, struct ctr_reaper *reaper, const struct lrc_helper_spec *s,
                     lrc_helper_fn fn, void *arg, struct lrc_helper **out,
                     struct error *err) IOT_WUR;

/* Kills the helper (SIGKILL) and forgets it: fn will not run. Accepts NULL. */
void lrc_helper_cancel(struct lrc_helper *h);

/* The absolute path of the helper program `name`, looked up beside the
 * running program (a build tree), in ../lib/lightning-rod-c from it (an
 * installed prefix), then in LRC_HELPER_DIR. Only regular executable files
 * that others cannot write qualify. A new string, or NULL when there is
 * none. Any thread. */
char *lrc_helper_find(const char *name);

#endif
