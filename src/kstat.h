/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure parsers for the kernel's own statistics files that the pressure, vmstat and netstat
 * collectors read: /proc/pressure/<resource> and cgroup <resource>.pressure, "key value"
 * files (/proc/vmstat, /proc/net/snmp6), the header/value line pairs of /proc/net/snmp and
 * /proc/net/netstat, /proc/net/sockstat and /proc/net/softnet_stat. Like procfs.h, each
 * takes a buffer (procfs__read fills it), and a field that is missing, cut, not a number or
 * out of range is reported absent, never made up.
 */
#ifndef KPULSE_KSTAT_H
#define KPULSE_KSTAT_H

#include <stddef.h>
#include <stdint.h>

/* Pressure stall information: "some" and "full" lines, their total= in microseconds. */
enum psi_kind {
	PSI_SOME,
	PSI_FULL,
	PSI_NKINDS,
};

struct psi {
	uint64_t total_us[PSI_NKINDS];
	uint32_t present; /* bit k: total_us[k] parsed */
};

const char *psi_kind__name(enum psi_kind k);
/* Parse a whole pressure file; -ENODATA if neither line has a total that parses. */
int psi__parse(const char *buf, struct psi *p);

/*
 * "key value" lines (/proc/vmstat, /proc/net/snmp6): for each @keys[i] found, out[i] and
 * bit i of the result. A key is matched whole; one that appears twice keeps its first value.
 * At most 32 keys.
 */
uint32_t kv__parse(const char *buf, const char *const *keys, size_t n, uint64_t *out);

/*
 * /proc/net/snmp and /proc/net/netstat: a "Prefix: Name Name ..." header line followed by a
 * "Prefix: value value ..." line. For each wanted {prefix, name}, out[i] and bit i of the
 * result. A value line with fewer values than its header, or a value that does not parse
 * (MaxConn is -1), leaves only those names absent. At most 32 fields.
 */
struct snmp_field {
	const char *prefix; /* "Tcp", "TcpExt", "Udp" */
	const char *name;   /* "RetransSegs" */
};

uint32_t snmp__parse(const char *buf, const struct snmp_field *fields, size_t n, uint64_t *out);

/*
 * /proc/net/sockstat: on the line starting "@proto:" ("TCP"), the number after the word
 * @key ("tw"); -ENOENT if there is no such line or key, -EINVAL if it is not a number.
 */
int sockstat__get(const char *buf, const char *proto, const char *key, uint64_t *out);

/*
 * One line of /proc/net/softnet_stat: 32-bit hexadecimal counters that wrap, one line per
 * online CPU. Newer kernels print the CPU number in the 13th column (offline CPUs have no
 * line, so the line number is not the CPU); without that column cpu is -1.
 */
enum softnet_field {
	SOFTNET_PROCESSED,    /* packets taken off the backlog by this CPU */
	SOFTNET_DROPPED,      /* dropped because the backlog was full (netdev_max_backlog) */
	SOFTNET_TIME_SQUEEZE, /* net_rx_action ran out of budget or time with work left */
	SOFTNET_NFIELDS,
};

struct softnet {
	uint32_t v[SOFTNET_NFIELDS];
	uint32_t present; /* bit i: v[i] parsed */
	int cpu;	  /* -1 when the line has no CPU column */
};

/* -EINVAL for a line without the first column (a blank or garbage line). */
int softnet__parse_line(const char *line, struct softnet *s);

#endif /* KPULSE_KSTAT_H */
