/* api/query.h: query parameters of collections and single GETs (1.10), and
 * the `next` link.
 *
 * A route says which parameters it accepts (API_Q_* bits); api_listq_parse()
 * validates them all, in the order the contract's messages imply (unknown
 * argument, conversions, limit, sort_dir, sort_key, fields, admin-only
 * parameters), and fills a struct api_listq whose strings are borrowed from
 * the request's parameters. Pure; any thread. */
#ifndef IOT_API_QUERY_H
#define IOT_API_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "api/resource.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/uuid.h"

#define API_Q_MARKER 0x001u
#define API_Q_LIMIT 0x002u
#define API_Q_SORT_KEY 0x004u
#define API_Q_SORT_DIR 0x008u
#define API_Q_FIELDS 0x010u
#define API_Q_STATUS 0x020u
#define API_Q_PROJECT 0x040u
#define API_Q_ALL_PROJECTS 0x080u
#define API_Q_WITH_PUBLIC 0x100u
#define API_Q_ALL_PLUGINS 0x200u
#define API_Q_ALL_SERVICES 0x400u
#define API_Q_PAGING (API_Q_MARKER | API_Q_LIMIT | API_Q_SORT_KEY | API_Q_SORT_DIR | API_Q_FIELDS)

/* One decoded query parameter, borrowed from the request. */
struct api_qparam {
    const char *name;
    const char *value;
};

struct api_listq {
    int64_t limit; /* effective: capped, defaulted to max_limit */
    int has_marker;
    char marker[UUID_STR_LEN];
    int sort; /* index into kind->sort_keys */
    int desc;
    uint32_t fields; /* mask to emit (always-fields are added by the renderer) */
    int fields_given;
    const char *fields_raw; /* the parameter as sent, for `next` */
    const char *status;     /* NULL: no filter */
    const char *project;    /* admin only; NULL: none */
    int all_projects;       /* 0/1; all_plugins / all_services fold in here */
    int with_public;
    /* Raw values of the boolean parameters as sent (NULL: absent), for `next`. */
    const char *raw_all_projects, *raw_with_public, *raw_all_plugins, *raw_all_services;
};

/* Parses params (a repeated name takes its last value) for a route accepting
 * the `allowed` parameters of kind k. detail: no `fields` means every field
 * (else the kind's default list set). Returns 0, or -EINVAL with the 400
 * message in err. */
int api_listq_parse(const struct api_kind *k, unsigned allowed, int detail, int is_admin,
                    int64_t max_limit, const struct api_qparam *params, size_t n,
                    struct api_listq *q, struct error *err) IOT_WUR;

/* Parses an oslo boolean string ("1 t true on y yes" / "0 f false off n no",
 * any case, blanks trimmed). 0/1, or -EINVAL. */
int api_parse_bool(const char *s);

/* The message tail for a bad boolean: "Unrecognized value '<v>', acceptable
 * values are: ..." is written by this helper into err for field name. */
int api_bad_bool(struct error *err, const char *field, const char *v);

/* Appends `next`: <base><path>?sort_key=..&sort_dir=..[&filters]&limit=..&marker=..
 * (path without trailing slash; values percent-encoded). */
int api_next_link(struct buf *out, const char *base, const char *path, const struct api_kind *k,
                  const struct api_listq *q, const char *last_marker) IOT_WUR;

/* Appends s percent-encoded (everything but RFC 3986 unreserved). */
int api_pct_encode(struct buf *out, const char *s) IOT_WUR;

#endif
