// SPDX-License-Identifier: GPL-2.0
/*
 * Filesystem collector: size, free space and inodes of each real mount, from
 * <procfs>/self/mountinfo and statfs(2). statfs runs in fsstat's worker threads with a
 * deadline, so a hung mount (dead NFS server, wedged FUSE daemon) reports device_error 1
 * instead of stalling the sampler. With --path.rootfs (kpulse in a container, the host's
 * root mounted there), the mounts are the host's: those of its init, <procfs>/1/mountinfo,
 * each measured at <rootfs><mount point> and labelled with its mount point on the host.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collector.h"
#include "filter.h"
#include "fsstat.h"
#include "log.h"
#include "mountinfo.h"
#include "procfs.h"

#define FS_LABELS "device,mountpoint,fstype"

static const struct metric_desc fs_size = {
	"kpulse_filesystem_size_bytes",
	METRIC_GAUGE,
	FS_LABELS,
	"Size of the filesystem (statfs f_blocks x f_frsize).",
	.flags = METRIC_MERGE_MAX, /* a mount seen twice is one filesystem */
};
static const struct metric_desc fs_free = {
	"kpulse_filesystem_free_bytes",
	METRIC_GAUGE,
	FS_LABELS,
	"Free space, including what is reserved for root (f_bfree).",
	.flags = METRIC_MERGE_MAX,
};
static const struct metric_desc fs_avail = {
	"kpulse_filesystem_avail_bytes",
	METRIC_GAUGE,
	FS_LABELS,
	"Space available to unprivileged users (f_bavail).",
	.flags = METRIC_MERGE_MAX,
};
static const struct metric_desc fs_files = {
	"kpulse_filesystem_files", METRIC_GAUGE, FS_LABELS, "Inodes in the filesystem (f_files).",
	.flags = METRIC_MERGE_MAX,
};
static const struct metric_desc fs_files_free = {
	"kpulse_filesystem_files_free", METRIC_GAUGE, FS_LABELS, "Free inodes (f_ffree).",
	.flags = METRIC_MERGE_MAX,
};
static const struct metric_desc fs_used_ratio = {
	"kpulse_filesystem_used_ratio",
	METRIC_GAUGE,
	FS_LABELS,
	"Used share of the space an unprivileged user can have, as df's Use%: "
	"(size - free) / (size - free + avail).",
	.flags = METRIC_MERGE_MAX,
};
static const struct metric_desc fs_readonly = {
	"kpulse_filesystem_readonly",
	METRIC_GAUGE,
	FS_LABELS,
	"1 if the filesystem itself is read-only (superblock, e.g. remounted ro after errors).",
	.flags = METRIC_MERGE_MAX,
};
static const struct metric_desc fs_device_error = {
	"kpulse_filesystem_device_error",
	METRIC_GAUGE,
	FS_LABELS,
	"1 if statfs failed, or did not answer within --collector.filesystem.timeout (the mount "
	"is then not asked again until that call returns).",
	.flags = METRIC_MERGE_MAX,
};

static const struct metric_desc *const filesystem_metrics[] = {
	&fs_size,	&fs_free,     &fs_avail,	&fs_files, &fs_files_free,
	&fs_used_ratio, &fs_readonly, &fs_device_error, NULL,
};

/* node_exporter's defaults, written for a whole-name match (filter.h anchors them). */
static const char *mount_points_exclude =
	"/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)"
	"(/.*)?";
static const char *fs_types_exclude =
	"autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|"
	"iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|"
	"squashfs|erofs|sysfs|tracefs";
static uint64_t statfs_timeout_ns = 2000000000ull;
static unsigned int max_mounts = 4096;

static const struct flag filesystem_flags[] = {
	{"collector.filesystem.mount-points-exclude", FLAG_STRING, &mount_points_exclude,
	 "Regular expression of mount points not to report (whole path)"},
	{"collector.filesystem.fs-types-exclude", FLAG_STRING, &fs_types_exclude,
	 "Regular expression of filesystem types not to report (whole name)"},
	{"collector.filesystem.timeout", FLAG_DURATION, &statfs_timeout_ns,
	 "How long a statfs may take before its mount is reported device_error 1 and skipped "
	 "until the call returns"},
	{"collector.filesystem.max-mounts", FLAG_UINT, &max_mounts,
	 "Most mount points reported (the first in mountinfo); the rest are left out and "
	 "logged once"},
	{NULL},
};

struct filesystem {
	const char *procfs;
	const char *mountinfo; /* under procfs: "self/mountinfo", or "1/mountinfo" */
	const char *rootfs;    /* prefix of every statfs path; "" without --path.rootfs */
	char *joined;	       /* rootfs + mount point, for each path, when rootfs is set */
	size_t joined_cap;
	uint64_t wait_ns; /* longest the sampler waits for answers in one tick */
	struct procfs_buf buf;
	struct filter mounts, types;
	struct fsstat_pool *pool;
	struct mount_table table;
	const char **paths;
	struct fsstat_answer *answers;
	size_t cap;
	bool parsed; /* table and paths hold the mountinfo last read, unchanged since */
	uint32_t warned;
};

/* Warned-once bits of mountinfo. */
enum {
	WARN_BAD_LINE = 1u << 0,
	WARN_MAX_MOUNTS = 1u << 1,
};

static int filesystem_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct filesystem *fs = calloc(1, sizeof(*fs));
	char err[512];

	if (!fs)
		return -ENOMEM;
	c->priv = fs;
	fs->procfs = cfg->procfs;
	/* "/", "" and none mean kpulse's own root; a trailing slash is dropped when joining. */
	fs->rootfs = cfg->rootfs && strcmp(cfg->rootfs, "/") ? cfg->rootfs : "";
	fs->mountinfo = *fs->rootfs ? "1/mountinfo" : "self/mountinfo";
	if (!statfs_timeout_ns) {
		log__reason("--collector.filesystem.timeout: must be more than 0");
		return -EINVAL;
	}
	/*
	 * Wait at most half an interval, so the tick that first meets a hung mount still ends
	 * on time; a call still running then is answered in a later tick, or declared hung.
	 */
	fs->wait_ns = cfg->interval_ns / 2;
	if (fs->wait_ns > statfs_timeout_ns)
		fs->wait_ns = statfs_timeout_ns;
	if (filter__init(&fs->mounts, NULL, mount_points_exclude, err, sizeof(err)) ||
	    filter__init(&fs->types, NULL, fs_types_exclude, err, sizeof(err))) {
		log__reason("--collector.filesystem: %s", err);
		return -EINVAL;
	}
	fs->table.max = max_mounts;
	fs->pool = fsstat_pool__new(fsstat__statfs, statfs_timeout_ns);
	return fs->pool ? 0 : -ENOMEM;
}

/* Point fs->paths[0..n) at <rootfs><mount point>, joined in fs->joined. */
static int under_rootfs(struct filesystem *fs, size_t n)
{
	size_t i, len = strlen(fs->rootfs), need = 0, off = 0;

	while (len > 1 && fs->rootfs[len - 1] == '/')
		len--;
	for (i = 0; i < n; i++)
		need += len + strlen(fs->table.m[i].mount_point) + 1;
	if (need > fs->joined_cap) {
		char *j = realloc(fs->joined, need);

		if (!j)
			return -ENOMEM;
		fs->joined = j;
		fs->joined_cap = need;
	}
	for (i = 0; i < n; i++) {
		fs->paths[i] = fs->joined + off;
		off += sprintf(fs->joined + off, "%.*s%s", (int)len, fs->rootfs,
			       fs->table.m[i].mount_point) +
		       1;
	}
	return 0;
}

/*
 * Whether the mount table may have changed since it was last parsed. The kernel reports a
 * change of the mount namespace (mount, unmount, remount, move) as POLLERR | POLLPRI on an
 * open mountinfo (fs/proc_namespace.c mounts_poll()), so the file, which costs ~30 us to
 * generate and more to parse, is read again only then. A file not kept open (a fixture under
 * --path.procfs) cannot say, and is read every tick.
 */
static bool mounts_changed(struct filesystem *fs)
{
	struct pollfd p = {.events = POLLPRI};

	if (!fs->parsed || !fs->buf.kept.fd)
		return true;
	p.fd = fs->buf.kept.fd - 1;
	return poll(&p, 1, 0) != 0; /* only POLLPRI and POLLERR, or -1, can come back */
}

/* The mounts to report, one per mount point, and the path statfs is asked for each. */
static int read_mounts(struct filesystem *fs, size_t *n)
{
	size_t i;
	int err;

	if (!mounts_changed(fs)) {
		*n = fs->table.n;
		return 0;
	}
	fs->parsed = false;
	err = procfs__read(fs->procfs, fs->mountinfo, &fs->buf);
	if (err)
		return err;
	err = mount_table__parse(&fs->table, fs->buf.data, &fs->types, &fs->mounts);
	if (err)
		return err;
	if (fs->table.bad)
		procfs__warn_once(&fs->warned, WARN_BAD_LINE,
				  "%s/%s: skipping a line that does not parse", fs->procfs,
				  fs->mountinfo);
	if (fs->table.dropped)
		procfs__warn_once(
			&fs->warned, WARN_MAX_MOUNTS,
			"%s/%s: more than %u mount points; only the first %u are reported "
			"(--collector.filesystem.max-mounts, or exclude more with "
			"--collector.filesystem.mount-points-exclude)",
			fs->procfs, fs->mountinfo, max_mounts, max_mounts);
	if (fs->table.n > fs->cap) {
		const char **paths = realloc(fs->paths, fs->table.cap * sizeof(*paths));
		struct fsstat_answer *answers;

		if (!paths)
			return -ENOMEM;
		fs->paths = paths;
		answers = realloc(fs->answers, fs->table.cap * sizeof(*answers));
		if (!answers)
			return -ENOMEM;
		fs->answers = answers;
		fs->cap = fs->table.cap;
	}
	*n = fs->table.n;
	if (*fs->rootfs) {
		err = under_rootfs(fs, *n);
		if (err)
			return err;
	} else {
		for (i = 0; i < *n; i++)
			fs->paths[i] = fs->table.m[i].mount_point;
	}
	fs->parsed = true;
	return 0;
}

/* Mounts whose state change is logged by name in one tick; the rest are counted. */
#define FS_LOG_CHANGES 8

static void add_answer(struct filesystem *fs, struct mset *out, const struct mount_entry *m,
		       const struct fsstat_answer *a, size_t *changes)
{
	const char *dev = m->device, *mp = m->mount_point, *type = m->fstype;
	const struct fsstat *st = &a->st;
	/*
	 * A superblock can turn read-only by itself (ext4 errors=remount-ro), with no
	 * mount-namespace event to have mountinfo read again: statfs says so (ST_RDONLY) for a
	 * mount that is itself writable. The table is then read again at the next tick.
	 */
	bool ro = m->readonly || (a->state == FSSTAT_OK && st->readonly && !m->mount_readonly);

	if (ro != m->readonly)
		fs->parsed = false;

	if (a->changed && ++*changes > FS_LOG_CHANGES)
		; /* summed up by the caller */
	else if (a->changed && a->state == FSSTAT_HUNG)
		log_warn("statfs of %s (%s) did not answer within the timeout; reporting "
			 "device_error 1 and not asking again until it returns",
			 mp, type);
	else if (a->changed && a->state == FSSTAT_ERROR)
		log_warn("failed to statfs %s (%s): %s", mp, type, strerror(-a->err));
	else if (a->changed)
		log_info("statfs of %s answers again", mp);

	if (a->state == FSSTAT_OK) {
		double bs = (double)st->bsize, used;

		mset__add(out, &fs_size, (double)st->blocks * bs, dev, mp, type);
		mset__add(out, &fs_free, (double)st->bfree * bs, dev, mp, type);
		mset__add(out, &fs_avail, (double)st->bavail * bs, dev, mp, type);
		mset__add(out, &fs_files, (double)st->files, dev, mp, type);
		mset__add(out, &fs_files_free, (double)st->ffree, dev, mp, type);
		/* A filesystem that claims more free than size has no meaningful ratio. */
		used = st->bfree <= st->blocks ? (double)(st->blocks - st->bfree) * bs : -1;
		if (used >= 0 && used + (double)st->bavail * bs > 0)
			mset__add(out, &fs_used_ratio, used / (used + (double)st->bavail * bs), dev,
				  mp, type);
	}
	mset__add(out, &fs_readonly, ro, dev, mp, type);
	if (a->state != FSSTAT_PENDING)
		mset__add(out, &fs_device_error, a->state != FSSTAT_OK, dev, mp, type);
}

static int filesystem_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct filesystem *fs = c->priv;
	size_t i, n = 0, changes = 0;
	int err;

	err = read_mounts(fs, &n);
	if (err) {
		log__reason("failed to read %s/%s: %s", fs->procfs, fs->mountinfo,
			    procfs__strerror(err));
		return err;
	}
	err = fsstat_pool__round(fs->pool, fs->paths, n, fs->wait_ns, fs->answers);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		add_answer(fs, out, &fs->table.m[i], &fs->answers[i], &changes);
	if (changes > FS_LOG_CHANGES)
		log_warn("statfs: %zu more mounts changed state in this tick (failed, hung or "
			 "answering again); see kpulse_filesystem_device_error",
			 changes - FS_LOG_CHANGES);
	return 0;
}

static void filesystem_destroy(struct collector *c)
{
	struct filesystem *fs = c->priv;

	if (!fs)
		return;
	/* Returns at once even with a statfs stuck: that thread is detached. */
	fsstat_pool__free(fs->pool);
	filter__free(&fs->mounts);
	filter__free(&fs->types);
	procfs__buf_free(&fs->buf);
	mount_table__free(&fs->table);
	free(fs->paths);
	free(fs->answers);
	free(fs->joined);
	free(fs);
	c->priv = NULL;
}

struct collector filesystem_collector = {
	.name = "filesystem",
	.help = "Filesystem size, free space and inodes from mountinfo and statfs, with a "
		"timeout",
	.enabled = true,
	.flags = filesystem_flags,
	.metrics = filesystem_metrics,
	.init = filesystem_init,
	.sample = filesystem_sample,
	.destroy = filesystem_destroy,
};
