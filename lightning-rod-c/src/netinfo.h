/* src/netinfo.h: the board's network interfaces, from the kernel.
 *
 * `connectivity` (board-protocol.md 5.2, 10.2) describes the interface that
 * carries the WAMP WebSocket; DeviceNetConfig (6.5) lists every interface.
 * Both come from getifaddrs(3) (netlink): addresses, flags and the link-layer
 * address; no external program runs. Loop thread (getifaddrs answers from
 * the kernel at once). */
#ifndef LRC_SRC_NETINFO_H
#define LRC_SRC_NETINFO_H

#include <cjson/cJSON.h>
#include <sys/socket.h>

/* {"iface", "local_ip", "mac"} of the interface holding the local address
 * local (the WebSocket's getsockname()); iface and mac are null when no
 * interface holds it (e.g. behind a proxy). New object. */
cJSON *lrc_netinfo_connectivity(const struct sockaddr_storage *local);

/* {"interfaces": [{"name", "mac", "up", "ipv4": ["a.b.c.d/len", ...],
 * "ipv6": [...]}, ...]} in the kernel's order. New object. */
cJSON *lrc_netinfo_interfaces(void);

/* Writes the printable form of an IPv4 or IPv6 address (without port) into
 * out (at least 46 bytes); "" for other families. Returns out. */
char *lrc_netinfo_addr_str(const struct sockaddr *sa, char *out, size_t cap);

#endif
