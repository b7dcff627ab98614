/* libFuzzer target for what lr-swarm parses from a wagent
 * (tools/lr-swarm/wsframe.h): the answer to its upgrade request, and the
 * stream of frames after it, walked frame by frame as the transport does.
 * The first byte picks the parser, the second the message limit; the rest
 * is the input. Invariants: no crash or out-of-bounds read, a complete frame
 * lies inside the input, refusals carry a close code, a 503 a retry delay. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../tools/lr-swarm/wsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_head(const char *s, size_t n)
{
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    size_t hl = sw_ws_head_len(s, n, 8192);
    unsigned retry = 0;
    struct error err;
    int rc;

    if (hl > n || (hl != 0 && hl < 4))
        abort();
    rc = sw_ws_head_check(s, n, key, &retry, &err);
    if (rc != 0 && rc != -EAGAIN && rc != -EPROTO)
        abort();
    if ((rc == -EAGAIN) != (retry >= 1) || retry > 999)
        abort();
}

static void fuzz_frames(const uint8_t *p, size_t n, uint64_t max)
{
    size_t used = 0;

    for (;;) {
        struct sw_ws_frame f;
        uint16_t code = 0;
        struct error err;
        int rc = sw_ws_frame_parse(p + used, n - used, max, &f, &code, &err);

        if (rc < 0) {
            if (code != 1002 && code != 1009)
                abort();
            return;
        }
        if (rc == 0)
            return;
        if (f.header_len + f.payload_len > n - used || f.payload_len > max)
            abort();
        if (f.opcode >= 0x8 && (f.payload_len > 125 || !f.fin))
            abort();
        used += f.header_len + (size_t)f.payload_len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (data[0] & 1)
        fuzz_head((const char *)data + 2, size - 2);
    else
        fuzz_frames(data + 2, size - 2, (uint64_t)data[1] << (data[0] >> 2 & 15));
    return 0;
}
