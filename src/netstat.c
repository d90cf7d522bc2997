// SPDX-License-Identifier: GPL-2.0
/*
 * netstat collector: the network stack's own drop, overflow and error counters, read once
 * per tick from /proc/net/{snmp,snmp6,netstat,sockstat,softnet_stat} and conntrack's
 * sysctls, in kpulse's network namespace. No per-packet program: the kernel counts these.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collector.h"
#include "kstat.h"
#include "log.h"
#include "procfs.h"

#define NETSTAT_COUNTER(var, name, labels, help)                                                   \
	static const struct metric_desc var = {name, METRIC_COUNTER, labels, help}

NETSTAT_COUNTER(listen_overflows, "kpulse_tcp_listen_overflows_total", "",
		"Connections a listening socket could not take because its accept queue was "
		"full (TcpExt ListenOverflows): the application does not accept() fast enough "
		"or its backlog is too small.");
NETSTAT_COUNTER(listen_drops, "kpulse_tcp_listen_drops_total", "",
		"SYNs and handshake-completing ACKs dropped at a listening socket for any "
		"reason, overflows included (TcpExt ListenDrops).");
NETSTAT_COUNTER(retrans_segs, "kpulse_tcp_retransmitted_segments_total", "",
		"TCP segments retransmitted (Tcp RetransSegs): segments, so a TSO packet of n "
		"segments counts n; see kpulse_tcp_retransmits_total for packets.");
NETSTAT_COUNTER(in_errs, "kpulse_tcp_in_errors_total", "",
		"TCP segments received in error, bad checksums included (Tcp InErrs).");
NETSTAT_COUNTER(out_rsts, "kpulse_tcp_out_resets_total", "",
		"TCP segments sent with the RST flag (Tcp OutRsts).");
NETSTAT_COUNTER(tcp_timeouts, "kpulse_tcp_timeouts_total", "",
		"Retransmission timer expiries on established connections, not counting SYN "
		"retries (TcpExt TCPTimeouts).");
NETSTAT_COUNTER(rcvq_drops, "kpulse_tcp_receive_queue_drops_total", "",
		"Segments dropped because the socket's receive buffer was full (TcpExt "
		"TCPRcvQDrop).");
NETSTAT_COUNTER(backlog_drops, "kpulse_tcp_backlog_drops_total", "",
		"Segments dropped because the backlog of a socket owned by a user task was full "
		"(TcpExt TCPBacklogDrop).");
NETSTAT_COUNTER(udp_in_errors, "kpulse_udp_in_errors_total", "ip",
		"UDP datagrams that could not be delivered for a reason other than no listener, "
		"buffer errors and bad checksums included (Udp/Udp6 InErrors).");
NETSTAT_COUNTER(udp_rcvbuf_errors, "kpulse_udp_receive_buffer_errors_total", "ip",
		"UDP datagrams dropped because the receiving socket's buffer was full (Udp/Udp6 "
		"RcvbufErrors).");
NETSTAT_COUNTER(udp_sndbuf_errors, "kpulse_udp_send_buffer_errors_total", "ip",
		"UDP datagrams not sent for lack of send buffer or memory (Udp/Udp6 "
		"SndbufErrors).");
NETSTAT_COUNTER(softnet_processed, "kpulse_softnet_processed_total", "cpu",
		"Packets each CPU took off its receive backlog (/proc/net/softnet_stat, 32-bit "
		"counters extended to 64 bits from the first reading).");
NETSTAT_COUNTER(softnet_dropped, "kpulse_softnet_dropped_total", "cpu",
		"Packets dropped because the CPU's receive backlog was full "
		"(net.core.netdev_max_backlog).");
NETSTAT_COUNTER(softnet_squeezed, "kpulse_softnet_times_squeezed_total", "cpu",
		"Times the CPU's receive softirq stopped with work left because it ran out of "
		"budget or time (net.core.netdev_budget, netdev_budget_usecs).");

static const struct metric_desc tcp_established = {
	"kpulse_tcp_established",
	METRIC_GAUGE,
	"",
	"TCP connections in ESTABLISHED or CLOSE-WAIT, IPv4 and IPv6 (Tcp CurrEstab).",
};
static const struct metric_desc tcp_time_wait = {
	"kpulse_tcp_time_wait",
	METRIC_GAUGE,
	"",
	"TCP connections in TIME-WAIT, IPv4 and IPv6 (/proc/net/sockstat tw).",
};
static const struct metric_desc conntrack_entries = {
	"kpulse_conntrack_entries",
	METRIC_GAUGE,
	"",
	"Connection tracking entries (net.netfilter.nf_conntrack_count), when nf_conntrack is "
	"loaded.",
};
static const struct metric_desc conntrack_limit = {
	"kpulse_conntrack_entries_limit",
	METRIC_GAUGE,
	"",
	"Most connection tracking entries before new connections are dropped "
	"(net.netfilter.nf_conntrack_max).",
};

static const struct metric_desc *const netstat_metrics[] = {
	&listen_overflows,
	&listen_drops,
	&retrans_segs,
	&in_errs,
	&out_rsts,
	&tcp_timeouts,
	&rcvq_drops,
	&backlog_drops,
	&udp_in_errors,
	&udp_rcvbuf_errors,
	&udp_sndbuf_errors,
	&softnet_processed,
	&softnet_dropped,
	&softnet_squeezed,
	&tcp_established,
	&tcp_time_wait,
	&conntrack_entries,
	&conntrack_limit,
	NULL,
};

/*
 * The /proc/net/snmp and /proc/net/netstat fields kpulse exports, and their families: one
 * entry, so one parse, per file (each is generated afresh, summing per-CPU counters).
 */
struct mib {
	const char *file; /* under <procfs>/net */
	struct snmp_field fields[8];
	const struct metric_desc *desc[8];
	const char *ip[8]; /* label value of families with an ip label, else NULL */
	size_t n;
};

static const struct mib mibs[] = {
	{"snmp",
	 {{"Tcp", "RetransSegs"},
	  {"Tcp", "InErrs"},
	  {"Tcp", "OutRsts"},
	  {"Tcp", "CurrEstab"},
	  {"Udp", "InErrors"},
	  {"Udp", "RcvbufErrors"},
	  {"Udp", "SndbufErrors"}},
	 {&retrans_segs, &in_errs, &out_rsts, &tcp_established, &udp_in_errors, &udp_rcvbuf_errors,
	  &udp_sndbuf_errors},
	 {NULL, NULL, NULL, NULL, "ipv4", "ipv4", "ipv4"},
	 7},
	{"netstat",
	 {{"TcpExt", "ListenOverflows"},
	  {"TcpExt", "ListenDrops"},
	  {"TcpExt", "TCPTimeouts"},
	  {"TcpExt", "TCPRcvQDrop"},
	  {"TcpExt", "TCPBacklogDrop"}},
	 {&listen_overflows, &listen_drops, &tcp_timeouts, &rcvq_drops, &backlog_drops},
	 {NULL},
	 5},
};
#define NMIBS (sizeof(mibs) / sizeof(mibs[0]))

static const char *const snmp6_keys[] = {"Udp6InErrors", "Udp6RcvbufErrors", "Udp6SndbufErrors"};
static const struct metric_desc *const snmp6_desc[] = {&udp_in_errors, &udp_rcvbuf_errors,
						       &udp_sndbuf_errors};
#define NSNMP6 (sizeof(snmp6_keys) / sizeof(snmp6_keys[0]))

/* One CPU's softnet counters, widened to 64 bits across 32-bit wraps. */
struct softnet_cpu {
	uint32_t last[SOFTNET_NFIELDS];
	uint64_t total[SOFTNET_NFIELDS];
	uint32_t valid; /* bit i: last[i] holds a reading */
};

enum {
	WARN_NETSTAT = 1u << 1,
	WARN_SOCKSTAT = 1u << 2,
	WARN_SOFTNET = 1u << 3,
	WARN_SOFTNET_LINE = 1u << 4,
	WARN_FIELD = 1u << 8, /* << (mib * 8 + field): 2 x 8 bits */
};

/* The files read each tick, each with its own buffer, which keeps it open (procfs_buf). */
static const char *const netstat_files[] = {
	"net/snmp",
	"net/netstat",
	"net/snmp6",
	"net/sockstat",
	"net/softnet_stat",
	"sys/net/netfilter/nf_conntrack_count",
	"sys/net/netfilter/nf_conntrack_max",
};
#define NFILES (sizeof(netstat_files) / sizeof(netstat_files[0]))

struct netstat {
	const char *procfs;
	struct procfs_buf bufs[NFILES];
	struct procfs_buf *buf; /* the one read last */
	struct softnet_cpu *cpus;
	size_t ncpus;
	uint32_t warned;
	bool conntrack_seen; /* conntrack was loaded at some tick: say once when it goes */
};

static int netstat_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct netstat *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	c->priv = n;
	n->procfs = cfg->procfs;
	return 0;
}

/* Read <procfs>/@rel (one of netstat_files) into its own buffer, n->buf. */
static int read_file(struct netstat *n, const char *rel)
{
	size_t i;

	for (i = 0; i < NFILES - 1 && strcmp(netstat_files[i], rel); i++)
		;
	n->buf = &n->bufs[i];
	return procfs__read(n->procfs, rel, n->buf);
}

/* The fields of @m from the file just read into n->buf. */
static void add_mib(struct netstat *n, const struct mib *m, int mi, struct mset *out)
{
	uint64_t vals[8];
	uint32_t found = snmp__parse(n->buf->data, m->fields, m->n, vals);
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (!(found & (1u << i))) {
			procfs__warn_once(&n->warned, WARN_FIELD << (mi * 8 + i),
					  "no %s %s in %s/net/%s; %s is not exported",
					  m->fields[i].prefix, m->fields[i].name, n->procfs,
					  m->file, m->desc[i]->name);
			continue;
		}
		if (m->ip[i])
			mset__add(out, m->desc[i], (double)vals[i], m->ip[i]);
		else
			mset__add(out, m->desc[i], (double)vals[i]);
	}
}

/*
 * /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6; -errno if snmp, the core of it,
 * cannot be read (the collector is then down).
 */
static int sample_snmp(struct netstat *n, struct mset *out)
{
	uint64_t vals6[NSNMP6];
	const char *read = NULL;
	uint32_t found6;
	size_t i;
	int err = 0;

	for (i = 0; i < NMIBS; i++) {
		if (!read || strcmp(read, mibs[i].file)) {
			char rel[32];

			snprintf(rel, sizeof(rel), "net/%s", mibs[i].file);
			read = mibs[i].file;
			err = read_file(n, rel);
			if (err && !i) {
				log__reason("failed to read %s/%s: %s", n->procfs, rel,
					    procfs__strerror(err));
				return err;
			}
			if (err)
				procfs__warn_once(&n->warned, WARN_NETSTAT,
						  "failed to read %s/%s: %s", n->procfs, rel,
						  procfs__strerror(err));
			else
				n->warned &= ~WARN_NETSTAT;
		}
		if (!err)
			add_mib(n, &mibs[i], (int)i, out);
	}
	/* IPv6 UDP has its own MIB; no file when IPv6 is off, which is no error. */
	if (read_file(n, "net/snmp6"))
		return 0;
	found6 = kv__parse(n->buf->data, snmp6_keys, NSNMP6, vals6);
	for (i = 0; i < NSNMP6; i++)
		if (found6 & (1u << i))
			mset__add(out, snmp6_desc[i], (double)vals6[i], "ipv6");
	return 0;
}

static void sample_sockstat(struct netstat *n, struct mset *out)
{
	uint64_t tw;
	int err;

	err = read_file(n, "net/sockstat");
	if (!err)
		err = sockstat__get(n->buf->data, "TCP", "tw", &tw);
	if (err) {
		procfs__warn_once(&n->warned, WARN_SOCKSTAT,
				  "no TCP tw in %s/net/sockstat (%s); "
				  "kpulse_tcp_time_wait is not exported",
				  n->procfs, procfs__strerror(err));
		return;
	}
	mset__add(out, &tcp_time_wait, (double)tw);
}

static struct softnet_cpu *softnet_cpu(struct netstat *n, int cpu)
{
	if ((size_t)cpu >= n->ncpus) {
		size_t nc = (size_t)cpu + 1;
		void *p = realloc(n->cpus, nc * sizeof(*n->cpus));

		if (!p)
			return NULL;
		n->cpus = p;
		memset(&n->cpus[n->ncpus], 0, (nc - n->ncpus) * sizeof(*n->cpus));
		n->ncpus = nc;
	}
	return &n->cpus[cpu];
}

static int sample_softnet(struct netstat *n, struct mset *out)
{
	static const struct metric_desc *const desc[SOFTNET_NFIELDS] = {
		&softnet_processed, &softnet_dropped, &softnet_squeezed};
	const char *line;
	int err, index = 0;

	err = read_file(n, "net/softnet_stat");
	if (err) {
		procfs__warn_once(&n->warned, WARN_SOFTNET,
				  "failed to read %s/net/softnet_stat: %s", n->procfs,
				  procfs__strerror(err));
		return 0;
	}
	for (line = n->buf->data; line && *line; index++) {
		const char *eol = strchr(line, '\n');
		struct softnet_cpu *sc;
		struct softnet s;
		char label[16];
		int f, cpu;

		if (softnet__parse_line(line, &s)) {
			procfs__warn_once(&n->warned, WARN_SOFTNET_LINE,
					  "skipping a line of %s/net/softnet_stat that does "
					  "not start with a hexadecimal counter",
					  n->procfs);
			line = eol ? eol + 1 : NULL;
			continue;
		}
		/* Without the CPU column, line i is CPU i: right while every CPU is online. */
		cpu = s.cpu >= 0 ? s.cpu : index;
		sc = softnet_cpu(n, cpu);
		if (!sc)
			return -ENOMEM;
		snprintf(label, sizeof(label), "%d", cpu);
		for (f = 0; f < SOFTNET_NFIELDS; f++) {
			if (!(s.present & (1u << f)))
				continue;
			/* The first reading is the base; then unsigned 32-bit differences. */
			if (sc->valid & (1u << f))
				sc->total[f] += (uint32_t)(s.v[f] - sc->last[f]);
			else
				sc->total[f] = s.v[f];
			sc->last[f] = s.v[f];
			sc->valid |= 1u << f;
			mset__add(out, desc[f], (double)sc->total[f], label);
		}
		line = eol ? eol + 1 : NULL;
	}
	return 0;
}

/* One number in a sysctl file under <procfs>/sys; -errno if absent or not a number. */
static int read_sysctl(struct netstat *n, const char *rel, uint64_t *out)
{
	const char *p;
	int err = read_file(n, rel);

	if (err)
		return err;
	p = n->buf->data;
	return procfs__u64(&p, out);
}

static void sample_conntrack(struct netstat *n, struct mset *out)
{
	uint64_t count, max;
	int err;

	err = read_sysctl(n, "sys/net/netfilter/nf_conntrack_count", &count);
	if (err) {
		/* Not loaded: nothing to report. Unloaded after we saw it: say so once. */
		if (n->conntrack_seen)
			log_info("%s/sys/net/netfilter/nf_conntrack_count is gone (%s): "
				 "nf_conntrack was unloaded",
				 n->procfs, strerror(-err));
		n->conntrack_seen = false;
		return;
	}
	n->conntrack_seen = true;
	mset__add(out, &conntrack_entries, (double)count);
	if (!read_sysctl(n, "sys/net/netfilter/nf_conntrack_max", &max))
		mset__add(out, &conntrack_limit, (double)max);
}

static int netstat_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct netstat *n = c->priv;
	int err;

	err = sample_snmp(n, out);
	if (err)
		return err;
	sample_sockstat(n, out);
	err = sample_softnet(n, out);
	sample_conntrack(n, out);
	return err;
}

static void netstat_destroy(struct collector *c)
{
	struct netstat *n = c->priv;
	size_t i;

	if (!n)
		return;
	for (i = 0; i < NFILES; i++)
		procfs__buf_free(&n->bufs[i]);
	free(n->cpus);
	free(n);
	c->priv = NULL;
}

struct collector netstat_collector = {
	.name = "netstat",
	.help = "TCP and UDP drop, overflow and error counters, softnet backlog drops and "
		"squeezes, TCP connection states and conntrack use, from /proc/net",
	.enabled = true,
	.metrics = netstat_metrics,
	.init = netstat_init,
	.sample = netstat_sample,
	.destroy = netstat_destroy,
};
