// SPDX-License-Identifier: GPL-2.0
/*
 * Network collector: every device's counters and state as the kernel keeps them (one
 * rtnetlink dump per tick, src/netdev.c), and with eBPF what the kernel does not break
 * down: TCP retransmits and resets, watched listening ports, and bytes per cgroup (opt-in:
 * its hooks run on every sendmsg and recvmsg).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/if.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "buf.h"
#include "cgacct.h"
#include "collector.h"
#include "filter.h"
#include "loader.h"
#include "log.h"
#include "net.h"
#include "net.skel.h"
#include "netdev.h"
#include "proc_net_tcp.h"
#include "procfs.h"
#include "rate.h"

static bool all_namespaces;
static bool cgroup_bytes;
static const char *device_include = "";
static const char *device_exclude = "";
static unsigned int cgroup_depth = 3;
static const char *cgroup_include = "";
static const char *cgroup_exclude = "";

static const struct flag net_flags[] = {
	{"collector.net.all-namespaces", FLAG_BOOL, &all_namespaces,
	 "Also export the device counters and TCP counters of other network namespaces that "
	 "have a task (devices from /proc/<pid>/net/dev), with a netns label (the namespace's "
	 "inode number) on every series of those families"},
	{"collector.net.device-include", FLAG_STRING, &device_include,
	 "Regex of network devices to export (anchored; empty: all)"},
	{"collector.net.device-exclude", FLAG_STRING, &device_exclude,
	 "Regex of network devices not to export (anchored)"},
	{"collector.net.cgroups", FLAG_BOOL, &cgroup_bytes,
	 "Count socket bytes per cgroup (kpulse_cgroup_network_*) with eBPF on sock_send_length "
	 "and sock_recv_length, which run on every sendmsg and recvmsg: measured +8% CPU on a 64 B "
	 "UDP send+receive loop on loopback, where any program on those hooks costs +6%"},
	{"collector.net.cgroup-depth", FLAG_UINT, &cgroup_depth,
	 "Roll cgroup network bytes up to this many path components (0: everything in /)"},
	{"collector.net.cgroup-include", FLAG_STRING, &cgroup_include,
	 "Regex of rolled-up cgroup paths to export (anchored; empty: all)"},
	{"collector.net.cgroup-exclude", FLAG_STRING, &cgroup_exclude,
	 "Regex of rolled-up cgroup paths not to export (anchored)"},
	{NULL},
};

#define SRC " (the kernel's device statistics, as /proc/net/dev and node_exporter count them)."

/* The device counters, in the order of enum netdev_counter, for one label set. */
#define DEV_COUNTERS(labels)                                                                       \
	{                                                                                          \
		{"kpulse_network_receive_bytes_total", METRIC_COUNTER, labels,                     \
		 "Bytes received by each network device since it was created" SRC},                \
			{"kpulse_network_receive_packets_total", METRIC_COUNTER, labels,           \
			 "Packets received by each network device" SRC},                           \
			{"kpulse_network_receive_errs_total", METRIC_COUNTER, labels,              \
			 "Receive errors of each network device: rx_errors" SRC},                  \
			{"kpulse_network_receive_drop_total", METRIC_COUNTER, labels,              \
			 "Received packets each network device dropped: rx_dropped + "             \
			 "rx_missed_errors" SRC},                                                  \
			{"kpulse_network_receive_fifo_total", METRIC_COUNTER, labels,              \
			 "Receive FIFO overruns of each network device: rx_fifo_errors" SRC},      \
			{"kpulse_network_receive_frame_total", METRIC_COUNTER, labels,             \
			 "Receive framing errors of each network device: rx_length_errors + "      \
			 "rx_over_errors + rx_crc_errors + rx_frame_errors" SRC},                  \
			{"kpulse_network_receive_multicast_total", METRIC_COUNTER, labels,         \
			 "Multicast packets received by each network device: multicast" SRC},      \
			{"kpulse_network_transmit_bytes_total", METRIC_COUNTER, labels,            \
			 "Bytes sent by each network device since it was created" SRC},            \
			{"kpulse_network_transmit_packets_total", METRIC_COUNTER, labels,          \
			 "Packets sent by each network device" SRC},                               \
			{"kpulse_network_transmit_errs_total", METRIC_COUNTER, labels,             \
			 "Transmit errors of each network device: tx_errors" SRC},                 \
			{"kpulse_network_transmit_drop_total", METRIC_COUNTER, labels,             \
			 "Packets each network device dropped on transmit: tx_dropped" SRC},       \
			{"kpulse_network_transmit_fifo_total", METRIC_COUNTER, labels,             \
			 "Transmit FIFO errors of each network device: tx_fifo_errors" SRC},       \
			{"kpulse_network_transmit_colls_total", METRIC_COUNTER, labels,            \
			 "Collisions seen by each network device: collisions" SRC},                \
			{"kpulse_network_transmit_carrier_total", METRIC_COUNTER, labels,          \
			 "Transmit carrier errors of each network device: tx_carrier_errors + "    \
			 "tx_aborted_errors + tx_window_errors + tx_heartbeat_errors" SRC},        \
	}

static const struct metric_desc dev_counters[][NETDEV_NCOUNTERS] = {
	DEV_COUNTERS("device"),
	DEV_COUNTERS("device,netns"),
};

/* Rates of the first four counters above: the same counter, over the last interval. */
static const enum netdev_counter rated[] = {
	NETDEV_RX_BYTES,
	NETDEV_RX_PACKETS,
	NETDEV_TX_BYTES,
	NETDEV_TX_PACKETS,
};

#define RATE_HELP " per second by each network device over the last sampler interval."
#define DEV_RATES(labels)                                                                          \
	{                                                                                          \
		{"kpulse_network_receive_bytes_per_second", METRIC_GAUGE, labels,                  \
		 "Bytes received" RATE_HELP, METRIC_HISTORY},                                      \
			{"kpulse_network_receive_packets_per_second", METRIC_GAUGE, labels,        \
			 "Packets received" RATE_HELP, METRIC_HISTORY},                            \
			{"kpulse_network_transmit_bytes_per_second", METRIC_GAUGE, labels,         \
			 "Bytes sent" RATE_HELP, METRIC_HISTORY},                                  \
			{"kpulse_network_transmit_packets_per_second", METRIC_GAUGE, labels,       \
			 "Packets sent" RATE_HELP, METRIC_HISTORY},                                \
	}

static const struct metric_desc dev_rates[][4] = {
	DEV_RATES("device"),
	DEV_RATES("device,netns"),
};

/* Device state, kpulse's own namespace only (rtnetlink and ethtool), node_exporter's names. */
enum dev_state { STATE_INFO, STATE_UP, STATE_MTU, STATE_SPEED, NSTATES };

#define DEV_STATES(labels, info_labels)                                                            \
	{                                                                                          \
		{"kpulse_network_info", METRIC_INFO, info_labels,                                  \
		 "Constant 1 for each network device, labeled with its hardware and broadcast "    \
		 "addresses, duplex (ethtool, \"\" when unknown or down), alias and operational "  \
		 "state, as /sys/class/net/<device> shows them (rtnetlink)."},                     \
			{"kpulse_network_up", METRIC_GAUGE, labels,                                \
			 "1 when the network device's operational state is \"up\", else 0 "        \
			 "(rtnetlink "                                                             \
			 "IFLA_OPERSTATE, /sys/class/net/<device>/operstate).",                    \
			 METRIC_MERGE_MAX},                                                        \
			{"kpulse_network_mtu_bytes", METRIC_GAUGE, labels,                         \
			 "MTU of each network device (rtnetlink IFLA_MTU).", METRIC_MERGE_MAX},    \
			{"kpulse_network_speed_bytes", METRIC_GAUGE, labels,                       \
			 "Link speed of each network device that is up and knows it, in bytes "    \
			 "per second "                                                             \
			 "(ethtool link settings: /sys/class/net/<device>/speed in Mb/s, times "   \
			 "125000).",                                                               \
			 METRIC_MERGE_MAX},                                                        \
	}

static const struct metric_desc dev_states[][NSTATES] = {
	DEV_STATES("device", "device,address,broadcast,duplex,ifalias,operstate"),
	DEV_STATES("device,netns", "device,address,broadcast,duplex,ifalias,operstate,netns"),
};

static const struct metric_desc tcp_families[][2] = {
	{
		{"kpulse_tcp_retransmits_total", METRIC_COUNTER, "",
		 "TCP retransmissions (eBPF, tcp_retransmit_skb: one per retransmitted skb, so a "
		 "TSO skb of several segments counts once)."},
		{"kpulse_tcp_resets_sent_total", METRIC_COUNTER, "",
		 "TCP resets sent (eBPF, tcp_send_reset)."},
	},
	{
		{"kpulse_tcp_retransmits_total", METRIC_COUNTER, "netns",
		 "TCP retransmissions (eBPF, tcp_retransmit_skb: one per retransmitted skb, so a "
		 "TSO skb of several segments counts once)."},
		{"kpulse_tcp_resets_sent_total", METRIC_COUNTER, "netns",
		 "TCP resets sent (eBPF, tcp_send_reset)."},
	},
};

static const struct metric_desc cgroup_tx_bytes = {
	"kpulse_cgroup_network_transmit_bytes_total",
	METRIC_COUNTER,
	"cgroup",
	"Bytes the tasks of each cgroup (v2, rolled up to --collector.net.cgroup-depth) sent on "
	"TCP/UDP/IP sockets: sendmsg payload (eBPF, sock_send_length; --collector.net.cgroups).",
};
static const struct metric_desc cgroup_rx_bytes = {
	"kpulse_cgroup_network_receive_bytes_total",
	METRIC_COUNTER,
	"cgroup",
	"Bytes the tasks of each cgroup (v2, rolled up to --collector.net.cgroup-depth) received "
	"from TCP/UDP/IP sockets: recvmsg payload (eBPF, sock_recv_length; "
	"--collector.net.cgroups).",
};
static const struct metric_desc tcp_listening = {
	"kpulse_tcp_listening",
	METRIC_GAUGE,
	"port",
	"1 while a TCP socket in kpulse's network namespace listens on the --port.watch port, "
	"else 0 (eBPF, inet_sock_set_state; seeded from /proc/net/tcp{,6}).",
};

static const struct metric_desc *const net_metrics[] = {
	&dev_counters[0][NETDEV_RX_BYTES],
	&dev_counters[0][NETDEV_RX_PACKETS],
	&dev_counters[0][NETDEV_RX_ERRS],
	&dev_counters[0][NETDEV_RX_DROP],
	&dev_counters[0][NETDEV_RX_FIFO],
	&dev_counters[0][NETDEV_RX_FRAME],
	&dev_counters[0][NETDEV_RX_MULTICAST],
	&dev_counters[0][NETDEV_TX_BYTES],
	&dev_counters[0][NETDEV_TX_PACKETS],
	&dev_counters[0][NETDEV_TX_ERRS],
	&dev_counters[0][NETDEV_TX_DROP],
	&dev_counters[0][NETDEV_TX_FIFO],
	&dev_counters[0][NETDEV_TX_COLLS],
	&dev_counters[0][NETDEV_TX_CARRIER],
	&dev_rates[0][0],
	&dev_rates[0][1],
	&dev_rates[0][2],
	&dev_rates[0][3],
	&dev_states[0][STATE_INFO],
	&dev_states[0][STATE_UP],
	&dev_states[0][STATE_MTU],
	&dev_states[0][STATE_SPEED],
	&cgroup_rx_bytes,
	&cgroup_tx_bytes,
	&tcp_families[0][0],
	&tcp_families[0][1],
	&tcp_listening,
	NULL,
};

/* One device as read this tick; the ethtool settings are carried over while its link holds. */
struct dev {
	__u32 netns;
	struct netdev d;
	bool settings_read; /* speed and duplex below are current */
	int speed;	    /* Mb/s, -1 unknown */
	const char *duplex; /* NULL: no link settings (down, or the driver has none) */
};

struct net {
	struct net_bpf *skel;
	const struct kpulse_config *cfg;
	int ncpus;
	__u32 self_netns;
	struct filter devices;
	bool cgroups_ok;
	struct cgacct acct;
	uint16_t ports[KPULSE_NET_MAX_PORTS];
	size_t nports;
	struct kpulse_net_tcp *tvals;
	/* rtnetlink socket of kpulse's namespace and the buffer its dumps are read into */
	int rtnl;
	uint32_t seq;
	char *rbuf;
	/*
	 * Link changes (netdev__watch_open; -1 without it) and every ifindex of the last full
	 * dump, filtered out ones too: while no link changed, a tick reads the counters alone.
	 */
	int watch;
	bool links_known;
	int *links;
	size_t nlinks, caplinks, nlinks_seen;
	uint64_t tick_seq; /* the tick being read */
	/* This tick's devices and the last tick's, sorted by (netns, name) */
	struct dev *cur, *prev;
	size_t ncur, nprev, capcur, capprev;
	uint64_t prev_seq; /* the tick prev was read at */
	/* --collector.net.all-namespaces: the iterator's output, a /proc/<tid>/net/dev */
	char *iterbuf;
	size_t itercap;
	struct procfs_buf procbuf;
	unsigned int bad_lines;
};

/* A dump answer is at most 32 KiB (netlink_dump: max_recvmsg_len, capped). */
#define RBUF_LEN (64 * 1024)

/* Every tracepoint the collector hooks, each with a <tp>_btf and a <tp>_raw twin. */
enum hook_need { HOOK_ALWAYS, HOOK_CGROUPS, HOOK_PORTS };

static const struct {
	const char *tp;
	enum hook_need need;
} hooks[] = {
	{"tcp_retransmit_skb", HOOK_ALWAYS}, {"tcp_send_reset", HOOK_ALWAYS},
	{"sock_send_length", HOOK_CGROUPS},  {"sock_recv_length", HOOK_CGROUPS},
	{"inet_sock_set_state", HOOK_PORTS},
};

#define NHOOKS (sizeof(hooks) / sizeof(hooks[0]))

static bool hook_wanted(const struct net *n, size_t i)
{
	return hooks[i].need == HOOK_ALWAYS || (hooks[i].need == HOOK_CGROUPS && n->cgroups_ok) ||
	       (hooks[i].need == HOOK_PORTS && n->nports);
}

/* Load program @name? Both twins of a hook the configuration needs, nothing else. */
static bool program_wanted(const struct net *n, const char *name)
{
	size_t len = strlen(name), h;

	if (len < 4)
		return false;
	for (h = 0; h < NHOOKS; h++)
		if (strlen(hooks[h].tp) == len - 4 && !strncmp(name, hooks[h].tp, len - 4))
			return hook_wanted(n, h);
	return false;
}

/* true if the kernel has the tracepoint @tp (its btf_trace_<tp> type is in vmlinux BTF). */
static bool has_tracepoint(const struct btf *vmlinux, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) > 0;
}

static int load_attach(void *ctx, bool *use_btf)
{
	struct net *n = ctx;
	struct bpf_program *p;
	int err, i;

	/* Open BPF application */
	n->skel = net_bpf__open();
	if (!n->skel)
		return -errno;
	/* Configure: one of each pair of twins, our namespace, watched ports, pinned maps */
	bpf_object__for_each_program(p, n->skel->obj)
	{
		bool load = p == n->skel->progs.net_ns_iter
				    ? all_namespaces
				    : program_wanted(n, bpf_program__name(p));

		bpf_program__set_autoload(p, load);
	}
	*use_btf = loader__choose_twins(n->skel->obj, *use_btf);
	n->skel->rodata->self_netns = n->self_netns;
	n->skel->rodata->nwatch = (__u32)n->nports;
	for (i = 0; i < (int)n->nports; i++)
		n->skel->rodata->watch_ports[i] = n->ports[i];
	err = loader__pin_maps(n->skel->obj, n->cfg->pin_path);
	if (err)
		return err;
	/* Load & verify BPF programs */
	err = net_bpf__load(n->skel);
	if (err)
		return err;
	/* Attach the tracepoint handlers and create the iterator link */
	err = net_bpf__attach(n->skel);
	if (err)
		log__reason("failed to attach the programs: %s", strerror(-err));
	return err;
}

static void unload(void *ctx)
{
	struct net *n = ctx;

	net_bpf__destroy(n->skel);
	n->skel = NULL;
}

/*
 * Count the listeners that existed before attach: listeners[i] holds the transitions
 * since attach, so the listeners at attach are what /proc/net/tcp shows minus those.
 * Retried while a transition races with the reading.
 */
static int seed_listeners(struct net *n)
{
	__s32 before[KPULSE_NET_MAX_PORTS], after[KPULSE_NET_MAX_PORTS];
	volatile __s32 *slot = n->skel->bss->listeners;
	int counts[KPULSE_NET_MAX_PORTS];
	const char *files[] = {"tcp", "tcp6"};
	unsigned int bad = 0;
	char path[512];
	int err, try;
	size_t i, f;

	for (try = 0; try < 10; try++) {
		memset(counts, 0, sizeof(counts));
		for (i = 0; i < n->nports; i++)
			before[i] = slot[i];
		for (f = 0; f < 2; f++) {
			snprintf(path, sizeof(path), "%s/net/%s", n->cfg->procfs, files[f]);
			err = proc_net_tcp__count_listeners(path, n->ports, n->nports, counts,
							    &bad);
			/* No IPv6 in this kernel: no tcp6 file and no listeners there. */
			if (err && !(err == -ENOENT && f == 1)) {
				log__reason("failed to read %s: %s", path, strerror(-err));
				return err;
			}
		}
		for (i = 0; i < n->nports; i++)
			after[i] = slot[i];
		if (memcmp(before, after, n->nports * sizeof(before[0])))
			continue;
		if (bad)
			log_warn("skipped %u malformed lines in %s/net/tcp{,6}", bad,
				 n->cfg->procfs);
		for (i = 0; i < n->nports; i++)
			__sync_fetch_and_add(&n->skel->bss->listeners[i], counts[i] - before[i]);
		return 0;
	}
	log__reason("failed to seed listening ports: sockets kept changing state");
	return -EAGAIN;
}

/*
 * Maps of kpulse versions that counted device traffic with eBPF: no program uses them
 * now, and a pinned leftover would only mislead someone reading the pin directory.
 */
static void unpin_old_maps(const char *pin_path)
{
	static const char *const old[] = {"net_dev", "net_rx_pending"};
	char path[4096];
	size_t i;

	if (!pin_path || !*pin_path)
		return;
	for (i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_path, old[i]);
		if (!unlink(path))
			log_info("removed %s, a map no longer used", path);
	}
}

static int net_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct net *n = calloc(1, sizeof(*n));
	char path[512], err_text[512];
	const struct btf *vmlinux;
	struct stat st;
	bool use_btf;
	int err;

	if (!n)
		return -ENOMEM;
	c->priv = n;
	n->cfg = cfg;
	n->rtnl = -1;
	n->watch = -1;
	n->ncpus = libbpf_num_possible_cpus();
	if (n->ncpus <= 0)
		return n->ncpus ? n->ncpus : -EINVAL;
	n->tvals = calloc(n->ncpus, sizeof(*n->tvals));
	n->rbuf = malloc(RBUF_LEN);
	if (!n->tvals || !n->rbuf)
		return -ENOMEM;

	_Static_assert(KPULSE_PORT_WATCH_MAX <= KPULSE_NET_MAX_PORTS, "net watches every port");
	memcpy(n->ports, cfg->ports, cfg->nports * sizeof(cfg->ports[0]));
	n->nports = cfg->nports;
	err = filter__init(&n->devices, device_include, device_exclude, err_text, sizeof(err_text));
	if (err) {
		log__reason("--collector.net.device-include/-exclude: %s", err_text);
		return err;
	}
	/* Our own namespace: devices, TCP counters and listeners in it are exported by default. */
	snprintf(path, sizeof(path), "%s/self/ns/net", cfg->procfs);
	if (stat(path, &st)) {
		err = -errno;
		log__reason("failed to stat %s: %s", path, strerror(-err));
		return err;
	}
	n->self_netns = (__u32)st.st_ino;
	/* The device statistics: an unprivileged socket, usable after privileges are dropped. */
	n->rtnl = netdev__open();
	if (n->rtnl < 0) {
		log__reason("failed to open a NETLINK_ROUTE socket: %s", strerror(-n->rtnl));
		return n->rtnl;
	}
	/* Without it every tick dumps the whole device list, as correct and dearer. */
	n->watch = netdev__watch_open();
	if (n->watch < 0)
		log_debug("no link change notifications (%s): a full device dump every tick",
			  strerror(-n->watch));
	/*
	 * Per-cgroup bytes (opt-in: their programs sit on the sendmsg/recvmsg path) need cgroup
	 * v2; without it the other families still work.
	 */
	if (cgroup_bytes) {
		err = cgacct__init(&n->acct, 2, cfg->procfs, cgroup_depth, cgroup_include,
				   cgroup_exclude, err_text, sizeof(err_text));
		if (err == -EINVAL) {
			log__reason("--collector.net.cgroup-include/-exclude: %s", err_text);
			return err;
		}
		n->cgroups_ok = !err;
		if (err)
			log_warn("no per-cgroup bytes: %s", err_text);
	}
	/* sock_{send,recv}_length came with Linux 6.3; older kernels get the rest. */
	vmlinux = loader__vmlinux_btf();
	if (!vmlinux) {
		err = -errno;
		log__reason("failed to load the kernel's BTF: %s", strerror(-err));
		return err;
	}
	if (n->cgroups_ok && (!has_tracepoint(vmlinux, "sock_send_length") ||
			      !has_tracepoint(vmlinux, "sock_recv_length"))) {
		log_warn("no per-cgroup bytes: this kernel has no sock_send_length / "
			 "sock_recv_length tracepoints (Linux 6.3 and later have them)");
		cgacct__free(&n->acct);
		n->cgroups_ok = false;
	}

	unpin_old_maps(cfg->pin_path);
	err = loader__load_twins(load_attach, unload, n, &use_btf);
	if (err) {
		log__reason("failed to load and attach the programs: %s", strerror(-err));
		return err;
	}
	if (n->nports) {
		err = seed_listeners(n);
		if (err)
			return err;
	}
	log_debug("attached as %s", use_btf ? "tp_btf" : "raw_tp");
	return 0;
}

/* Where the devices of one namespace go while they are read. */
struct dev_sink {
	struct net *n;
	__u32 netns;
	bool own; /* kpulse's namespace, by rtnetlink: keep every ifindex in n->links */
};

static int add_dev(const struct netdev *d, void *ctx)
{
	struct dev_sink *s = ctx;
	struct net *n = s->n;

	if (s->own) {
		if (array__grow((void **)&n->links, &n->caplinks, n->nlinks + 1, sizeof(*n->links)))
			return -ENOMEM;
		n->links[n->nlinks++] = d->ifindex;
	}
	if (!filter__match(&n->devices, d->name))
		return 0;
	if (array__grow((void **)&n->cur, &n->capcur, n->ncur + 1, sizeof(*n->cur)))
		return -ENOMEM;
	memset(&n->cur[n->ncur], 0, sizeof(n->cur[0]));
	n->cur[n->ncur].netns = s->netns;
	n->cur[n->ncur].d = *d;
	n->ncur++;
	return 0;
}

/* The counters of one device of the stats dump, onto its entry of the last tick. */
static int add_stats(const struct netdev *d, void *ctx)
{
	struct net *n = ctx;
	size_t i;

	for (i = 0; i < n->nlinks && n->links[i] != d->ifindex; i++)
		;
	if (i == n->nlinks)
		return -ESTALE; /* a device the last full dump did not list */
	n->nlinks_seen++;
	for (i = 0; i < n->nprev; i++)
		if (n->prev[i].netns == n->self_netns && n->prev[i].d.ifindex == d->ifindex)
			break;
	if (i == n->nprev)
		return 0; /* filtered out */
	if (array__grow((void **)&n->cur, &n->capcur, n->ncur + 1, sizeof(*n->cur)))
		return -ENOMEM;
	n->cur[n->ncur] = n->prev[i];
	memcpy(n->cur[n->ncur].d.c, d->c, sizeof(d->c));
	n->ncur++;
	return 0;
}

/*
 * No link changed since the last full dump (and the last tick read it): the devices, names
 * and states are the last tick's, only the counters are read, with RTM_GETSTATS. -ESTALE
 * if the device set is not the one of that dump after all.
 */
static int read_stats(struct net *n)
{
	int err;

	if (n->prev_seq + 1 != n->tick_seq)
		return -ESTALE;
	n->ncur = 0;
	n->nlinks_seen = 0;
	err = netdev__dump_stats(n->rtnl, &n->seq, n->rbuf, RBUF_LEN, add_stats, n);
	if (!err && n->nlinks_seen != n->nlinks)
		err = -ESTALE;
	return err;
}

/* kpulse's own namespace: one RTM_GETLINK dump, again if the device list changed meanwhile. */
static int read_own(struct net *n)
{
	struct dev_sink sink = {n, n->self_netns, true};
	int err = -EAGAIN, try, changed = 1;

	if (n->rtnl < 0 && (n->rtnl = netdev__open()) < 0)
		return n->rtnl;
	/* Read the notifications first: a change after this shows in the dump or next tick. */
	if (n->watch >= 0)
		changed = netdev__watch_changed(n->watch, n->rbuf, RBUF_LEN);
	if (n->links_known && !changed) {
		err = read_stats(n);
		if (!err)
			return 0;
		if (err != -ESTALE && err != -EAGAIN)
			log_debug("failed to dump the device counters: %s", strerror(-err));
		/* A dump left half-read would answer (or refuse, EBUSY) the next: start afresh. */
		close(n->rtnl);
		n->rtnl = netdev__open();
		if (n->rtnl < 0)
			return n->rtnl;
	}
	n->links_known = false;
	err = -EAGAIN;
	for (try = 0; try < 3 && err == -EAGAIN; try++) {
		n->ncur = 0;
		n->nlinks = 0;
		err = netdev__dump(n->rtnl, &n->seq, n->rbuf, RBUF_LEN, add_dev, &sink);
	}
	n->links_known = !err && n->watch >= 0 && changed >= 0;
	if (err == -EAGAIN)
		return 0; /* still changing: take the last dump (doubles are dropped later) */
	if (err && err != -ENOMEM) {
		/* A dump left half-read would answer the next request: start afresh. */
		close(n->rtnl);
		n->rtnl = netdev__open();
	}
	return err;
}

static int cmp_task(const void *a, const void *b)
{
	const struct kpulse_net_ns_task *x = a, *y = b;

	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/*
 * Other namespaces: the task iterator names one task in each (and kpulse's namespace in
 * none); /proc/<tid>/net/dev shows that task's namespace to any user, where opening the
 * namespace itself (setns, /proc/<pid>/ns/net) needs privileges kpulse has dropped. A
 * namespace without tasks (only bind-mounted, `ip netns add` with nothing running in it)
 * is not seen. Devices are whatever the file lists now, so a deleted device is gone at
 * the next tick.
 */
static int read_others(struct net *n)
{
	struct kpulse_net_ns_task *tasks;
	size_t len = 0, ntasks, i, j, k;
	unsigned int bad = 0;
	char rel[32];
	int err;

	err = loader__read_iter(n->skel->links.net_ns_iter, &n->iterbuf, &n->itercap, &len);
	if (err)
		return err;
	tasks = (struct kpulse_net_ns_task *)n->iterbuf;
	ntasks = len / sizeof(*tasks);
	if (ntasks)
		qsort(tasks, ntasks, sizeof(*tasks), cmp_task);
	for (i = 0; i < ntasks; i = j) {
		struct dev_sink sink = {n, tasks[i].netns};

		for (j = i; j < ntasks && tasks[j].netns == tasks[i].netns; j++)
			;
		/* The first of its tasks that is still there (a few tries; else next tick). */
		for (k = i; k < j && k < i + 4; k++) {
			snprintf(rel, sizeof(rel), "%u/net/dev", tasks[k].tid);
			if (procfs__read(n->cfg->procfs, rel, &n->procbuf))
				continue;
			err = netdev__parse_proc(n->procbuf.data, add_dev, &sink, &bad);
			if (err)
				return err;
			break;
		}
	}
	if (bad && !n->bad_lines)
		log_warn("skipped %u malformed lines of /proc/<pid>/net/dev", bad);
	n->bad_lines += bad;
	return 0;
}

static int cmp_dev(const void *a, const void *b)
{
	const struct dev *x = a, *y = b;

	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	return strcmp(x->d.name, y->d.name);
}

/*
 * Speed and duplex, from ethtool when the device is new or its link changed (flags,
 * operational state, carrier changes), else as last read: ETHTOOL_GLINKSETTINGS takes
 * the RTNL lock and some drivers ask their firmware, too much for every device and tick.
 * A device that is down has none, as sysfs (which answers EINVAL then).
 */
static void link_settings(struct net *n, struct dev *cur, const struct dev *prev)
{
	const unsigned int link_flags = IFF_UP | IFF_RUNNING | IFF_LOWER_UP;

	if (prev && prev->settings_read && prev->d.ifindex == cur->d.ifindex &&
	    !((prev->d.flags ^ cur->d.flags) & link_flags) &&
	    prev->d.operstate == cur->d.operstate &&
	    prev->d.carrier_changes == cur->d.carrier_changes) {
		cur->speed = prev->speed;
		cur->duplex = prev->duplex;
		cur->settings_read = true;
		return;
	}
	cur->speed = -1;
	cur->duplex = NULL;
	if (!(cur->d.flags & IFF_UP) ||
	    netdev__link_settings(n->rtnl, cur->d.name, &cur->speed, &cur->duplex))
		cur->speed = -1;
	cur->settings_read = true;
}

static void export_dev(struct net *n, struct dev *cur, const struct dev *prev, const struct tick *t,
		       struct mset *out)
{
	const int ns = all_namespaces;
	const struct netdev *d = &cur->d;
	char netns[16];
	size_t i;
	double r;

	snprintf(netns, sizeof(netns), "%u", cur->netns);
	for (i = 0; i < NETDEV_NCOUNTERS; i++)
		mset__add(out, &dev_counters[ns][i], (double)d->c[i], d->name, netns);
	/* A rate needs the reading of the tick just before this one. */
	if (prev && n->prev_seq + 1 == t->seq)
		for (i = 0; i < sizeof(rated) / sizeof(rated[0]); i++)
			if (rate__per_second(prev->d.c[rated[i]], d->c[rated[i]], t->elapsed_ns,
					     &r))
				mset__add(out, &dev_rates[ns][i], r, d->name, netns);
	if (!d->has_info)
		return;
	link_settings(n, cur, prev);
	mset__add(out, &dev_states[ns][STATE_INFO], 1.0, d->name, d->address, d->broadcast,
		  cur->duplex ? cur->duplex : "", d->ifalias, netdev__operstate_name(d->operstate),
		  netns);
	mset__add(out, &dev_states[ns][STATE_UP], d->operstate == IF_OPER_UP ? 1.0 : 0.0, d->name,
		  netns);
	mset__add(out, &dev_states[ns][STATE_MTU], (double)d->mtu, d->name, netns);
	if (cur->speed >= 0)
		mset__add(out, &dev_states[ns][STATE_SPEED], (double)cur->speed * 125000.0, d->name,
			  netns);
}

/*
 * Devices: every device the kernel lists now, idle or not, with its counters since it was
 * created, exactly what /sys/class/net/<dev>/statistics reads at the same moment.
 */
static int sample_devices(struct net *n, const struct tick *t, struct mset *out)
{
	size_t i, j;
	int err;

	n->tick_seq = t->seq;
	err = read_own(n);
	if (!err && all_namespaces)
		err = read_others(n);
	if (err)
		return err;
	if (n->ncur)
		qsort(n->cur, n->ncur, sizeof(*n->cur), cmp_dev);
	for (i = 0, j = 0; i < n->ncur; i++) {
		const struct dev *prev;

		/* Listed twice by a dump the device list changed under: keep one. */
		if (i + 1 < n->ncur && !cmp_dev(&n->cur[i], &n->cur[i + 1]))
			continue;
		n->cur[j] = n->cur[i];
		prev = n->nprev ? bsearch(&n->cur[j], n->prev, n->nprev, sizeof(*n->prev), cmp_dev)
				: NULL;
		export_dev(n, &n->cur[j], prev, t, out);
		j++;
	}
	n->ncur = j;
	/* This tick's devices become the previous ones; nothing of a gone device is kept. */
	{
		struct dev *tp = n->prev;
		size_t tc = n->capprev;

		n->prev = n->cur;
		n->nprev = n->ncur;
		n->capprev = n->capcur;
		n->cur = tp;
		n->capcur = tc;
		n->ncur = 0;
		n->prev_seq = t->seq;
	}
	return 0;
}

/* Per cgroup, through the cgroup ledger (cgacct.h); the map value is {tx, rx}. */
static int sample_cgroups(struct net *n, struct mset *out)
{
	size_t i;
	int err;

	/* On a failed read the labels keep their last totals: exported, and the error told. */
	err = cgacct__sample_map(&n->acct, n->skel->maps.net_cgroup);
	for (i = 0; i < n->acct.nlabels; i++) {
		const struct cgacct_label *l = &n->acct.labels[i];

		mset__add(out, &cgroup_tx_bytes, (double)l->total[0], l->name);
		mset__add(out, &cgroup_rx_bytes, (double)l->total[1], l->name);
	}
	return err;
}

static int sample_tcp(struct net *n, struct mset *out)
{
	const int ns = all_namespaces;
	struct kpulse_net_tcp self = {};
	__u32 key;
	char netns[16];
	int err, cpu;

	loader__for_each_entry(n->skel->maps.net_tcp, &key, n->tvals, sizeof(*n->tvals) * n->ncpus,
			       err)
	{
		struct kpulse_net_tcp s = {};

		for (cpu = 0; cpu < n->ncpus; cpu++) {
			s.retransmits += n->tvals[cpu].retransmits;
			s.resets_sent += n->tvals[cpu].resets_sent;
		}
		if (key == n->self_netns) {
			self = s;
		} else if (all_namespaces) {
			snprintf(netns, sizeof(netns), "%u", key);
			mset__add(out, &tcp_families[ns][0], (double)s.retransmits, netns);
			mset__add(out, &tcp_families[ns][1], (double)s.resets_sent, netns);
		}
	}
	if (err != -ENOENT)
		return err;
	/* Our namespace always has a series, 0 until its first event. */
	snprintf(netns, sizeof(netns), "%u", n->self_netns);
	mset__add(out, &tcp_families[ns][0], (double)self.retransmits, netns);
	mset__add(out, &tcp_families[ns][1], (double)self.resets_sent, netns);
	return 0;
}

static int net_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct net *n = c->priv;
	char port[8];
	size_t i;
	int err, err2;

	err = sample_devices(n, t, out);
	if ((err2 = sample_tcp(n, out)) && !err)
		err = err2;
	if (n->cgroups_ok && (err2 = sample_cgroups(n, out)) && !err)
		err = err2;
	for (i = 0; i < n->nports; i++) {
		__s32 v = ((volatile __s32 *)n->skel->bss->listeners)[i];

		snprintf(port, sizeof(port), "%u", n->ports[i]);
		mset__add(out, &tcp_listening, v > 0 ? 1.0 : 0.0, port);
	}
	return err;
}

static void net_destroy(struct collector *c)
{
	struct net *n = c->priv;

	if (!n)
		return;
	net_bpf__destroy(n->skel);
	if (n->rtnl >= 0)
		close(n->rtnl);
	if (n->watch >= 0)
		close(n->watch);
	free(n->links);
	filter__free(&n->devices);
	cgacct__free(&n->acct);
	procfs__buf_free(&n->procbuf);
	free(n->iterbuf);
	free(n->cur);
	free(n->prev);
	free(n->rbuf);
	free(n->tvals);
	free(n);
	c->priv = NULL;
}

struct collector net_collector = {
	.name = "net",
	.help = "Network device counters and state (the kernel's statistics, rtnetlink), TCP "
		"retransmits, resets and watched listening ports (eBPF), bytes per cgroup "
		"(eBPF, opt-in: --collector.net.cgroups)",
	.enabled = true,
	.needs_bpf = true,
	.flags = net_flags,
	.metrics = net_metrics,
	.init = net_init,
	.sample = net_sample,
	.destroy = net_destroy,
};
