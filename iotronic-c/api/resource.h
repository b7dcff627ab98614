/* api/resource.h: the resource kinds of iotronic-api-v1.md section 3.
 *
 * A kind lists its fields in representation order with their JSON type and
 * flags (in the list's default set, always emitted, omitted when null), its
 * sortable keys, and its link collection. Readers SELECT one column per field,
 * in this order, already formatted as text (datetimes by PostgreSQL in the
 * contract's form, dictionaries as jsonb text), so that api_render_item()
 * writes a row straight into the response buffer with no intermediate tree.
 *
 * Field selection is a bit mask over field indices (at most 32 fields).
 * The tables are constant data; everything here is pure and thread-safe. */
#ifndef IOT_API_RESOURCE_H
#define IOT_API_RESOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "common/jsonw.h"

enum api_ftype {
    FT_STR,   /* text or null */
    FT_INT,   /* decimal text from the database, emitted as a number */
    FT_BOOL,  /* "t"/"f" from the database */
    FT_JSON,  /* JSON text (jsonb/json columns) emitted as is */
    FT_LINKS, /* value: the row's uuid; emitted as the self/bookmark links */
    FT_HOST,  /* value: an agent's wsurl ("" = agent without row); emits its host */
};

#define AF_DEFAULT 0x01u   /* in the list's default field set */
#define AF_ALWAYS 0x02u    /* emitted even when `fields` restricts the output */
#define AF_OMIT_NULL 0x04u /* omitted (not null) when the value is SQL NULL */

struct api_field {
    const char *name;
    enum api_ftype type;
    unsigned flags;
};

struct api_kind {
    const char *name;       /* "board": "Cannot create board with ..." */
    const char *Name;       /* "Board": "Board <x> could not be found." */
    const char *collection; /* "boards": link paths; NULL: the kind has no links */
    const char *list_key;   /* key of the list body: "boards", "EnabledWebservices" */
    const struct api_field *fields;
    unsigned nfields;
    const char *const *sort_keys; /* NULL-terminated; "id" is always first */
    const char *const *sort_bad;  /* NULL-terminated: the unquoted sort_key message */
    int lenient_fields;           /* unknown `fields` names are ignored (boards) */
};

/* api_kind_service_public: services as /v1/services/public parses its
 * sort keys (also `location` gets the unquoted message, 2.8). */
extern const struct api_kind api_kind_service_public;

extern const struct api_kind api_kind_board, api_kind_plugin, api_kind_service, api_kind_fleet,
    api_kind_webservice, api_kind_enabledws, api_kind_port, api_kind_boardport, api_kind_request,
    api_kind_result, api_kind_injection, api_kind_exposed;

/* Mask of every field / of the default list set (always-fields included). */
uint32_t api_kind_all(const struct api_kind *k);
uint32_t api_kind_default(const struct api_kind *k);

/* Index of the field called name (exact case), or -1. */
int api_kind_field(const struct api_kind *k, const char *name);

/* Index of sort key name in k->sort_keys, or -1. */
int api_kind_sort(const struct api_kind *k, const char *name);

/* Writes one item as a JSON object: the fields of mask whose value vals[i]
 * (NULL = SQL NULL) is given per field index. base is the link base
 * ("http://host:8812"). Errors are left in w. */
void api_render_item(struct jw *w, const struct api_kind *k, const char *const *vals, uint32_t mask,
                     const char *base);

/* Writes the self/bookmark link pair of <base>/v1/<collection>/<uuid>. */
void api_render_links(struct jw *w, const char *base, const char *collection, const char *uuid);

/* The host part of a WebSocket URL (no scheme, userinfo, port; IPv6 without
 * brackets) into out. Returns out ("" when url has no host). */
char *api_url_host(const char *url, char *out, size_t outsz);

#endif
