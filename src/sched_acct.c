// SPDX-License-Identifier: GPL-2.0
/* Run-queue latency buckets (see sched_acct.h). */
#include <math.h>
#include "sched_acct.h"

void sched__rq_bounds(double *bounds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		bounds[i] = ldexp(1e-6, (int)i);
}

unsigned int sched__rq_slot(uint64_t ns, unsigned int nbounds)
{
	uint64_t us = ns / 1000;
	unsigned int slot = 0;

	while (us) {
		slot++;
		us >>= 1;
	}
	return slot > nbounds ? nbounds : slot;
}
