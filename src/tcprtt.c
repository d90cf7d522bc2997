// SPDX-License-Identifier: GPL-2.0
/*
 * TCP RTT collector (bpf/tcprtt.bpf.c): the smoothed round-trip time of every established
 * TCP connection, read by a socket iterator once per tick, as histograms of what is open
 * now: all connections, and those accepted on each --port.watch port.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collector.h"
#include "loader.h"
#include "log.h"
#include "proc_net_tcp.h"
#include "tcprtt.h"
#include "tcprtt.skel.h"

static const struct metric_desc rtt_all = {
	"kpulse_tcp_rtt_seconds",
	METRIC_GAUGE_HISTOGRAM,
	"",
	"Smoothed round-trip time (srtt) of the TCP connections established in kpulse's network "
	"namespace at the tick, both ends of local ones included: a histogram of what is open "
	"now, so its count is the number of connections (eBPF iter/tcp, log2 buckets from "
	"1 us).",
};
static const struct metric_desc rtt_port = {
	"kpulse_tcp_port_rtt_seconds",
	METRIC_GAUGE_HISTOGRAM,
	"port",
	"Smoothed round-trip time of the established connections whose local port is a "
	"--port.watch port (those its listener accepted), at the tick.",
};

static const struct metric_desc *const tcprtt_metrics[] = {&rtt_all, &rtt_port, NULL};

struct tcprtt {
	struct tcprtt_bpf *skel;
	uint16_t ports[KPULSE_TCPRTT_PORTS];
	size_t nports;
	char port_label[KPULSE_TCPRTT_PORTS][8];
	double bounds[KPULSE_TCPRTT_BOUNDS];
	char *buf;
	size_t len, cap;
};

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
	skel->links.tcprtt = bpf_program__attach_iter(skel->progs.tcprtt, NULL);
	return skel->links.tcprtt ? 0 : -errno;
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
	err = tcp_ports__parse(cfg->port_watch, r->ports, KPULSE_TCPRTT_PORTS, &r->nports, why,
			       sizeof(why));
	if (err) {
		log_error("--port.watch: %s", why);
		return err;
	}
	for (i = 0; i < r->nports; i++)
		snprintf(r->port_label[i], sizeof(r->port_label[i]), "%u", r->ports[i]);
	for (i = 0; i < KPULSE_TCPRTT_BOUNDS; i++)
		r->bounds[i] = ldexp(1e-6, (int)i);
	err = load_attach(r);
	if (err) {
		log_error("failed to load the tcp rtt iterator: %s%s%s", strerror(-err),
			  *loader__reason() ? ": " : "", loader__reason());
		return err;
	}
	return 0;
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

static int tcprtt_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct tcprtt *r = c->priv;
	const struct kpulse_tcprtt_walk *w;
	size_t i;
	int err;

	err = loader__read_iter(r->skel->links.tcprtt, &r->buf, &r->cap, &r->len);
	if (err)
		return err;
	/* One record, written when the walk ended. */
	if (r->len != sizeof(*w)) {
		log_debug("tcprtt: the iterator wrote %zu bytes, not one %zu-byte record", r->len,
			  sizeof(*w));
		return -EIO;
	}
	w = (const struct kpulse_tcprtt_walk *)r->buf;
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
	free(r->buf);
	free(r);
	c->priv = NULL;
}

struct collector tcprtt_collector = {
	.name = "tcprtt",
	.help = "Round-trip times of the established TCP connections, by a TCP socket iterator "
		"once per tick (eBPF, no per-packet hook)",
	.enabled = true,
	.needs_bpf = true,
	.metrics = tcprtt_metrics,
	.init = tcprtt_init,
	.sample = tcprtt_sample,
	.destroy = tcprtt_destroy,
};
