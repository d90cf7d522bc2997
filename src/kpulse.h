/* SPDX-License-Identifier: GPL-2.0 */
/* Daemon-wide settings, filled from flags before any collector starts. */
#ifndef KPULSE_KPULSE_H
#define KPULSE_KPULSE_H

#include <stdbool.h>
#include <stdint.h>

/* Most --port.watch ports (the net and tcprtt BPF programs hold as many). */
#define KPULSE_PORT_WATCH_MAX 16

struct kpulse_config {
	const char *listen_address;
	const char *telemetry_path;
	uint64_t interval_ns;
	const char *log_level;
	const char *procfs;   /* "/proc", or a fixture tree */
	const char *sysfs;    /* "/sys", or a fixture tree */
	const char *rootfs;   /* "/", or where the host's root is mounted (a container) */
	const char *pin_path; /* "" disables pinning */
	bool strict;	      /* any collector failure is fatal */
	unsigned int max_connections;
	unsigned int max_requests; /* --web.max-requests: answered at once, beyond: 503 */
	const char *web_config;	   /* --web.config.file: TLS and basic auth; "" for none */
	const char *run_as;	   /* --run-as: user to become once loaded; "root" keeps root */
	bool bpf_stats;		   /* --bpf.stats: kernel BPF run-time statistics */
	const char *process_watch; /* --process.watch, as given */
	const char *port_watch;	   /* --port.watch, as given: TCP ports (net, tcprtt) */
	uint64_t history_ns;	   /* --history.duration: kept for /api/v1/history; 0: off */
	uint64_t peak_window_ns;   /* --history.peak-window: <family>_max; 0: off */
	unsigned int history_max_series;
	/* Parsed from process_watch: process names (comm, at most 15 bytes) to always export. */
	char **watch;
	size_t nwatch;
	/* Parsed from port_watch by main: TCP ports, each once (net and tcprtt watch them). */
	uint16_t ports[KPULSE_PORT_WATCH_MAX];
	size_t nports;
};

/*
 * Split a comma-separated list into @out (caller frees with kpulse__free_list), each item
 * once, in order of first appearance; -errno.
 */
int kpulse__split_list(const char *s, char ***out, size_t *n);
void kpulse__free_list(char **list, size_t n);

#endif /* KPULSE_KPULSE_H */
