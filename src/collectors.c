// SPDX-License-Identifier: GPL-2.0
/* The collector registry: one line per collector. */
#include <stddef.h>
#include "collector.h"

extern struct collector sched_collector;
extern struct collector fd_collector;

struct collector *const kpulse_collectors[] = {
	&sched_collector,
	&fd_collector,
	NULL,
};
