// SPDX-License-Identifier: GPL-2.0
/* One place that reads the clocks, so every part of the daemon measures time alike. */
#include "clock.h"

uint64_t clock__ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t mono_now_ns(void)
{
	return clock__ns(CLOCK_MONOTONIC);
}

struct timespec clock__timespec(uint64_t ns)
{
	return (struct timespec){.tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull};
}
