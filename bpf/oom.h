/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by bpf/oom.bpf.c and src/oom.c: fixed-width only, kpulse_ prefixed. */
#ifndef KPULSE_OOM_H
#define KPULSE_OOM_H

#include "kpulse.h"

/* A cgroup v2 path as the names of its directories, from the top: at most this many of
 * this many bytes each (a longer name is cut, a deeper path keeps its first levels). */
#define KPULSE_OOM_DEPTH 16
#define KPULSE_OOM_NAME 64

struct kpulse_oom_path {
	__u32 depth;	 /* components in name[] (0: the root cgroup) */
	__u32 truncated; /* 1 if the cgroup is deeper than KPULSE_OOM_DEPTH */
	char name[KPULSE_OOM_DEPTH][KPULSE_OOM_NAME];
};

/*
 * oom_cgroup value (a hash keyed by the victim's cgroup v2 id): OOM kills of tasks in that
 * cgroup, and its path as it was at the last kill, so a cgroup removed right after (a
 * container that died of it) is still named.
 */
struct kpulse_oom_cgroup {
	__u64 kills;
	struct kpulse_oom_path path;
};

/* oom_victim (an array of one): the last victim, and counts over all victims. */
struct kpulse_oom_victim {
	__u64 seq;	 /* victims seen since the map was created; 0: none yet */
	__u64 lost;	 /* victims not counted per cgroup: oom_cgroup was full */
	__u64 boot_ns;	 /* bpf_ktime_get_boot_ns() at the kill */
	__u64 cgroup_id; /* the victim's cgroup v2 id (the directory's inode number) */
	__u32 tgid;	 /* the victim's process id */
	__u32 uid;
	char comm[KPULSE_COMM_LEN];
	struct kpulse_oom_path path;
};

#endif /* KPULSE_OOM_H */
