/* common/timeutil.h: clocks and ISO 8601 times.
 *
 * Wall-clock times travel as int64 microseconds since the Unix epoch (UTC).
 * Durations and timeouts use the monotonic clock. The output styles are the
 * ones the contracts fix: the IoTronic API's "+00:00" with six fractional
 * digits, Qinling's whole-second "Z", the µs "Z" of timing fields and the ms
 * "Z" of WAMP-CRA challenges. */
#ifndef IOT_COMMON_TIMEUTIL_H
#define IOT_COMMON_TIMEUTIL_H

#include <stdint.h>

#include "common/error.h"

#define TIME_ISO_LEN 40

enum time_style {
    TIME_OFFSET_US, /* 2026-11-23T06:48:35.856865+00:00 (iotronic-api-v1.md 1.6) */
    TIME_Z_US,      /* 2026-11-23T06:48:35.856865Z */
    TIME_Z_MS,      /* 2026-11-23T06:48:35.856Z */
    TIME_Z_SEC,     /* 2026-11-23T06:48:35Z (deviceless-api.md 1.5) */
    TIME_SPACE_US,  /* 2026-11-23 06:48:35.856865 (DevicePing, as in the original) */
};

int64_t time_now_us(void);   /* CLOCK_REALTIME */
int64_t time_mono_us(void);  /* CLOCK_MONOTONIC */
int64_t time_mono_ms(void);

/* Formats t (µs since the epoch, UTC) into out; returns out. */
char *time_format(int64_t t, enum time_style style, char out[TIME_ISO_LEN]);

/* Parses ISO 8601: date, 'T' or ' ', hh:mm[:ss[.fraction]], optional 'Z' or
 * +-hh:mm (a time without an offset is UTC). Returns 0 or -EINVAL. */
int time_parse(const char *s, int64_t *out) IOT_WUR;

#endif
