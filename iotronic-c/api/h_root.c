/* api/h_root.c: GET / and GET /v1 (iotronic-api-v1.md 1.3). Public routes. */
#include "api/handlers.h"

#include "common/jsonw.h"

static void version_object(struct jw *w, const char *base)
{
    jw_obj_begin(w);
    jw_key(w, "id");
    jw_str(w, "v1");
    jw_key(w, "links");
    jw_arr_begin(w);
    jw_obj_begin(w);
    jw_key(w, "href");
    jw_value_sep(w);
    if (w->err == 0)
        w->err = buf_append_str(w->b, "\"");
    if (w->err == 0)
        w->err = jw_escape(w->b, base, strlen(base));
    if (w->err == 0)
        w->err = buf_append_str(w->b, "/v1/\"");
    jw_key(w, "rel");
    jw_str(w, "self");
    jw_obj_end(w);
    jw_arr_end(w);
    jw_key(w, "status");
    jw_str(w, "CURRENT");
    jw_key(w, "version");
    jw_str(w, "1.0");
    jw_key(w, "min_version");
    jw_str(w, "1.0");
    jw_obj_end(w);
}

static void send_doc(struct api_call *c, struct buf *b, struct jw *w)
{
    size_t len;
    char *p;

    if (jw_error(w) < 0) {
        buf_free(b);
        http_resp_error(c->r, 500, "An unknown exception occurred.");
        return;
    }
    p = buf_take(b, &len);
    http_resp_body_take(c->r, 200, "application/json", p, len);
}

void api_h_root(struct http_req *r)
{
    struct api_call c;
    struct buf b;
    struct jw w;

    api_call_base(r, &c);
    buf_init(&b, 1 << 16);
    jw_init(&w, &b, 1);
    jw_obj_begin(&w);
    jw_key(&w, "name");
    jw_str(&w, "OpenStack Iotronic API");
    jw_key(&w, "description");
    jw_str(&w, "Iotronic is an OpenStack project which aims to provision baremetal machines.");
    jw_key(&w, "versions");
    jw_arr_begin(&w);
    version_object(&w, c.base);
    jw_arr_end(&w);
    jw_key(&w, "default_version");
    version_object(&w, c.base);
    jw_obj_end(&w);
    send_doc(&c, &b, &w);
}

void api_h_v1(struct http_req *r)
{
    static const char *const colls[] = {"boards",      "plugins", "services",           "ports",
                                        "webservices", "fleets",  "enabledwebservices", "requests"};
    struct api_call c;
    struct buf b;
    struct jw w;

    api_call_base(r, &c);
    buf_init(&b, 1 << 16);
    jw_init(&w, &b, 1);
    jw_obj_begin(&w);
    jw_key(&w, "id");
    jw_str(&w, "v1");
    for (size_t i = 0; i < sizeof(colls) / sizeof(colls[0]); i++) {
        jw_key(&w, colls[i]);
        api_render_links(&w, c.base, colls[i], "");
    }
    jw_obj_end(&w);
    send_doc(&c, &b, &w);
}
