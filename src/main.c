// SPDX-License-Identifier: GPL-2.0
/*
 * kpulse: parse the flags, open the listening socket, start (configure, load, attach) the
 * collectors, drop privileges, serve, tick until signalled, clean up.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "collector.h"
#include "history.h"
#include "httpd.h"
#include "loader.h"
#include "log.h"
#include "privdrop.h"
#include "proc_net_tcp.h"
#include "clock.h"
#include "sampler.h"
#include "webconfig.h"

static struct kpulse_config cfg = {
	.listen_address = ":24100",
	.telemetry_path = "/metrics",
	.interval_ns = 1000000000ull,
	.log_level = "info",
	.procfs = "/proc",
	.sysfs = "/sys",
	.rootfs = "/",
	.pin_path = "/sys/fs/bpf/kpulse",
	.max_connections = 512,
	.max_requests = 40,
	.web_config = "",
	.run_as = "nobody",
	.process_watch = "",
	.port_watch = "",
	.history_ns = 15 * 60 * 1000000000ull,
	.peak_window_ns = 15 * 1000000000ull,
	.history_max_series = 1024,
};

static bool show_help, show_version, print_doc;

static const struct flag daemon_flags[] = {
	{"web.listen-address", FLAG_STRING, &cfg.listen_address,
	 "Address to listen on for HTTP: host:port, :port or [v6]:port"},
	{"web.telemetry-path", FLAG_STRING, &cfg.telemetry_path,
	 "Path under which to expose metrics"},
	{"web.max-connections", FLAG_UINT, &cfg.max_connections,
	 "Most HTTP connections open at once, idle ones included"},
	{"web.max-requests", FLAG_UINT, &cfg.max_requests,
	 "Most HTTP requests worked on at once (waiting for a password check or being routed); "
	 "more get 503 (0 means no limit)"},
	{"web.config.file", FLAG_STRING, &cfg.web_config,
	 "Prometheus exporter-toolkit web configuration (YAML) enabling TLS and/or basic auth"},
	{"run-as", FLAG_STRING, &cfg.run_as,
	 "User to switch to, with no capabilities, once programs are attached and maps pinned "
	 "('root' keeps root)"},
	{"bpf.stats", FLAG_BOOL, &cfg.bpf_stats,
	 "Enable kernel BPF run-time statistics while kpulse runs and export them per program"},
	{"sampler.interval", FLAG_DURATION, &cfg.interval_ns,
	 "How often the collectors are sampled; rates and ratios cover one interval"},
	{"log.level", FLAG_STRING, &cfg.log_level,
	 "Only log messages at or above: error, warn, info, debug"},
	{"path.procfs", FLAG_STRING, &cfg.procfs, "procfs mountpoint"},
	{"path.sysfs", FLAG_STRING, &cfg.sysfs, "sysfs mountpoint"},
	{"path.rootfs", FLAG_STRING, &cfg.rootfs,
	 "Where the host's root filesystem is mounted (in a container): filesystems are then "
	 "the mounts of <procfs>/1/mountinfo, measured under this path"},
	{"bpf.pin-path", FLAG_STRING, &cfg.pin_path,
	 "bpffs directory where maps are pinned and reused across restarts; '' disables pinning"},
	{"port.watch", FLAG_STRING, &cfg.port_watch,
	 "Comma-separated TCP ports: kpulse_tcp_listening{port} is 1 while a socket in kpulse's "
	 "network namespace listens on it, and kpulse_tcp_port_rtt_seconds{port} has the RTTs "
	 "of the connections it accepted"},
	{"process.watch", FLAG_STRING, &cfg.process_watch,
	 "Comma-separated process names (comm) always exported, 0 when not running"},
	{"history.duration", FLAG_DURATION, &cfg.history_ns,
	 "How much of the 1-second history of the rate and ratio families to keep for "
	 "/api/v1/history and the live page at / (0 turns it off)"},
	{"history.peak-window", FLAG_DURATION, &cfg.peak_window_ns,
	 "/metrics also carries <family>_max, the highest value of each of those families "
	 "over this window; set it to the scrape interval (0 turns them off)"},
	{"history.max-series", FLAG_UINT, &cfg.history_max_series,
	 "Most series the history keeps; each costs 8 bytes per interval of the duration"},
	{"collector.strict", FLAG_BOOL, &cfg.strict,
	 "Exit when any enabled collector fails to start, instead of reporting it down"},
	{"help", FLAG_BOOL, &show_help, "Show this help and exit", true},
	{"version", FLAG_BOOL, &show_version, "Show the version and exit", true},
	{"print-metrics-doc", FLAG_BOOL, &print_doc,
	 "Print the metric catalogue as Markdown (docs/METRICS.md) and exit", true},
	{NULL},
};

static void usage(FILE *out)
{
	struct collector *const *c;
	char name[64];

	fprintf(out,
		"usage: kpulse [flags]\n\n"
		"eBPF node metrics for Prometheus: samples kernel counters every interval and\n"
		"serves them on /metrics.\n\nFlags:\n");
	flags__usage(out, daemon_flags);
	fprintf(out,
		"\nCollectors (--collector.<name> enables, --no-collector.<name> disables):\n");
	for (c = kpulse_collectors; *c; c++) {
		if ((*c)->always_on) {
			fprintf(out, "  %-40s %s (always on)\n", (*c)->name, (*c)->help);
		} else {
			snprintf(name, sizeof(name), "--[no-]collector.%s", (*c)->name);
			fprintf(out, "  %-40s %s (default: %s)\n", name, (*c)->help,
				(*c)->enabled ? "enabled" : "disabled");
		}
		flags__usage(out, (*c)->flags);
	}
}

static struct collector *find_collector(const char *name)
{
	struct collector *const *c;

	for (c = kpulse_collectors; *c; c++)
		if (!strcmp((*c)->name, name) && !(*c)->always_on)
			return *c;
	return NULL;
}

/* Look a flag up among the daemon's and every collector's; --[no-]collector.<name> too. */
static const struct flag *lookup_flag(const char *name, struct flag *scratch, void *ctx)
{
	struct collector *const *c;
	const struct flag *f;
	struct collector *col;

	if (!strncmp(name, "collector.", 10) && (col = find_collector(name + 10))) {
		*scratch = (struct flag){name, FLAG_BOOL, &col->enabled, ""};
		return scratch;
	}
	f = flags__find(daemon_flags, name);
	for (c = kpulse_collectors; !f && *c; c++)
		f = flags__find((*c)->flags, name);
	return f;
}

static int validate(void)
{
	enum kp_log_level level;
	char why[128];

	if (log__parse_level(cfg.log_level, &level)) {
		fprintf(stderr, "kpulse: --log.level=%s: expected error, warn, info or debug\n",
			cfg.log_level);
		return -EINVAL;
	}
	kp_log_level = level;
	if (cfg.telemetry_path[0] != '/' || !strcmp(cfg.telemetry_path, "/") ||
	    !strcmp(cfg.telemetry_path, "/healthz") ||
	    !strcmp(cfg.telemetry_path, "/api/v1/history") ||
	    !strncmp(cfg.telemetry_path, "/static/", 8)) {
		fprintf(stderr,
			"kpulse: --web.telemetry-path=%s: must start with / and not be /, "
			"/healthz, /api/v1/history or under /static/\n",
			cfg.telemetry_path);
		return -EINVAL;
	}
	if (cfg.interval_ns < 10000000ull || cfg.interval_ns > 3600 * 1000000000ull) {
		fprintf(stderr, "kpulse: --sampler.interval: must be between 10ms and 1h\n");
		return -EINVAL;
	}
	if (kpulse__split_list(cfg.process_watch, &cfg.watch, &cfg.nwatch)) {
		fprintf(stderr, "kpulse: --process.watch: out of memory\n");
		return -ENOMEM;
	}
	for (size_t i = 0; i < cfg.nwatch; i++) {
		if (strlen(cfg.watch[i]) > 15) {
			fprintf(stderr,
				"kpulse: --process.watch: '%s' is longer than a process "
				"name can be (15 bytes)\n",
				cfg.watch[i]);
			return -EINVAL;
		}
	}
	if (tcp_ports__parse(cfg.port_watch, cfg.ports, KPULSE_PORT_WATCH_MAX, &cfg.nports, why,
			     sizeof(why))) {
		fprintf(stderr, "kpulse: --port.watch: %s\n", why);
		return -EINVAL;
	}
	/* The ring is allocated per series up front: bound what a flag can ask for. */
	if (cfg.history_ns > 24 * 3600 * 1000000000ull ||
	    cfg.peak_window_ns > 24 * 3600 * 1000000000ull) {
		fprintf(stderr,
			"kpulse: --history.duration and --history.peak-window: at most 24h\n");
		return -EINVAL;
	}
	if (!cfg.history_max_series) {
		fprintf(stderr, "kpulse: --history.max-series: must be at least 1 (--history."
				"duration=0 --history.peak-window=0 turn the history off)\n");
		return -EINVAL;
	}
	if (!cfg.max_requests)
		cfg.max_requests = UINT32_MAX;
	if (!cfg.max_connections) {
		fprintf(stderr, "kpulse: --web.max-connections: must be at least 1\n");
		return -EINVAL;
	}
	return 0;
}

static void print_doc_row(const struct metric_desc *m, const char *type, const char *name,
			  const char *help)
{
	printf("| `%s` | %s | %s | %s |\n", name, type, *m->labels ? m->labels : "—", help);
}

static void print_metrics_doc(void)
{
	struct collector *const *c;
	const struct metric_desc *const *m;
	static const char *const types[] = {"gauge", "counter", "histogram", "info",
					    "gauge histogram"};
	const struct flag *f;
	char name[256], help[512];

	printf("# kpulse metrics\n\nGenerated by `make docs` (`kpulse --print-metrics-doc`) "
	       "from the collectors' own declarations; do not edit.\n");
	for (c = kpulse_collectors; *c; c++) {
		if ((*c)->always_on)
			printf("\n## %s\n\n%s. Always on.\n\n", (*c)->name, (*c)->help);
		else
			printf("\n## %s\n\n%s. Flag: `--[no-]collector.%s` (default %s).\n\n",
			       (*c)->name, (*c)->help, (*c)->name, (*c)->enabled ? "on" : "off");
		for (f = (*c)->flags; f && f->name; f++)
			printf("- `--%s`: %s\n%s", f->name, f->help, f[1].name ? "" : "\n");
		printf("| family | type | labels | help |\n|---|---|---|---|\n");
		for (m = (*c)->metrics; m && *m; m++) {
			print_doc_row(*m, types[(*m)->type], (*m)->name, (*m)->help);
			if (!((*m)->flags & METRIC_HISTORY) || !cfg.peak_window_ns)
				continue;
			snprintf(name, sizeof(name), "%s_max", (*m)->name);
			history__peak_help(*m, cfg.peak_window_ns, help, sizeof(help));
			print_doc_row(*m, types[METRIC_GAUGE], name, help);
		}
	}
	printf("\n## sampler\n\nAbout every tick and each collector's part in it; always on.\n\n"
	       "| family | type | labels | help |\n|---|---|---|---|\n");
	for (m = sampler_metrics; *m; m++)
		print_doc_row(*m, types[(*m)->type], (*m)->name, (*m)->help);
}

/*
 * Parse the flags and check what they mean together: -1 to go on, else the exit status
 * (0 after --help, --version or --print-metrics-doc).
 */
static int parse(int argc, char **argv)
{
	char why[512];

	if (flags__parse(argc, argv, lookup_flag, NULL, why, sizeof(why))) {
		fprintf(stderr, "kpulse: %s\n", why);
		return 2;
	}
	if (show_help) {
		usage(stdout);
		return 0;
	}
	if (show_version) {
		printf("kpulse %s (revision %s)\n", KPULSE_VERSION, KPULSE_REVISION);
		return 0;
	}
	if (print_doc) {
		print_metrics_doc();
		return 0;
	}
	return validate() ? 2 : -1;
}

/*
 * Read the TLS files and users, and bind: after the privilege drop the files may be out of
 * reach, and a port in use fails before anything is loaded into the kernel.
 */
static int open_web(struct webconfig *web, int *fd)
{
	char why[512];
	int err;

	if (cfg.web_config[0]) {
		err = webconfig__load(cfg.web_config, web, why, sizeof(why));
		if (err) {
			log_error("failed to load --web.config.file: %s", why);
			return err;
		}
		/* exporter-toolkit starts so too; a file meant to protect should not, silently. */
		if (!web->tls && !web->nusers)
			log_warn("--web.config.file=%s sets neither TLS nor basic auth (empty, "
				 "comments only, or empty sections): serving plain HTTP to anyone",
				 cfg.web_config);
	}
	err = httpd__listen(cfg.listen_address, fd);
	if (err)
		log_error("failed to listen on %s: %s", cfg.listen_address,
			  err == -EINVAL ? "not host:port, :port or [v6]:port" : strerror(-err));
	return err;
}

/*
 * What every BPF collector needs before it opens its skeleton: privileges, kernel BTF,
 * libbpf's log, bpffs and the pin directory's lock.
 */
static int prepare_bpf(void)
{
	char why[512];
	int err;

	if (loader__check_privileges(why, sizeof(why))) {
		log_error("%s", why);
		return -EPERM;
	}
	if (loader__check_btf()) {
		log_error("kernel BTF is missing (/sys/kernel/btf/vmlinux): kpulse needs a "
			  "kernel built with CONFIG_DEBUG_INFO_BTF=y");
		return -ENOENT;
	}
	loader__init_libbpf();
	if (cfg.pin_path[0] && !strncmp(cfg.pin_path, "/sys/fs/bpf/", 12) && loader__mount_bpffs())
		return -EIO;
	if (cfg.pin_path[0] && (err = loader__lock_pin_path(cfg.pin_path, why, sizeof(why)))) {
		log_error("%s", why);
		return err;
	}
	return 0;
}

/*
 * Start (open, configure, load, attach) every enabled collector, in registry order; with
 * --collector.strict the first failure is fatal, else the collector is reported down.
 * --bpf.stats is turned on first, its descriptor in *@stats_fd, held until exit.
 */
static int start_collectors(int *stats_fd)
{
	struct collector *const *c;
	bool bpf = false;
	int err;

	for (c = kpulse_collectors; *c; c++)
		bpf |= (*c)->enabled && (*c)->needs_bpf;
	if (bpf && (err = prepare_bpf()))
		return err;
	if (cfg.bpf_stats && (*stats_fd = loader__enable_stats()) < 0) {
		log_error("failed to enable BPF run statistics (--bpf.stats): %s",
			  strerror(-*stats_fd));
		return *stats_fd;
	}
	for (c = kpulse_collectors; *c; c++) {
		if (!(*c)->enabled)
			continue;
		loader__clear_reason();
		log__take_reason();
		log__set_collector((*c)->name);
		err = (*c)->init(*c, &cfg);
		if (err && (*c)->destroy)
			(*c)->destroy(*c);
		log__set_collector(NULL);
		if (err) {
			/* One line: the collector's reason (else the errno) and libbpf's (log.h).
			 */
			const char *why = log__take_reason(), *lib = loader__reason();

			if (!*why)
				why = strerror(-err);
			if (cfg.strict) {
				log_error(
					"collector %s failed to start (--collector.strict): %s%s%s",
					(*c)->name, why, *lib ? ": libbpf: " : "", lib);
				return err;
			}
			log_warn("collector %s is down: %s%s%s", (*c)->name, why,
				 *lib ? ": libbpf: " : "", lib);
			continue;
		}
		(*c)->started = true;
		(*c)->up = true;
	}
	/*
	 * Loading parsed the kernel's BTF (megabytes, once per skeleton, and once more for the
	 * collectors' own questions): free ours and give that heap back to the system instead
	 * of keeping it resident for the daemon's life.
	 */
	loader__release_btf();
	malloc_trim(0);
	return 0;
}

static void stop_collectors(void)
{
	struct collector *const *c;

	for (c = kpulse_collectors; *c; c++) {
		log__set_collector((*c)->name);
		if ((*c)->started && (*c)->destroy)
			(*c)->destroy(*c);
		(*c)->started = false;
	}
	log__set_collector(NULL);
}

/* Wait until @deadline (CLOCK_MONOTONIC ns); true if SIGINT or SIGTERM came first. */
static bool wait_until(uint64_t deadline, const sigset_t *stop)
{
	struct timespec wait;
	uint64_t now;
	int sig;

	while ((now = mono_now_ns()) < deadline) {
		wait = clock__timespec(deadline - now);
		sig = sigtimedwait(stop, NULL, &wait);
		if (sig > 0) {
			log_info("received %s, shutting down", strsignal(sig));
			return true;
		}
		/* EAGAIN at the deadline, EINTR from another signal: look at the clock again. */
	}
	return false;
}

/*
 * Tick at fixed monotonic deadlines until SIGINT or SIGTERM. The first tick ran before
 * serving; the next is one whole interval after it, so the first rates cover a full
 * interval, not the few milliseconds the HTTP server took to start.
 */
static int run_loop(struct sampler *s, const sigset_t *stop)
{
	uint64_t next = s->prev_ns + cfg.interval_ns, now;

	for (;;) {
		if (wait_until(next, stop))
			return 0;
		if (sampler__tick(s))
			log_error("failed to publish the metrics of this tick: out of memory");
		next += cfg.interval_ns;
		now = mono_now_ns();
		if (next <= now) /* a tick overran: skip the missed deadlines, do not burst */
			next = now + cfg.interval_ns - (now - next) % cfg.interval_ns;
	}
}

/* The HTTP server's messages, in kpulse's log. */
static void http_log(enum httpd_log_level level, const char *msg)
{
	static const enum kp_log_level levels[] = {
		[HTTPD_LOG_ERROR] = KP_LOG_ERROR,
		[HTTPD_LOG_WARN] = KP_LOG_WARN,
		[HTTPD_LOG_INFO] = KP_LOG_INFO,
		[HTTPD_LOG_DEBUG] = KP_LOG_DEBUG,
	};

	log__msg(levels[level], "%s", msg);
}

/*
 * Everything is loaded, attached and pinned: from here on the descriptors we hold are all
 * kpulse needs. Before the HTTP threads start, since part of it is per thread.
 */
static int drop_privileges(void)
{
	char why[512];
	int err;

	err = privdrop__to(cfg.run_as, why, sizeof(why));
	if (err) {
		log_error("failed to drop privileges to --run-as=%s: %s; refusing to serve "
			  "(--run-as=root keeps root on purpose)",
			  cfg.run_as, why);
		return err;
	}
	if (!strcmp(cfg.run_as, "root"))
		log_warn("--run-as=root: kpulse keeps running as root with every capability");
	return 0;
}

/* Serve @store (and @history, when it keeps any) on the bound socket @fd. */
static struct httpd *serve(struct snapstore *store, struct history *history, struct webconfig *web,
			   int fd)
{
	struct httpd_opts opts = {
		.listen_fd = fd,
		.metrics_path = cfg.telemetry_path,
		.stale_ns = 3 * cfg.interval_ns + 1000000000ull,
		.conn_limit = cfg.max_connections,
		.max_requests = cfg.max_requests,
		.timeout_s = 10,
		.web = cfg.web_config[0] ? web : NULL,
		.log = http_log,
		.history = history__serves(history) ? history : NULL,
	};
	struct httpd *httpd = httpd__start(&opts, store);

	if (!httpd) {
		log_error("failed to start the HTTP server on %s", cfg.listen_address);
		return NULL;
	}
	log_info("kpulse %s listening on %s://%s%s, sampling every %.3gs", KPULSE_VERSION,
		 web->tls ? "https" : "http", cfg.listen_address, cfg.telemetry_path,
		 cfg.interval_ns / 1e9);
	return httpd;
}

int main(int argc, char **argv)
{
	struct snapstore store;
	struct sampler sampler = {};
	struct httpd *httpd = NULL;
	struct history *history = NULL;
	struct history_opts hist_opts;
	struct webconfig web = {};
	sigset_t stop;
	int fd = -1, stats_fd = -1, ret;

	ret = parse(argc, argv);
	if (ret >= 0)
		return ret;
	ret = 1;

	/* Signals are taken synchronously by the sampler loop; threads inherit the mask. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (open_web(&web, &fd))
		goto out_web;
	snapstore__init(&store);
	hist_opts = (struct history_opts){
		.duration_ns = cfg.history_ns,
		.peak_window_ns = cfg.peak_window_ns,
		.interval_ns = cfg.interval_ns,
		.max_series = cfg.history_max_series,
	};
	history = history__new(&hist_opts);
	if (!history && errno) {
		log_error("failed to set up the history: %s", strerror(errno));
		goto out_store;
	}
	if (sampler__init(&sampler, &cfg, &store, history))
		goto out_store;

	if (start_collectors(&stats_fd) || drop_privileges())
		goto out_collectors;
	/* The first tick before serving, so /metrics never answers empty. */
	sampler__tick(&sampler);
	httpd = serve(&store, history, &web, fd);
	if (!httpd)
		goto out_collectors;
	fd = -1; /* the HTTP server owns it now */

	ret = run_loop(&sampler, &stop);

	httpd__stop(httpd);
out_collectors:
	stop_collectors();
	if (stats_fd >= 0)
		close(stats_fd);
out_store:
	sampler__destroy(&sampler);
	snapstore__destroy(&store);
	history__free(history);
out_web:
	if (fd >= 0)
		close(fd);
	webconfig__free(&web);
	kpulse__free_list(cfg.watch, cfg.nwatch);
	return ret;
}
