/* src/device_pkg.c: argv building for DevicePkgOperation and DeviceUpgradeLR
 * (board-protocol.md 6.5). Pure apart from finding the manager's program:
 * names are checked against the contract's patterns and then only ever
 * appear as whole argv elements. */
#include "src/device.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "src/cmdrun.h"
#include "src/conf.h"

#define PKG_MAX 128
#define VERSION_MAX 64

/* [A-Za-z0-9][A-Za-z0-9.+_@/-]{0,127} */
int lrc_pkg_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > PKG_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

        if (!alnum && (i == 0 || strchr(".+_@/-", c) == NULL))
            return 0;
    }
    return 1;
}

/* [A-Za-z0-9.+:~_-]{1,64} */
int lrc_pkg_version_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > VERSION_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(".+:~_-", c) != NULL))
            return 0;
    }
    return 1;
}

/* The words after the program for one manager and command; %P is the
 * package (with its version as the manager spells it), an entry that is
 * only %P is dropped when there is no package. */
struct pkg_rule {
    const char *manager, *command;
    const char *words[6];
    int needs_package;
};

static const struct pkg_rule rules[] = {
    {"apt-get", "install", {"install", "-y", "%P", NULL}, 1},
    {"apt-get", "update", {"update", NULL}, 0},
    {"apt-get", "upgrade", {"install", "-y", "--only-upgrade", "%P", NULL}, 1},
    {"apt-get", "remove", {"remove", "-y", "%P", NULL}, 1},
    {"apt-get", "uninstall", {"remove", "-y", "%P", NULL}, 1},
    {"apt", "install", {"install", "-y", "%P", NULL}, 1},
    {"apt", "update", {"update", NULL}, 0},
    {"apt", "upgrade", {"install", "-y", "--only-upgrade", "%P", NULL}, 1},
    {"apt", "remove", {"remove", "-y", "%P", NULL}, 1},
    {"apt", "uninstall", {"remove", "-y", "%P", NULL}, 1},
    {"pip3", "install", {"install", "%P", NULL}, 1},
    {"pip3", "update", {"install", "--upgrade", "%P", NULL}, 1},
    {"pip3", "upgrade", {"install", "--upgrade", "%P", NULL}, 1},
    {"pip3", "remove", {"uninstall", "-y", "%P", NULL}, 1},
    {"pip3", "uninstall", {"uninstall", "-y", "%P", NULL}, 1},
    {"npm", "install", {"install", "-g", "%P", NULL}, 1},
    {"npm", "update", {"update", "-g", "%P", NULL}, 1},
    {"npm", "upgrade", {"update", "-g", "%P", NULL}, 1},
    {"npm", "remove", {"uninstall", "-g", "%P", NULL}, 1},
    {"npm", "uninstall", {"uninstall", "-g", "%P", NULL}, 1},
};

/* package with version, as each manager writes a pinned version. */
static char *pinned(const char *manager, const char *package, const char *version)
{
    if (version == NULL)
        return xstrdup(package);
    if (strcmp(manager, "pip3") == 0)
        return xasprintf("%s==%s", package, version);
    if (strcmp(manager, "npm") == 0)
        return xasprintf("%s@%s", package, version);
    return xasprintf("%s=%s", package, version);
}

char **lrc_pkg_argv(const char *manager, const char *command, const char *package,
                    const char *version, struct error *err)
{
    const struct pkg_rule *r = NULL;
    char **v, *prog;
    size_t n = 0;

    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]) && r == NULL; i++)
        if (strcmp(rules[i].manager, manager) == 0 && strcmp(rules[i].command, command) == 0)
            r = &rules[i];
    if (r == NULL) {
        error_set(err, -EINVAL, "command must be one of install update upgrade remove uninstall");
        return NULL;
    }
    if (r->needs_package && package == NULL) {
        error_set(err, -EINVAL, "missing package");
        return NULL;
    }
    prog = lrc_cmd_which(manager);
    if (prog == NULL) {
        error_set(err, -ENOENT, "%s is not installed on this board.", manager);
        return NULL;
    }
    v = xcalloc(8, sizeof(char *));
    v[n++] = prog;
    for (size_t i = 0; r->words[i] != NULL; i++) {
        if (strcmp(r->words[i], "%P") != 0)
            v[n++] = xstrdup(r->words[i]);
        else if (package != NULL)
            v[n++] = pinned(manager, package, version);
    }
    v[n] = NULL;
    return v;
}
