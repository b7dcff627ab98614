/* tools/bench/fn/benchfn.c: the function make bench runs in containers.
 *
 * A static program, so that it needs a runtime with nothing but the mount
 * points: what the bench measures is then the platform's path (dispatch,
 * container, IO socket, result), not an interpreter's start-up.
 *
 *   input without "line"      writes {"ok":true} to the result file (warm,
 *                             cold and first-deployment figures)
 *   input {"line": N, ...}    drives sim0 line N high ("light": "off": low)
 *                             through the IO socket, then writes
 *                             {"line":N,"value":V} (the sensor -> actuator
 *                             figure; the board stamps the first write)
 *
 * The input is the bench's own JSON; it is read with strtol, bounded, and
 * anything unexpected ends with exit status 1 and a message in the result
 * (deviceless-api.md 3.5.7), never a crash. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define IN_MAX 4096

/* Writes text as the function's result; returns status (1 if the file
 * cannot be written). */
static int result(const char *text, int status)
{
    const char *path = getenv("FUNCTION_RESULT");
    FILE *f = fopen(path ? path : "/run/function/result", "w");

    if (f == NULL)
        return 1;
    fputs(text, f);
    return fclose(f) == 0 ? status : 1;
}

/* One request line, one reply line: 0 when the reply says ok. */
static int gpio_write(int line, int value)
{
    const char *path = getenv("IOTRONIC_IO_SOCKET");
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    char req[160], rep[512];
    size_t got = 0;
    int fd, n;

    if (path == NULL || strlen(path) >= sizeof(a.sun_path))
        return -1;
    memcpy(a.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    n = snprintf(req, sizeof(req),
                 "{\"id\":1,\"op\":\"gpio_write\",\"chip\":\"sim0\",\"line\":%d,\"value\":%d}\n",
                 line, value);
    if (write(fd, req, (size_t)n) != n)
        return -1;
    while (got < sizeof(rep) - 1 && memchr(rep, '\n', got) == NULL) {
        ssize_t r = read(fd, rep + got, sizeof(rep) - 1 - got);

        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    rep[got] = '\0';
    return strstr(rep, "\"ok\":true") != NULL || strstr(rep, "\"ok\": true") != NULL ? 0 : -1;
}

int main(void)
{
    char in[IN_MAX + 1], out[128];
    size_t n = fread(in, 1, IN_MAX, stdin);
    const char *p;
    char *end;
    long line;
    int value;

    in[n] = '\0';
    p = strstr(in, "\"line\":");
    if (p == NULL)
        return result("{\"ok\":true}\n", 0);
    errno = 0;
    line = strtol(p + 7, &end, 10);
    if (errno != 0 || end == p + 7 || line < 0 || line > 1023)
        return result("\"bad line\"\n", 1);
    value = strstr(in, "\"light\": \"off\"") == NULL && strstr(in, "\"light\":\"off\"") == NULL;
    if (gpio_write((int)line, value) < 0) {
        snprintf(out, sizeof(out), "\"gpio_write failed on line %d\"\n", (int)line);
        return result(out, 1);
    }
    snprintf(out, sizeof(out), "{\"line\":%d,\"value\":%d}\n", (int)line, value);
    return result(out, 0);
}
