/* amqp/url.h: oslo.messaging-style transport_url for RabbitMQ.
 *
 *   rabbit://user:pass@host:port/vhost
 *   amqp://user:pass@host1:5672,user:pass@host2:5673/vhost?heartbeat=30
 *
 * Scheme `rabbit` or `amqp` (case-insensitive). Several comma-separated hosts
 * form a cluster: the connection tries them in order and moves to the next on
 * failure. Each host may carry its own credentials (as in oslo); a host
 * without any takes those of the previous host, or guest:guest. User,
 * password and vhost are percent-decoded. The port defaults to 5672; an IPv6
 * address goes in brackets ([::1]:5672). The vhost is the path without its
 * leading '/': empty (or absent) means the default vhost "/", and "%2F" is
 * also "/". Query parameters: `heartbeat` (seconds, 0..600), and
 * `connection_name` (text). Any other parameter is refused, as is TLS
 * (`amqps://`, `ssl=`): this build speaks plain AMQP on trusted networks.
 *
 * Pure: no I/O, no globals. Passwords never leave this module in text meant
 * for logs (mq_url_redacted()). */
#ifndef IOT_AMQP_URL_H
#define IOT_AMQP_URL_H

#include <stddef.h>

#include "common/error.h"

#define MQ_URL_MAX 4096 /* whole transport_url text */
#define MQ_URL_MAX_HOSTS 16
#define MQ_URL_FIELD_MAX 255 /* user, password, host, vhost after decoding (AMQP shortstr) */
#define MQ_DEFAULT_PORT 5672

struct mq_url_host {
    char *host; /* no brackets, decoded */
    int port;
    char *user;
    char *password;
};

/* One parsed URL. Made by mq_url_parse(), freed by mq_url_free(). */
struct mq_url {
    size_t nhosts; /* 1..MQ_URL_MAX_HOSTS */
    struct mq_url_host *hosts;
    char *vhost;           /* "/" by default */
    int heartbeat;         /* -1: not given */
    char *connection_name; /* NULL: not given */
};

/* Parses text. On success *out is new (mq_url_free()). On failure returns
 * -EINVAL with the reason in err (never quoting the password). Any thread. */
int mq_url_parse(const char *text, struct mq_url **out, struct error *err) IOT_WUR;

void mq_url_free(struct mq_url *url); /* accepts NULL */

/* Writes "amqp://user@host:port/vhost" for host i (no password) into out,
 * truncated to cap. Returns out. */
char *mq_url_redacted(const struct mq_url *url, size_t i, char *out, size_t cap);

#endif
