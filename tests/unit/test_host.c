// SPDX-License-Identifier: GPL-2.0
/*
 * The loadavg and cpuinfo parsers and the host collector against fixtures captured from
 * a real machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "collector.h"
#include "harness.h"
#include "mset_check.h"
#include "procfs.h"

extern struct collector host_collector;

#define FIX "tests/fixtures/"

TEST(loadavg_and_cpuinfo)
{
	double l[3] = {-1, -1, -1};
	char model[64];

	CHECK_INT(loadavg__parse("1.02 0.55 0.25 2/111 17126\n", l), 7);
	CHECK_NEAR(l[0], 1.02, 1e-12);
	CHECK_NEAR(l[2], 0.25, 1e-12);
	CHECK_INT(loadavg__parse("0.50 nan 1e3 1/2 3\n", l), 1);
	CHECK_INT(loadavg__parse("inf 1 2", l), 0);
	CHECK_INT(loadavg__parse("-1 1 2", l), 0);
	CHECK_INT(loadavg__parse("0x1 1 2", l), 0);
	CHECK_INT(loadavg__parse("0.5 0.6", l), 3);
	CHECK_INT(loadavg__parse("", l), 0);
	CHECK_INT(cpuinfo__model("processor\t: 0\nmodel name\t: AMD EPYC 7B13  \n", model,
				 sizeof(model)),
		  0);
	CHECK_STR(model, "AMD EPYC 7B13");
	/* powerpc: "cpu" alone, not "cpu family" or "cpu MHz". */
	CHECK_INT(cpuinfo__model("cpu MHz\t: 1\ncpu\t\t: POWER9 (architected)\n", model,
				 sizeof(model)),
		  0);
	CHECK_STR(model, "POWER9 (architected)");
	CHECK_INT(cpuinfo__model("processor\t: 0\nmodel name\t:\n", model, sizeof(model)), -ENOENT);
	CHECK_INT(cpuinfo__model("", model, sizeof(model)), -ENOENT);
}

TEST(host_collector_all_sources)
{
	struct kpulse_config cfg = fixture_config(FIX "vm/proc", FIX "vm/sys");
	const struct mset *c;
	struct mset *s;
	size_t i;
	int err;

	s = sample_once(&host_collector, &cfg, &err);
	CHECK_INT(err, 0);
	CHECK_NEAR(mset_get(s, "kpulse_load1", ""), 1.02, 1e-12);
	CHECK_NEAR(mset_get(s, "kpulse_load5", ""), 0.55, 1e-12);
	CHECK_NEAR(mset_get(s, "kpulse_load15", ""), 0.25, 1e-12);
	CHECK_NEAR(mset_get(s, "kpulse_boot_time_seconds", ""), 1795256535, 0);
	CHECK_NEAR(mset_get(s, "kpulse_cpus_online", ""), 2, 0);
	CHECK_INT(mset_count(s, "kpulse_host_info"), 1);
	c = s;
	for (i = 0; i < c->nfams; i++)
		if (!strcmp(c->fams[i].desc->name, "kpulse_host_info"))
			CHECK(strstr(c->text.data + c->samples[c->fams[i].head].labels,
				     "cpu_model=\"AMD EPYC\"") != NULL);
	host_collector.destroy(&host_collector);
	mset__free(s);

	cfg = fixture_config(FIX "malformed/proc", FIX "malformed/sys");
	s = sample_once(&host_collector, &cfg, &err);
	CHECK(err < 0); /* no btime, bad online list */
	CHECK_NEAR(mset_get(s, "kpulse_load1", ""), 0.5, 1e-12);
	MSET_ABSENT(s, "kpulse_load5", "");
	MSET_ABSENT(s, "kpulse_load15", "");
	MSET_ABSENT(s, "kpulse_boot_time_seconds", "");
	MSET_ABSENT(s, "kpulse_cpus_online", "");
	CHECK_INT(mset_count(s, "kpulse_host_info"), 1); /* uname still works; cpu_model is "" */
	CHECK(mset_all_finite(s));
	host_collector.destroy(&host_collector);
	mset__free(s);

	cfg = fixture_config(FIX "empty/proc", FIX "empty/sys");
	s = sample_once(&host_collector, &cfg, &err);
	CHECK(err < 0);
	CHECK_INT(mset_count(s, "kpulse_load1"), 0);
	CHECK_INT(mset_count(s, "kpulse_boot_time_seconds"), 0);
	host_collector.destroy(&host_collector);
	mset__free(s);
}

int main(void)
{
	h_suite = "host";
	RUN(loadavg_and_cpuinfo);
	RUN(host_collector_all_sources);
	return DONE();
}
