/* http/metrics.h: counters, gauges and histograms with labels, rendered in
 * the Prometheus text exposition format (version 0.0.4) for GET /metrics.
 *
 * A registry holds metric families; a family has a name, a help text, a type
 * and a fixed list of label names; a series is one combination of label
 * values. Series are created on first use and live as long as the registry,
 * so callers on hot paths look a series up once and keep the pointer.
 *
 * Threads: every function may be called from any thread. Updates to a series
 * are lock-free atomics; looking a series up takes the family's mutex.
 * Rendering reads a consistent-enough snapshot (each value is read
 * atomically; a histogram's buckets may be one observation apart from its
 * count under concurrent updates, which Prometheus tolerates).
 *
 * Limits: a family holds at most METRICS_MAX_SERIES series; further label
 * combinations all land in one overflow series whose label values are
 * "_overflow", so that outside input can never grow the registry without
 * bound. Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and label names
 * [a-zA-Z_][a-zA-Z0-9_]*; a bad name is a programming error and aborts. */
#ifndef IOT_HTTP_METRICS_H
#define IOT_HTTP_METRICS_H

#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

#define METRICS_MAX_LABELS 4
#define METRICS_MAX_SERIES 1024
#define METRICS_MAX_BUCKETS 32

struct metrics;        /* a registry: one per process, made in main */
struct metrics_family; /* owned by its registry */
struct metrics_series; /* owned by its family */

/* A new empty registry; free it with metrics_free() after every thread that
 * updates it has stopped. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m); /* accepts NULL */

/* Registers a family. labels is NULL or a NULL-terminated list of at most
 * METRICS_MAX_LABELS label names. Registering the same name twice returns the
 * existing family when type and labels agree, and aborts otherwise. The
 * returned family is owned by the registry. */
struct metrics_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                       const char *const *labels);
struct metrics_family *metrics_gauge(struct metrics *m, const char *name, const char *help,
                                     const char *const *labels);
/* buckets: n strictly increasing upper bounds (the +Inf bucket is implicit);
 * NULL uses METRICS_LATENCY_BUCKETS (seconds, 50 µs to 10 s). */
struct metrics_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                         const char *const *labels, const double *buckets,
                                         size_t n);

/* A gauge whose value is read by calling fn(arg) at render time (queue
 * depths, open connections). fn runs on the rendering thread and must be
 * thread-safe and cheap. No labels. */
void metrics_gauge_fn(struct metrics *m, const char *name, const char *help,
                      double (*fn)(void *arg), void *arg);

/* The series of family f for the given label values (as many as the family
 * has label names; NULL for a family without labels). Values are copied; a
 * NULL value is rendered as "". Never returns NULL. */
struct metrics_series *metrics_series(struct metrics_family *f, const char *const *values);

/* Series updates (any thread). inc/add on a counter must not be negative;
 * observe applies to histograms, set/add to gauges. */
void metrics_inc(struct metrics_series *s);
void metrics_add(struct metrics_series *s, double v);
void metrics_set(struct metrics_series *s, double v);
void metrics_observe(struct metrics_series *s, double v);

/* The current value of a counter or gauge series (tests, admission logic). */
double metrics_value(const struct metrics_series *s);

/* Appends the text exposition of every family, in registration order, to
 * out. Returns 0 or -E2BIG when out's limit is reached. */
int metrics_render(struct metrics *m, struct buf *out) IOT_WUR;

/* The MIME type of the rendered text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
