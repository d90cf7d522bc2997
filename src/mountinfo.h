/* SPDX-License-Identifier: GPL-2.0 */
/* /proc/<pid>/mountinfo lines (proc(5)), parsed in place. */
#ifndef KPULSE_MOUNTINFO_H
#define KPULSE_MOUNTINFO_H

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

#endif /* KPULSE_MOUNTINFO_H */
