/* qmodel/target.h: where an execution runs (deviceless-api.md 3.3).
 *
 * Boards and fleets are IoTronic's (read-only here), named by UUID or by
 * name and stored as UUIDs. A target is a board, or a fleet with a
 * placement (any_online, the default, or all). The request's own target
 * wins over the function's default. Eligibility comes from the last
 * DeviceCaps of each board (board_capabilities). Worker threads (queries). */
#ifndef QM_TARGET_H
#define QM_TARGET_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "common/error.h"
#include "common/uuid.h"
#include "db/db.h"
#include "qmodel/fn.h"

#define QM_PLACEMENT_ANY "any_online"
#define QM_PLACEMENT_ALL "all"

struct qm_board {
    char uuid[UUID_STR_LEN];
    char project[65];
    char status[16];
    char agent[256]; /* "" when null */
    char fleet[UUID_STR_LEN];
    cJSON *caps; /* NULL when never reported (owned) */
};

void qm_board_clear(struct qm_board *b);
void qm_boards_free(struct qm_board *v, size_t n);

/* Finds a board by UUID or name; project NULL searches every project.
 * 404 "Board <ref> could not be found." *out is always initialised: release
 * it with qm_board_clear() on every path. */
int qm_board_find(struct db *db, const char *ref, const char *project, struct qm_board *out,
                  struct error *err) IOT_WUR;

/* Reads board uuid (any project) with its caps: 0, or -ENOENT, or a db failure. */
int qm_board_get(struct db *db, const char *uuid, struct qm_board *out, struct error *err) IOT_WUR;

/* Finds a fleet by UUID or name into uuid. 404 "Fleet <ref> could not be found." */
int qm_fleet_find(struct db *db, const char *ref, const char *project, char uuid[UUID_STR_LEN],
                  struct error *err) IOT_WUR;

/* The boards of a fleet with their caps, ordered by UUID (*out: free with
 * qm_boards_free). */
int qm_fleet_boards(struct db *db, const char *fleet, struct qm_board **out, size_t *n,
                    struct error *err) IOT_WUR;

/* A target as a request gives it: each field NULL when absent. */
struct qm_target_req {
    const char *board_ref;
    const char *fleet_ref;
    const char *placement;
};

struct qm_target {
    char board_id[UUID_STR_LEN]; /* "" when the target is a fleet */
    char fleet_id[UUID_STR_LEN]; /* "" when the target is a board */
    char placement[16];          /* "" with a board */
};

/* Syntax of a request's target (step 3): 400 "Give board_id or fleet_id,
 * not both.", "placement is only valid with fleet_id." (allow_default_fleet:
 * unless the function has a default fleet), "Invalid placement <v>; use
 * any_online or all." */
int qm_target_syntax(const struct qm_target_req *req, int allow_default_fleet,
                     struct error *err) IOT_WUR;

/* Resolves req (or, when it names neither board nor fleet, fn's default)
 * into out: 400 "No target: give board_id or fleet_id, or set a default
 * target on the function.", 404 for an unknown board or fleet. project
 * NULL: boards and fleets of any project; else only that project's. */
int qm_target_resolve(struct db *db, const struct qm_target_req *req, const struct qm_fn *fn,
                      const char *project, struct qm_target *out, struct error *err) IOT_WUR;

/* How a resolved target will run fn, decided now. */
struct qm_plan {
    int online;                /* an eligible board is online now: start running */
    struct qm_board *children; /* placement all: the boards that get a child */
    size_t nchildren;
    char *skipped; /* placement all: "Board <uuid> skipped: <reason>.\n"... or NULL */
};

void qm_plan_clear(struct qm_plan *p);

/* Checks eligibility (3.3): 409 "Board <uuid> cannot run this function:
 * <reason>." for a board whose caps are known and insufficient, 409 "No
 * board of fleet <uuid> can run this function." when no member is eligible
 * or unknown. Boards whose caps are not known yet are accepted (they are
 * judged when they connect). */
int qm_target_plan(struct db *db, const struct qm_fn *fn, const struct qm_target *t,
                   struct qm_plan *out, struct error *err) IOT_WUR;

#endif
