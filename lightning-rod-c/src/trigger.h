/* src/trigger.h: the board's trigger engine (deviceless-api.md 3.7.3 -
 * 3.7.5, board-protocol.md 6.5 TriggerSet).
 *
 * The cloud gives the board the complete set of triggers whose source it is
 * (TriggerSet); the engine replaces its set atomically, persists it in
 * <state_dir>/triggers.json and evaluates every trigger locally on the HAL:
 * sensors through samplers at sample_interval_ms, GPIO lines through edge
 * watches (kernel or simulated line events; polling only where the backend
 * has none). A firing becomes:
 *
 *   cloud-routed  the kwargs of stack4things.event, handed to the emit hook
 *                 (the agent's outbox: written, sent, retried until acked);
 *   local loop    a FunctionExecute built from the trigger's template with a
 *                 UUID the board generates, handed to the run_local hook (the
 *                 function executor, which waits for a free slot); once the
 *                 executor answers, the firing is reported through emit with
 *                 local: true and the execution's id. No cloud is needed.
 *
 * Firing sequence numbers are unique per trigger across restarts: blocks of
 * them are reserved in triggers.json ahead of use, so a firing never waits
 * for the disk, and a restart continues past the reservation. A TriggerSet
 * that keeps a trigger's source unchanged keeps its evaluation state, so a
 * reconnect never fires a condition that already fired.
 *
 * One engine per agent, made after the HAL and the worker pool, freed
 * before them. Loop thread only. */
#ifndef LRC_SRC_TRIGGER_H
#define LRC_SRC_TRIGGER_H

#include <cjson/cJSON.h>
#include <ev.h>
#include <stdint.h>

#include "common/error.h"
#include "common/wq.h"
#include "hal/hal.h"

#define TRIG_FILE "triggers.json"
#define TRIG_SEQ_BLOCK 1024 /* sequence numbers reserved per write */

/* The executor's answer to a local execution: kind "RUNNING" (accepted),
 * "SUCCESS" (already known) or "ERROR" with {"code", "message"} (the
 * callee owns message). As src/fn_exec.h's fn_reply_fn. */
typedef void (*trig_reply_fn)(void *arg, const char *kind, cJSON *message);

struct trig_hooks {
    /* A firing to report: kwargs (taken) of stack4things.event; key
     * "<trigger_id>/<firing_seq>" identifies it. */
    void (*emit)(void *arg, cJSON *kwargs, const char *key);
    /* Runs a local-loop execution: payload (borrowed) is a complete
     * FunctionExecute. reply must be called exactly once. */
    void (*run_local)(void *arg, const cJSON *payload, const char *trigger_id, int64_t firing_seq,
                      trig_reply_fn reply, void *reply_arg);
    /* The board's UUID for events and messages, or NULL before
     * registration. */
    const char *(*board_id)(void *arg);
    void *arg;
};

struct trig_deps {
    struct ev_loop *ev;
    struct hal *hal;
    struct wq *wq;         /* writes of triggers.json */
    const char *state_dir; /* copied */
};

struct trig_engine;

/* Creates an empty engine. *out is new (trig_engine_free). */
int trig_engine_new(const struct trig_deps *deps, const struct trig_hooks *hooks,
                    struct trig_engine **out, struct error *err) IOT_WUR;

/* Loads triggers.json (blocking: startup, on the main thread) and installs
 * what it holds, so the triggers work before the cloud is reached. A
 * missing file is an empty set; a corrupt one is set aside as statefile.h
 * says and its .bak used. Triggers the hardware refuses now are logged and
 * kept for the next TriggerSet. Returns 0, or a negated errno when the file
 * cannot be read at all. */
int trig_engine_load(struct trig_engine *t, struct error *err) IOT_WUR;

/* The outcome of TriggerSet: kind "SUCCESS" with {"installed": [ids],
 * "refused": [{"id", "message"}]}, or "ERROR" with a text; message is the
 * callee's. Called exactly once, after the new set is durable. */
typedef void (*trig_set_done_fn)(void *arg, const char *kind, cJSON *message);

/* TriggerSet: payload (borrowed) is {"triggers": [...]}. Every valid
 * trigger the hardware accepts replaces the old set at once; the others are
 * refused with the reason ("Board <uuid> has no sensor <name>.", "Line busy:
 * <chip>:<line>.", a definition error). A payload that is not such an
 * object answers ERROR and changes nothing. */
void trig_engine_set(struct trig_engine *t, const cJSON *payload, trig_set_done_fn done, void *arg);

/* {"triggers": [{"id", "source", "local", "armed", "fire_count",
 * "last_fired_at", "last_value", "last_sampled_at", "error"}]}. New. */
cJSON *trig_engine_status(const struct trig_engine *t);

/* Number of installed triggers. */
int trig_engine_count(const struct trig_engine *t);

/* 1 while a write of triggers.json is queued or running. */
int trig_engine_writing(const struct trig_engine *t);

/* Factory reset: removes every trigger and deletes triggers.json (and its
 * .bak), on the worker pool. */
void trig_engine_purge(struct trig_engine *t);

/* Releases every HAL watch and frees. A TriggerSet still waiting for its
 * write is answered ERROR now. Local executions still waiting for the
 * executor's answer are reported by nobody: their results still arrive
 * through the executor. Accepts NULL. */
void trig_engine_free(struct trig_engine *t);

#endif
