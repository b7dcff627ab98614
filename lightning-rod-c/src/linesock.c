/* src/linesock.c: see linesock.h.
 *
 * Per connection: `in` holds at most max_line + 1 bytes (a full line and its
 * '\n'); `scan` is how far it was searched for '\n', so bytes are searched
 * once. The read watcher runs exactly while want_read() holds; the write
 * watcher exactly while output is queued. A closed connection moves from
 * the live list to the dead list, and the ev_prepare reaper frees it (and
 * calls on_close) before the loop next blocks, so no callback ever frees the
 * connection it runs for. */
#include "src/linesock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/log.h"
#include "common/xalloc.h"

#define ACCEPTS_PER_WAKE 16

struct linesock_conn {
    struct linesock *ls;
    int fd;
    ev_io rio, wio;
    char *in;
    size_t in_len, scan;
    struct buf out;
    int paused, eof, overflowed, closing, dead;
    void *data;
    struct linesock_conn *next, **pprev;
};

struct linesock {
    struct ev_loop *ev;
    int fd;
    ev_io aio;
    char *path;
    struct linesock_opts o;
    const struct linesock_ops *ops;
    void *arg;
    struct linesock_conn *live, *dead;
    unsigned nconns;
    ev_prepare reaper;
};

static void process(struct linesock_conn *c);

static void unlink_conn(struct linesock_conn *c)
{
    *c->pprev = c->next;
    if (c->next != NULL)
        c->next->pprev = c->pprev;
}

static void link_conn(struct linesock_conn **head, struct linesock_conn *c)
{
    c->next = *head;
    if (*head != NULL)
        (*head)->pprev = &c->next;
    c->pprev = head;
    *head = c;
}

static int out_blocked(const struct linesock_conn *c)
{
    return c->out.len > c->ls->o.max_out / 2;
}

static int want_read(const struct linesock_conn *c)
{
    return !c->dead && !c->eof && !c->overflowed && !c->closing && !c->paused &&
           c->in_len <= c->ls->o.max_line && !out_blocked(c);
}

static void update_read(struct linesock_conn *c)
{
    int on = ev_is_active(&c->rio);

    if (want_read(c) && !on)
        ev_io_start(c->ls->ev, &c->rio);
    else if (!want_read(c) && on)
        ev_io_stop(c->ls->ev, &c->rio);
}

void linesock_close(struct linesock_conn *c)
{
    struct linesock *ls = c->ls;

    if (c->dead)
        return;
    c->dead = 1;
    ev_io_stop(ls->ev, &c->rio);
    ev_io_stop(ls->ev, &c->wio);
    ev_clear_pending(ls->ev, &c->rio);
    ev_clear_pending(ls->ev, &c->wio);
    close(c->fd);
    c->fd = -1;
    unlink_conn(c);
    link_conn(&ls->dead, c);
    ls->nconns--;
    ev_prepare_start(ls->ev, &ls->reaper);
}

static void conn_free(struct linesock_conn *c)
{
    struct linesock *ls = c->ls;

    unlink_conn(c);
    if (ls->ops->on_close != NULL)
        ls->ops->on_close(c, ls->arg);
    buf_free(&c->out);
    free(c->in);
    free(c);
}

static void on_reap(struct ev_loop *ev, ev_prepare *w, int revents)
{
    struct linesock *ls = w->data;

    (void)revents;
    while (ls->dead != NULL)
        conn_free(ls->dead);
    ev_prepare_stop(ev, w);
}

/* Writes what it can; 0, or -1 when the connection was closed. */
static int flush(struct linesock_conn *c)
{
    while (c->out.len > 0) {
        ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            linesock_close(c);
            return -1;
        }
        buf_consume(&c->out, (size_t)n);
    }
    if (c->out.len > 0) {
        ev_io_start(c->ls->ev, &c->wio);
        return 0;
    }
    ev_io_stop(c->ls->ev, &c->wio);
    if (c->closing) {
        linesock_close(c);
        return -1;
    }
    return 0;
}

static void on_writable(struct ev_loop *ev, ev_io *w, int revents)
{
    struct linesock_conn *c = w->data;
    int was_blocked = out_blocked(c);

    (void)ev;
    (void)revents;
    if (flush(c) < 0)
        return;
    if (was_blocked && !out_blocked(c))
        process(c);
}

/* Hands over the line that ends at in[end] and drops it from the buffer. */
static void deliver(struct linesock_conn *c, size_t end)
{
    struct linesock *ls = c->ls;
    size_t rest;
    int rc;

    c->in[end] = '\0';
    rc = ls->ops->on_line(c, c->in, end, ls->arg);
    if (rc == LINESOCK_PAUSE)
        c->paused = 1;
    rest = c->in_len - (end < c->in_len ? end + 1 : end);
    memmove(c->in, c->in + c->in_len - rest, rest);
    c->in_len = rest;
    c->scan = 0;
}

/* Hands over the complete lines buffered, while nothing holds them. */
static void process(struct linesock_conn *c)
{
    while (!c->dead && !c->closing && !c->paused && !out_blocked(c)) {
        char *nl = memchr(c->in + c->scan, '\n', c->in_len - c->scan);

        if (nl != NULL) {
            deliver(c, (size_t)(nl - c->in));
            continue;
        }
        c->scan = c->in_len;
        if (c->in_len > c->ls->o.max_line && !c->overflowed) {
            c->overflowed = 1;
            c->ls->ops->on_overflow(c, c->ls->arg);
            break;
        }
        if (c->eof && c->in_len > 0 && !c->overflowed) {
            deliver(c, c->in_len); /* a last line without '\n' */
            continue;
        }
        if (c->eof && !c->paused) {
            linesock_close_after_flush(c); /* everything received is answered */
            return;
        }
        break;
    }
    if (!c->dead)
        update_read(c);
}

static void on_readable(struct ev_loop *ev, ev_io *w, int revents)
{
    struct linesock_conn *c = w->data;
    size_t room = c->ls->o.max_line + 1 - c->in_len;
    ssize_t n;

    (void)ev;
    if (revents & EV_CUSTOM) { /* linesock_resume() */
        process(c);
        return;
    }
    if (room == 0 || !want_read(c)) {
        update_read(c);
        return;
    }
    n = recv(c->fd, c->in + c->in_len, room, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n < 0) {
        linesock_close(c);
        return;
    }
    if (n == 0)
        c->eof = 1;
    c->in_len += (size_t)n;
    process(c);
}

static struct linesock_conn *conn_new(struct linesock *ls, int fd)
{
    struct linesock_conn *c = xcalloc(1, sizeof(*c));

    c->ls = ls;
    c->fd = fd;
    c->in = xmalloc(ls->o.max_line + 2);
    buf_init(&c->out, ls->o.max_out);
    ev_io_init(&c->rio, on_readable, fd, EV_READ);
    ev_io_init(&c->wio, on_writable, fd, EV_WRITE);
    c->rio.data = c->wio.data = c;
    link_conn(&ls->live, c);
    ls->nconns++;
    if (ls->ops->on_open != NULL)
        ls->ops->on_open(c, ls->arg);
    if (!c->dead)
        update_read(c);
    return c;
}

static int peer_allowed(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return 0;
    return cred.uid == 0 || cred.uid == geteuid();
}

static void refuse(struct linesock *ls, int fd)
{
    const char *line = ls->o.busy_line;

    /* Best effort on a fresh socket: a short line fits its buffer. */
    if (line != NULL && send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug("%s: could not tell a refused peer: %s", ls->path, strerror(errno));
    close(fd);
}

static void on_accept(struct ev_loop *ev, ev_io *w, int revents)
{
    struct linesock *ls = w->data;

    (void)ev;
    (void)revents;
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn("%s: accept: %s", ls->path, strerror(errno));
            return;
        }
        if (ls->o.local_users_only && !peer_allowed(fd)) {
            log_warn("%s: refused a peer that is neither root nor our user", ls->path);
            close(fd);
        } else if (ls->nconns >= ls->o.max_conns) {
            refuse(ls, fd);
        } else {
            conn_new(ls, fd);
        }
    }
}

/* 1 when something accepts connections at sa (a Unix connect answers at
 * once: refused for a stale node). */
static int socket_live(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int live;

    if (fd < 0)
        return 0;
    live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN;
    close(fd);
    return live;
}

/* Checks what is at path: nothing, or a stale socket (removed), is fine. */
static int clear_path(const char *path, const struct sockaddr_un *sa, struct error *err)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return 0;
    if (!S_ISSOCK(st.st_mode))
        return error_set(err, -EEXIST, "%s exists and is not a socket", path);
    if (socket_live(sa))
        return error_set(err, -EADDRINUSE, "%s: another process is listening there", path);
    unlink(path); /* left over by a process that died */
    return 0;
}

/* Binds fd under a temporary name, sets mode and owner, listens, then
 * renames the node into place: whoever sees o->path can connect, and
 * nobody else can before the mode is right. */
static int make_node(const struct linesock_opts *o, int fd, struct error *err)
{
    struct sockaddr_un sa, tmp;
    size_t len = strlen(o->path);
    int rc;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (len + 4 >= sizeof(sa.sun_path))
        return error_set(err, -ENAMETOOLONG, "%s: path too long for a socket", o->path);
    memcpy(sa.sun_path, o->path, len + 1);
    tmp = sa;
    memcpy(tmp.sun_path + len, ".new", 5);
    rc = clear_path(o->path, &sa, err);
    if (rc < 0)
        return rc;
    unlink(tmp.sun_path);
    /* Linux gives the bound node the socket inode's mode (less the umask). */
    if (fchmod(fd, o->mode) < 0 || bind(fd, (struct sockaddr *)&tmp, sizeof(tmp)) < 0)
        return error_set(err, -errno, "%s: %s", o->path, strerror(errno));
    if (chmod(tmp.sun_path, o->mode) < 0 ||
        ((o->uid != (uid_t)-1 || o->gid != (gid_t)-1) && chown(tmp.sun_path, o->uid, o->gid) < 0) ||
        listen(fd, 64) < 0 || rename(tmp.sun_path, o->path) < 0) {
        int e = errno;

        unlink(tmp.sun_path);
        return error_set(err, -e, "%s: %s", o->path, strerror(e));
    }
    return 0;
}

int linesock_listen(struct ev_loop *ev, const struct linesock_opts *o,
                    const struct linesock_ops *ops, void *arg, struct linesock **out,
                    struct error *err)
{
    struct linesock *ls;
    int fd, rc;

    *out = NULL;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return error_set(err, -errno, "socket: %s", strerror(errno));
    rc = make_node(o, fd, err);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    ls = xcalloc(1, sizeof(*ls));
    ls->ev = ev;
    ls->fd = fd;
    ls->o = *o;
    ls->path = xstrdup(o->path);
    ls->o.path = ls->path;
    ls->ops = ops;
    ls->arg = arg;
    ev_io_init(&ls->aio, on_accept, fd, EV_READ);
    ls->aio.data = ls;
    ev_io_start(ev, &ls->aio);
    ev_prepare_init(&ls->reaper, on_reap);
    ls->reaper.data = ls;
    *out = ls;
    return 0;
}

int linesock_adopt(struct linesock *ls, int fd, struct error *err)
{
    int flags = fcntl(fd, F_GETFL);

    if (ls->nconns >= ls->o.max_conns) {
        close(fd);
        return error_set(err, -EBUSY, "too many connections");
    }
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        int e = errno;

        close(fd);
        return error_set(err, -e, "%s", strerror(e));
    }
    conn_new(ls, fd);
    return 0;
}

void linesock_free(struct linesock *ls)
{
    if (ls == NULL)
        return;
    ev_io_stop(ls->ev, &ls->aio);
    close(ls->fd);
    unlink(ls->path);
    while (ls->live != NULL)
        linesock_close(ls->live);
    while (ls->dead != NULL)
        conn_free(ls->dead);
    ev_prepare_stop(ls->ev, &ls->reaper);
    free(ls->path);
    free(ls);
}

unsigned linesock_conn_count(const struct linesock *ls)
{
    return ls->nconns;
}

int linesock_send(struct linesock_conn *c, const char *data, size_t len)
{
    if (c->dead || c->closing)
        return -EPIPE;
    if (buf_append(&c->out, data, len) < 0)
        return -E2BIG;
    if (!ev_is_active(&c->wio))
        flush(c); /* most replies leave at once, without a loop round */
    return 0;
}

int linesock_send_json(struct linesock_conn *c, const cJSON *obj)
{
    char *text = json_print(obj);
    size_t n = strlen(text);
    int rc;

    text[n] = '\n'; /* json_print's NUL becomes the line end */
    rc = linesock_send(c, text, n + 1);
    free(text);
    return rc;
}

void linesock_close_after_flush(struct linesock_conn *c)
{
    if (c->dead || c->closing)
        return;
    c->closing = 1;
    ev_io_stop(c->ls->ev, &c->rio);
    if (c->out.len == 0)
        linesock_close(c);
}

void linesock_resume(struct linesock_conn *c)
{
    if (c->dead || !c->paused)
        return;
    c->paused = 0;
    ev_feed_event(c->ls->ev, &c->rio, EV_CUSTOM);
}

void linesock_set_data(struct linesock_conn *c, void *data)
{
    c->data = data;
}

void *linesock_data(const struct linesock_conn *c)
{
    return c->data;
}

int linesock_open(const struct linesock_conn *c)
{
    return !c->dead && !c->closing;
}

/* Length of the UTF-8 sequence at s (n bytes available), or 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char b = s[0];

    if (b >= 0x01 && b < 0x80)
        return 1;
    if (b >= 0xc2 && b <= 0xdf)
        return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (b >= 0xe0 && b <= 0xef) {
        if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((b == 0xe0 && s[1] < 0xa0) || (b == 0xed && s[1] >= 0xa0))
            return 0;
        return 3;
    }
    if (b >= 0xf0 && b <= 0xf4) {
        if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((b == 0xf0 && s[1] < 0x90) || (b == 0xf4 && s[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

int linesock_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t k = utf8_seq(p + i, len - i);

        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}
