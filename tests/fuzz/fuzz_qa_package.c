/* libFuzzer target for qapi/package: every function package a tenant uploads
 * is read by libarchive and checked entry by entry before anything stores
 * it. Invariants besides "no crash, no leak": a refusal is a 400 or a 413
 * with a message; an acceptance names zip or tar.gz and full digests. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qapi/package.h"
#include "qmodel/fault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct qa_pkg_limits lim = {1 << 20, 64};
    struct error err = {0};
    struct qa_pkg pkg;
    int rc = qa_package_check(data, size, &lim, &pkg, &err);

    if (rc < 0) {
        int status = qm_errno_status(rc);

        if ((status != 400 && status != 413) || err.msg[0] == '\0')
            abort();
        return 0;
    }
    if ((strcmp(pkg.format, "zip") != 0 && strcmp(pkg.format, "tar.gz") != 0) ||
        strlen(pkg.sha256) != 64 || strlen(pkg.md5) != 32 || pkg.size != (int64_t)size)
        abort();
    return 0;
}
