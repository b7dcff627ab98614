/* qmodel/trigger.h: triggers as the deviceless service keeps them
 * (deviceless-api.md 3.7.1 - 3.7.3), shared by qinling-api (validation,
 * storage) and qinling-engine (installation, firings).
 *
 * A trigger row holds its source as the canonical object of common/trigdef
 * (board_id resolved to a UUID) and its target as given, with any board or
 * fleet resolved to a UUID; a target without board and fleet means the
 * function's default target, resolved whenever it is used (3.3). The source
 * board's last DeviceCaps decides whether the sensor or line exists.
 * Pure apart from the functions that take a db (worker threads). */
#ifndef QM_TRIGGER_H
#define QM_TRIGGER_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "common/error.h"
#include "common/trigdef.h"
#include "common/uuid.h"
#include "db/db.h"
#include "qmodel/fn.h"
#include "qmodel/target.h"

#define QM_TRIGGER_REF_MAX 255 /* a board or fleet given by name */

/* AMQP: the engine's trigger queues (durable). The API announces every
 * change of a board's triggers on the first ("trigger_sync" {"board_id"});
 * the second is bound to the board events exchange (board-protocol.md 7.4). */
#define QM_TRIGGERS_QUEUE "qinling_engine_triggers"
#define QM_TRIGGER_SYNC "trigger_sync"
#define QM_TRIGGERS_BOARD_QUEUE "qinling_engine_trigger_boards"

/* A target object as a request gives it (3.7.1). Strings are "" when
 * absent; tmpl is borrowed from the object parsed. */
struct qm_trig_target {
    char function_id[UUID_STR_LEN];
    char alias[QM_TRIGGER_REF_MAX + 1];
    int64_t version;
    char board_ref[QM_TRIGGER_REF_MAX + 1];
    char fleet_ref[QM_TRIGGER_REF_MAX + 1];
    char placement[16];
    const cJSON *tmpl;       /* input_template, or NULL */
    int64_t pending_timeout; /* -1: the async default */
};

/* Parses a target object: function_id or function_alias (one is required:
 * "Either function_alias or function_id must be provided."), function_version
 * (>= 0), board_id, fleet_id, placement (3.3's syntax), input_template
 * (trigdef_template_check) and pending_timeout (0..86400). 400 messages:
 * "Unknown attribute: target.<key>", "Invalid value for target.<key>: ...",
 * "Expected a uuid but received <value>.", and the template's. Returns 0 or
 * the status errno (qmodel/fault.h). */
int qm_trig_target_parse(const cJSON *obj, struct qm_trig_target *out, struct error *err) IOT_WUR;

/* The stored target: {"function_id", "function_alias", "function_version",
 * "board_id", "fleet_id", "placement", "input_template", "pending_timeout"}
 * with the resolved UUIDs of r (NULL: keep the references as given). New. */
cJSON *qm_trig_target_json(const struct qm_trig_target *t, const struct qm_target *r);

/* The same from a stored target object (t->tmpl then borrows from it). */
int qm_trig_target_load(const cJSON *stored, struct qm_trig_target *out, struct error *err) IOT_WUR;

/* Checks a source against the board's DeviceCaps (3.4.1): 400 "Board <uuid>
 * has no sensor <name>." or "Board <uuid> has no GPIO line <chip>:<line>.";
 * caps NULL is 409 "Capabilities of board <uuid> are not known yet." */
int qm_trig_caps_check(const struct trigdef_source *s, const cJSON *caps, const char *board,
                       struct error *err) IOT_WUR;

/* The target request for qm_target_resolve()/qm_launch(): borrows t. */
struct qm_target_req qm_trig_target_req(const struct qm_trig_target *t);

/* Where the target resolves now, for fn: 1 when it is exactly the source
 * board (a local loop, 3.7.3), 0 otherwise (a fleet, even one that holds the
 * source board, is not local). < 0 with err when it does not resolve. */
int qm_trig_is_local(struct db *db, const struct qm_trig_target *t, const struct qm_fn *fn,
                     const char *source_board, struct error *err) IOT_WUR;

#endif
