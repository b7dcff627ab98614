/* src/netinfo.c: see netinfo.h. */
#include "src/netinfo.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

#define ADDR_MAX 64

char *lrc_netinfo_addr_str(const struct sockaddr *sa, char *out, size_t cap)
{
    const void *p = NULL;

    out[0] = '\0';
    if (sa == NULL)
        return out;
    if (sa->sa_family == AF_INET)
        p = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        p = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (p == NULL || inet_ntop(sa->sa_family, p, out, (socklen_t)cap) == NULL)
        out[0] = '\0';
    return out;
}

/* The MAC of interface name, as aa:bb:..., or "" (loopback has zeros). */
static void mac_of(const struct ifaddrs *all, const char *name, char out[18])
{
    out[0] = '\0';
    for (const struct ifaddrs *i = all; i != NULL; i = i->ifa_next) {
        const struct sockaddr_ll *ll = (const void *)i->ifa_addr;

        if (ll == NULL || ll->sll_family != AF_PACKET || strcmp(i->ifa_name, name) != 0)
            continue;
        if (ll->sll_halen == 6)
            snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", ll->sll_addr[0], ll->sll_addr[1],
                     ll->sll_addr[2], ll->sll_addr[3], ll->sll_addr[4], ll->sll_addr[5]);
        return;
    }
}

static int same_addr(const struct sockaddr *a, const struct sockaddr_storage *b)
{
    if (a == NULL || a->sa_family != b->ss_family)
        return 0;
    if (a->sa_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)(const void *)a)->sin_addr,
                      &((const struct sockaddr_in *)(const void *)b)->sin_addr,
                      sizeof(struct in_addr)) == 0;
    if (a->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr,
                      sizeof(struct in6_addr)) == 0;
    return 0;
}

cJSON *lrc_netinfo_connectivity(const struct sockaddr_storage *local)
{
    cJSON *o = cJSON_CreateObject();
    struct ifaddrs *all = NULL;
    const char *iface = NULL;
    char ip[ADDR_MAX], mac[18] = "";

    lrc_netinfo_addr_str((const struct sockaddr *)local, ip, sizeof(ip));
    if (getifaddrs(&all) < 0)
        log_warn("getifaddrs: %m");
    for (struct ifaddrs *i = all; i != NULL; i = i->ifa_next)
        if (same_addr(i->ifa_addr, local)) {
            iface = i->ifa_name;
            mac_of(all, iface, mac);
            break;
        }
    if (iface != NULL)
        cJSON_AddStringToObject(o, "iface", iface);
    else
        cJSON_AddNullToObject(o, "iface");
    cJSON_AddStringToObject(o, "local_ip", ip);
    if (mac[0] != '\0')
        cJSON_AddStringToObject(o, "mac", mac);
    else
        cJSON_AddNullToObject(o, "mac");
    freeifaddrs(all);
    return o;
}

static int prefix_len(const struct sockaddr *mask)
{
    const unsigned char *p;
    size_t n;
    int bits = 0;

    if (mask == NULL)
        return 0;
    if (mask->sa_family == AF_INET) {
        p = (const void *)&((const struct sockaddr_in *)(const void *)mask)->sin_addr;
        n = 4;
    } else if (mask->sa_family == AF_INET6) {
        p = (const void *)&((const struct sockaddr_in6 *)(const void *)mask)->sin6_addr;
        n = 16;
    } else {
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        bits += __builtin_popcount(p[i]);
    return bits;
}

static cJSON *iface_entry(cJSON *list, const struct ifaddrs *all, const struct ifaddrs *i)
{
    cJSON *e;
    char mac[18];

    for (e = list->child; e != NULL; e = e->next)
        if (strcmp(cJSON_GetObjectItemCaseSensitive(e, "name")->valuestring, i->ifa_name) == 0)
            return e;
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "name", i->ifa_name);
    mac_of(all, i->ifa_name, mac);
    if (mac[0] != '\0')
        cJSON_AddStringToObject(e, "mac", mac);
    else
        cJSON_AddNullToObject(e, "mac");
    cJSON_AddBoolToObject(e, "up", (i->ifa_flags & IFF_UP) != 0);
    cJSON_AddArrayToObject(e, "ipv4");
    cJSON_AddArrayToObject(e, "ipv6");
    cJSON_AddItemToArray(list, e);
    return e;
}

cJSON *lrc_netinfo_interfaces(void)
{
    cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "interfaces");
    struct ifaddrs *all = NULL;

    if (getifaddrs(&all) < 0) {
        log_warn("getifaddrs: %m");
        return o;
    }
    for (struct ifaddrs *i = all; i != NULL; i = i->ifa_next) {
        cJSON *e = iface_entry(list, all, i);
        char ip[ADDR_MAX], text[ADDR_MAX + 8];
        int fam = i->ifa_addr ? i->ifa_addr->sa_family : AF_UNSPEC;

        if (fam != AF_INET && fam != AF_INET6)
            continue;
        lrc_netinfo_addr_str(i->ifa_addr, ip, sizeof(ip));
        snprintf(text, sizeof(text), "%s/%d", ip, prefix_len(i->ifa_netmask));
        cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(e, fam == AF_INET ? "ipv4" : "ipv6"),
                             cJSON_CreateString(text));
    }
    freeifaddrs(all);
    return o;
}
