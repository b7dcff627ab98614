/* tunnel/wire.h: the wstun wire format, as text: requests, NC messages, URLs.
 *
 * Pure functions, no I/O and no allocation, shared by the server (which parses
 * what boards send) and the client (which builds it). The format is that of
 * MDSLab wstun's reverse mode (board-protocol.md 9):
 *
 *   control channel  GET <path>?dst=<host>:<public_port>&uuid=<uuid>[&auth=<ts>.<sig>]
 *   data channel     GET <path>?id=<connection id>
 *   on the control channel, server to board: the text frame "NC:<connection id>"
 *
 * Everything here parses outside input: each parser checks lengths, characters
 * and ranges, and says what is wrong in err. */
#ifndef IOT_TUNNEL_WIRE_H
#define IOT_TUNNEL_WIRE_H

#include <stddef.h>

#include "common/error.h"
#include "common/uuid.h"

#define TUN_SUBPROTOCOL "tunnel-protocol"

#define TUN_QUERY_MAX 2048     /* a longer query is refused */
#define TUN_AUTH_MAX 128       /* "<ts>.<sig>": 10 + 1 + 43 characters in practice */
#define TUN_HOST_MAX 256
#define TUN_PATH_MAX 512
#define TUN_NC_MAX (3 + UUID_STR_LEN) /* "NC:" + id + NUL */

enum tun_req_kind {
    TUN_REQ_CONTROL = 1, /* dst= present */
    TUN_REQ_DATA = 2,    /* id= present */
};

/* A parsed request query. Strings are NUL-terminated copies; empty when
 * absent. */
struct tun_request {
    enum tun_req_kind kind;
    int public_port;              /* control: the port of dst, 1..65535 */
    char uuid[UUID_STR_LEN];      /* control: normalised board UUID, "" if absent */
    char auth[TUN_AUTH_MAX + 1];  /* control: the proof as sent, "" if absent */
    char id[UUID_STR_LEN];        /* data: normalised connection id */
};

/* Parses the query string (without the '?') of a request. Keys are dst, uuid,
 * auth and id, each at most once, values percent-decoded; other keys are
 * ignored (wstun clients send nothing else, proxies may add some). Exactly one
 * of dst and id must be present. Returns 0, or -EINVAL with the reason in err
 * (the server answers it with 400). */
int tun_request_parse(const char *query, size_t len, struct tun_request *out,
                      struct error *err) IOT_WUR;

/* Parses a control-channel text message: "NC:<uuid>" (any case). Writes the
 * normalised id. Returns 0 or -EINVAL. */
int tun_nc_parse(const char *msg, size_t len, char id[UUID_STR_LEN]) IOT_WUR;

/* Writes "NC:<id>" into out; returns its length. */
size_t tun_nc_format(char out[TUN_NC_MAX], const char *id);

/* A ws:// or wss:// URL, as boards are given it (board-protocol.md 5.2). */
struct tun_url {
    int tls;                        /* wss */
    char host[TUN_HOST_MAX];        /* without IPv6 brackets */
    int port;                       /* explicit, or 80 / 443 */
    char path[TUN_PATH_MAX];        /* "/" when absent; never has a query */
};

/* Parses url. Returns 0 or -EINVAL with the reason in err. */
int tun_url_parse(const char *url, struct tun_url *out, struct error *err) IOT_WUR;

/* The request path of a control channel, as wstun builds it ("<path>/?dst=
 * <host>:<port>&uuid=<uuid>[&auth=<auth>]", with a trailing '/' of path not
 * doubled). auth may be NULL or "". Returns 0, or -ENAMETOOLONG if it does not
 * fit in cap. */
int tun_url_control_path(const struct tun_url *u, int public_port, const char *uuid,
                         const char *auth, char *out, size_t cap) IOT_WUR;

/* The request path of a data channel: "<path>/?id=<id>". */
int tun_url_data_path(const struct tun_url *u, const char *id, char *out, size_t cap) IOT_WUR;

/* Parses "host:port", "[v6]:port" or ":port" (host then ""), as in
 * [wstun] listen; port 0 ("any free port") only with allow_zero. Returns 0 or
 * -EINVAL. */
int tun_hostport_parse(const char *s, int allow_zero, char host[TUN_HOST_MAX], int *port,
                       struct error *err) IOT_WUR;

#endif
