/* wagent/names.h: interned board method names.
 *
 * Every board registers the same few dozen procedure names (DevicePing,
 * PluginInject, ...). Keeping one shared, reference-counted copy of each
 * name lets a registration cost 16 bytes instead of a 64-byte name, which
 * matters at 50 000 boards, and turns "does this session provide Method" into
 * a pointer comparison. Names are freed when their last registration goes,
 * so boards cannot grow the table beyond what they hold registered (and
 * registrations per session are bounded). Loop thread only. */
#ifndef IOT_WAGENT_NAMES_H
#define IOT_WAGENT_NAMES_H

#include <stddef.h>
#include <stdint.h>

struct wag_name {
    uint32_t refs;
    uint32_t len;
    uint64_t hash;
    char s[]; /* NUL-terminated */
};

struct wag_names {
    struct wag_name **slots; /* open addressing; NULL: empty */
    size_t cap, n;
};

/* The interned copy of s[0..n), with one more reference (wag_names_put). */
const struct wag_name *wag_names_get(struct wag_names *t, const char *s, size_t n);

/* The interned copy of s[0..n) if some registration holds it, else NULL.
 * No reference is taken. */
const struct wag_name *wag_names_find(const struct wag_names *t, const char *s, size_t n);

/* Drops one reference; the name is freed with its last one. */
void wag_names_put(struct wag_names *t, const struct wag_name *name);

/* Frees the table and every name still in it. */
void wag_names_free(struct wag_names *t);

#endif
