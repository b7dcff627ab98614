/* helpers/lrc-fetch.c: the board agent's HTTP client (libcurl), one request per run.
 *
 *   lrc-fetch --url URL --output FILE --size N --sha256 HEX [--md5 HEX]
 *             [--resume-from N] [--what WORDS] [--ca-file F] [--insecure]
 *             [--connect-timeout S] [--stall-timeout S] [--user UID:GID]
 *       downloads a blob (deviceless-api.md 3.5.2) into FILE, which exists;
 *       the X-Board-Token value comes on stdin (one line; empty: none)
 *   lrc-fetch --rest [--user UID:GID]
 *       makes the DeviceRestSubmit request read as JSON from stdin
 *
 * One JSON line on stdout (helpers/hlp.h, helpers/fetch.h). With --user and
 * root, it opens FILE, then becomes UID:GID before it reads the token or
 * talks to the network. Secrets never travel on the command line, which
 * any local user can read in /proc. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "helpers/fetch.h"
#include "helpers/hlp.h"

#define USAGE                                                                                      \
    "usage: lrc-fetch --url URL --output FILE --size N --sha256 HEX [--md5 HEX] "                  \
    "[--resume-from N] [--what WORDS] [--ca-file F] [--insecure] [--connect-timeout S] "           \
    "[--stall-timeout S] [--user UID:GID] | lrc-fetch --rest [--user UID:GID]"
#define SIZE_MAX_ARG (1LL << 50)

struct args {
    struct fetch_blob blob;
    struct fetch_ids ids;
    int rest;
};

enum {
    O_URL = 1,
    O_OUTPUT,
    O_SIZE,
    O_SHA256,
    O_MD5,
    O_RESUME,
    O_WHAT,
    O_CA,
    O_INSECURE,
    O_CONNECT,
    O_STALL,
    O_USER,
    O_REST
};

static const struct option options[] = {
    {"url", required_argument, NULL, O_URL},
    {"output", required_argument, NULL, O_OUTPUT},
    {"size", required_argument, NULL, O_SIZE},
    {"sha256", required_argument, NULL, O_SHA256},
    {"md5", required_argument, NULL, O_MD5},
    {"resume-from", required_argument, NULL, O_RESUME},
    {"what", required_argument, NULL, O_WHAT},
    {"ca-file", required_argument, NULL, O_CA},
    {"insecure", no_argument, NULL, O_INSECURE},
    {"connect-timeout", required_argument, NULL, O_CONNECT},
    {"stall-timeout", required_argument, NULL, O_STALL},
    {"user", required_argument, NULL, O_USER},
    {"rest", no_argument, NULL, O_REST},
    {NULL, 0, NULL, 0},
};

static int is_hex(const char *s, size_t len)
{
    if (strlen(s) != len)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
            return 0;
    return 1;
}

static int one(struct args *a, int c, const char *v, struct error *err)
{
    struct fetch_blob *b = &a->blob;

    switch (c) {
    case O_URL:
        b->url = v;
        return 0;
    case O_OUTPUT:
        b->output = v;
        return 0;
    case O_SIZE:
        return hlp_int_arg("size", v, 0, SIZE_MAX_ARG, &b->size, err);
    case O_SHA256:
        b->sha256 = v;
        return 0;
    case O_MD5:
        b->md5 = v;
        return 0;
    case O_RESUME:
        return hlp_int_arg("resume-from", v, 0, SIZE_MAX_ARG, &b->resume_from, err);
    case O_WHAT:
        b->what = v;
        return 0;
    case O_CA:
        b->ca_file = v;
        return 0;
    case O_INSECURE:
        b->insecure = 1;
        return 0;
    case O_CONNECT:
        return hlp_int_arg("connect-timeout", v, 1, 3600, &b->connect_timeout_s, err);
    case O_STALL:
        return hlp_int_arg("stall-timeout", v, 1, 86400, &b->stall_timeout_s, err);
    case O_USER:
        a->ids.set_ids = 1;
        return hlp_ids_arg("user", v, &a->ids.uid, &a->ids.gid, err);
    case O_REST:
        a->rest = 1;
        return 0;
    default:
        return error_set(err, -EINVAL, "unknown option");
    }
}

static int check_blob(struct fetch_blob *b, struct error *err)
{
    if (b->url == NULL || b->output == NULL || b->sha256 == NULL)
        return error_set(err, -EINVAL, "--url, --output, --size and --sha256 are required");
    if (strncmp(b->url, "http://", 7) != 0 && strncmp(b->url, "https://", 8) != 0)
        return error_set(err, -EINVAL, "--url must be an http:// or https:// URL");
    if (!is_hex(b->sha256, 64) || (b->md5 != NULL && !is_hex(b->md5, 32)))
        return error_set(err, -EINVAL, "--sha256 needs 64 hex digits, --md5 32");
    if (b->resume_from > b->size)
        return error_set(err, -EINVAL, "--resume-from is beyond --size");
    if (b->what == NULL)
        b->what = "Blob";
    if (b->connect_timeout_s == 0)
        b->connect_timeout_s = 30;
    if (b->stall_timeout_s == 0)
        b->stall_timeout_s = 60;
    return 0;
}

static int parse_args(int argc, char **argv, struct args *a, struct error *err)
{
    int c, rc = 0, have_size = 0;

    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == '?' || c == ':')
            rc = error_set(err, -EINVAL, "bad option %s", argv[optind - 1]);
        else
            rc = one(a, c, optarg, err);
        have_size |= c == O_SIZE;
    }
    if (rc == 0 && optind != argc)
        rc = error_set(err, -EINVAL, "unexpected argument %s", argv[optind]);
    if (rc == 0 && !a->rest && !have_size)
        rc = error_set(err, -EINVAL, "--url, --output, --size and --sha256 are required");
    if (rc == 0 && !a->rest)
        rc = check_blob(&a->blob, err);
    return rc < 0 ? error_prefix(err, USAGE) : 0;
}

int main(int argc, char **argv)
{
    struct args a;
    struct error err = {0};

    memset(&a, 0, sizeof(a));
    log_init("lrc-fetch", LOG_INFO);
    xalloc_init();
    if (parse_args(argc, argv, &a, &err) < 0) {
        hlp_reply_err(NULL, &err);
        return HLP_EXIT_USAGE;
    }
    if (a.rest)
        return fetch_rest_run(&a.ids);
    a.blob.set_ids = a.ids.set_ids;
    a.blob.uid = a.ids.uid;
    a.blob.gid = a.ids.gid;
    return fetch_blob_run(&a.blob);
}
