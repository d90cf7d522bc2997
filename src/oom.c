// SPDX-License-Identifier: GPL-2.0
/*
 * OOM collector (bpf/oom.bpf.c): OOM kills per cgroup v2 of the victim, and the last victim
 * by process id, name and cgroup, from the oom:mark_victim tracepoint.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "clock.h"
#include "collector.h"
#include "filter.h"
#include "loader.h"
#include "log.h"
#include "oom.h"
#include "oom.skel.h"

static unsigned int cg_depth = 3;
static const char *cg_include = "";
static const char *cg_exclude = "";
static unsigned int cg_max = 4096;

static const struct flag oom_flags[] = {
	{"collector.oom.cgroup-depth", FLAG_UINT, &cg_depth,
	 "roll the victims' cgroups up to this depth for kpulse_cgroup_oom_kills_total, as the "
	 "sched collector labels them (the last victim's info keeps the whole path)"},
	{"collector.oom.cgroup-include", FLAG_STRING, &cg_include,
	 "regex of rolled-up cgroup paths to export OOM kills of (empty: all)"},
	{"collector.oom.cgroup-exclude", FLAG_STRING, &cg_exclude,
	 "regex of rolled-up cgroup paths not to export OOM kills of"},
	{"collector.oom.cgroup-max", FLAG_UINT, &cg_max,
	 "victim cgroups the kernel map remembers; kills in more are counted in "
	 "kpulse_oom_kills_unattributed_total"},
	{NULL},
};

static const struct metric_desc cgroup_kills = {
	"kpulse_cgroup_oom_kills_total",
	METRIC_COUNTER,
	"cgroup",
	"Tasks the OOM killer chose as victims, by the victim's cgroup v2 (rolled up to "
	"--collector.oom.cgroup-depth), global and cgroup OOMs alike (eBPF, oom:mark_victim).",
};
static const struct metric_desc victims = {
	"kpulse_oom_victims_total",
	METRIC_COUNTER,
	"",
	"Tasks the OOM killer chose as victims (eBPF, oom:mark_victim, since the map was "
	"created). Unlike kpulse_oom_kills_total (/proc/vmstat, kills sent) it also counts a task "
	"that was already exiting, which the killer only marks.",
};
static const struct metric_desc unattributed = {
	"kpulse_oom_kills_unattributed_total",
	METRIC_COUNTER,
	"",
	"OOM victims not counted per cgroup because the kernel map of victim cgroups was full "
	"(--collector.oom.cgroup-max).",
};
static const struct metric_desc last_info = {
	"kpulse_oom_last_victim_info",
	METRIC_INFO,
	"pid,comm,cgroup",
	"The last task the OOM killer chose: process id, name and whole cgroup v2 path; value 1.",
};
static const struct metric_desc last_time = {
	"kpulse_oom_last_victim_timestamp_seconds",
	METRIC_GAUGE,
	"",
	"When the last OOM victim was chosen, seconds since the epoch.",
};

static const struct metric_desc *const oom_metrics[] = {
	&cgroup_kills, &victims, &unattributed, &last_info, &last_time, NULL,
};

/* One exported label this tick. */
struct oom_label {
	char name[4096];
	uint64_t kills;
};

struct oom {
	struct oom_bpf *skel;
	const char *pin_path;
	struct filter filter;
	struct oom_label *labels;
	size_t nlabels, caplabels;
	bool warned_full;
};

/*
 * Does oom:mark_victim pass the victim task (mark_victim(task, uid))? Older kernels pass
 * only its pid, from which a tracing program cannot find the victim's cgroup.
 */
static bool tracepoint_passes_task(void)
{
	const struct btf *btf = loader__vmlinux_btf();
	const struct btf_type *t;
	int id;
	bool ok = false;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, "btf_trace_mark_victim", BTF_KIND_TYPEDEF);
	if (id > 0) {
		t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type); /* pointer */
		if (t && btf_is_ptr(t))
			t = btf__type_by_id(btf, t->type);
		if (t && btf_is_func_proto(t) && btf_vlen(t) >= 2) {
			const struct btf_param *p = btf_params(t) + 1;
			const struct btf_type *arg = btf__type_by_id(btf, p->type);

			ok = arg && btf_is_ptr(arg);
		}
	}
	return ok;
}

static int load_attach(void *ctx, bool *use_btf)
{
	struct oom *o = ctx;
	struct oom_bpf *skel;
	int err;

	/* Open BPF application */
	o->skel = skel = oom_bpf__open();
	if (!skel)
		return -errno;
	/* Configure: one twin, the map size, pinned maps */
	*use_btf = loader__choose_twins(skel->obj, *use_btf);
	err = bpf_map__set_max_entries(skel->maps.oom_cgroup, cg_max ? cg_max : 1);
	if (!err)
		err = loader__pin_maps(skel->obj, o->pin_path);
	if (err)
		return err;
	/* Load & verify BPF programs */
	err = oom_bpf__load(skel);
	if (err)
		return err;
	/* Attach the tracepoint handler */
	return oom_bpf__attach(skel);
}

static void unload(void *ctx)
{
	struct oom *o = ctx;

	oom_bpf__destroy(o->skel);
	o->skel = NULL;
}

static int oom_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct oom *o = calloc(1, sizeof(*o));
	char why[512];
	int err;

	if (!o)
		return -ENOMEM;
	c->priv = o;
	o->pin_path = cfg->pin_path;
	if (filter__init(&o->filter, cg_include, cg_exclude, why, sizeof(why))) {
		log__reason("--collector.oom.cgroup-include/-exclude: %s", why);
		return -EINVAL;
	}
	if (!tracepoint_passes_task()) {
		log__reason(
			"this kernel's oom:mark_victim tracepoint does not pass the victim "
			"task (only its pid, as older kernels did), so its cgroup cannot be "
			"found; kpulse_oom_kills_total (vmstat collector) still counts OOM kills");
		return -EOPNOTSUPP;
	}
	err = loader__load_twins(load_attach, unload, o, NULL);
	if (err)
		log__reason("failed to load and attach the program: %s", strerror(-err));
	return err;
}

/* "/a/b" from the names the kernel recorded; "/" for the root cgroup. */
static void path_string(const struct kpulse_oom_path *p, char *out, size_t len)
{
	size_t off = 0;
	__u32 i;

	out[0] = '\0';
	for (i = 0; i < p->depth && i < KPULSE_OOM_DEPTH && off + 1 < len; i++)
		off += snprintf(out + off, len - off, "/%.*s", KPULSE_OOM_NAME, p->name[i]);
	if (p->truncated && off + 1 < len)
		snprintf(out + off, len - off, "/...");
	if (!out[0])
		snprintf(out, len, "/");
}

static int add_kills(struct oom *o, const char *label, uint64_t kills)
{
	size_t i;

	for (i = 0; i < o->nlabels; i++) {
		if (!strcmp(o->labels[i].name, label)) {
			o->labels[i].kills += kills;
			return 0;
		}
	}
	if (o->nlabels == o->caplabels) {
		size_t cap = o->caplabels ? o->caplabels * 2 : 16;
		void *p = realloc(o->labels, cap * sizeof(*o->labels));

		if (!p)
			return -ENOMEM;
		o->labels = p;
		o->caplabels = cap;
	}
	snprintf(o->labels[o->nlabels].name, sizeof(o->labels[0].name), "%s", label);
	o->labels[o->nlabels++].kills = kills;
	return 0;
}

static int sample_cgroups(struct oom *o, struct mset *out)
{
	struct bpf_map *map = o->skel->maps.oom_cgroup;
	struct kpulse_oom_cgroup v;
	char path[4096], rolled[4096];
	__u64 key;
	size_t i;
	int err;

	o->nlabels = 0;
	loader__for_each_entry(map, &key, &v, sizeof(v), err)
	{
		path_string(&v.path, path, sizeof(path));
		cgroup__roll_up(path, cg_depth, rolled, sizeof(rolled));
		if (!filter__match(&o->filter, rolled))
			continue;
		if (add_kills(o, rolled, v.kills))
			return -ENOMEM;
	}
	for (i = 0; i < o->nlabels; i++)
		mset__add(out, &cgroup_kills, (double)o->labels[i].kills, o->labels[i].name);
	return 0;
}

/* The last victim record, read until two reads agree (the kernel may be writing it). */
static int read_victim(struct oom *o, struct kpulse_oom_victim *v)
{
	struct kpulse_oom_victim again;
	__u32 zero = 0;
	int tries;

	for (tries = 0; tries < 5; tries++) {
		if (bpf_map__lookup_elem(o->skel->maps.oom_victim, &zero, sizeof(zero), v,
					 sizeof(*v), 0) ||
		    bpf_map__lookup_elem(o->skel->maps.oom_victim, &zero, sizeof(zero), &again,
					 sizeof(again), 0))
			return -errno;
		if (!memcmp(v, &again, sizeof(again)))
			return 0;
	}
	return -EAGAIN;
}

static int oom_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct oom *o = c->priv;
	struct kpulse_oom_victim v;
	char pid[16], comm[KPULSE_COMM_LEN + 1], path[4096];
	int err;

	err = read_victim(o, &v);
	if (err)
		return err;
	mset__add(out, &victims, (double)v.seq);
	mset__add(out, &unattributed, (double)v.lost);
	if (v.lost && !o->warned_full) {
		log_warn("the map of victim cgroups is full (%u); kills in further cgroups "
			 "are counted in kpulse_oom_kills_unattributed_total: raise "
			 "--collector.oom.cgroup-max",
			 cg_max);
		o->warned_full = true;
	}
	err = sample_cgroups(o, out);
	if (err || !v.seq)
		return err;
	snprintf(pid, sizeof(pid), "%u", v.tgid);
	/* comm comes from the kernel: bounded here, escaped where labels are written. */
	memcpy(comm, v.comm, KPULSE_COMM_LEN);
	comm[KPULSE_COMM_LEN] = '\0';
	path_string(&v.path, path, sizeof(path));
	mset__add(out, &last_info, 1, pid, comm, path);
	mset__add(out, &last_time,
		  (double)(clock__ns(CLOCK_REALTIME) - (clock__ns(CLOCK_BOOTTIME) - v.boot_ns)) /
			  1e9);
	return 0;
}

static void oom_destroy(struct collector *c)
{
	struct oom *o = c->priv;

	if (!o)
		return;
	oom_bpf__destroy(o->skel);
	filter__free(&o->filter);
	free(o->labels);
	free(o);
	c->priv = NULL;
}

struct collector oom_collector = {
	.name = "oom",
	.help = "OOM kills per cgroup and the last victim (pid, name, cgroup), from "
		"oom:mark_victim (eBPF)",
	.enabled = true,
	.needs_bpf = true,
	.flags = oom_flags,
	.metrics = oom_metrics,
	.init = oom_init,
	.sample = oom_sample,
	.destroy = oom_destroy,
};
