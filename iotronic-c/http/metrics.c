/* http/metrics.c: see metrics.h.
 *
 * Values are doubles stored as their bit patterns in 64-bit atomics, so that
 * updates never take a lock: counters and gauges add with a compare-and-swap
 * loop, histograms bump one bucket counter (the buckets are stored
 * non-cumulative and summed at render time). Series are found through a
 * small open-addressing hash table per family, under the family's mutex;
 * families are appended to the registry under its mutex and never removed. */
#include "http/metrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"

#define HASH_SLOTS (2 * METRICS_MAX_SERIES) /* power of two, load <= 1/2 */

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM, M_GAUGE_FN };

struct metrics_series {
    char *values[METRICS_MAX_LABELS];
    _Atomic uint64_t value;    /* counter, gauge: bits of a double */
    _Atomic uint64_t *buckets; /* histogram: nbuckets + 1 (last: +Inf) */
    _Atomic uint64_t sum;      /* histogram: bits of a double */
    _Atomic uint64_t count;    /* histogram */
    const struct metrics_family *fam;
};

struct metrics_family {
    char *name, *help;
    enum mtype type;
    char *labels[METRICS_MAX_LABELS];
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    double (*fn)(void *arg);
    void *fn_arg;
    pthread_mutex_t lock;
    struct metrics_series **series; /* in creation order */
    size_t nseries;
    struct metrics_series *slots[HASH_SLOTS];
    struct metrics_series *overflow;
    struct metrics_family *next;
};

struct metrics {
    pthread_mutex_t lock;
    struct metrics_family *head, *tail;
};

static const double latency_buckets[] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10,
};

static uint64_t dbits(double d)
{
    uint64_t u;

    memcpy(&u, &d, sizeof(u));
    return u;
}

static double bitsd(uint64_t u)
{
    double d;

    memcpy(&d, &u, sizeof(d));
    return d;
}

static void atomic_add_double(_Atomic uint64_t *p, double v)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);

    while (!atomic_compare_exchange_weak_explicit(p, &old, dbits(bitsd(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

static int valid_name(const char *s, int colon_ok)
{
    if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++) {
        char c = *s;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (colon_ok && c == ':')))
            return 0;
    }
    return 1;
}

struct metrics *metrics_new(void)
{
    struct metrics *m = xcalloc(1, sizeof(*m));

    pthread_mutex_init(&m->lock, NULL);
    return m;
}

static void series_free(struct metrics_series *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < METRICS_MAX_LABELS; i++)
        free(s->values[i]);
    free(s->buckets);
    free(s);
}

static void family_free(struct metrics_family *f)
{
    for (size_t i = 0; i < f->nseries; i++)
        series_free(f->series[i]);
    series_free(f->overflow);
    free(f->series);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->bounds);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void metrics_free(struct metrics *m)
{
    struct metrics_family *f, *next;

    if (m == NULL)
        return;
    for (f = m->head; f != NULL; f = next) {
        next = f->next;
        family_free(f);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static size_t count_labels(const char *const *labels)
{
    size_t n = 0;

    while (labels != NULL && labels[n] != NULL)
        n++;
    return n;
}

static int same_shape(const struct metrics_family *f, enum mtype type, const char *const *labels)
{
    if (f->type != type || f->nlabels != count_labels(labels))
        return 0;
    for (size_t i = 0; i < f->nlabels; i++)
        if (strcmp(f->labels[i], labels[i]) != 0)
            return 0;
    return 1;
}

static struct metrics_series *series_new(const struct metrics_family *f, const char *const *values)
{
    struct metrics_series *s = xcalloc(1, sizeof(*s));

    s->fam = f;
    for (size_t i = 0; i < f->nlabels; i++)
        s->values[i] = xstrdup(values && values[i] ? values[i] : "");
    if (f->type == M_HISTOGRAM)
        s->buckets = xcalloc(f->nbounds + 1, sizeof(*s->buckets));
    return s;
}

/* Finds or registers a family; the caller holds nothing. */
static struct metrics_family *family_get(struct metrics *m, const char *name, const char *help,
                                         enum mtype type, const char *const *labels)
{
    struct metrics_family *f;
    size_t nl = count_labels(labels);

    if (!valid_name(name, 1) || nl > METRICS_MAX_LABELS) {
        log_error("metrics: invalid metric %s", name ? name : "(null)");
        abort();
    }
    for (size_t i = 0; i < nl; i++) {
        if (!valid_name(labels[i], 0) || strcmp(labels[i], "le") == 0) {
            log_error("metrics: invalid label %s of %s", labels[i], name);
            abort();
        }
    }
    pthread_mutex_lock(&m->lock);
    for (f = m->head; f != NULL; f = f->next) {
        if (strcmp(f->name, name) == 0) {
            pthread_mutex_unlock(&m->lock);
            if (!same_shape(f, type, labels)) {
                log_error("metrics: %s registered twice with different shapes", name);
                abort();
            }
            return f;
        }
    }
    f = xcalloc(1, sizeof(*f));
    f->name = xstrdup(name);
    f->help = xstrdup(help ? help : "");
    f->type = type;
    f->nlabels = nl;
    for (size_t i = 0; i < nl; i++)
        f->labels[i] = xstrdup(labels[i]);
    pthread_mutex_init(&f->lock, NULL);
    if (m->tail)
        m->tail->next = f;
    else
        m->head = f;
    m->tail = f;
    pthread_mutex_unlock(&m->lock);
    return f;
}

struct metrics_family *metrics_counter(struct metrics *m, const char *name, const char *help,
                                       const char *const *labels)
{
    struct metrics_family *f = family_get(m, name, help, M_COUNTER, labels);

    if (f->nlabels == 0)
        (void)metrics_series(f, NULL); /* an unlabelled family renders 0 at once */
    return f;
}

struct metrics_family *metrics_gauge(struct metrics *m, const char *name, const char *help,
                                     const char *const *labels)
{
    struct metrics_family *f = family_get(m, name, help, M_GAUGE, labels);

    if (f->nlabels == 0)
        (void)metrics_series(f, NULL);
    return f;
}

struct metrics_family *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                         const char *const *labels, const double *buckets, size_t n)
{
    struct metrics_family *f;

    if (buckets == NULL) {
        buckets = latency_buckets;
        n = sizeof(latency_buckets) / sizeof(latency_buckets[0]);
    }
    if (n == 0 || n > METRICS_MAX_BUCKETS)
        abort();
    for (size_t i = 1; i < n; i++)
        if (!(buckets[i] > buckets[i - 1]))
            abort();
    f = family_get(m, name, help, M_HISTOGRAM, labels);
    pthread_mutex_lock(&f->lock);
    if (f->bounds == NULL) {
        f->bounds = xmalloc(n * sizeof(double));
        memcpy(f->bounds, buckets, n * sizeof(double));
        f->nbounds = n;
    }
    pthread_mutex_unlock(&f->lock);
    if (f->nlabels == 0)
        (void)metrics_series(f, NULL);
    return f;
}

void metrics_gauge_fn(struct metrics *m, const char *name, const char *help,
                      double (*fn)(void *arg), void *arg)
{
    struct metrics_family *f = family_get(m, name, help, M_GAUGE_FN, NULL);

    pthread_mutex_lock(&f->lock);
    f->fn = fn;
    f->fn_arg = arg;
    pthread_mutex_unlock(&f->lock);
}

static uint64_t hash_values(const struct metrics_family *f, const char *const *values)
{
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = values && values[i] ? values[i] : "";

        for (; *v; v++)
            h = (h ^ (unsigned char)*v) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL; /* separator: ("a","b") != ("ab","") */
    }
    return h;
}

static int series_matches(const struct metrics_family *f, const struct metrics_series *s,
                          const char *const *values)
{
    for (size_t i = 0; i < f->nlabels; i++)
        if (strcmp(s->values[i], values && values[i] ? values[i] : "") != 0)
            return 0;
    return 1;
}

struct metrics_series *metrics_series(struct metrics_family *f, const char *const *values)
{
    static const char *const overflow_values[METRICS_MAX_LABELS] = {
        "_overflow",
        "_overflow",
        "_overflow",
        "_overflow",
    };
    size_t slot = (size_t)(hash_values(f, values) & (HASH_SLOTS - 1));
    struct metrics_series *s;

    pthread_mutex_lock(&f->lock);
    while ((s = f->slots[slot]) != NULL) {
        if (series_matches(f, s, values))
            goto out;
        slot = (slot + 1) & (HASH_SLOTS - 1);
    }
    if (f->nseries >= METRICS_MAX_SERIES) {
        if (f->overflow == NULL)
            f->overflow = series_new(f, overflow_values);
        s = f->overflow;
        goto out;
    }
    s = series_new(f, values);
    f->slots[slot] = s;
    f->series = xrealloc(f->series, (f->nseries + 1) * sizeof(*f->series));
    f->series[f->nseries++] = s;
out:
    pthread_mutex_unlock(&f->lock);
    return s;
}

void metrics_inc(struct metrics_series *s)
{
    atomic_add_double(&s->value, 1.0);
}

void metrics_add(struct metrics_series *s, double v)
{
    atomic_add_double(&s->value, v);
}

void metrics_set(struct metrics_series *s, double v)
{
    atomic_store_explicit(&s->value, dbits(v), memory_order_relaxed);
}

void metrics_observe(struct metrics_series *s, double v)
{
    const struct metrics_family *f = s->fam;
    size_t i = 0;

    if (s->buckets == NULL)
        return;
    while (i < f->nbounds && v > f->bounds[i])
        i++;
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&s->sum, v);
    atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
}

double metrics_value(const struct metrics_series *s)
{
    return bitsd(atomic_load_explicit(&s->value, memory_order_relaxed));
}

/* ------------------------------------------------------------ rendering */

static int put_number(struct buf *out, double v)
{
    if (isnan(v))
        return buf_append_str(out, "NaN");
    if (isinf(v))
        return buf_append_str(out, v > 0 ? "+Inf" : "-Inf");
    if (v == floor(v) && fabs(v) < 1e15)
        return buf_printf(out, "%.0f", v);
    return buf_printf(out, "%.17g", v);
}

/* Escapes for label values ('\\', '"', '\n') or, with help, for HELP text
 * ('\\' and '\n' only). */
static int put_escaped(struct buf *out, const char *s, int help)
{
    for (; *s; s++) {
        int rc;

        if (*s == '\\')
            rc = buf_append_str(out, "\\\\");
        else if (*s == '\n')
            rc = buf_append_str(out, "\\n");
        else if (*s == '"' && !help)
            rc = buf_append_str(out, "\\\"");
        else
            rc = buf_append(out, s, 1);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* name{labels[,le="x"]} */
static int put_series_name(struct buf *out, const struct metrics_family *f,
                           const struct metrics_series *s, const char *suffix, const char *le)
{
    int rc = buf_printf(out, "%s%s", f->name, suffix);

    if (rc < 0 || (f->nlabels == 0 && le == NULL))
        return rc;
    rc = buf_append_str(out, "{");
    for (size_t i = 0; rc == 0 && i < f->nlabels; i++) {
        rc = buf_printf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
        if (rc == 0)
            rc = put_escaped(out, s->values[i], 0);
        if (rc == 0)
            rc = buf_append_str(out, "\"");
    }
    if (rc == 0 && le != NULL)
        rc = buf_printf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    if (rc == 0)
        rc = buf_append_str(out, "}");
    return rc;
}

static int put_line(struct buf *out, const struct metrics_family *f, const struct metrics_series *s,
                    const char *suffix, const char *le, double v)
{
    int rc = put_series_name(out, f, s, suffix, le);

    if (rc == 0)
        rc = buf_append_str(out, " ");
    if (rc == 0)
        rc = put_number(out, v);
    if (rc == 0)
        rc = buf_append_str(out, "\n");
    return rc;
}

static int put_histogram(struct buf *out, const struct metrics_family *f,
                         const struct metrics_series *s)
{
    uint64_t cum = 0;
    char le[64];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i <= f->nbounds; i++) {
        cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        if (i < f->nbounds)
            snprintf(le, sizeof(le), "%.17g", f->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        rc = put_line(out, f, s, "_bucket", le, (double)cum);
    }
    if (rc == 0)
        rc = put_line(out, f, s, "_sum", NULL,
                      bitsd(atomic_load_explicit(&s->sum, memory_order_relaxed)));
    if (rc == 0)
        rc = put_line(out, f, s, "_count", NULL,
                      (double)atomic_load_explicit(&s->count, memory_order_relaxed));
    return rc;
}

static int put_series(struct buf *out, const struct metrics_family *f,
                      const struct metrics_series *s)
{
    if (f->type == M_HISTOGRAM)
        return put_histogram(out, f, s);
    return put_line(out, f, s, "", NULL, metrics_value(s));
}

static int render_family(struct metrics_family *f, struct buf *out)
{
    static const char *const types[] = {"counter", "gauge", "histogram", "gauge"};
    int rc;

    rc = buf_printf(out, "# HELP %s ", f->name);
    if (rc == 0)
        rc = put_escaped(out, f->help, 1);
    if (rc == 0)
        rc = buf_printf(out, "\n# TYPE %s %s\n", f->name, types[f->type]);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&f->lock);
    if (f->type == M_GAUGE_FN) {
        double v = f->fn ? f->fn(f->fn_arg) : 0;

        rc = buf_printf(out, "%s ", f->name);
        if (rc == 0)
            rc = put_number(out, v);
        if (rc == 0)
            rc = buf_append_str(out, "\n");
    }
    for (size_t i = 0; rc == 0 && i < f->nseries; i++)
        rc = put_series(out, f, f->series[i]);
    if (rc == 0 && f->overflow != NULL)
        rc = put_series(out, f, f->overflow);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

int metrics_render(struct metrics *m, struct buf *out)
{
    int rc = 0;

    /* Registration is rare: holding the registry lock while rendering keeps
     * the family list stable without any cleverness. */
    pthread_mutex_lock(&m->lock);
    for (struct metrics_family *f = m->head; rc == 0 && f != NULL; f = f->next)
        rc = render_family(f, out);
    pthread_mutex_unlock(&m->lock);
    return rc == 0 ? 0 : -E2BIG;
}
