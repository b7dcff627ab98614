/* qmodel/logtext.h: execution logs as the service stores them (2.6.4).
 *
 * Invalid UTF-8 is replaced byte by byte with U+FFFD (and NUL bytes, which
 * PostgreSQL text cannot hold, likewise); a log over the limit keeps the
 * first half and the last half of the budget with one line between them:
 * "[log truncated: <n> bytes dropped]". Pure; any thread. */
#ifndef QM_LOGTEXT_H
#define QM_LOGTEXT_H

#include <stddef.h>

/* A new NUL-terminated string (free()) from s[0..n), at most about max bytes
 * of the original kept. */
char *qm_log_clip(const char *s, size_t n, size_t max);

/* s[0..n) with invalid UTF-8 and NULs replaced by U+FFFD: new string. */
char *qm_utf8_fix(const char *s, size_t n);

#endif
