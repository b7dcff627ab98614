/* lrc-wstun: a drop-in for the wstun reverse-tunnel client command line.
 *
 *   lrc-wstun -r<public_port>:<host>:<port> <ws url> [-u <uuid>]
 *             [--ca-file F] [--insecure] [--secret-file F]
 *
 * The original Python Lightning-Rod spawns `wstun` per exposed service
 * ([services] wstun_bin); pointing it here gives it our tunnel client
 * (board-protocol.md 9.4) without Node.js. It runs until SIGTERM/SIGINT,
 * reconnecting with backoff, and exits 2 with a message on bad arguments.
 * The local side is always 127.0.0.1 (host must be localhost or 127.0.0.1). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xalloc.h"
#include "loop/loop.h"
#include "tunnel/client.h"

#define EXIT_USAGE 2

struct args {
    const char *reverse, *url, *uuid, *ca_file, *secret_file;
    int insecure;
};

static int usage(const char *why)
{
    fprintf(stderr, "lrc-wstun: %s\n"
                    "usage: lrc-wstun -r<public_port>:<host>:<port> <ws url> [-u <uuid>]\n"
                    "                 [--ca-file FILE] [--insecure] [--secret-file FILE]\n",
            why);
    return EXIT_USAGE;
}

/* Takes the value of an option given as "-xVALUE", "-x VALUE", "--long=VALUE"
 * or "--long VALUE". Returns 1 if argv[*i] was that option, -1 if its value
 * is missing. */
static int opt_value(int argc, char **argv, int *i, const char *s, const char *l,
                     const char **out)
{
    const char *a = argv[*i];
    size_t ll = strlen(l);

    if (strncmp(a, s, 2) == 0 && a[2] != '\0' && a[1] != '-') {
        *out = a + 2 + (a[2] == '=');
        return 1;
    }
    if (strncmp(a, l, ll) == 0 && a[ll] == '=') {
        *out = a + ll + 1;
        return 1;
    }
    if (strcmp(a, s) != 0 && strcmp(a, l) != 0)
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *out = argv[++*i];
    return 1;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct {
        const char *s, *l;
        size_t off;
    } opts[] = {
        { "-r", "--reverse", offsetof(struct args, reverse) },
        { "-u", "--uuid", offsetof(struct args, uuid) },
        { "-c", "--ca-file", offsetof(struct args, ca_file) },
        { "-k", "--secret-file", offsetof(struct args, secret_file) },
    };

    for (int i = 1; i < argc; i++) {
        int matched = 0;

        for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]) && !matched; k++) {
            int r = opt_value(argc, argv, &i, opts[k].s, opts[k].l,
                              (const char **)((char *)a + opts[k].off));
            if (r < 0)
                return usage("an option is missing its value");
            matched = r;
        }
        if (matched)
            continue;
        if (strcmp(argv[i], "--insecure") == 0)
            a->insecure = 1;
        else if (argv[i][0] == '-')
            return usage("unknown option");
        else if (a->url == NULL)
            a->url = argv[i];
        else
            return usage("only one URL may be given");
    }
    if (a->reverse == NULL || a->url == NULL)
        return usage("-r<public_port>:<host>:<port> and a ws:// or wss:// URL are required");
    return 0;
}

/* "<public_port>:<host>:<port>" */
static int parse_reverse(const char *s, int *public_port, int *local_port)
{
    char host[256];
    int n = 0;

    if (sscanf(s, "%5d:%255[^:]:%5d%n", public_port, host, local_port, &n) != 3 ||
        s[n] != '\0' || *public_port < 1 || *public_port > 65535 || *local_port < 1 ||
        *local_port > 65535)
        return usage("-r wants <public_port>:<host>:<port>");
    if (strcmp(host, "localhost") != 0 && strcmp(host, "127.0.0.1") != 0)
        return usage("only local services (localhost, 127.0.0.1) can be exposed");
    return 0;
}

static char *read_secret(const char *path)
{
    char buf[256];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return NULL;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    return n > 0 ? xstrdup(buf) : NULL;
}

static int run(const struct args *a, const struct tun_tunnel_spec *spec)
{
    struct loop_opts lo = { .name = "lrc-wstun", .stop_on_signals = 1 };
    struct tun_client_opts co;
    struct tun_client *cl = NULL;
    struct loop *loop = NULL;
    struct error err;
    int rc = 1;

    tun_client_opts_init(&co);
    co.ca_file = a->ca_file;
    co.insecure = a->insecure;
    if (loop_new(&lo, &loop, &err) < 0 || tun_client_new(loop, &co, &cl, &err) < 0 ||
        tun_client_open(cl, spec, &err) < 0) {
        fprintf(stderr, "lrc-wstun: %s\n", err.msg);
        rc = err.code == -EINVAL ? EXIT_USAGE : 1;
        goto out;
    }
    loop_run(loop);
    rc = 0;
out:
    tun_client_free(cl);
    loop_free(loop);
    return rc;
}

int main(int argc, char **argv)
{
    struct args a = { 0 };
    struct tun_tunnel_spec spec = { .service = "wstun" };
    char *secret = NULL;
    int rc;

    log_init("lrc-wstun", LOG_INFO);
    xalloc_init();
    if ((rc = parse_args(argc, argv, &a)) != 0 ||
        (rc = parse_reverse(a.reverse, &spec.public_port, &spec.local_port)) != 0)
        return rc;
    if (a.secret_file != NULL && (secret = read_secret(a.secret_file)) == NULL) {
        fprintf(stderr, "lrc-wstun: cannot read the secret from %s\n", a.secret_file);
        return EXIT_USAGE;
    }
    spec.url = a.url;
    spec.uuid = a.uuid;
    spec.secret = secret;
    rc = run(&a, &spec);
    free(secret);
    return rc;
}
