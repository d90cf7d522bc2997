// SPDX-License-Identifier: GPL-2.0
/*
 * OOM collector: every task the OOM killer marks as its victim (oom:mark_victim), counted
 * per cgroup v2 of the victim with that cgroup's path, and the last victim kept whole. The
 * tracepoint fires once per victim, never on a hot path, so nothing here is about speed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "oom.h"
#include "core_fixes.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Kills per victim cgroup; max_entries from --collector.oom.cgroup-max. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct kpulse_oom_cgroup);
} oom_cgroup SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kpulse_oom_victim);
} oom_victim SEC(".maps");

/* Room to build a record: it is larger than the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kpulse_oom_cgroup);
} oom_scratch SEC(".maps");

/* Most ancestors walked: deeper than this, the path keeps its first KPULSE_OOM_DEPTH levels
 * of the last 32 (no real hierarchy comes near). */
#define WALK_MAX 32

/* Fill @p with the path of cgroup directory @kn below the cgroup2 root. */
static __always_inline void cgroup_path(struct kernfs_node *kn, struct kpulse_oom_path *p)
{
	struct kernfs_node *chain[WALK_MAX];
	__u32 n = 0, i;

	/* Leaf to root; the root itself (no parent) has no name in the path. */
	for (i = 0; i < WALK_MAX; i++) {
		struct kernfs_node *parent;

		if (!kn)
			break;
		parent = kn_parent(kn);
		if (!parent)
			break;
		chain[i] = kn;
		n++;
		kn = parent;
	}
	p->truncated = n > KPULSE_OOM_DEPTH;
	p->depth = n > KPULSE_OOM_DEPTH ? KPULSE_OOM_DEPTH : n;
	for (i = 0; i < KPULSE_OOM_DEPTH; i++) {
		__u32 j = n - 1 - i;

		/* Unused slots are emptied: a reused scratch record keeps no older name. */
		if (i >= p->depth || j >= WALK_MAX) {
			p->name[i][0] = '\0';
			continue;
		}
		bpf_probe_read_kernel_str(p->name[i], KPULSE_OOM_NAME,
					  BPF_CORE_READ(chain[j], name));
	}
}

static __always_inline int handle_victim(struct task_struct *task, __u32 uid)
{
	struct kpulse_oom_cgroup *rec, *v;
	struct kpulse_oom_victim *last;
	struct kernfs_node *kn;
	__u32 zero = 0;
	__u64 id;

	rec = bpf_map_lookup_elem(&oom_scratch, &zero);
	last = bpf_map_lookup_elem(&oom_victim, &zero);
	if (!rec || !last)
		return 0;
	kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
	id = BPF_CORE_READ(kn, id);
	cgroup_path(kn, &rec->path);
	/* Victims are marked under oom_lock, one at a time, so the record cannot tear. */
	rec->kills = 1;
	if (bpf_map_update_elem(&oom_cgroup, &id, rec, BPF_NOEXIST)) {
		v = bpf_map_lookup_elem(&oom_cgroup, &id);
		if (v) {
			__sync_fetch_and_add(&v->kills, 1);
			/* Renamed since? Keep the name it was killed under. */
			bpf_probe_read_kernel(&v->path, sizeof(v->path), &rec->path);
		} else {
			__sync_fetch_and_add(&last->lost, 1);
		}
	}
	last->boot_ns = bpf_ktime_get_boot_ns();
	last->cgroup_id = id;
	last->tgid = BPF_CORE_READ(task, tgid);
	last->uid = uid;
	BPF_CORE_READ_STR_INTO(&last->comm, task, comm);
	bpf_probe_read_kernel(&last->path, sizeof(last->path), &rec->path);
	/* Last, so a reader that sees the new seq sees the rest. */
	__sync_fetch_and_add(&last->seq, 1);
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim_btf, struct task_struct *task, __u32 uid)
{
	return handle_victim(task, uid);
}

SEC("raw_tp/mark_victim")
int BPF_PROG(mark_victim_raw, struct task_struct *task, __u32 uid)
{
	return handle_victim(task, uid);
}
