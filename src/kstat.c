// SPDX-License-Identifier: GPL-2.0
/* Parsers for PSI, vmstat-style, snmp/netstat, sockstat and softnet_stat files; see kstat.h. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "kstat.h"
#include "procfs.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool ends_field(char c)
{
	return !c || c == ' ' || c == '\t' || c == '\n';
}

/* The next line after @line, or NULL at the end of the buffer. */
static const char *next_line(const char *line)
{
	const char *eol = strchr(line, '\n');

	return eol && eol[1] ? eol + 1 : NULL;
}

/* Length of the field at @p (up to a blank or the end of the line). */
static size_t field_len(const char *p)
{
	size_t n = 0;

	while (!ends_field(p[n]))
		n++;
	return n;
}

/* Step over the field at *@p and the blanks after it; false at the end of the line. */
static bool skip_field(const char **p)
{
	const char *s = *p + field_len(*p);

	while (is_blank(*s))
		s++;
	*p = s;
	return *s && *s != '\n';
}

static const char *const psi_kinds[PSI_NKINDS] = {"some", "full"};

const char *psi_kind__name(enum psi_kind k)
{
	return k < PSI_NKINDS ? psi_kinds[k] : "";
}

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=1234": only total= is used (the averages
 * are the kernel's exponential decays; kpulse takes its own ratio over each interval). */
int psi__parse(const char *buf, struct psi *p)
{
	const char *line;
	int k;

	memset(p, 0, sizeof(*p));
	for (line = *buf ? buf : NULL; line; line = next_line(line)) {
		const char *f = line;

		for (k = 0; k < PSI_NKINDS; k++)
			if (field_len(line) == 4 && !strncmp(line, psi_kinds[k], 4))
				break;
		if (k == PSI_NKINDS || p->present & (1u << k))
			continue;
		while (skip_field(&f)) {
			uint64_t v;

			if (strncmp(f, "total=", 6))
				continue;
			f += 6;
			if (!procfs__u64(&f, &v)) {
				p->total_us[k] = v;
				p->present |= 1u << k;
			}
			break;
		}
	}
	return p->present ? 0 : -ENODATA;
}

/* Index of the @len bytes at @key in @keys (of lengths @lens), or -1. */
static int find_key(const char *key, size_t len, const char *const *keys, const size_t *lens,
		    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lens[i] == len && keys[i][0] == key[0] && !memcmp(key, keys[i], len))
			return (int)i;
	return -1;
}

/* Bits 0..@n-1: every field asked for. */
static uint32_t all_of(size_t n)
{
	return n >= 32 ? UINT32_MAX : (1u << n) - 1;
}

uint32_t kv__parse(const char *buf, const char *const *keys, size_t n, uint64_t *out)
{
	uint32_t found = 0;
	const char *line;
	size_t lens[32], j;

	if (n > 32)
		n = 32;
	for (j = 0; j < n; j++)
		lens[j] = strlen(keys[j]);
	/* Each tick: stop at the last key wanted, not at the end of a 180-line file. */
	for (line = *buf ? buf : NULL; line && found != all_of(n); line = next_line(line)) {
		const char *v = line;
		uint64_t x;
		int i = find_key(line, field_len(line), keys, lens, n);

		if (i < 0 || found & (1u << i) || !skip_field(&v))
			continue;
		if (!procfs__u64(&v, &x)) {
			out[i] = x;
			found |= 1u << i;
		}
	}
	return found;
}

/*
 * "Prefix:" at @line: its length without the colon, or 0 if the line does not start with
 * a word followed by ':'.
 */
static size_t snmp_prefix(const char *line)
{
	size_t n = field_len(line);

	return n > 1 && line[n - 1] == ':' ? n - 1 : 0;
}

uint32_t snmp__parse(const char *buf, const struct snmp_field *fields, size_t n, uint64_t *out)
{
	const char *hdr, *val;
	uint32_t found = 0;
	size_t nlens[32], j;

	if (n > 32)
		n = 32;
	for (j = 0; j < n; j++)
		nlens[j] = strlen(fields[j].name);
	/*
	 * Lines come in pairs with the same prefix: names, then values. Each tick: only the
	 * pairs of a prefix asked for are walked, and the walk stops once every field is found.
	 */
	for (hdr = *buf ? buf : NULL; hdr && found != all_of(n) && (val = next_line(hdr));
	     hdr = next_line(val)) {
		size_t plen = snmp_prefix(hdr);
		const char *h = hdr, *v = val;
		uint32_t mine = 0; /* the fields not found yet with this line's prefix */
		bool more_h, more_v;

		if (!plen || snmp_prefix(val) != plen || strncmp(hdr, val, plen)) {
			/* Out of step (a cut or garbled file): resynchronise on the next line. */
			val = hdr;
			continue;
		}
		for (j = 0; j < n; j++)
			if (!(found & (1u << j)) && strlen(fields[j].prefix) == plen &&
			    !memcmp(fields[j].prefix, hdr, plen))
				mine |= 1u << j;
		more_h = mine && skip_field(&h);
		more_v = mine && skip_field(&v);
		while (more_h && more_v && (found & mine) != mine) {
			size_t i, nlen = field_len(h);

			for (i = 0; i < n; i++) {
				uint64_t x;
				const char *p = v;

				if (!(mine & (1u << i)) || found & (1u << i) || nlens[i] != nlen ||
				    fields[i].name[0] != h[0] || memcmp(fields[i].name, h, nlen))
					continue;
				if (!procfs__u64(&p, &x)) {
					out[i] = x;
					found |= 1u << i;
				}
			}
			more_h = skip_field(&h);
			more_v = skip_field(&v);
		}
	}
	return found;
}

int sockstat__get(const char *buf, const char *proto, const char *key, uint64_t *out)
{
	size_t plen = strlen(proto), klen = strlen(key);
	const char *line;

	for (line = *buf ? buf : NULL; line; line = next_line(line)) {
		const char *p = line;

		if (snmp_prefix(line) != plen || strncmp(line, proto, plen))
			continue;
		/* "TCP: inuse 4 orphan 0 tw 12 alloc 5 mem 1": word, number, word, number. */
		while (skip_field(&p)) {
			bool match = field_len(p) == klen && !strncmp(p, key, klen);

			if (!skip_field(&p))
				break;
			if (match)
				return procfs__u64(&p, out) ? -EINVAL : 0;
		}
		return -ENOENT;
	}
	return -ENOENT;
}

/* A 32-bit hexadecimal field at *@p of exactly the kernel's form: 1 to 8 hex digits. */
static int hex32(const char *p, uint32_t *out)
{
	size_t n = field_len(p), i;
	uint32_t v = 0;

	if (!n || n > 8)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = p[i];
		unsigned int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EINVAL;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

#define SOFTNET_CPU_COLUMN 12

int softnet__parse_line(const char *line, struct softnet *s)
{
	const char *p = line;
	uint32_t v;
	int col;

	memset(s, 0, sizeof(*s));
	s->cpu = -1;
	while (is_blank(*p))
		p++;
	if (hex32(p, &v))
		return -EINVAL;
	for (col = 0;; col++) {
		if (col < SOFTNET_NFIELDS && !hex32(p, &v)) {
			s->v[col] = v;
			s->present |= 1u << col;
		}
		/* Bounded by the kernel's limit on CPUs, like "cpuN" in /proc/stat. */
		if (col == SOFTNET_CPU_COLUMN && !hex32(p, &v) && v < PROCFS_MAX_CPUS)
			s->cpu = (int)v;
		if (col >= SOFTNET_CPU_COLUMN || !skip_field(&p))
			break;
	}
	return 0;
}
