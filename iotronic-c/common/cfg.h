/* common/cfg.h: INI configuration in the oslo.config way.
 *
 *   [section]
 *   key = value        # comments are whole lines starting with '#' or ';'
 *       continued      # an indented line continues the previous value
 *
 * Loading and binding are separate steps. cfg_load() reads one file into the
 * store (repeat it for several --config-file options: later files win).
 * cfg_bind() then fills typed fields of the caller's structs from tables of
 * options (section, key, type, bounds, default, offset), validating all of
 * them before the daemon starts anything:
 *   - a bad value or a duplicate key in one file is an error naming the file,
 *     the line and the key;
 *   - an unknown key in a section the tables use is a warning with file:line
 *     (daemons share one iotronic.conf and each reads only its sections);
 *   - a missing required option is an error naming the section and key.
 * Strings bound into structs are owned by the struct: release them with
 * cfg_unbind(). */
#ifndef IOT_COMMON_CFG_H
#define IOT_COMMON_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum cfg_type {
    CFG_STR,    /* char *, NULL when unset and no default */
    CFG_INT,    /* int64_t, within [min, max] */
    CFG_BOOL,   /* int: true/false yes/no on/off 1/0 t/f y/n */
    CFG_DOUBLE, /* double, within [min, max] */
    CFG_ENUM,   /* int: index into choices, "a|b|c" */
    CFG_IGNORED /* accepted and ignored, with a warning (old options) */
};

#define CFG_REQUIRED 1u

struct cfg_opt {
    const char *section; /* "DEFAULT", "api", ... */
    const char *key;
    enum cfg_type type;
    const char *def;     /* default, as text; NULL: unset */
    size_t offset;       /* offsetof() the field in the destination struct */
    int64_t min, max;    /* CFG_INT, CFG_DOUBLE (both 0: unbounded) */
    const char *choices; /* CFG_ENUM */
    unsigned flags;
};

/* One table of options and the struct it fills. */
struct cfg_table {
    const struct cfg_opt *opts;
    size_t n;
    void *dst;
};

struct cfg; /* a loaded store: opaque */

struct cfg *cfg_new(void);
void cfg_free(struct cfg *c); /* accepts NULL */

/* Reads path into c. -ENOENT if it cannot be opened; -EINVAL for syntax
 * errors and duplicates, with "path:line: ..." in err. */
int cfg_load(struct cfg *c, const char *path, struct error *err) IOT_WUR;

/* Parses text as if it were the file named name (tests, embedded defaults). */
int cfg_load_text(struct cfg *c, const char *name, const char *text, struct error *err) IOT_WUR;

/* Applies defaults and values to every table; warns (log) about unknown keys
 * in the sections the tables use. On error nothing needs undoing beyond
 * cfg_unbind(). */
int cfg_bind(const struct cfg *c, const struct cfg_table *tables, size_t ntables,
             struct error *err) IOT_WUR;

/* Declares options that belong to other programs reading the same file (the
 * IoTronic daemons share iotronic.conf): cfg_bind() then does not warn about
 * them. An entry whose key is NULL covers its whole section. opts must
 * outlive c; they are never bound. */
void cfg_add_known(struct cfg *c, const struct cfg_opt *opts, size_t n);

/* Frees the strings that cfg_bind() stored in the tables' structs. */
void cfg_unbind(const struct cfg_table *tables, size_t ntables);

/* The raw value of [section] key (the last one loaded), or NULL. Borrowed:
 * valid while c lives. */
const char *cfg_get(const struct cfg *c, const char *section, const char *key);

/* Calls fn for every key of section, in file order (later files after). */
void cfg_each(const struct cfg *c, const char *section,
              void (*fn)(const char *key, const char *value, void *arg), void *arg);

/* Parses an oslo boolean. */
int cfg_parse_bool(const char *s, int *out) IOT_WUR;

/* Collects every "--config-file PATH" / "--config-file=PATH" of argv, loads
 * them in order, and removes them from argv (argc updated). Loads
 * default_path (if not NULL and it exists) when none is given. */
int cfg_load_args(struct cfg *c, int *argc, char **argv, const char *default_path,
                  struct error *err) IOT_WUR;

#endif
