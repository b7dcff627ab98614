/* src/ctl_sim.h: the control socket's "sim_*" ops (board-protocol.md 10.7),
 * which drive the HAL's simulated backend:
 *
 *   {"op": "sim_set_sensor", "name": "lux0", "value": 8.5}
 *     -> {"ok": true, "name": "lux0", "value": 8.5, "unit": "lx"}
 *   {"op": "sim_set_line", "chip": "sim0", "line": 2, "value": 1}
 *     -> {"ok": true, "chip", "line", "value": 1, "previous": 0,
 *         "edge": "rising" | "falling" | null, "events": <watches called>}
 *   {"op": "sim_get_line", "chip": "sim0", "line": 3}
 *     -> {"ok": true, "value": 1, "direction": "input" | "output", "writes": 4}
 *   {"op": "sim_watch"}
 *     -> {"ok": true, "watching": "writes"}, then one line per write the board
 *        makes to a simulated line, until the client disconnects:
 *        {"event": "write", "chip", "line", "value", "ts": "<µs Z>", "writes"}
 *
 * Errors are {"ok": false, "error": "<text>"}: the argument's problem, the
 * HAL's "No such device: ..." or "The simulated IO backend is not in use.".
 * Loop thread only. */
#ifndef LRC_SRC_CTL_SIM_H
#define LRC_SRC_CTL_SIM_H

#include "common/error.h"
#include "hal/hal.h"
#include "src/ctl.h"

/* Registers the four ops on ctl, serving hal. Free ctl before hal: closing
 * the watch streams unsubscribes them from the HAL. */
int ctl_sim_register(struct ctl *ctl, struct hal *hal) IOT_WUR;

#endif
