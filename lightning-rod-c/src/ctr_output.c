/* src/ctr_output.c: a container's pipes: the input written without
 * blocking, the output read into bounded captures (ctr_capture.h) or
 * appended to a plugin's log file, rotated at 1 MiB. Loop thread. */
#include "src/ctr_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xalloc.h"

#define READ_CHUNK 65536
#define READS_PER_EVENT 8
#define LOGFILE_ROTATE (1 << 20)

/* ----------------------------------------------------- output handling */

static void logfile_write(struct ctr *c, const char *p, size_t n)
{
    if (c->logfd < 0)
        return;
    if (write(c->logfd, p, n) < 0)
        return;
    c->logfile_size += (int64_t)n;
    if (c->logfile_size < LOGFILE_ROTATE)
        return;
    /* Plugin logs: keep one previous generation (board-protocol.md 6.5). */
    char *old = xasprintf("%s.1", c->log_file);

    rename(c->log_file, old);
    free(old);
    close(c->logfd);
    c->logfd = open(c->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    c->logfile_size = 0;
}

static void on_output(struct ev_loop *ev, ev_io *w, int revents)
{
    struct ctr *c = w->data;
    int is_err = w == &c->err_io;
    char buf[READ_CHUNK];

    (void)revents;
    for (int i = 0; i < READS_PER_EVENT; i++) {
        ssize_t n = read(w->fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            ev_io_stop(ev, w);
            close(w->fd);
            if (is_err) {
                c->err_r = -1;
                c->err_eof = 1;
            } else {
                c->log_r = -1;
                c->log_eof = 1;
            }
            ctr_int_check_finished(c);
            return;
        }
        if (c->opts.output == CTR_OUTPUT_FILE)
            logfile_write(c, buf, (size_t)n);
        else
            ctr_capture_add(is_err ? &c->cap_err : &c->cap_out, buf, (size_t)n);
    }
}

void ctr_int_close_input(struct ctr *c)
{
    ev_io_stop(c->r->ev, &c->in_io);
    if (c->in_w >= 0)
        close(c->in_w);
    c->in_w = -1;
    free(c->input);
    c->input = NULL;
}

void ctr_int_feed_input(struct ctr *c)
{
    while (c->in_w >= 0 && c->input_off < c->input_len) {
        ssize_t n = write(c->in_w, c->input + c->input_off, c->input_len - c->input_off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            ev_io_start(c->r->ev, &c->in_io);
            return;
        }
        if (n < 0) { /* EPIPE: the function closed stdin; that is its business */
            break;
        }
        c->input_off += (size_t)n;
    }
    ctr_int_close_input(c);
}

static void on_input_writable(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)ev;
    (void)revents;
    ctr_int_feed_input(w->data);
}

/* pipes: input (child reads fd 0), output (and stderr for SPLIT). The ends
 * we keep are non-blocking; the child's ends are returned for the spawn. */
int ctr_int_pipes(struct ctr *c, int *in_r, int *out_w, int *err_w, struct error *err)
{
    int in[2], out[2], er[2] = {-1, -1};

    if (pipe2(in, O_CLOEXEC) < 0)
        return error_set(err, -errno, "pipe: %s", strerror(errno));
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return error_set(err, -errno, "pipe: %s", strerror(errno));
    }
    if (c->opts.output == CTR_OUTPUT_SPLIT && pipe2(er, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return error_set(err, -errno, "pipe: %s", strerror(errno));
    }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    c->in_w = in[1];
    c->log_r = out[0];
    *in_r = in[0];
    *out_w = out[1];
    *err_w = out[1];
    ev_io_init(&c->in_io, on_input_writable, c->in_w, EV_WRITE);
    c->in_io.data = c;
    ev_io_init(&c->log_io, on_output, c->log_r, EV_READ);
    c->log_io.data = c;
    ev_io_start(c->r->ev, &c->log_io);
    if (er[0] >= 0) {
        fcntl(er[0], F_SETFL, O_NONBLOCK);
        c->err_r = er[0];
        *err_w = er[1];
        ev_io_init(&c->err_io, on_output, c->err_r, EV_READ);
        c->err_io.data = c;
        ev_io_start(c->r->ev, &c->err_io);
    } else {
        c->err_eof = 1;
    }
    return 0;
}
