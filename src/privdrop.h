/* SPDX-License-Identifier: GPL-2.0 */
/* Least privilege: once everything is loaded, attached and pinned, become nobody. */
#ifndef KPULSE_PRIVDROP_H
#define KPULSE_PRIVDROP_H

#include <stddef.h>

/*
 * Switch every thread to @user (its uid and primary gid, no supplementary groups) with
 * empty effective, permitted, inheritable, ambient and bounding capability sets and
 * no_new_privs, then check that it took. "root" keeps root on purpose. Call before any
 * thread is started: the bounding set is per thread. -errno with @why filled on failure.
 */
int privdrop__to(const char *user, char *why, size_t len);

#endif /* KPULSE_PRIVDROP_H */
