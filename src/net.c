// SPDX-License-Identifier: GPL-2.0
/*
 * Network collector: bytes and packets per device and per cgroup, TCP retransmits and
 * resets, and whether watched TCP ports have listeners (bpf/net.bpf.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "collector.h"
#include "filter.h"
#include "loader.h"
#include "log.h"
#include "net.h"
#include "net.skel.h"
#include "proc_net_tcp.h"
#include "rate.h"

static bool all_namespaces;
static const char *device_include = "";
static const char *device_exclude = "";
static unsigned int cgroup_depth = 3;
static const char *cgroup_include = "";
static const char *cgroup_exclude = "";
static const char *port_watch = "";

static const struct flag net_flags[] = {
	{"collector.net.all-namespaces", FLAG_BOOL, &all_namespaces,
	 "Also export devices and TCP counters of other network namespaces, with a netns label "
	 "(the namespace's inode number) on every series of those families"},
	{"collector.net.device-include", FLAG_STRING, &device_include,
	 "Regex of network devices to export (anchored; empty: all)"},
	{"collector.net.device-exclude", FLAG_STRING, &device_exclude,
	 "Regex of network devices not to export (anchored)"},
	{"collector.net.cgroup-depth", FLAG_UINT, &cgroup_depth,
	 "Roll cgroup network bytes up to this many path components (0: everything in /)"},
	{"collector.net.cgroup-include", FLAG_STRING, &cgroup_include,
	 "Regex of rolled-up cgroup paths to export (anchored; empty: all)"},
	{"collector.net.cgroup-exclude", FLAG_STRING, &cgroup_exclude,
	 "Regex of rolled-up cgroup paths not to export (anchored)"},
	{"port.watch", FLAG_STRING, &port_watch,
	 "Comma-separated TCP ports: kpulse_tcp_listening{port} is 1 while a socket in kpulse's "
	 "network namespace listens on it"},
	{NULL},
};

#define DEV_DESC(var, name, labels, help)                                                          \
	static const struct metric_desc var = {name, METRIC_COUNTER, labels, help}
#define RATE_DESC(var, name, labels, help)                                                         \
	static const struct metric_desc var = {name, METRIC_GAUGE, labels, help, METRIC_HISTORY}

/* Default label set, and the same families with a netns label for --all-namespaces. */
#define NET_FAMILIES(sfx, labels, tcp_labels)                                                      \
	DEV_DESC(rx_bytes##sfx, "kpulse_network_receive_bytes_total", labels,                      \
		 "Bytes received by each network device, as its driver counts them: Ethernet "     \
		 "header included, except on lo (eBPF, driver hand-off, before GRO).");            \
	DEV_DESC(rx_packets##sfx, "kpulse_network_receive_packets_total", labels,                  \
		 "Packets received by each network device (eBPF: napi_gro_receive, netif_rx, "     \
		 "netif_receive_skb entry: every frame the driver hands over, before GRO).");      \
	DEV_DESC(tx_bytes##sfx, "kpulse_network_transmit_bytes_total", labels,                     \
		 "Bytes each network device's driver accepted for sending, counted like the "      \
		 "receive bytes (eBPF, net_dev_xmit with NETDEV_TX_OK).");                         \
	DEV_DESC(tx_packets##sfx, "kpulse_network_transmit_packets_total", labels,                 \
		 "Packets each network device's driver accepted for sending (eBPF, net_dev_xmit "  \
		 "with NETDEV_TX_OK; a GSO packet counts once).");                                 \
	RATE_DESC(rx_bytes_rate##sfx, "kpulse_network_receive_bytes_per_second", labels,           \
		  "Bytes received per second by each network device over the last sampler "        \
		  "interval.");                                                                    \
	RATE_DESC(rx_packets_rate##sfx, "kpulse_network_receive_packets_per_second", labels,       \
		  "Packets received per second by each network device over the last sampler "      \
		  "interval.");                                                                    \
	RATE_DESC(tx_bytes_rate##sfx, "kpulse_network_transmit_bytes_per_second", labels,          \
		  "Bytes sent per second by each network device over the last sampler "            \
		  "interval.");                                                                    \
	RATE_DESC(tx_packets_rate##sfx, "kpulse_network_transmit_packets_per_second", labels,      \
		  "Packets sent per second by each network device over the last sampler "          \
		  "interval.");                                                                    \
	DEV_DESC(tcp_retransmits##sfx, "kpulse_tcp_retransmits_total", tcp_labels,                 \
		 "TCP retransmissions (eBPF, tcp_retransmit_skb: one per retransmitted skb, so a " \
		 "TSO skb of several segments counts once).");                                     \
	DEV_DESC(tcp_resets##sfx, "kpulse_tcp_resets_sent_total", tcp_labels,                      \
		 "TCP resets sent (eBPF, tcp_send_reset).")

NET_FAMILIES(, "device", "");
NET_FAMILIES(_ns, "device,netns", "netns");

static const struct metric_desc cgroup_rx_bytes = {
	"kpulse_cgroup_network_receive_bytes_total",
	METRIC_COUNTER,
	"cgroup",
	"Bytes the tasks of each cgroup (v2, rolled up to --collector.net.cgroup-depth) received "
	"from TCP/UDP/IP sockets: recvmsg payload (eBPF, sock_recv_length).",
};
static const struct metric_desc cgroup_tx_bytes = {
	"kpulse_cgroup_network_transmit_bytes_total",
	METRIC_COUNTER,
	"cgroup",
	"Bytes the tasks of each cgroup (v2, rolled up to --collector.net.cgroup-depth) sent on "
	"TCP/UDP/IP sockets: sendmsg payload (eBPF, sock_send_length).",
};
static const struct metric_desc tcp_listening = {
	"kpulse_tcp_listening",
	METRIC_GAUGE,
	"port",
	"1 while a TCP socket in kpulse's network namespace listens on the --port.watch port, "
	"else 0 (eBPF, inet_sock_set_state; seeded from /proc/net/tcp{,6}).",
};

static const struct metric_desc *const net_metrics[] = {
	&rx_bytes,	  &rx_packets,
	&tx_bytes,	  &tx_packets,
	&rx_bytes_rate,	  &rx_packets_rate,
	&tx_bytes_rate,	  &tx_packets_rate,
	&cgroup_rx_bytes, &cgroup_tx_bytes,
	&tcp_retransmits, &tcp_resets,
	&tcp_listening,	  NULL,
};

struct dev_prev {
	struct kpulse_net_dev_key key;
	struct kpulse_net_dev sum;
	uint64_t seen; /* tick seq when last read */
};

/* One exported cgroup label: what removed cgroups left behind, and this tick's sum. */
struct cg_label {
	char *label;
	uint64_t carried_tx, carried_rx;
	uint64_t tx, rx;
};

/* A cgroup seen alive, with the label its bytes go to (NULL: filtered out). */
struct cg_known {
	uint64_t id;
	char *label;
};

struct net {
	struct net_bpf *skel;
	const struct kpulse_config *cfg;
	int ncpus;
	__u32 self_netns;
	struct filter devices;
	struct cgroups cgroups;
	bool cgroups_ok;
	uint16_t ports[KPULSE_NET_MAX_PORTS];
	size_t nports;
	struct kpulse_net_dev *dvals;
	struct kpulse_net_cgroup *cvals;
	struct kpulse_net_tcp *tvals;
	struct bpf_link *iter; /* net_ns_iter, with --collector.net.all-namespaces */
	struct dev_prev *prev;
	size_t nprev, capprev;
	struct cg_label *labels;
	size_t nlabels;
	struct cg_known *known;
	size_t nknown;
};

/* Every tracepoint the collector hooks, each with a <tp>_btf and a <tp>_raw twin. */
enum hook_need { HOOK_ALWAYS, HOOK_CGROUPS, HOOK_PORTS };

static const struct {
	const char *tp;
	enum hook_need need;
} hooks[] = {
	{"napi_gro_receive_entry", HOOK_ALWAYS},
	{"napi_gro_frags_entry", HOOK_ALWAYS},
	{"netif_receive_skb_entry", HOOK_ALWAYS},
	{"netif_receive_skb_list_entry", HOOK_ALWAYS},
	/* Attached in this order: a netif_rx() return must never be missed after its entry. */
	{"netif_rx_exit", HOOK_ALWAYS},
	{"netif_rx_entry", HOOK_ALWAYS},
	{"net_dev_xmit", HOOK_ALWAYS},
	{"tcp_retransmit_skb", HOOK_ALWAYS},
	{"tcp_send_reset", HOOK_ALWAYS},
	{"sock_send_length", HOOK_CGROUPS},
	{"sock_recv_length", HOOK_CGROUPS},
	{"inet_sock_set_state", HOOK_PORTS},
};

#define NHOOKS (sizeof(hooks) / sizeof(hooks[0]))

static bool hook_wanted(const struct net *n, size_t i)
{
	return hooks[i].need == HOOK_ALWAYS || (hooks[i].need == HOOK_CGROUPS && n->cgroups_ok) ||
	       (hooks[i].need == HOOK_PORTS && n->nports);
}

static struct bpf_program *twin(struct net_bpf *skel, size_t i, bool btf)
{
	char name[64];

	snprintf(name, sizeof(name), "%s_%s", hooks[i].tp, btf ? "btf" : "raw");
	return bpf_object__find_program_by_name(skel->obj, name);
}

/* true if the kernel has the tracepoint @tp (its btf_trace_<tp> type is in vmlinux BTF). */
static bool has_tracepoint(const struct btf *vmlinux, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) > 0;
}

static int clear_rx_pending(struct net *n)
{
	struct kpulse_net_rx_pending *zero = calloc(n->ncpus, sizeof(*zero));
	__u32 key = 0;
	int err = 0;

	if (!zero)
		return -ENOMEM;
	if (bpf_map__update_elem(n->skel->maps.net_rx_pending, &key, sizeof(key), zero,
				 sizeof(*zero) * n->ncpus, 0))
		err = -errno;
	free(zero);
	return err;
}

static int load_attach(struct net *n, bool use_btf)
{
	struct bpf_program *p;
	size_t h;
	int err, i;

	/* Open BPF application */
	n->skel = net_bpf__open();
	if (!n->skel)
		return -errno;
	/* Configure: one of each pair of twins, our namespace, watched ports, pinned maps */
	for (h = 0; h < NHOOKS; h++) {
		struct bpf_program *btf = twin(n->skel, h, true), *raw = twin(n->skel, h, false);

		if (!btf || !raw)
			return -ENOENT; /* hooks[] and bpf/net.bpf.c disagree */
		bpf_program__set_autoload(btf, hook_wanted(n, h) && use_btf);
		bpf_program__set_autoload(raw, hook_wanted(n, h) && !use_btf);
	}
	bpf_program__set_autoload(n->skel->progs.net_ns_iter, all_namespaces);
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
	/* No netif_rx() is pending as far as a fresh (or reused pinned) stack knows. */
	err = clear_rx_pending(n);
	if (err)
		return err;
	/* Attach tracepoint handlers, in the order of hooks[] */
	for (h = 0; h < NHOOKS; h++) {
		struct bpf_link *link;

		if (!hook_wanted(n, h))
			continue;
		p = twin(n->skel, h, use_btf);
		link = bpf_program__attach(p);
		if (!link) {
			err = -errno;
			log_error("failed to attach %s: %s", bpf_program__name(p), strerror(-err));
			return err;
		}
		/* The skeleton's links are destroyed with it; keep this one the same way. */
		for (i = 0; i < n->skel->skeleton->prog_cnt; i++)
			if (*n->skel->skeleton->progs[i].prog == p)
				*n->skel->skeleton->progs[i].link = link;
	}
	/* The namespace iterator is read, never triggered by an event */
	if (all_namespaces) {
		n->iter = bpf_program__attach_iter(n->skel->progs.net_ns_iter, NULL);
		if (!n->iter) {
			err = -errno;
			log_error("failed to attach net_ns_iter: %s", strerror(-err));
			return err;
		}
	}
	return 0;
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
				log_error("failed to read %s: %s", path, strerror(-err));
				return err;
			}
		}
		for (i = 0; i < n->nports; i++)
			after[i] = slot[i];
		if (memcmp(before, after, n->nports * sizeof(before[0])))
			continue;
		if (bad)
			log_warn("net: skipped %u malformed lines in %s/net/tcp{,6}", bad,
				 n->cfg->procfs);
		for (i = 0; i < n->nports; i++)
			__sync_fetch_and_add(&n->skel->bss->listeners[i], counts[i] - before[i]);
		return 0;
	}
	log_error("failed to seed listening ports: sockets kept changing state");
	return -EAGAIN;
}

static int net_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct net *n = calloc(1, sizeof(*n));
	char path[512], err_text[512];
	struct btf *vmlinux;
	struct stat st;
	bool use_btf;
	size_t h;
	int err;

	if (!n)
		return -ENOMEM;
	c->priv = n;
	n->cfg = cfg;
	n->ncpus = libbpf_num_possible_cpus();
	if (n->ncpus <= 0)
		return n->ncpus ? n->ncpus : -EINVAL;
	n->dvals = calloc(n->ncpus, sizeof(*n->dvals));
	n->cvals = calloc(n->ncpus, sizeof(*n->cvals));
	n->tvals = calloc(n->ncpus, sizeof(*n->tvals));
	if (!n->dvals || !n->cvals || !n->tvals)
		return -ENOMEM;

	err = tcp_ports__parse(port_watch, n->ports, KPULSE_NET_MAX_PORTS, &n->nports, err_text,
			       sizeof(err_text));
	if (err) {
		log_error("--port.watch: %s", err_text);
		return err;
	}
	err = filter__init(&n->devices, device_include, device_exclude, err_text, sizeof(err_text));
	if (err) {
		log_error("--collector.net.device-include/-exclude: %s", err_text);
		return err;
	}
	/* Our own namespace: devices, TCP counters and listeners in it are exported by default. */
	snprintf(path, sizeof(path), "%s/self/ns/net", cfg->procfs);
	if (stat(path, &st)) {
		err = -errno;
		log_error("failed to stat %s: %s", path, strerror(-err));
		return err;
	}
	n->self_netns = (__u32)st.st_ino;
	/* Per-cgroup bytes need cgroup v2; without it the other families still work. */
	err = cgroups__init(&n->cgroups, cfg->procfs, cgroup_depth, cgroup_include, cgroup_exclude,
			    err_text, sizeof(err_text));
	if (err == -EINVAL) {
		log_error("--collector.net.cgroup-include/-exclude: %s", err_text);
		return err;
	}
	n->cgroups_ok = !err;
	if (err)
		log_warn("net: no per-cgroup bytes: %s", err_text);
	/* sock_{send,recv}_length came with Linux 6.3; older kernels get the rest. */
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		err = -errno;
		log_error("failed to load the kernel's BTF: %s", strerror(-err));
		return err;
	}
	if (n->cgroups_ok && (!has_tracepoint(vmlinux, "sock_send_length") ||
			      !has_tracepoint(vmlinux, "sock_recv_length"))) {
		log_warn("net: no per-cgroup bytes: this kernel has no sock_send_length / "
			 "sock_recv_length tracepoints (Linux 6.3 and later have them)");
		cgroups__free(&n->cgroups);
		n->cgroups_ok = false;
	}
	btf__free(vmlinux);

	use_btf = true;
	for (h = 0; h < NHOOKS; h++)
		if (hook_wanted(n, h))
			use_btf &= loader__probe_tp_btf(hooks[h].tp);
	err = load_attach(n, use_btf);
	if (err && use_btf) {
		log_warn("tp_btf programs failed (%s), falling back to raw_tp", strerror(-err));
		bpf_link__destroy(n->iter);
		n->iter = NULL;
		net_bpf__destroy(n->skel);
		use_btf = false;
		err = load_attach(n, false);
	}
	if (err) {
		log_error("failed to load and attach the net programs: %s", strerror(-err));
		return err;
	}
	if (n->nports) {
		err = seed_listeners(n);
		if (err)
			return err;
	}
	log_debug("net: attached as %s", use_btf ? "tp_btf" : "raw_tp");
	return 0;
}

/* A device of kpulse's namespace as sysfs shows it now. */
struct live_dev {
	__u64 id; /* inode of /sys/class/net/<name>: the kernfs id the BPF side keys by */
	char name[KPULSE_IFNAMSIZ];
};

/* The devices in kpulse's namespace, from <sysfs>/class/net. */
static int live_devices(struct net *n, struct live_dev **devs, size_t *ndevs)
{
	char path[512];
	struct dirent *de;
	struct stat st;
	size_t cap = 0;
	DIR *d;

	*devs = NULL;
	*ndevs = 0;
	snprintf(path, sizeof(path), "%s/class/net", n->cfg->sysfs);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		/* A device removed while we read the directory is simply not live. */
		if (fstatat(dirfd(d), de->d_name, &st, 0))
			continue;
		if (*ndevs == cap) {
			void *p = realloc(*devs, (cap = cap ? cap * 2 : 64) * sizeof(**devs));

			if (!p) {
				closedir(d);
				free(*devs);
				*devs = NULL;
				return -ENOMEM;
			}
			*devs = p;
		}
		(*devs)[*ndevs].id = st.st_ino;
		snprintf((*devs)[*ndevs].name, sizeof((*devs)[*ndevs].name), "%.15s", de->d_name);
		(*ndevs)++;
	}
	closedir(d);
	return 0;
}

static const struct live_dev *find_live(const struct live_dev *devs, size_t n, __u64 id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (devs[i].id == id)
			return &devs[i];
	return NULL;
}

static struct dev_prev *find_prev(struct net *n, const struct kpulse_net_dev_key *k)
{
	size_t i;

	for (i = 0; i < n->nprev; i++)
		if (!memcmp(&n->prev[i].key, k, sizeof(*k)))
			return &n->prev[i];
	return NULL;
}

static int remember(struct net *n, const struct kpulse_net_dev_key *k,
		    const struct kpulse_net_dev *sum, uint64_t seq)
{
	struct dev_prev *p = find_prev(n, k);

	if (!p) {
		if (n->nprev == n->capprev) {
			size_t cap = n->capprev ? n->capprev * 2 : 32;
			void *q = realloc(n->prev, cap * sizeof(*n->prev));

			if (!q)
				return -ENOMEM;
			n->prev = q;
			n->capprev = cap;
		}
		p = &n->prev[n->nprev++];
		p->key = *k;
	}
	p->sum = *sum;
	p->seen = seq;
	return 0;
}

/* Every key of @map, into a growing array of @ksize-byte keys. */
static int map_keys(struct bpf_map *map, size_t ksize, void **keys, size_t *nkeys)
{
	char cur[64], next[64];
	size_t cap = 0;
	void *prev = NULL;

	*keys = NULL;
	*nkeys = 0;
	while (!bpf_map__get_next_key(map, prev, next, ksize)) {
		if (*nkeys == cap) {
			void *p = realloc(*keys, (cap = cap ? cap * 2 : 64) * ksize);

			if (!p) {
				free(*keys);
				*keys = NULL;
				return -ENOMEM;
			}
			*keys = p;
		}
		memcpy((char *)*keys + *nkeys * ksize, next, ksize);
		(*nkeys)++;
		memcpy(cur, next, ksize);
		prev = cur;
	}
	return errno == ENOENT ? 0 : -errno;
}

/*
 * Inode numbers of the network namespaces that some task is in (from the net_ns_iter BPF
 * iterator) or that are bind-mounted under /run/netns (`ip netns add`). A namespace kept
 * alive only by an open file descriptor is missed: its devices' entries are then dropped
 * and start again from zero at their next packet.
 */
static int live_netns(struct net *n, __u32 **ids, size_t *nids)
{
	size_t cap = 0, len = 0;
	struct dirent *de;
	struct stat st;
	char path[512], *buf = NULL;
	int err;
	DIR *d;

	err = loader__read_iter(n->iter, &buf, &cap, &len);
	*ids = (__u32 *)buf;
	*nids = len / sizeof(**ids);
	if (err)
		return err;
	d = opendir("/run/netns");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		if (stat(path, &st))
			continue;
		if ((*nids + 1) * sizeof(**ids) > cap) {
			void *p = realloc(*ids, cap = cap ? cap * 2 : 1024); /* bytes */

			if (!p) {
				closedir(d);
				return -ENOMEM;
			}
			*ids = p;
		}
		(*ids)[(*nids)++] = (__u32)st.st_ino;
	}
	closedir(d);
	return 0;
}

static bool in_netns(const __u32 *ids, size_t n, __u32 id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static void sum_dev(const struct kpulse_net_dev *v, int ncpus, struct kpulse_net_dev *out)
{
	int cpu;

	memset(out, 0, sizeof(*out));
	for (cpu = 0; cpu < ncpus; cpu++) {
		out->rx_bytes += v[cpu].rx_bytes;
		out->rx_packets += v[cpu].rx_packets;
		out->tx_bytes += v[cpu].tx_bytes;
		out->tx_packets += v[cpu].tx_packets;
		if (!out->name[0] && v[cpu].name[0])
			memcpy(out->name, v[cpu].name, sizeof(out->name));
	}
	out->name[sizeof(out->name) - 1] = '\0';
}

static void add_rate(struct mset *out, const struct metric_desc *d, uint64_t prev, uint64_t cur,
		     const struct tick *t, const char *dev, const char *ns)
{
	double r;

	if (rate__per_second(prev, cur, t->elapsed_ns, &r))
		mset__add(out, d, r, dev, ns);
}

/* Counters and rates of one device; @ns is its namespace's label (all-namespaces only). */
static void export_dev(struct net *n, const struct kpulse_net_dev_key *k,
		       const struct kpulse_net_dev *s, const char *dev, const struct tick *t,
		       struct mset *out)
{
	const struct dev_prev *p = find_prev(n, k);
	char ns[16];

	snprintf(ns, sizeof(ns), "%u", k->netns);
	mset__add(out, all_namespaces ? &rx_bytes_ns : &rx_bytes, (double)s->rx_bytes, dev, ns);
	mset__add(out, all_namespaces ? &rx_packets_ns : &rx_packets, (double)s->rx_packets, dev,
		  ns);
	mset__add(out, all_namespaces ? &tx_bytes_ns : &tx_bytes, (double)s->tx_bytes, dev, ns);
	mset__add(out, all_namespaces ? &tx_packets_ns : &tx_packets, (double)s->tx_packets, dev,
		  ns);
	/* A rate needs the reading of the tick just before this one. */
	if (!p || p->seen + 1 != t->seq)
		return;
	add_rate(out, all_namespaces ? &rx_bytes_rate_ns : &rx_bytes_rate, p->sum.rx_bytes,
		 s->rx_bytes, t, dev, ns);
	add_rate(out, all_namespaces ? &rx_packets_rate_ns : &rx_packets_rate, p->sum.rx_packets,
		 s->rx_packets, t, dev, ns);
	add_rate(out, all_namespaces ? &tx_bytes_rate_ns : &tx_bytes_rate, p->sum.tx_bytes,
		 s->tx_bytes, t, dev, ns);
	add_rate(out, all_namespaces ? &tx_packets_rate_ns : &tx_packets_rate, p->sum.tx_packets,
		 s->tx_packets, t, dev, ns);
}

/*
 * true if the device of keys[i] no longer exists. In kpulse's namespace sysfs says so. In
 * another namespace, which kpulse cannot list, it is gone when a newer device (higher
 * kernfs id) holds its ifindex there, or when the namespace itself is gone (@ns: the live
 * namespaces, NULL when unknown).
 */
static bool dev_gone(const struct net *n, const struct kpulse_net_dev_key *keys, size_t nkeys,
		     size_t i, const struct live_dev *live, size_t nlive, const __u32 *ns,
		     size_t nns)
{
	const struct kpulse_net_dev_key *k = &keys[i];
	size_t j;

	if (k->netns == n->self_netns)
		return !find_live(live, nlive, k->dev_id);
	for (j = 0; j < nkeys; j++)
		if (keys[j].netns == k->netns && keys[j].ifindex == k->ifindex &&
		    keys[j].dev_id > k->dev_id)
			return true;
	return ns && !in_netns(ns, nns, k->netns);
}

/*
 * Devices: read the keys first, then learn which devices exist. A key read before the
 * listing whose device the listing lacks belongs to a deleted device (or to an ifindex
 * now held by a new device): that entry is deleted, so it leaves /metrics within one
 * interval and a new device never inherits its counters.
 */
static int sample_devices(struct net *n, const struct tick *t, struct mset *out)
{
	struct kpulse_net_dev_key *keys;
	struct live_dev *live = NULL;
	size_t nkeys, nlive, nns = 0, i;
	bool others = false;
	__u32 *ns = NULL;
	int err;

	err = map_keys(n->skel->maps.net_dev, sizeof(*keys), (void **)&keys, &nkeys);
	if (err)
		return err;
	err = live_devices(n, &live, &nlive);
	if (err) {
		log_error("failed to list %s/class/net: %s", n->cfg->sysfs, strerror(-err));
		goto out;
	}
	for (i = 0; i < nkeys && !others; i++)
		others = keys[i].netns != n->self_netns;
	if (others && n->iter) {
		err = live_netns(n, &ns, &nns);
		if (err) {
			log_error("failed to list network namespaces: %s", strerror(-err));
			goto out;
		}
	}
	for (i = 0; i < nkeys && !err; i++) {
		const struct kpulse_net_dev_key *k = &keys[i];
		const struct live_dev *now;
		struct kpulse_net_dev s;

		if (dev_gone(n, keys, nkeys, i, live, nlive, ns, nns)) {
			/* An object that no longer exists: its counters go with it. */
			bpf_map__delete_elem(n->skel->maps.net_dev, k, sizeof(*k), 0);
			continue;
		}
		if (bpf_map__lookup_elem(n->skel->maps.net_dev, k, sizeof(*k), n->dvals,
					 sizeof(*n->dvals) * n->ncpus, 0))
			continue; /* deleted meanwhile */
		sum_dev(n->dvals, n->ncpus, &s);
		/* The kernel captured the name at the first packet; sysfs knows a rename. */
		now = k->netns == n->self_netns ? find_live(live, nlive, k->dev_id) : NULL;
		if (now)
			memcpy(s.name, now->name, sizeof(s.name));
		if ((k->netns != n->self_netns && !all_namespaces) ||
		    !filter__match(&n->devices, s.name))
			continue;
		export_dev(n, k, &s, s.name, t, out);
		err = remember(n, k, &s, t->seq);
	}
	/* Forget devices not seen this tick. */
	for (i = 0; i < n->nprev;)
		if (n->prev[i].seen != t->seq)
			n->prev[i] = n->prev[--n->nprev];
		else
			i++;
out:
	free(keys);
	free(live);
	free(ns);
	return err;
}

static struct cg_label *find_label(struct net *n, const char *label, bool create)
{
	struct cg_label *l;
	size_t i;

	for (i = 0; i < n->nlabels; i++)
		if (!strcmp(n->labels[i].label, label))
			return &n->labels[i];
	if (!create)
		return NULL;
	l = realloc(n->labels, (n->nlabels + 1) * sizeof(*n->labels));
	if (!l)
		return NULL;
	n->labels = l;
	l = &n->labels[n->nlabels];
	memset(l, 0, sizeof(*l));
	l->label = strdup(label);
	if (!l->label)
		return NULL;
	n->nlabels++;
	return l;
}

static struct cg_known *find_known(struct net *n, uint64_t id)
{
	size_t i;

	for (i = 0; i < n->nknown; i++)
		if (n->known[i].id == id)
			return &n->known[i];
	return NULL;
}

/* Remember the label of a live cgroup, so its bytes can be carried there once it is gone. */
static int know(struct net *n, uint64_t id, const char *label)
{
	struct cg_known *k = find_known(n, id);

	if (k && (k->label == label || (k->label && label && !strcmp(k->label, label))))
		return 0;
	if (!k) {
		k = realloc(n->known, (n->nknown + 1) * sizeof(*n->known));
		if (!k)
			return -ENOMEM;
		n->known = k;
		k = &n->known[n->nknown++];
		k->id = id;
	} else {
		free(k->label);
	}
	k->label = label ? strdup(label) : NULL;
	return label && !k->label ? -ENOMEM : 0;
}

static void forget(struct net *n, struct cg_known *k)
{
	free(k->label);
	*k = n->known[--n->nknown];
}

static void sum_cgroup(const struct kpulse_net_cgroup *v, int ncpus, uint64_t *tx, uint64_t *rx)
{
	int cpu;

	*tx = *rx = 0;
	for (cpu = 0; cpu < ncpus; cpu++) {
		*tx += v[cpu].tx_bytes;
		*rx += v[cpu].rx_bytes;
	}
}

/*
 * Per cgroup, rolled up like every per-cgroup family (src/cgroup.h). The map keys are
 * read before the tree is scanned, so a key the scan does not find belongs to a removed
 * cgroup (ids are never reused): its final total is carried into its label and the entry
 * deleted, and the label's counter never goes backwards.
 */
static int sample_cgroups(struct net *n, struct mset *out)
{
	uint64_t *ids, tx, rx;
	bool scanned = false;
	size_t nids, i;
	int err;

	err = map_keys(n->skel->maps.net_cgroup, sizeof(*ids), (void **)&ids, &nids);
	if (err)
		return err;
	for (i = 0; i < n->nlabels; i++)
		n->labels[i].tx = n->labels[i].rx = 0;
	for (i = 0; i < nids && !err; i++) {
		const struct cgroup_node *node = cgroups__find(&n->cgroups, ids[i]);
		struct cg_known *k;
		struct cg_label *l;

		/* Walk the tree only for an id it has not seen (at most once a tick) ... */
		if (!node && !scanned) {
			scanned = true;
			err = cgroups__scan(&n->cgroups);
			if (err) {
				log_error("failed to scan cgroups under %s: %s", n->cgroups.mount,
					  strerror(-err));
				break;
			}
			node = cgroups__find(&n->cgroups, ids[i]);
		}
		/* ... and tell a cgroup removed since the last walk with one stat. */
		if (node && !cgroups__alive(&n->cgroups, node->path, ids[i]))
			node = NULL;

		if (bpf_map__lookup_elem(n->skel->maps.net_cgroup, &ids[i], sizeof(ids[i]),
					 n->cvals, sizeof(*n->cvals) * n->ncpus, 0))
			continue;
		sum_cgroup(n->cvals, n->ncpus, &tx, &rx);
		if (node) {
			err = know(n, ids[i], node->rolled_up);
			if (!node->rolled_up || err)
				continue;
			l = find_label(n, node->rolled_up, true);
			if (!l) {
				err = -ENOMEM;
				continue;
			}
			l->tx += tx;
			l->rx += rx;
			continue;
		}
		/* Removed: carry the total into the label it counted for, then delete. */
		k = find_known(n, ids[i]);
		l = k && k->label ? find_label(n, k->label, true) : NULL;
		if (l) {
			l->carried_tx += tx;
			l->carried_rx += rx;
		} else if (!k) {
			log_debug("net: cgroup %llu came and went between two samples",
				  (unsigned long long)ids[i]);
		}
		if (k)
			forget(n, k);
		bpf_map__delete_elem(n->skel->maps.net_cgroup, &ids[i], sizeof(ids[i]), 0);
	}
	for (i = 0; i < n->nlabels; i++) {
		const struct cg_label *l = &n->labels[i];

		mset__add(out, &cgroup_tx_bytes, (double)(l->carried_tx + l->tx), l->label);
		mset__add(out, &cgroup_rx_bytes, (double)(l->carried_rx + l->rx), l->label);
	}
	free(ids);
	return err;
}

static int sample_tcp(struct net *n, struct mset *out)
{
	struct kpulse_net_tcp self = {};
	__u32 *keys;
	size_t nkeys, i;
	char ns[16];
	int err, cpu;

	err = map_keys(n->skel->maps.net_tcp, sizeof(*keys), (void **)&keys, &nkeys);
	if (err)
		return err;
	for (i = 0; i < nkeys; i++) {
		struct kpulse_net_tcp s = {};

		if (bpf_map__lookup_elem(n->skel->maps.net_tcp, &keys[i], sizeof(keys[i]), n->tvals,
					 sizeof(*n->tvals) * n->ncpus, 0))
			continue;
		for (cpu = 0; cpu < n->ncpus; cpu++) {
			s.retransmits += n->tvals[cpu].retransmits;
			s.resets_sent += n->tvals[cpu].resets_sent;
		}
		if (keys[i] == n->self_netns) {
			self = s;
		} else if (all_namespaces) {
			snprintf(ns, sizeof(ns), "%u", keys[i]);
			mset__add(out, &tcp_retransmits_ns, (double)s.retransmits, ns);
			mset__add(out, &tcp_resets_ns, (double)s.resets_sent, ns);
		}
	}
	/* Our namespace always has a series, 0 until its first event. */
	snprintf(ns, sizeof(ns), "%u", n->self_netns);
	if (all_namespaces) {
		mset__add(out, &tcp_retransmits_ns, (double)self.retransmits, ns);
		mset__add(out, &tcp_resets_ns, (double)self.resets_sent, ns);
	} else {
		mset__add(out, &tcp_retransmits, (double)self.retransmits);
		mset__add(out, &tcp_resets, (double)self.resets_sent);
	}
	free(keys);
	return 0;
}

static int net_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct net *n = c->priv;
	char port[8];
	size_t i;
	int err;

	err = sample_devices(n, t, out);
	if (!err)
		err = sample_tcp(n, out);
	if (!err && n->cgroups_ok)
		err = sample_cgroups(n, out);
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
	size_t i;

	if (!n)
		return;
	bpf_link__destroy(n->iter);
	net_bpf__destroy(n->skel);
	filter__free(&n->devices);
	if (n->cgroups_ok)
		cgroups__free(&n->cgroups);
	for (i = 0; i < n->nlabels; i++)
		free(n->labels[i].label);
	for (i = 0; i < n->nknown; i++)
		free(n->known[i].label);
	free(n->labels);
	free(n->known);
	free(n->prev);
	free(n->dvals);
	free(n->cvals);
	free(n->tvals);
	free(n);
	c->priv = NULL;
}

struct collector net_collector = {
	.name = "net",
	.help = "Bytes and packets per network device and per cgroup, TCP retransmits, resets "
		"and watched listening ports (eBPF)",
	.enabled = true,
	.needs_bpf = true,
	.flags = net_flags,
	.metrics = net_metrics,
	.init = net_init,
	.sample = net_sample,
	.destroy = net_destroy,
};
