/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup v2: find the mount, and map cgroup ids (what bpf_get_current_cgroup_id() and
 * skb/sock cgroup ids return: the inode of the cgroup directory) to the path that is
 * exported, rolled up to a depth and filtered by include/exclude regexes. Shared by every
 * collector that counts per cgroup, so they all roll up the same way.
 */
#ifndef KPULSE_CGROUP_H
#define KPULSE_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "filter.h"

struct cgroup_node {
	uint64_t id;
	char *path;	 /* full path below the mount, "/" for the root */
	char *rolled_up; /* the exported label: path cut to the depth, or NULL if filtered out */
};

struct cgroups {
	char mount[4096];
	unsigned int depth;
	struct filter filter;
	struct cgroup_node *nodes; /* sorted by id after a scan */
	size_t n, cap;
	bool warned_long; /* a path beyond PATH_MAX was logged */
};

/* Find the cgroup2 mount in <procfs>/self/mountinfo; -ENOENT if cgroup2 is not mounted. */
int cgroup__find_mount(const char *procfs, char *out, size_t len);
/*
 * Find the mount and compile the filters; -errno with @err saying what failed.
 * @depth 0 rolls everything up into "/", 1 into "/system.slice", and so on.
 */
int cgroups__init(struct cgroups *c, const char *procfs, unsigned int depth, const char *include,
		  const char *exclude, char *err, size_t errlen);
/* Walk the cgroup tree again (new and removed cgroups); -errno on failure. */
int cgroups__scan(struct cgroups *c);
/*
 * true if the cgroup at @path (below the mount) still exists, and is cgroup @id when @id is
 * not 0: one stat, no walk, to tell a removed cgroup from the last scan's list.
 */
bool cgroups__alive(const struct cgroups *c, const char *path, uint64_t id);
/* The node of @id as of the last scan, or NULL if there is no such cgroup now. */
const struct cgroup_node *cgroups__find(const struct cgroups *c, uint64_t id);
void cgroups__free(struct cgroups *c);
/*
 * Call @fn(path, ctx) for the cgroup at @mount ("/") and every cgroup down to @max_depth
 * levels below it, each parent before its children, without looking deeper: the cheap walk
 * for a collector that reads one file per rolled-up cgroup. A cgroup removed during the walk
 * is skipped. Returns the first non-zero return of @fn, or -errno if @mount cannot be read.
 */
int cgroup__walk(const char *mount, unsigned int max_depth, int (*fn)(const char *path, void *ctx),
		 void *ctx);
/* Cut "/a/b/c" to its first @depth components, into @out. */
void cgroup__roll_up(const char *path, unsigned int depth, char *out, size_t len);

#endif /* KPULSE_CGROUP_H */
