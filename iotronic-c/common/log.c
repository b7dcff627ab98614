/* common/log.c: see log.h. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

/* Process-wide settings, written by log_init() before threads start. */
static struct {
    char program[32];
    volatile int level;
} logcfg = { "iotronic", LOG_INFO };

static __thread char thread_reqid[LOG_REQID_MAX];

static const char *const level_names[] = { "ERROR", "WARNING", "INFO", "DEBUG" };

void log_init(const char *program, enum log_level level)
{
    snprintf(logcfg.program, sizeof(logcfg.program), "%s", program);
    logcfg.level = level;
}

void log_set_level(enum log_level level)
{
    logcfg.level = level;
}

int log_level_parse(const char *s, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {
        { "error", LOG_ERROR }, { "warning", LOG_WARNING }, { "warn", LOG_WARNING },
        { "info", LOG_INFO },   { "debug", LOG_DEBUG },
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

int log_enabled(enum log_level level)
{
    return (int)level <= logcfg.level;
}

void log_set_request_id(const char *reqid)
{
    if (reqid == NULL)
        thread_reqid[0] = '\0';
    else
        snprintf(thread_reqid, sizeof(thread_reqid), "%s", reqid);
}

const char *log_request_id(void)
{
    return thread_reqid;
}

/* Copies src into dst[0..cap), escaping what would break the one-line rule.
 * Returns the number of bytes written. */
static size_t escape_into(char *dst, size_t cap, const char *src)
{
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)src; *p != '\0' && n + 4 < cap; p++) {
        if (*p == '\n') {
            dst[n++] = '\\';
            dst[n++] = 'n';
        } else if (*p == '\r') {
            dst[n++] = '\\';
            dst[n++] = 'r';
        } else if (*p < 0x20 || *p == 0x7f) {
            n += (size_t)snprintf(dst + n, cap - n, "\\x%02x", *p);
        } else {
            dst[n++] = (char)*p;
        }
    }
    return n;
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char msg[LOG_LINE_MAX];
    char line[LOG_LINE_MAX + 256];
    struct timeval tv;
    struct tm tm;
    size_t n;
    va_list ap;
    int saved = errno;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%06ldZ %s %s[%d] req=%s ",
                          (long)tv.tv_usec, level_names[level], logcfg.program, (int)getpid(),
                          thread_reqid[0] ? thread_reqid : "-");
    n += escape_into(line + n, sizeof(line) - n - 1, msg);
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* Nowhere left to report it. */
    }
    errno = saved;
}
