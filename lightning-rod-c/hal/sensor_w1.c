/* hal/sensor_w1.c: 1-wire thermometers (/sys/bus/w1/devices).
 *
 * Slaves of the thermometer families (10 DS18S20, 22 DS1822, 28 DS18B20,
 * 3b DS1825, 42 DS28EA00) are sensors named after their slave id
 * ("28-0316a2795aff"). Newer kernels expose `temperature` (milli degrees
 * C); older ones only `w1_slave`, two lines whose first ends in "YES" when
 * the scratchpad CRC matched and whose second ends in "t=<milli degrees>".
 * A failed CRC is an error, never a value. Reading either file makes the
 * kernel run a conversion (~750 ms): that is why reads run on the reader
 * thread (sensor.c). */
#include "hal/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static const char *const thermo_families[] = {"10-", "22-", "28-", "3b-", "42-"};

static int is_thermometer(const char *entry)
{
    for (size_t i = 0; i < sizeof(thermo_families) / sizeof(thermo_families[0]); i++)
        if (strncmp(entry, thermo_families[i], 3) == 0 && entry[3] != '\0')
            return 1;
    return 0;
}

static void add_slave(struct hal *hal, const char *root, const char *entry)
{
    char *temp = xasprintf("%s/%s/temperature", root, entry);
    char *slave = xasprintf("%s/%s/w1_slave", root, entry);
    struct sensor *s = NULL;

    if (sysfs_exists(temp) || sysfs_exists(slave))
        s = sensor_add(hal, entry, HAL_SENSOR_W1, "C");
    if (s != NULL) {
        s->w1_slave = !sysfs_exists(temp);
        s->path = s->w1_slave ? slave : temp;
        s->div = 1000.0;
        if (s->w1_slave)
            slave = NULL;
        else
            temp = NULL;
    }
    free(temp);
    free(slave);
}

int sensor_w1_discover(struct hal *hal, const char *dir, struct error *err)
{
    char **slaves = NULL;
    size_t n = 0;

    (void)err;
    if (sysfs_list(dir, "", &slaves, &n) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (is_thermometer(slaves[i]))
            add_slave(hal, dir, slaves[i]);
    sysfs_names_free(slaves, n);
    return 0;
}

/* The w1_slave format: CRC verdict at the end of line 1, "t=" on line 2. */
static int parse_w1_slave(const char *path, char *text, double *milli, struct error *err)
{
    char *nl = strchr(text, '\n'), *t;
    size_t l1;

    if (nl == NULL)
        return error_set(err, -EINVAL, "%s: expected two lines", path);
    *nl = '\0';
    l1 = strlen(text);
    while (l1 > 0 && (text[l1 - 1] == ' ' || text[l1 - 1] == '\r'))
        text[--l1] = '\0';
    if (strstr(text, "crc=") == NULL || l1 < 3)
        return error_set(err, -EINVAL, "%s: no CRC line", path);
    if (strcmp(text + l1 - 3, "YES") != 0)
        return error_set(err, -EIO, "%s: CRC check failed", path);
    t = strstr(nl + 1, "t=");
    if (t == NULL)
        return error_set(err, -EINVAL, "%s: no t= value", path);
    return sysfs_parse_number(path, t + 2, milli, err);
}

int sensor_w1_read(const struct sensor *s, double *value, struct error *err)
{
    char buf[256];
    double milli;
    int rc = sysfs_read_text(s->path, buf, sizeof(buf), err);

    if (rc < 0)
        return rc;
    if (s->w1_slave)
        rc = parse_w1_slave(s->path, buf, &milli, err);
    else
        rc = sysfs_parse_number(s->path, buf, &milli, err);
    if (rc < 0)
        return rc;
    *value = milli / s->div;
    return 0;
}
