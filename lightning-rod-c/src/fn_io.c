/* src/fn_io.c: see fn_io.h. */
#include "src/fn_io.h"

#include "src/iosock.h"

static int io_open(void *arg, const char *dir, uid_t uid, gid_t gid, const char *const *specs,
                   size_t n, void **handle, struct error *err)
{
    struct fn_io *io = arg;
    struct iosock *s;
    int rc = iosock_new(io->loop, io->hal, dir, uid, gid, specs, n, NULL, &s, err);

    if (rc == 0)
        *handle = s;
    return rc;
}

static int64_t io_first_write(void *handle)
{
    return iosock_first_write_at(handle);
}

static void io_close(void *handle)
{
    iosock_free(handle);
}

struct ctr_io_ops fn_io_ops(struct fn_io *io)
{
    return (struct ctr_io_ops){io_open, io_first_write, io_close, io};
}
