/* qmodel/cron.h: job patterns (deviceless-api.md 2.8), evaluated in UTC.
 *
 *   minute hour day-of-month month day-of-week [second]
 *
 * Each field takes "*", numbers, ranges a-b, steps ("*" "/n", a-b/n, a/n), lists
 * a,b,c, and month and weekday names (jan..dec, sun..sat; weekday 7 is
 * Sunday too). When both day fields are restricted (not "*"), a day matches
 * if either matches. @yearly, @annually, @monthly, @weekly, @daily,
 * @midnight and @hourly are accepted. At most QM_CRON_MAX characters.
 * Pure, any thread. */
#ifndef QM_CRON_H
#define QM_CRON_H

#include <stdint.h>

#include "common/error.h"

#define QM_CRON_MAX 255

struct qm_cron {
    uint64_t sec, min; /* bits 0..59 */
    uint32_t hour;     /* bits 0..23 */
    uint32_t dom;      /* bits 1..31 */
    uint16_t mon;      /* bits 1..12 */
    uint8_t dow;       /* bits 0..6, Sunday = 0 */
    int dom_star, dow_star;
};

/* Parses text. Returns 0, or -EINVAL (err says which field) for a pattern
 * that is malformed or can never match (30 February). */
int qm_cron_parse(const char *text, struct qm_cron *out, struct error *err) IOT_WUR;

/* The first matching second at or after t (µs since the epoch, UTC) when
 * inclusive, strictly after t otherwise, as µs. Returns 0 and *out, or
 * -ERANGE when nothing matches within the next ten years. */
int qm_cron_next(const struct qm_cron *c, int64_t t, int inclusive, int64_t *out) IOT_WUR;

#endif
