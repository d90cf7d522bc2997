/* SPDX-License-Identifier: GPL-2.0 */
/* Pure helpers of the fd collector (src/fd.c), unit-tested without privileges. */
#ifndef KPULSE_FD_PARSE_H
#define KPULSE_FD_PARSE_H

#include <stddef.h>
#include <stdint.h>

struct kpulse_fd_top;

/* The name of Linux errno @e ("EMFILE"), kernel-internal codes included; NULL if none. */
const char *fd__errno_name(int e);
/* The errno counted in slot @slot of kpulse_fd_stats.errors (bpf/fd.h); 0 for "other". */
int fd__slot_errno(unsigned int slot);
/*
 * Parse the text of /proc/sys/fs/file-nr: "allocated\tunused\tmaximum\n", three unsigned
 * decimals. -EINVAL if it is anything else.
 */
int fd__parse_file_nr(const char *text, uint64_t *allocated, uint64_t *maximum);

/*
 * The executable path of @top (components leaf first, bpf/fd.h) as "/usr/bin/x" in @out
 * (@len bytes, NUL included). A path longer than @len keeps its end, the executable's own
 * name, and starts with ".../"; so does one the walk cut for depth. "" if none is known.
 */
void fd__exe_path(const struct kpulse_fd_top *top, char *out, size_t len);

#endif /* KPULSE_FD_PARSE_H */
