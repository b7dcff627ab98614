/* src/agent_int.h: what agent.c and agent_settings.c share. */
#ifndef LRC_SRC_AGENT_INT_H
#define LRC_SRC_AGENT_INT_H

#include "src/agent.h"

/* Reads settings.json into a->settings (absent: unconfigured). A corrupt
 * file without a good copy sets *exit_code to LRC_EXIT_CONFIG. Main thread. */
int agent_load_settings(struct lrc_agent *a, int *exit_code, struct error *err) IOT_WUR;

/* Starts watching settings.json for `configure` while the agent runs. */
void agent_watch_settings(struct lrc_agent *a);

#endif
