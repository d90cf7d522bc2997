// SPDX-License-Identifier: GPL-2.0
/* Rates and ratios divide by the measured elapsed time, never by the nominal interval. */
#include "rate.h"

uint64_t rate__elapsed(uint64_t prev_ns, uint64_t now_ns, uint64_t interval_ns)
{
	if (!prev_ns || now_ns <= prev_ns || now_ns - prev_ns < interval_ns / 2)
		return 0;
	return now_ns - prev_ns;
}

uint64_t rate__delta(uint64_t prev, uint64_t cur)
{
	return cur >= prev ? cur - prev : cur;
}

bool rate__per_second(uint64_t prev, uint64_t cur, uint64_t elapsed_ns, double *out)
{
	if (!elapsed_ns)
		return false;
	*out = (double)rate__delta(prev, cur) * NSEC_PER_SEC / (double)elapsed_ns;
	return true;
}

bool rate__ratio(uint64_t prev_ns, uint64_t cur_ns, uint64_t elapsed_ns, double *out)
{
	double r;

	if (!elapsed_ns)
		return false;
	r = (double)rate__delta(prev_ns, cur_ns) / (double)elapsed_ns;
	/* Busy time and elapsed time are read at slightly different instants. */
	*out = r > 1 ? 1 : r;
	return true;
}

bool rate__quantile(const double *bounds, size_t n, const uint64_t *prev, const uint64_t *cur,
		    double q, double *out)
{
	double total = 0, cum = 0, rank, in;
	size_t i;

	for (i = 0; i <= n; i++)
		total += (double)rate__delta(prev[i], cur[i]);
	if (!total || !n)
		return false;
	rank = q * total;
	for (i = 0; i < n; i++) {
		in = (double)rate__delta(prev[i], cur[i]);
		if (cum + in >= rank && in > 0) {
			double lo = i ? bounds[i - 1] : 0;

			*out = lo + (bounds[i] - lo) * (rank - cum) / in;
			return true;
		}
		cum += in;
	}
	*out = bounds[n - 1];
	return true;
}
