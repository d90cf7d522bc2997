/* SPDX-License-Identifier: GPL-2.0 */
/* /proc/<pid>/mountinfo lines (proc(5)), parsed in place. */
#ifndef KPULSE_MOUNTINFO_H
#define KPULSE_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>
#include "filter.h"
#include "strindex.h"

struct mountinfo {
	unsigned int major, minor;
	char *root;	   /* root of the mount within its filesystem */
	char *mount_point; /* decoded: "\040" is a space again */
	char *options;	   /* per-mount options, e.g. "rw,relatime" */
	char *fstype;
	char *source; /* decoded */
	char *super_options;
};

/* Parse one line in place; -EINVAL if it does not have the mountinfo shape. */
int mountinfo__parse(char *line, struct mountinfo *m);
/* Decode the octal escapes (\040 \011 \012 \134) the kernel writes, in place. */
void mountinfo__unescape(char *s);

/* A mount the filesystem collector reports; the strings point into the parsed buffer. */
struct mount_entry {
	char *device, *mount_point, *fstype;
	bool readonly;	     /* the superblock is read-only */
	bool mount_readonly; /* the mount itself is (its per-mount options) */
};

/* The mounts of one mountinfo, one per mount point, kept from tick to tick for its memory. */
struct mount_table {
	struct mount_entry *m;
	size_t n, cap;
	size_t bad;	/* lines that did not parse */
	size_t max;	/* most mount points kept (the first listed); 0: no limit */
	size_t dropped; /* mount points past max in the last parse */
	struct strindex index;
};

/*
 * Parse a whole mountinfo @buf in place into @t, keeping the mounts whose fstype passes
 * @types and whose mount point passes @points (either may be NULL). A mount point listed
 * twice keeps its last line: that is the mount on top, the one statfs sees. Linear in the
 * number of lines (20 000 mounts were 2.4 s per tick with a list search). -ENOMEM.
 */
int mount_table__parse(struct mount_table *t, char *buf, const struct filter *types,
		       const struct filter *points);
void mount_table__free(struct mount_table *t);

#endif /* KPULSE_MOUNTINFO_H */
