// SPDX-License-Identifier: GPL-2.0
/*
 * The pressure collector against fixtures captured from this machine (tests/fixtures/
 * kstat-t0, -t1: the same files one interval later, values edited to known numbers), its
 * cgroup filters and bound, and against malformed ones (tests/fixtures/kstat-malformed).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "collector.h"
#include "harness.h"
#include "kstat.h"
#include "mset_check.h"

extern struct collector pressure_collector;

#define FIX "tests/fixtures/"

static int set_flag(struct collector *c, const char *name, const char *value)
{
	const struct flag *f = flags__find(c->flags, name);
	char err[128];

	return f ? flags__set(f, value, false, err, sizeof(err)) : -ENOENT;
}

/*
 * Send stderr (where the log writes, one write() per line) to a fresh temporary file until
 * stderr_capture_end(), which puts it back and returns what was written there.
 */
static int stderr_capture_begin(void)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);

	if (!tmp || saved < 0 || dup2(fileno(tmp), STDERR_FILENO) < 0)
		abort();
	fclose(tmp); /* STDERR_FILENO keeps the file open */
	return saved;
}

static void stderr_capture_end(int saved, char *buf, size_t size)
{
	ssize_t n = pread(STDERR_FILENO, buf, size - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	if (dup2(saved, STDERR_FILENO) < 0)
		abort();
	close(saved);
	/* Shown as it would have been, so a failing check can be read against it. */
	fputs(buf, stderr);
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

#define CG(path, res, kind) "cgroup=\"" path "\",resource=\"" res "\",kind=\"" kind "\""
#define RES(res, kind) "resource=\"" res "\",kind=\"" kind "\""

TEST(pressure_collector_host_and_cgroups)
{
	char procfs[64] = FIX "kstat-t0/proc";
	struct kpulse_config cfg = fixture_config(procfs, FIX "vm/sys");
	struct tick t = {.seq = 1};
	uint64_t t0, t1;
	double r, elapsed_min, elapsed_max;
	struct mset *s = mset__new();

	CHECK_INT(pressure_collector.init(&pressure_collector, &cfg), 0);
	/* As the sampler does: the tick's now is when the collector's sample begins. */
	t0 = t.now_ns = mono_now_ns();
	CHECK_INT(pressure_collector.sample(&pressure_collector, &t, s), 0);
	t1 = mono_now_ns();
	/* total= is in microseconds. */
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_seconds_total", RES("cpu", "some")), 2.5,
		   0);
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_seconds_total", RES("memory", "full")),
		   0.0005, 0);
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_seconds_total", RES("io", "full")), 0.2, 0);
	/* No irq file in the fixture (no CONFIG_IRQ_TIME_ACCOUNTING): no irq series. */
	MSET_ABSENT(s, "kpulse_pressure_stalled_seconds_total", RES("irq", "some"));
	/* The first reading has nothing to compare with. */
	CHECK_INT(mset_count(s, "kpulse_pressure_stalled_ratio"), 0);
	/* Cgroups down to depth 3: / a a/b a/b/c z; not a/b/c/d, not "off" (PSI off). */
	CHECK_INT(mset_count(s, "kpulse_cgroup_pressure_stalled_seconds_total"), 5 * 3 * 2);
	CHECK_NEAR(
		mset_get(s, "kpulse_cgroup_pressure_stalled_seconds_total", CG("/", "cpu", "some")),
		5, 0);
	CHECK_NEAR(mset_get(s, "kpulse_cgroup_pressure_stalled_seconds_total",
			    CG("/a/b/c", "cpu", "full")),
		   1, 0);
	CHECK_NEAR(
		mset_get(s, "kpulse_cgroup_pressure_stalled_seconds_total", CG("/z", "io", "some")),
		9e-6, 1e-12);
	MSET_ABSENT(s, "kpulse_cgroup_pressure_stalled_seconds_total",
		    CG("/a/b/c/d", "cpu", "some"));
	MSET_ABSENT(s, "kpulse_cgroup_pressure_stalled_seconds_total", CG("/off", "cpu", "some"));

	/* One interval later: cpu some +0.5 s, io some +0.1 s, io full +0.05 s, memory +0. */
	usleep(300000);
	snprintf(procfs, sizeof(procfs), FIX "kstat-t1/proc");
	mset__reset(s);
	t.now_ns = mono_now_ns();
	elapsed_min = (t.now_ns - t1) / 1e9;
	CHECK_INT(pressure_collector.sample(&pressure_collector, &t, s), 0);
	elapsed_max = (mono_now_ns() - t0) / 1e9;
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_seconds_total", RES("cpu", "some")), 3.0,
		   0);
	r = mset_get(s, "kpulse_pressure_stalled_ratio", RES("io", "some"));
	CHECK(r >= 0.1 / elapsed_max && r <= 0.1 / elapsed_min);
	r = mset_get(s, "kpulse_pressure_stalled_ratio", RES("io", "full"));
	CHECK(r >= 0.05 / elapsed_max && r <= 0.05 / elapsed_min);
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_ratio", RES("memory", "some")), 0, 0);
	/* 0.5 s of stall in ~0.3 s: clamped to 1, as a share of the interval must be. */
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_ratio", RES("cpu", "some")), 1, 0);
	/* The cgroup files did not move: ratios are 0. */
	CHECK_NEAR(mset_get(s, "kpulse_cgroup_pressure_stalled_ratio", CG("/a", "cpu", "some")), 0,
		   0);
	CHECK(mset_all_finite(s));
	pressure_collector.destroy(&pressure_collector);

	/* Depth 1 and an include pattern: / does not match "/a.*", /a does, /z does not. */
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-depth", "1"), 0);
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-include", "/a.*"), 0);
	snprintf(procfs, sizeof(procfs), FIX "kstat-t0/proc");
	mset__reset(s);
	CHECK_INT(pressure_collector.init(&pressure_collector, &cfg), 0);
	CHECK_INT(pressure_collector.sample(&pressure_collector, &t, s), 0);
	CHECK_INT(mset_count(s, "kpulse_cgroup_pressure_stalled_seconds_total"), 6);
	CHECK(!isnan(mset_get(s, "kpulse_cgroup_pressure_stalled_seconds_total",
			      CG("/a", "memory", "some"))));
	pressure_collector.destroy(&pressure_collector);

	/* At most 1 cgroup: the root, walked first; the walk adds no more (and says so once). */
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-depth", "3"), 0);
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-include", ""), 0);
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-max", "1"), 0);
	mset__reset(s);
	CHECK_INT(pressure_collector.init(&pressure_collector, &cfg), 0);
	CHECK_INT(pressure_collector.sample(&pressure_collector, &t, s), 0);
	CHECK_INT(mset_count(s, "kpulse_cgroup_pressure_stalled_seconds_total"), 3 * 2);
	CHECK_NEAR(
		mset_get(s, "kpulse_cgroup_pressure_stalled_seconds_total", CG("/", "io", "some")),
		1, 0);
	pressure_collector.destroy(&pressure_collector);
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-max", "512"), 0);
	/* A bad pattern is refused at start. */
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-exclude", "("), 0);
	CHECK_INT(pressure_collector.init(&pressure_collector, &cfg), -EINVAL);
	pressure_collector.destroy(&pressure_collector);
	CHECK_INT(set_flag(&pressure_collector, "collector.pressure.cgroup-exclude", ""), 0);
	mset__free(s);
}

TEST(pressure_collector_malformed_and_disabled)
{
	struct kpulse_config cfg = fixture_config(FIX "kstat-malformed/proc", FIX "vm/sys");
	struct tick t = {.seq = 0};
	struct mset *s = mset__new();

	CHECK_INT(pressure_collector.init(&pressure_collector, &cfg), 0);
	/* Only memory full parses; the cgroup2 mount point does not exist: host only, up. */
	CHECK_INT(pressure_collector.sample(&pressure_collector, &t, s), 0);
	CHECK_INT(mset_count(s, "kpulse_pressure_stalled_seconds_total"), 1);
	CHECK_NEAR(mset_get(s, "kpulse_pressure_stalled_seconds_total", RES("memory", "full")), 4,
		   0);
	CHECK_INT(mset_count(s, "kpulse_cgroup_pressure_stalled_seconds_total"), 0);
	pressure_collector.destroy(&pressure_collector);

	/*
	 * No /proc/pressure at all (CONFIG_PSI off, psi=0): up (every sample succeeds) but
	 * empty, and the log says why exactly once over several ticks, naming the kernel
	 * options that would turn PSI on.
	 */
	cfg = fixture_config(FIX "empty/proc", FIX "empty/sys");
	mset__reset(s);
	CHECK_INT(pressure_collector.init(&pressure_collector, &cfg), 0);
	{
		char log[4096];
		int ticks = 5, fd = stderr_capture_begin();

		for (t.seq = 0; (int)t.seq < ticks; t.seq++) {
			mset__reset(s);
			CHECK_INT(pressure_collector.sample(&pressure_collector, &t, s), 0);
			CHECK_INT(s->nsamples, 0);
		}
		stderr_capture_end(fd, log, sizeof(log));
		CHECK_INT(count_of(log, "no pressure stall information"), 1);
		CHECK(strstr(log, "CONFIG_PSI") && strstr(log, "psi=1"));
		CHECK(strstr(log, "the collector stays up, empty"));
		CHECK_INT(count_of(log, "\n"), 1);
	}
	pressure_collector.destroy(&pressure_collector);
	mset__free(s);
}

int main(void)
{
	h_suite = "pressure";
	RUN(pressure_collector_host_and_cgroups);
	RUN(pressure_collector_malformed_and_disabled);
	return DONE();
}
