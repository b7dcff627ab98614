/* src/ctl_client.h: the client side of the control socket, and the
 * `lightning-rod-c sim ...` / `lightning-rod-c status` commands built on it
 * (board-protocol.md 10.1, 10.7).
 *
 * The client blocks (with timeouts): it runs in a short-lived command
 * process, never inside the agent. Not thread-safe per client. */
#ifndef LRC_SRC_CTL_CLIENT_H
#define LRC_SRC_CTL_CLIENT_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "common/error.h"

#define LRC_DEFAULT_CONTROL_SOCKET "/run/lightning-rod-c/control.sock"
#define CTL_CLIENT_TIMEOUT_MS 5000

struct ctl_client;

/* Connects to the control socket at path. *out is new (ctl_client_free). */
int ctl_client_connect(const char *path, struct ctl_client **out, struct error *err) IOT_WUR;
void ctl_client_free(struct ctl_client *c); /* accepts NULL */

/* Sends one request object as a line. */
int ctl_client_send(struct ctl_client *c, const cJSON *req, struct error *err) IOT_WUR;

/* Reads the next line as a JSON object into *out (new, cJSON_Delete).
 * timeout_ms < 0 waits forever. -ETIMEDOUT, -ECONNRESET when the agent
 * closed the connection, -EPROTO for a line that is not a JSON object. */
int ctl_client_read(struct ctl_client *c, int timeout_ms, cJSON **out, struct error *err) IOT_WUR;

/* Connects, sends req, reads one reply, disconnects. */
int ctl_client_call(const char *path, const cJSON *req, int timeout_ms, cJSON **reply,
                    struct error *err) IOT_WUR;

/* Runs one command against the control socket at ctl_path:
 *   sim set-sensor <name> <value>
 *   sim set-line <chip> <line> <0|1>
 *   sim get-line <chip> <line>
 *   sim watch
 *   status
 * argv[0] is "sim" or "status". Results go to out, problems to errout; with
 * json set, each reply is printed as its JSON line instead of as text.
 * Returns the exit status: 0 ok, 1 error (the agent said no, or cannot be
 * reached), 2 usage. */
int lrc_cli_run(const char *ctl_path, int json, int argc, char **argv, FILE *out, FILE *errout);

/* The same for a main() that passes its arguments from the command word
 * on; options may come first: --control-socket PATH (default
 * LRC_DEFAULT_CONTROL_SOCKET) and --json. Prints to stdout and stderr. */
int lrc_cli_sim(int argc, char **argv);

#endif
