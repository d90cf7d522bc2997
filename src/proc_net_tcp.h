/* SPDX-License-Identifier: GPL-2.0 */
/* /proc/net/tcp and tcp6: which local TCP ports have sockets in LISTEN. */
#ifndef KPULSE_PROC_NET_TCP_H
#define KPULSE_PROC_NET_TCP_H

#include <stddef.h>
#include <stdint.h>

#define PROC_NET_TCP_LISTEN 0x0a

/*
 * Parse one socket line ("  0: 0100007F:1F90 00000000:0000 0A ..."): the local port and
 * the state. IPv4 (8 hex digits) and IPv6 (32) addresses; -EINVAL for anything else,
 * the header line included.
 */
int proc_net_tcp__parse_line(const char *line, uint16_t *port, unsigned int *state);
/*
 * Count the sockets in LISTEN on each of @ports[0..n) in the file @path into @counts
 * (added to what is there). Malformed lines are skipped and counted in @bad (may be
 * NULL). -errno if the file cannot be read.
 */
int proc_net_tcp__count_listeners(const char *path, const uint16_t *ports, size_t n, int *counts,
				  unsigned int *bad);

/*
 * Parse "80,443, 8080" into at most @max distinct ports 1..65535; -EINVAL with @err saying
 * which entry is wrong, -E2BIG if there are more than @max.
 */
int tcp_ports__parse(const char *s, uint16_t *out, size_t max, size_t *n, char *err, size_t errlen);

#endif /* KPULSE_PROC_NET_TCP_H */
