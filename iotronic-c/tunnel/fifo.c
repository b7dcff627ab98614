/* tunnel/fifo.c: see fifo.h. Growth doubles, so appends are amortised O(1);
 * data moves back to the front only when the free space is behind it. */
#include "tunnel/fifo.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

#define FIFO_MIN_CAP 4096

void tun_fifo_init(struct tun_fifo *f)
{
    memset(f, 0, sizeof(*f));
}

static void make_room(struct tun_fifo *f, size_t n)
{
    size_t need = TUN_FIFO_HEADROOM + f->len + n;
    size_t cap;

    if (f->mem != NULL && f->off + f->len + n <= f->cap)
        return;
    if (f->mem != NULL && need <= f->cap) {
        memmove(f->mem + TUN_FIFO_HEADROOM, f->mem + f->off, f->len);
        f->off = TUN_FIFO_HEADROOM;
        return;
    }
    cap = f->cap > FIFO_MIN_CAP ? f->cap : FIFO_MIN_CAP;
    while (cap < need)
        cap *= 2;
    if (f->mem != NULL && f->off != TUN_FIFO_HEADROOM) {
        memmove(f->mem + TUN_FIFO_HEADROOM, f->mem + f->off, f->len);
    }
    f->mem = xrealloc(f->mem, cap);
    f->off = TUN_FIFO_HEADROOM;
    f->cap = cap;
}

unsigned char *tun_fifo_reserve(struct tun_fifo *f, size_t n)
{
    make_room(f, n);
    return f->mem + f->off + f->len;
}

void tun_fifo_commit(struct tun_fifo *f, size_t n)
{
    f->len += n;
}

void tun_fifo_append(struct tun_fifo *f, const void *p, size_t n)
{
    if (n == 0)
        return;
    memcpy(tun_fifo_reserve(f, n), p, n);
    f->len += n;
}

unsigned char *tun_fifo_data(struct tun_fifo *f)
{
    return f->len ? f->mem + f->off : NULL;
}

void tun_fifo_consume(struct tun_fifo *f, size_t n)
{
    if (n >= f->len) {
        tun_fifo_free(f);
        return;
    }
    f->off += n;
    f->len -= n;
}

void tun_fifo_free(struct tun_fifo *f)
{
    free(f->mem);
    tun_fifo_init(f);
}
