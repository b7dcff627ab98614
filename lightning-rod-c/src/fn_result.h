/* src/fn_result.h: turning what a container did into the result the board reports.
 *
 * The rules are deviceless-api.md 2.6.3 (status and output, applied in the
 * order OOM, timeout, other signal, oversized result, exit status), 3.5.7
 * (the result file: JSON, or text minus one trailing newline, invalid UTF-8
 * replaced byte by byte with U+FFFD, NUL too) and 3.5.8 (duration in seconds, three
 * decimals). The object is the payload of stack4things.function_result
 * (3.9). Pure: no I/O, no globals, any thread. */
#ifndef LRC_FN_RESULT_H
#define LRC_FN_RESULT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "src/ctr_run.h"

/* The output value of a result file's bytes: NULL JSON when empty, the JSON
 * value when the text parses (whitespace around allowed), else the text as a
 * string without one trailing "\n". New tree for the caller. */
cJSON *fn_result_output(const char *data, size_t len);

/* Replaces each byte that is not part of valid UTF-8 with U+FFFD. Returns a
 * new NUL-terminated string (free()); *out_len its length (may be NULL). */
char *fn_utf8_sanitize(const char *p, size_t n, size_t *out_len);

/* What the board knows about an execution when it ends. */
struct fn_result_in {
    const char *execution_id;
    const char *container_id;    /* NULL when no container was made */
    const char *board_id;        /* for the error messages */
    const char *executor;        /* "crun" or "process" */
    int warm;                    /* it ran in a warm container */
    int64_t received_at;         /* µs since the epoch */
    size_t max_result_size;      /* for "Function result exceeds <n> bytes." */
    const struct ctr_outcome *o; /* NULL when nothing ran */
    /* When nothing ran (o NULL) or it could not start: */
    int deploy_failed;   /* the package or runtime could not be fetched */
    const char *reason;  /* the reason, for deploy or start failures */
    int service_failure; /* "Function execution failed." (e.g. lost in a restart) */
};

/* The result object: execution_id, container_id, status, output, duration,
 * exit_code, signal, timed_out, oom, logs, logs_dropped, received_at,
 * started_at, finished_at, first_write_at, executor, warm. New tree. */
cJSON *fn_result_build(const struct fn_result_in *in);

/* Seconds rounded to three decimals, from µs. */
double fn_result_seconds(int64_t us);

#endif
