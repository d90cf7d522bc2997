/* SPDX-License-Identifier: GPL-2.0 */
/* Daemon-wide settings, filled from flags before any collector starts. */
#ifndef KPULSE_KPULSE_H
#define KPULSE_KPULSE_H

#include <stdbool.h>
#include <stdint.h>

struct kpulse_config {
	const char *listen_address;
	const char *telemetry_path;
	uint64_t interval_ns;
	const char *log_level;
	const char *procfs;   /* "/proc", or a fixture tree */
	const char *sysfs;    /* "/sys", or a fixture tree */
	const char *pin_path; /* "" disables pinning */
	bool strict;	      /* any collector failure is fatal */
	unsigned int max_connections;
};

#endif /* KPULSE_KPULSE_H */
