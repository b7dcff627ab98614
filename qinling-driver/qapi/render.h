/* qapi/render.h: the JSON representations of section 2.2, written straight
 * from query rows.
 *
 * Each resource has one SELECT list (QA_SEL_*) and one writer that knows its
 * column order; single-resource reads and lists share them, so a field can
 * never differ between the two (Qinling's code-as-a-string-in-lists defect
 * cannot come back). Timestamps arrive formatted (qmodel/sql.h); integers
 * and jsonb columns are written as the text PostgreSQL gives. Pure writers;
 * any thread. */
#ifndef QA_RENDER_H
#define QA_RENDER_H

#include <libpq-fe.h>

#include "common/jsonw.h"
#include "qmodel/sql.h"

#define QA_SEL_FUNCTION                                                                            \
    "f.id, f.name, f.description, f.runtime_id, f.code, f.entry, f.cpu, f.memory_size, "           \
    "f.timeout, f.count, f.latest_version, f.project_id, " QM_TS("f.created_at") ", " QM_TS(       \
        "f.updated_at") ", f.devices, f.device_access, f.network, f.board_id, f.fleet_id, "        \
                        "f.placement, f.keep_warm, f.warm_ttl"

#define QA_SEL_RUNTIME                                                                             \
    "r.id, r.name, r.image, r.description, r.is_public, r.trusted, r.status, "                     \
    "r.project_id, " QM_TS("r.created_at") ", " QM_TS(                                             \
        "r.updated_at") ", r.image_sha256, r.image_size, "                                         \
                        "r.image_format, r.architecture, r.config, r.status_reason"

#define QA_SEL_EXECUTION                                                                                                                                                                                            \
    "e.id, e.function_id, e.function_version, e.function_alias, e.description, e.status, "                                                                                                                          \
    "e.sync, e.input, e.result::text, e.project_id, " QM_TS(                                                                                                                                                        \
        "e.created_at") ", " QM_TS("e.updated_at") ", e.board_id, e.fleet_id, e.placement, "                                                                                                                        \
                                                   "e.pending_timeout, " QM_TS_US("e.deadline") ", e.parent_id, "                                                                                                   \
                                                                                                "CASE WHEN e.placement = 'all' AND e.board_id IS NULL THEN (SELECT "                                                \
                                                                                                "coalesce(json_agg(c.id ORDER BY c.board_id, c.id), '[]') FROM executions c "                                       \
                                                                                                "WHERE c.parent_id = e.id) END, "                                                                                   \
                                                                                                "e.trigger_id, e.firing_id, e.executor, " QM_TS_US("e.dispatched_at") ", " QM_TS_US("e.received_at") ", " QM_TS_US( \
                                                                                                    "e.started_at") ", " QM_TS_US("e.finished_at") ", " QM_TS_US("e.completed_at") ", e.board_duration, "           \
                                                                                                                                                                                   "round(extract(epoch FROM (e.completed_at - e.created_at))::numeric, 6)"

#define QA_SEL_VERSION                                                                             \
    "v.id, v.description, v.function_id, v.version_number, v.count, v.project_id, " QM_TS(         \
        "v.created_at") ", " QM_TS("v.updated_at") ", v.package_sha256"

#define QA_SEL_ALIAS                                                                               \
    "a.id, a.name, a.description, a.function_id, a.function_version, a.project_id, " QM_TS(        \
        "a.created_at") ", " QM_TS("a.updated_at")

#define QA_SEL_JOB                                                                                 \
    "j.id, j.name, j.function_id, j.function_alias, j.function_version, j.function_input, "        \
    "j.status, j.pattern, j.count, " QM_TS("j.first_execution_time") ", " QM_TS(                   \
        "j.next_execution_time") ", j.project_id, " QM_TS("j.created_at") ", " QM_TS("j.updated_"  \
                                                                                     "at") ", "    \
                                                                                           "j."    \
                                                                                           "board" \
                                                                                           "_id, " \
                                                                                           "j."    \
                                                                                           "fleet" \
                                                                                           "_id, " \
                                                                                           "j."    \
                                                                                           "place" \
                                                                                           "ment," \
                                                                                           " j."   \
                                                                                           "pendi" \
                                                                                           "ng_"   \
                                                                                           "timeo" \
                                                                                           "ut"

#define QA_SEL_WEBHOOK                                                                             \
    "w.id, w.function_id, w.function_alias, w.function_version, w.description, "                   \
    "w.project_id, " QM_TS("w.created_at") ", " QM_TS(                                             \
        "w.updated_at") ", w.board_id, w.fleet_id, w.placement, "                                  \
                        "w.pending_timeout"

#define QA_SEL_WORKER                                                                              \
    "k.function_id, k.function_version, k.board_uuid, k.container_id, k.state, " QM_TS(            \
        "k.created_at") ", " QM_TS("k.last_used_at")

/* Each writes one object from row `row` of a result selected with its list.
 * base is <base> (webhook_url). */
void qa_render_function(struct jw *w, const PGresult *res, int row);
void qa_render_runtime(struct jw *w, const PGresult *res, int row);
void qa_render_execution(struct jw *w, const PGresult *res, int row);
void qa_render_version(struct jw *w, const PGresult *res, int row);
void qa_render_alias(struct jw *w, const PGresult *res, int row);
void qa_render_job(struct jw *w, const PGresult *res, int row);
void qa_render_webhook(struct jw *w, const PGresult *res, int row, const char *base);
void qa_render_worker(struct jw *w, const PGresult *res, int row);

#endif
