/* qengine/metrics.c: the engine's figures for GET /metrics on [engine]
 * admin_listen. The counters are the engine's own atomics (struct
 * qe_stats), read at render time, so the hot paths pay one atomic add. */
#include <stdatomic.h>

#include "common/wq.h"
#include "qengine/engine.h"

#define READER(field)                                                                              \
    static double read_##field(void *arg)                                                          \
    {                                                                                              \
        return (double)atomic_load(&((struct qe *)arg)->stats.field);                              \
    }
READER(dispatched)
READER(accepted)
READER(busy)
READER(results)
READER(duplicates)
READER(deadlines)
READER(lost)

static double queued(void *arg)
{
    return (double)wq_pending(((struct qe *)arg)->wq);
}

void qe_metrics_register(struct qe *e)
{
    struct metrics *m = e->metrics;

    metrics_gauge_fn(m, "qinling_engine_dispatched_total",
                     "FunctionExecute calls sent (resends included).", read_dispatched, e);
    metrics_gauge_fn(m, "qinling_engine_accepted_total", "Executions a board accepted.",
                     read_accepted, e);
    metrics_gauge_fn(m, "qinling_engine_busy_total", "FunctionExecute answered busy.", read_busy,
                     e);
    metrics_gauge_fn(m, "qinling_engine_results_total", "Results stored.", read_results, e);
    metrics_gauge_fn(m, "qinling_engine_results_dropped_total",
                     "Results dropped (repeats, unknown or finished executions).", read_duplicates,
                     e);
    metrics_gauge_fn(m, "qinling_engine_deadlines_total",
                     "Executions that no board accepted before their deadline.", read_deadlines, e);
    metrics_gauge_fn(m, "qinling_engine_lost_total",
                     "Accepted executions a reconnecting board did not know (sent again).",
                     read_lost, e);
    metrics_gauge_fn(m, "qinling_engine_work_queued", "Jobs waiting for a worker.", queued, e);
}
