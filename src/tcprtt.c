// SPDX-License-Identifier: GPL-2.0
/*
 * TCP RTT collector (bpf/tcprtt.bpf.c): the smoothed round-trip time of every established
 * TCP connection, read by a socket iterator, as histograms of what is open now: all
 * connections, and those accepted on each --port.watch port.
 *
 * The iterator visits every bucket of the kernel's TCP hash tables, empty or not (262144
 * established buckets on a 24 GiB host: ~1.2 ms of CPU per walk), and every socket in
 * them, ~0.5 us each even for a TIME-WAIT one (a host that served many short connections
 * holds thousands: 5000 double the walk). So it walks once per
 * --collector.tcprtt.interval, not at all while the kernel counts no established
 * connection, and the ticks between serve the last walk's histograms again. They are gauges of the
 * sockets open at the walk, so a scrape sees a snapshot at most that old, and loses nothing a count
 * would.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collector.h"
#include "flags.h"
#include "kpulse.h"
#include "kstat.h"
#include "loader.h"
#include "log.h"
#include "proc_net_tcp.h"
#include "procfs.h"
#include "tcprtt.h"
#include "tcprtt.skel.h"

static uint64_t walk_interval_ns = 10 * 1000000000ull;

static const struct flag tcprtt_flags[] = {
	{"collector.tcprtt.interval", FLAG_DURATION, &walk_interval_ns,
	 "how often the socket iterator walks the TCP hash tables (~1.2 ms of CPU per walk with "
	 "262144 buckets, plus ~0.5 us per socket, TIME-WAIT ones included; no walk while no "
	 "connection is established); the ticks between serve the last walk. "
	 "Rounded up to a multiple of --sampler.interval; at most 1h"},
	{NULL},
};

static const struct metric_desc rtt_all = {
	"kpulse_tcp_rtt_seconds",
	METRIC_GAUGE_HISTOGRAM,
	"",
	"Smoothed round-trip time (srtt) of the TCP connections established in kpulse's network "
	"namespace at the last walk (every --collector.tcprtt.interval), both ends of local ones "
	"included: a histogram of what is open, so its count is the number of connections (eBPF "
	"iter/tcp, log2 buckets from 1 us).",
};
static const struct metric_desc rtt_port = {
	"kpulse_tcp_port_rtt_seconds",
	METRIC_GAUGE_HISTOGRAM,
	"port",
	"Smoothed round-trip time of the established connections whose local port is a "
	"--port.watch port (those its listener accepted), at the last walk.",
};

static const struct metric_desc *const tcprtt_metrics[] = {&rtt_all, &rtt_port, NULL};

struct tcprtt {
	struct tcprtt_bpf *skel;
	const char *procfs;
	struct procfs_buf snmp;
	uint16_t ports[KPULSE_TCPRTT_PORTS];
	size_t nports;
	char port_label[KPULSE_TCPRTT_PORTS][8];
	double bounds[KPULSE_TCPRTT_BOUNDS];
	char *buf;
	size_t len, cap;
	uint64_t every;	   /* walk on every @every-th tick */
	bool walked;	   /* @last holds a walk */
	uint64_t walk_seq; /* the tick it was taken at */
	struct kpulse_tcprtt_walk last;
};

/*
 * The walk interval in ticks: --collector.tcprtt.interval rounded up to a multiple of
 * --sampler.interval (@tick_ns); -EINVAL with @why filled if it is out of range.
 */
static int walk_every(uint64_t interval_ns, uint64_t tick_ns, uint64_t *every, char *why,
		      size_t len)
{
	char d[32];

	flags__format_duration(interval_ns, d, sizeof(d));
	if (!interval_ns || interval_ns > 3600 * 1000000000ull) {
		snprintf(why, len,
			 "--collector.tcprtt.interval=%s: must be more than 0 and at most 1h "
			 "(--no-collector.tcprtt turns the collector off)",
			 d);
		return -EINVAL;
	}
	*every = (interval_ns + tick_ns - 1) / tick_ns;
	return 0;
}

static int load_attach(struct tcprtt *r)
{
	struct tcprtt_bpf *skel;
	size_t i;
	int err;

	/* Open BPF application */
	r->skel = skel = tcprtt_bpf__open();
	if (!skel)
		return -errno;
	/* Configure: the watched ports. Nothing is pinned: the maps only hold one walk. */
	skel->rodata->nports = r->nports;
	for (i = 0; i < r->nports; i++)
		skel->rodata->ports[i] = r->ports[i];
	/* Load & verify BPF programs */
	err = tcprtt_bpf__load(skel);
	if (err)
		return err;
	/* Attach the iterator (it runs only when read) */
	return tcprtt_bpf__attach(skel);
}

static int tcprtt_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct tcprtt *r = calloc(1, sizeof(*r));
	char why[256];
	size_t i;
	int err;

	if (!r)
		return -ENOMEM;
	c->priv = r;
	r->procfs = cfg->procfs;
	_Static_assert(KPULSE_PORT_WATCH_MAX <= KPULSE_TCPRTT_PORTS, "tcprtt watches every port");
	memcpy(r->ports, cfg->ports, cfg->nports * sizeof(cfg->ports[0]));
	r->nports = cfg->nports;
	err = walk_every(walk_interval_ns, cfg->interval_ns, &r->every, why, sizeof(why));
	if (err) {
		log__reason("%s", why);
		return err;
	}
	if (r->every * cfg->interval_ns != walk_interval_ns) {
		char want[32], got[32], tick[32];

		flags__format_duration(walk_interval_ns, want, sizeof(want));
		flags__format_duration(r->every * cfg->interval_ns, got, sizeof(got));
		flags__format_duration(cfg->interval_ns, tick, sizeof(tick));
		log_warn("--collector.tcprtt.interval=%s: walking every %s instead, the next "
			 "multiple of --sampler.interval=%s",
			 want, got, tick);
	}
	for (i = 0; i < r->nports; i++)
		snprintf(r->port_label[i], sizeof(r->port_label[i]), "%u", r->ports[i]);
	for (i = 0; i < KPULSE_TCPRTT_BOUNDS; i++)
		r->bounds[i] = ldexp(1e-6, (int)i);
	err = load_attach(r);
	if (err)
		log__reason("failed to load the iterator: %s", strerror(-err));
	return err;
}

static void add_hist(const struct tcprtt *r, struct mset *out, const struct metric_desc *d,
		     const struct kpulse_tcprtt_hist *h, const char *port)
{
	uint64_t counts[KPULSE_TCPRTT_SLOTS];

	memcpy(counts, h->slots, sizeof(counts));
	if (port)
		mset__histogram(out, d, r->bounds, counts, KPULSE_TCPRTT_BOUNDS,
				(double)h->sum_us / 1e6, port);
	else
		mset__histogram(out, d, r->bounds, counts, KPULSE_TCPRTT_BOUNDS,
				(double)h->sum_us / 1e6);
}

/*
 * false only when the kernel counts no TCP connection in ESTABLISHED or CLOSE-WAIT in this
 * network namespace (Tcp CurrEstab of <procfs>/net/snmp, IPv4 and IPv6): the walk could
 * find no established socket, and is skipped. It visits every bucket of the established
 * hash (~1.2 ms with 262144) and every socket in it, ~0.5 us each even for a TIME-WAIT one
 * it does not report (a host that served many short connections keeps thousands). true
 * when the count cannot be read.
 */
static bool established(struct tcprtt *r)
{
	static const struct snmp_field curr_estab = {"Tcp", "CurrEstab"};
	uint64_t n;

	if (procfs__read(r->procfs, "net/snmp", &r->snmp) ||
	    !(snmp__parse(r->snmp.data, &curr_estab, 1, &n) & 1))
		return true;
	return n > 0;
}

static int tcprtt_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct tcprtt *r = c->priv;
	const struct kpulse_tcprtt_walk *w;
	size_t i;
	int err;

	/* The first tick walks, and any after a failed walk: it retries at the next tick. */
	if (r->walked && t->seq - r->walk_seq < r->every)
		goto serve;
	if (!established(r)) {
		/* Nothing to find: the walk would cost its buckets and TIME-WAIT sockets. */
		memset(&r->last, 0, sizeof(r->last));
		goto walked;
	}
	err = loader__read_iter(r->skel->links.tcprtt, &r->buf, &r->cap, &r->len);
	if (err)
		return err;
	/* One record, written when the walk ended. */
	if (r->len != sizeof(*w)) {
		log_debug("the iterator wrote %zu bytes, not one %zu-byte record", r->len,
			  sizeof(*w));
		return -EIO;
	}
	memcpy(&r->last, r->buf, sizeof(r->last));
walked:
	r->walked = true;
	r->walk_seq = t->seq;
serve:
	w = &r->last;
	add_hist(r, out, &rtt_all, &w->all, NULL);
	for (i = 0; i < r->nports; i++)
		add_hist(r, out, &rtt_port, &w->port[i], r->port_label[i]);
	return 0;
}

static void tcprtt_destroy(struct collector *c)
{
	struct tcprtt *r = c->priv;

	if (!r)
		return;
	tcprtt_bpf__destroy(r->skel);
	procfs__buf_free(&r->snmp);
	free(r->buf);
	free(r);
	c->priv = NULL;
}

struct collector tcprtt_collector = {
	.name = "tcprtt",
	.help = "Round-trip times of the established TCP connections, by a TCP socket iterator "
		"once per --collector.tcprtt.interval (eBPF, no per-packet hook)",
	.enabled = true,
	.needs_bpf = true,
	.flags = tcprtt_flags,
	.metrics = tcprtt_metrics,
	.init = tcprtt_init,
	.sample = tcprtt_sample,
	.destroy = tcprtt_destroy,
};
