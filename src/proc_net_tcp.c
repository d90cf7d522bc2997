// SPDX-License-Identifier: GPL-2.0
/* /proc/net/tcp{,6} parsing for the listening-port watch (seeded once at start). */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "kpulse.h"
#include "proc_net_tcp.h"
#include "procfs.h"

/* Parse exactly @min..@max hex digits at *@p into @out; advance *@p. */
static int hex(const char **p, int min, int max, unsigned long long *out)
{
	unsigned long long v = 0;
	int n = 0;

	while (n < max && isxdigit((unsigned char)**p)) {
		char c = *(*p)++;

		v = v * 16 +
		    (unsigned)(isdigit((unsigned char)c) ? c - '0' : tolower(c) - 'a' + 10);
		n++;
	}
	if (n < min || isxdigit((unsigned char)**p))
		return -EINVAL;
	*out = v;
	return 0;
}

/* "ADDR:PORT" with an 8 (IPv4) or 32 (IPv6) hex digit address and a 4 digit port. */
static int endpoint(const char **p, uint16_t *port)
{
	const char *start = *p;
	unsigned long long v;
	size_t len;

	while (isxdigit((unsigned char)**p))
		(*p)++;
	len = *p - start;
	if ((len != 8 && len != 32) || **p != ':')
		return -EINVAL;
	(*p)++;
	if (hex(p, 4, 4, &v))
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int proc_net_tcp__parse_line(const char *line, uint16_t *port, unsigned int *state)
{
	const char *p = line;
	unsigned long long st;
	uint16_t local, remote;

	while (*p == ' ')
		p++;
	/* "sl:" slot number */
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p++ != ':' || *p != ' ')
		return -EINVAL;
	while (*p == ' ')
		p++;
	if (endpoint(&p, &local) || *p != ' ')
		return -EINVAL;
	while (*p == ' ')
		p++;
	if (endpoint(&p, &remote) || *p != ' ')
		return -EINVAL;
	while (*p == ' ')
		p++;
	if (hex(&p, 2, 2, &st) || (*p != ' ' && *p != '\n' && *p != '\0'))
		return -EINVAL;
	*port = local;
	*state = (unsigned int)st;
	return 0;
}

int proc_net_tcp__count_listeners(const char *path, const uint16_t *ports, size_t n, int *counts,
				  unsigned int *bad)
{
	char line[512];
	unsigned int state;
	bool header = true;
	uint16_t port;
	size_t i;
	FILE *f;

	f = procfs__fopen(path);
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		/* A line longer than the buffer: skip the rest of it, count it once as bad. */
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			if (bad)
				(*bad)++;
			header = false;
			continue;
		}
		if (header) {
			header = false;
			if (strstr(line, "local_address"))
				continue;
		}
		if (proc_net_tcp__parse_line(line, &port, &state)) {
			if (bad)
				(*bad)++;
			continue;
		}
		if (state != PROC_NET_TCP_LISTEN)
			continue;
		for (i = 0; i < n; i++)
			if (ports[i] == port)
				counts[i]++;
	}
	fclose(f);
	return 0;
}

int tcp_ports__parse(const char *s, uint16_t *out, size_t max, size_t *n, char *err, size_t errlen)
{
	char **items;
	size_t count, i, j;
	int ret = 0;

	*n = 0;
	/* The one comma-list reader: trims, drops empty items and repeats. */
	if (kpulse__split_list(s, &items, &count)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < count && !ret; i++) {
		unsigned long v = 0;

		for (j = 0; items[i][j]; j++) {
			if (!isdigit((unsigned char)items[i][j]) || v > 65535) {
				v = 0;
				break;
			}
			v = v * 10 + (unsigned long)(items[i][j] - '0');
		}
		if (!v || v > 65535) {
			snprintf(err, errlen, "'%s' is not a TCP port (1-65535)", items[i]);
			ret = -EINVAL;
		} else if (*n == max) {
			snprintf(err, errlen, "at most %zu ports can be watched", max);
			ret = -E2BIG;
		} else {
			/* "80,080" are one port listed twice, as "80,80" are. */
			for (j = 0; j < *n && out[j] != v; j++)
				;
			if (j == *n)
				out[(*n)++] = (uint16_t)v;
		}
	}
	kpulse__free_list(items, count);
	return ret;
}
