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
