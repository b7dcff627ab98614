/* src/fn_io.h: the IO socket provider of the container runner, on
 * src/iosock.h and the HAL.
 *
 * The runner (ctr_run.h) knows nothing of the HAL: it is handed a struct
 * ctr_io_ops. This is the one the agent uses: each container gets an
 * iosock in its bundle's io/ directory, limited to the devices it declared,
 * owned by the container's uid:gid, with the HAL's [io] max_ops_per_second.
 * The struct fn_io must outlive every container (one per process, in the
 * agent's context). Loop thread. */
#ifndef LRC_FN_IO_H
#define LRC_FN_IO_H

#include "hal/hal.h"
#include "loop/loop.h"
#include "src/ctr_run.h"

struct fn_io {
    struct loop *loop;
    struct hal *hal;
};

/* Operations whose arg is io (borrowed). */
struct ctr_io_ops fn_io_ops(struct fn_io *io);

#endif
