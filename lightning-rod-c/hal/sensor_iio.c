/* hal/sensor_iio.c: Industrial I/O sensors (/sys/bus/iio/devices).
 *
 * Each iio:deviceN with a `name` gives one sensor per channel attribute
 * in_<channel>_input (already processed) or in_<channel>_raw (then
 * processed = (raw + offset) * scale, the kernel ABI's formula, with the
 * channel's own in_<channel>_scale/_offset or the type's shared
 * in_<type>_scale/_offset). Processed values are in the ABI's units, which
 * the table below turns into the base unit DeviceCaps reports. Channel types
 * without a known unit are skipped rather than reported with a wrong one.
 * Sensor names are "<device name>_<channel>", made valid and unique. */
#include "hal/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xalloc.h"

struct iio_type {
    const char *type;
    const char *unit;
    double div; /* ABI units per reported unit: divided, so that 23125 m°C
                 * is exactly 23.125 C */
};

static const struct iio_type iio_types[] = {
    {"temp", "C", 1000.0},             /* milli degrees Celsius */
    {"voltage", "V", 1000.0},          /* millivolts */
    {"current", "A", 1000.0},          /* milliamps */
    {"power", "W", 1000.0},            /* milliwatts */
    {"illuminance", "lx", 1.0},        /* lux */
    {"humidityrelative", "%", 1000.0}, /* milli percent */
    {"pressure", "kPa", 1.0},          /* kilopascal */
    {"accel", "m/s2", 1.0},            /* metres per second squared */
    {"anglvel", "rad/s", 1.0},         /* radians per second */
    {"magn", "G", 1.0},                /* gauss */
    {"concentration", "%", 1.0},       /* percent */
    {"resistance", "Ohm", 1.0},        /* ohms */
    {"distance", "m", 1.0},            /* metres */
    {"angl", "rad", 1.0},              /* radians */
    {"uvindex", "UVI", 1.0},           /* UV index */
    {"capacitance", "nF", 1.0},        /* nanofarads */
    {"ph", "pH", 1.0},
};

static const struct iio_type *type_of(const char *channel, char type[48])
{
    size_t n = 0;

    while (channel[n] >= 'a' && channel[n] <= 'z' && n < 47)
        n++;
    memcpy(type, channel, n);
    type[n] = '\0';
    for (size_t i = 0; i < sizeof(iio_types) / sizeof(iio_types[0]); i++)
        if (strcmp(iio_types[i].type, type) == 0)
            return &iio_types[i];
    return NULL;
}

/* in_<channel>_<attr> if it exists, else in_<type>_<attr>, else NULL. */
static char *find_attr(const char *dir, const char *channel, const char *type, const char *attr)
{
    char *p = xasprintf("%s/in_%s_%s", dir, channel, attr);

    if (sysfs_exists(p))
        return p;
    free(p);
    p = xasprintf("%s/in_%s_%s", dir, type, attr);
    if (sysfs_exists(p))
        return p;
    free(p);
    return NULL;
}

/* Splits "in_<channel>_raw" / "in_<channel>_input"; 1 = raw, 0 = input,
 * -1 = neither. */
static int split_attr(const char *file, char channel[64])
{
    size_t len = strlen(file), clen;
    int raw;

    if (len >= 3 + 1 + 4 && strcmp(file + len - 4, "_raw") == 0)
        raw = 1, clen = len - 3 - 4;
    else if (len >= 3 + 1 + 6 && strcmp(file + len - 6, "_input") == 0)
        raw = 0, clen = len - 3 - 6;
    else
        return -1;
    if (clen == 0 || clen >= 64)
        return -1;
    memcpy(channel, file + 3, clen);
    channel[clen] = '\0';
    return raw;
}

static void add_channel(struct hal *hal, const char *dir, const char *devname, const char *file)
{
    char channel[64], type[48], *other;
    const struct iio_type *t;
    struct sensor *s;
    char *base;
    int raw = split_attr(file, channel);

    if (raw < 0)
        return;
    t = type_of(channel, type);
    if (t == NULL) {
        log_debug("iio %s: channel %s has no known unit; skipped", devname, channel);
        return;
    }
    if (raw) {
        /* A channel with a processed value is reported once, from it. */
        other = xasprintf("%s/in_%s_input", dir, channel);
        raw = !sysfs_exists(other);
        free(other);
        if (!raw)
            return;
    }
    base = xasprintf("%s_%s", devname, channel);
    s = sensor_add(hal, base, HAL_SENSOR_IIO, t->unit);
    free(base);
    if (s == NULL)
        return;
    s->path = xasprintf("%s/%s", dir, file);
    s->div = t->div;
    if (raw) {
        s->scale_path = find_attr(dir, channel, type, "scale");
        s->offset_path = find_attr(dir, channel, type, "offset");
    }
}

static void add_device(struct hal *hal, const char *root, const char *entry)
{
    char *dir = xasprintf("%s/%s", root, entry);
    char *namefile = xasprintf("%s/name", dir);
    char devname[64];
    char **files = NULL;
    size_t n = 0;

    if (sysfs_read_text(namefile, devname, sizeof(devname), NULL) <= 0)
        snprintf(devname, sizeof(devname), "%s", entry);
    if (sysfs_list(dir, "in_", &files, &n) == 0)
        for (size_t i = 0; i < n; i++)
            add_channel(hal, dir, devname, files[i]);
    sysfs_names_free(files, n);
    free(namefile);
    free(dir);
}

int sensor_iio_discover(struct hal *hal, const char *dir, struct error *err)
{
    char **devs = NULL;
    size_t n = 0;

    (void)err;
    if (sysfs_list(dir, "iio:device", &devs, &n) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        add_device(hal, dir, devs[i]);
    sysfs_names_free(devs, n);
    return 0;
}

int sensor_iio_read(const struct sensor *s, double *value, struct error *err)
{
    double raw, scale = 1.0, offset = 0.0;
    int rc = sysfs_read_number(s->path, &raw, err);

    if (rc == 0 && s->scale_path != NULL)
        rc = sysfs_read_number(s->scale_path, &scale, err);
    if (rc == 0 && s->offset_path != NULL)
        rc = sysfs_read_number(s->offset_path, &offset, err);
    if (rc < 0)
        return rc;
    *value = (raw + offset) * scale / s->div;
    return 0;
}
