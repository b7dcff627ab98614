/* common/log.h: one line per event on stderr, with levels and a request id.
 *
 * Format:  <ISO 8601 UTC, µs> <level> <program>[<pid>] req=<id> <message>
 * The message is free text followed by key=value fields; newlines and control
 * characters in it are escaped, so an event is always exactly one line, and
 * each line is written with a single write(2) so that threads never
 * interleave. The level check happens in the macro, before any formatting.
 *
 * The program name and level are the module's only process-wide settings: set
 * them once in main() with log_init() before starting threads. The request id
 * is per thread: a worker sets it while it handles one request. */
#ifndef IOT_COMMON_LOG_H
#define IOT_COMMON_LOG_H

#include "common/error.h"

enum log_level { LOG_ERROR = 0, LOG_WARNING = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

#define LOG_REQID_MAX 64

void log_init(const char *program, enum log_level level);
void log_set_level(enum log_level level);

/* Parses "error", "warning" (or "warn"), "info", "debug" (any case). */
int log_level_parse(const char *s, enum log_level *out) IOT_WUR;

int log_enabled(enum log_level level);

/* Sets (or clears, with NULL) the calling thread's request id. The string is
 * copied, truncated to LOG_REQID_MAX - 1 characters. */
void log_set_request_id(const char *reqid);
const char *log_request_id(void); /* "" when unset; valid until the next set */

void log_write(enum log_level level, const char *fmt, ...) IOT_PRINTF(2, 3);

#define log_error(...) do { if (log_enabled(LOG_ERROR)) log_write(LOG_ERROR, __VA_ARGS__); } while (0)
#define log_warn(...) do { if (log_enabled(LOG_WARNING)) log_write(LOG_WARNING, __VA_ARGS__); } while (0)
#define log_info(...) do { if (log_enabled(LOG_INFO)) log_write(LOG_INFO, __VA_ARGS__); } while (0)
#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_write(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
