/* hal/sysfs.c: reading small sysfs attributes and listing sysfs directories.
 *
 * Attributes are at most a page; anything longer, or not exactly one number
 * where one is expected, is an error naming the file, so a driver that
 * misbehaves (or a fixture with garbage) gives a clear message rather than a
 * wrong value. Safe on any thread: no shared state. */
#include "hal/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xalloc.h"

int sysfs_read_text(const char *path, char *buf, size_t size, struct error *err)
{
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return error_set(err, -errno, "%s: %s", path, strerror(errno));
    for (;;) {
        ssize_t n = read(fd, buf + len, size - 1 - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;

            close(fd);
            return error_set(err, -e, "%s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == size - 1) {
            close(fd);
            return error_set(err, -EFBIG, "%s: longer than %zu bytes", path, size - 1);
        }
    }
    close(fd);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t' ||
                       buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    return (int)len;
}

/* Copies text for a message: at most 32 characters, non-printables as '?'. */
static void shown(const char *text, char out[40])
{
    size_t i = 0;

    for (; text[i] != '\0' && i < 32; i++)
        out[i] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
    if (text[i] != '\0')
        out[i++] = '.', out[i++] = '.', out[i++] = '.';
    out[i] = '\0';
}

int sysfs_parse_number(const char *path, const char *text, double *out, struct error *err)
{
    char *end;
    char show[40];
    double v;

    errno = 0;
    v = strtod(text, &end);
    if (errno == 0 && end != text && *end == '\0' && isfinite(v) && text[0] != ' ' &&
        text[0] != '\t' && text[0] != '\n') {
        *out = v;
        return 0;
    }
    shown(text, show);
    return error_set(err, -EINVAL, "%s: expected a number, got '%s'", path, show);
}

int sysfs_read_number(const char *path, double *out, struct error *err)
{
    char buf[128];
    int rc = sysfs_read_text(path, buf, sizeof(buf), err);

    if (rc < 0)
        return rc;
    return sysfs_parse_number(path, buf, out, err);
}

int sysfs_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

static int name_matches(const char *name, const char *prefix)
{
    return name[0] != '.' && strncmp(name, prefix, strlen(prefix)) == 0;
}

int sysfs_list(const char *dir, const char *prefix, char ***out, size_t *n)
{
    struct dirent **ents = NULL;
    char **names;
    size_t count = 0;
    int m = scandir(dir, &ents, NULL, versionsort);

    *out = NULL;
    *n = 0;
    if (m < 0)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
    names = xcalloc((size_t)m + 1, sizeof(*names));
    for (int i = 0; i < m; i++) {
        if (name_matches(ents[i]->d_name, prefix))
            names[count++] = xstrdup(ents[i]->d_name);
        free(ents[i]);
    }
    free(ents);
    *out = names;
    *n = count;
    return 0;
}

void sysfs_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
