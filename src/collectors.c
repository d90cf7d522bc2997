// SPDX-License-Identifier: GPL-2.0
/* The collector registry: one line per collector. */
#include <stddef.h>
#include "collector.h"

extern struct collector net_collector;
extern struct collector sched_collector;
extern struct collector fd_collector;
extern struct collector cpu_collector;
extern struct collector memory_collector;
extern struct collector disk_collector;
extern struct collector host_collector;
extern struct collector filesystem_collector;
extern struct collector pressure_collector;
extern struct collector vmstat_collector;
extern struct collector netstat_collector;
extern struct collector oom_collector;
extern struct collector block_collector;
extern struct collector tcprtt_collector;
extern struct collector self_collector;

struct collector *const kpulse_collectors[] = {
	&sched_collector,
	&net_collector,
	&fd_collector,
	&oom_collector,
	&block_collector,
	&tcprtt_collector,
	&cpu_collector,
	&memory_collector,
	&disk_collector,
	&host_collector,
	&pressure_collector,
	&vmstat_collector,
	&netstat_collector,
	/* Late: in the tick that first meets a hung mount it waits up to half an interval. */
	&filesystem_collector,
	/* Last: its init finds the BPF programs every collector before it loaded. */
	&self_collector,
	NULL,
};
