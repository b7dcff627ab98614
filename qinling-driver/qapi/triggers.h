/* qapi/triggers.h: /v1/triggers (deviceless-api.md 3.7.1, 3.7.2, 3.7.5).
 *
 * The routes of the trigger resource, as one group of qapi/routes.c:
 *
 *   POST   /v1/triggers                  201 Trigger
 *   GET    /v1/triggers                  200 {"triggers": [...]}
 *   GET    /v1/triggers/{id}             200 Trigger
 *   PUT    /v1/triggers/{id}             200 Trigger (source, target replaced whole)
 *   DELETE /v1/triggers/{id}             204 (firings deleted with it)
 *   GET    /v1/triggers/{id}/firings     200 {"firings": [...]}, newest first
 *
 * Every write commits the row, then tells the engine ("trigger_sync" with
 * the source board on QM_TRIGGERS_QUEUE, qmodel/trigger.h), which sends the board its
 * complete set (TriggerSet); a lost message is caught by the engine's own
 * reconciliation of triggers left `installing`. Worker threads. */
#ifndef QA_TRIGGERS_H
#define QA_TRIGGERS_H

#include <stddef.h>

#include "http/server.h"

#define QA_TRIGGER_NROUTES 6

extern const struct http_route qa_trigger_routes[QA_TRIGGER_NROUTES];

/* The firings page size: default and cap (3.7.2). */
#define QA_FIRINGS_LIMIT 100
#define QA_FIRINGS_MAX 1000

#endif
