/* src/trigger_agent.h: the trigger engine inside the board agent.
 *
 * Wires src/trigger.h to the agent's modules: firings go to the outbox as
 * stack4things.event entries (with the board's UUID, as the wagent wants),
 * local-loop executions go to the function executor (fn_execute_local),
 * TriggerSet is served from the RPC table (lrc_rpc_trigger in rpc.h), and
 * the control socket's status shows the triggers. Local executions that
 * fire while the executor is still starting (its probe runs at boot, and
 * again after a factory reset) wait here, in order, instead of being
 * answered "busy": a condition true at boot must still reach its actuator.
 *
 * One struct lrc_triggers per agent (a->triggers), built after the outbox
 * and freed before the HAL and the worker pool. Loop thread only. */
#ifndef LRC_SRC_TRIGGER_AGENT_H
#define LRC_SRC_TRIGGER_AGENT_H

#include <cjson/cJSON.h>

#include "common/error.h"
#include "src/agent.h"

#define LRC_TRIG_WAIT_MAX 64 /* local executions held while the executor starts */

struct lrc_triggers;

/* Builds the engine and loads <state_dir>/triggers.json (blocking: main
 * thread, at startup), so the triggers evaluate before the cloud is
 * reached. 0, or a negated errno with err set. */
int lrc_triggers_init(struct lrc_agent *a, struct error *err) IOT_WUR;

/* The executor is ready (again): runs the local executions held meanwhile. */
void lrc_triggers_ready(struct lrc_agent *a);

/* Factory reset: no triggers, an empty triggers.json. */
void lrc_triggers_purge(struct lrc_agent *a);

/* The control socket's view: {"triggers": [...]} (trigger.h). New. */
cJSON *lrc_triggers_status(const struct lrc_agent *a);

/* Frees a->triggers; held executions are answered "busy". Accepts an agent
 * without triggers. */
void lrc_triggers_fini(struct lrc_agent *a);

#endif
