// SPDX-License-Identifier: GPL-2.0
/*
 * The log2 slots of bpf/kpulse.h, compiled for the host from the very source the BPF
 * programs inline (block latency and size, TCP RTT, run-queue latency), checked against
 * the definition of each slot: its bucket's bound 2^slot holds the value, the one below
 * does not.
 */
#include <stdint.h>
#include <stdlib.h>
#include "harness.h"
#include "../../bpf/kpulse.h" /* "kpulse.h" alone is src/kpulse.h, the daemon's settings */

/* The values around every power of two, and a fixed pseudo-random spread between them. */
static uint64_t sample(unsigned int i)
{
	static uint64_t x = 0x9e3779b97f4a7c15ull;

	if (i < 64 * 3)
		return (1ull << (i / 3)) + (i % 3) - 1; /* 2^k - 1, 2^k, 2^k + 1 */
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x >> (x & 63); /* every magnitude, not only the top one */
}

#define SAMPLES 200000

TEST(log2_is_floor_log2)
{
	CHECK_INT(kpulse_log2(0), 0);
	for (unsigned int i = 0; i < SAMPLES; i++) {
		uint64_t v = sample(i);

		if (v && kpulse_log2(v) != (uint64_t)(63 - __builtin_clzll(v))) {
			CHECK_INT(kpulse_log2(v), 63 - __builtin_clzll(v));
			printf("  for v = %llu\n", (unsigned long long)v);
			return;
		}
	}
}

/* Rounded-down values: slot i holds [2^(i-1), 2^i), slot 0 holds 0. */
TEST(slot_holds_values_under_its_bound)
{
	CHECK_INT(kpulse_log2_slot(0), 0);
	CHECK_INT(kpulse_log2_slot(1), 1);
	CHECK_INT(kpulse_log2_slot(2), 2);
	CHECK_INT(kpulse_log2_slot(UINT64_MAX), 64);
	for (unsigned int i = 0; i < SAMPLES; i++) {
		uint64_t v = sample(i), s = kpulse_log2_slot(v);

		if (!v || s > 63)
			continue;
		if (!(v < 1ull << s && v >= 1ull << (s - 1))) {
			printf("  v = %llu in slot %llu\n", (unsigned long long)v,
			       (unsigned long long)s);
			CHECK(v < 1ull << s && v >= 1ull << (s - 1));
			return;
		}
	}
}

/* Exact values: slot i holds (2^(i-1), 2^i], slot 0 holds 0 and 1 (le means at most). */
TEST(slot_exact_holds_values_up_to_its_bound)
{
	CHECK_INT(kpulse_log2_slot_exact(0), 0);
	CHECK_INT(kpulse_log2_slot_exact(1), 0);
	CHECK_INT(kpulse_log2_slot_exact(2), 1);
	CHECK_INT(kpulse_log2_slot_exact(3), 2);
	CHECK_INT(kpulse_log2_slot_exact(4), 2);
	CHECK_INT(kpulse_log2_slot_exact(5), 3);
	CHECK_INT(kpulse_log2_slot_exact(512), 9);
	CHECK_INT(kpulse_log2_slot_exact(513), 10);
	CHECK_INT(kpulse_log2_slot_exact(UINT64_MAX), 64);
	for (unsigned int i = 0; i < SAMPLES; i++) {
		uint64_t v = sample(i), s = kpulse_log2_slot_exact(v);

		if (v < 2 || s > 63)
			continue;
		if (!(v <= 1ull << s && v > 1ull << (s - 1))) {
			printf("  v = %llu in slot %llu\n", (unsigned long long)v,
			       (unsigned long long)s);
			CHECK(v <= 1ull << s && v > 1ull << (s - 1));
			return;
		}
	}
}

/* The division-free µs slot is the slot of ns / 1000, at every edge 1000 << k ± 1. */
TEST(slot_us_is_slot_of_ns_div_1000)
{
	for (uint64_t ns = 0; ns < 100000; ns++) {
		if (kpulse_log2_slot_us(ns) != kpulse_log2_slot(ns / 1000)) {
			CHECK_INT(kpulse_log2_slot_us(ns), kpulse_log2_slot(ns / 1000));
			printf("  for ns = %llu\n", (unsigned long long)ns);
			return;
		}
	}
	for (unsigned int k = 0; k < 54; k++) {
		for (int d = -1; d <= 1; d++) {
			uint64_t ns = (1000ull << k) + d;

			CHECK_INT(kpulse_log2_slot_us(ns), kpulse_log2_slot(ns / 1000));
		}
	}
	CHECK_INT(kpulse_log2_slot_us(UINT64_MAX), kpulse_log2_slot(UINT64_MAX / 1000));
	for (unsigned int i = 0; i < SAMPLES; i++) {
		uint64_t ns = sample(i);

		if (kpulse_log2_slot_us(ns) != kpulse_log2_slot(ns / 1000)) {
			CHECK_INT(kpulse_log2_slot_us(ns), kpulse_log2_slot(ns / 1000));
			printf("  for ns = %llu\n", (unsigned long long)ns);
			return;
		}
	}
}

int main(void)
{
	h_suite = "log2";
	RUN(log2_is_floor_log2);
	RUN(slot_holds_values_under_its_bound);
	RUN(slot_exact_holds_values_up_to_its_bound);
	RUN(slot_us_is_slot_of_ns_div_1000);
	return DONE();
}
