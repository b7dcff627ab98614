/* http/chunked.c: see chunked.h. A byte-at-a-time state machine for the
 * framing, with whole spans for the data, so that a body costs one call per
 * input buffer. Lines may end in LF or CRLF, like the head. */
#include "http/chunked.h"

enum {
    S_SIZE,     /* hex digits of the chunk size */
    S_EXT,      /* chunk extension up to LF */
    S_DATA,     /* chunk data */
    S_DATA_END, /* CRLF after the data */
    S_DATA_LF,  /* LF after the CR */
    S_TRAILER,  /* a trailer line, or the final empty line */
    S_DONE,
};

void chunked_init(struct chunked *c)
{
    *c = (struct chunked){0};
    c->state = S_SIZE;
}

static int hexdigit(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* The end of a size line: on to the data, or to the trailer after the
 * last (zero-size) chunk. */
static void size_line_done(struct chunked *c)
{
    c->state = c->left ? S_DATA : S_TRAILER;
    c->line = 0;
    c->digits = 0;
    c->cr = 0;
}

/* A byte of a chunk extension or of the line end after the size. */
static int ext_byte(struct chunked *c, unsigned char ch)
{
    if (ch == '\n') {
        size_line_done(c);
        return 0;
    }
    if (c->cr)
        return -1; /* a CR not followed by LF */
    if (ch == '\r') {
        c->cr = 1;
        return 0;
    }
    if (++c->line > CHUNKED_LINE_MAX)
        return -1;
    if (c->line == 1 && ch != ';' && ch != ' ' && ch != '\t')
        return -1;
    return 0;
}

static int trailer_byte(struct chunked *c, unsigned char ch)
{
    if (++c->trailer > CHUNKED_TRAILER_MAX)
        return -1;
    if (ch == '\n') {
        if (c->line == 0) {
            c->state = S_DONE;
            c->done = 1;
        }
        c->line = 0;
    } else if (ch != '\r' || c->line > 0) {
        c->line++;
    }
    return 0;
}

/* One framing byte; returns 0 or -1. */
static int step(struct chunked *c, unsigned char ch)
{
    int h;

    switch (c->state) {
    case S_SIZE:
        h = hexdigit(ch);
        if (h >= 0) {
            if (++c->digits > 15)
                return -1; /* 2^60 is plenty and cannot overflow */
            c->left = c->left * 16 + (uint64_t)h;
            return 0;
        }
        if (c->digits == 0)
            return -1;
        c->state = S_EXT;
        c->line = 0;
        return ext_byte(c, ch);
    case S_EXT:
        return ext_byte(c, ch);
    case S_DATA_END:
        if (ch == '\n')
            c->state = S_SIZE;
        else if (ch == '\r')
            c->state = S_DATA_LF;
        else
            return -1;
        return 0;
    case S_DATA_LF:
        if (ch != '\n')
            return -1;
        c->state = S_SIZE;
        return 0;
    case S_TRAILER:
        return trailer_byte(c, ch);
    }
    return -1;
}

ssize_t chunked_feed(struct chunked *c, const char *in, size_t len, const char **data, size_t *dlen)
{
    size_t i = 0;

    *data = NULL;
    *dlen = 0;
    while (i < len && c->state != S_DONE) {
        if (c->state == S_DATA) {
            size_t n = len - i;

            if (n > c->left)
                n = (size_t)c->left;
            *data = in + i;
            *dlen = n;
            c->left -= n;
            if (c->left == 0)
                c->state = S_DATA_END;
            return (ssize_t)(i + n);
        }
        if (step(c, (unsigned char)in[i]) < 0)
            return -1;
        i++;
    }
    return (ssize_t)i;
}
