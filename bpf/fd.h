/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by bpf/fd.bpf.c and src/fd.c: fixed-width only, kpulse_ prefixed. */
#ifndef KPULSE_FD_H
#define KPULSE_FD_H

/*
 * Error slots of kpulse_fd_stats.errors: slot e < KPULSE_FD_ERRNO_LOW holds errno e; the
 * kernel-internal restart codes 512.. (ERESTARTSYS and friends, seen by sys_exit before
 * the signal code rewrites them) use the slots above; anything else lands in slot 0.
 */
#define KPULSE_FD_ERRNO_LOW 160
#define KPULSE_FD_ERRNO_HIGH_BASE 512
#define KPULSE_FD_NERR 192

/*
 * Descriptor activity (fd_stats, a per-CPU array of one entry). Every field only ever
 * grows; userspace sums the CPUs.
 */
struct kpulse_fd_stats {
	__u64 opened; /* descriptors created by a successful syscall (pipe, socketpair: 2) */
	__u64 closed; /* released by close, close_range, or dup2/dup3 onto an open one */
	__u64 errors[KPULSE_FD_NERR]; /* failed descriptor-creating syscalls, by errno slot */
};

/* What a sys_enter hook left for the matching sys_exit (fd_pending, keyed by pid_tgid). */
enum kpulse_fd_pending_kind {
	KPULSE_FD_PEND_DUPFD = 1,	/* fcntl(F_DUPFD / F_DUPFD_CLOEXEC) */
	KPULSE_FD_PEND_DUP2 = 2,	/* dup2 / dup3 */
	KPULSE_FD_PEND_SIGNALFD = 3,	/* signalfd(-1, ...): creates, not updates */
	KPULSE_FD_PEND_CLOSE_RANGE = 4, /* close_range without CLOSE_RANGE_CLOEXEC */
};

struct kpulse_fd_pending {
	__u32 kind;   /* enum kpulse_fd_pending_kind */
	__u32 noop;   /* dup2(fd, fd): succeeds without creating anything */
	__u64 closes; /* descriptors the call closes if it succeeds */
};

/*
 * One record per (process, descriptor table) written by the iter/task program, which
 * skips threads that share their group leader's table: a record is one table seen from
 * one process (a thread with a private table after unshare(CLONE_FILES) adds one more).
 */
struct kpulse_fd_proc {
	__u64 files_id; /* identity of the descriptor table (dedups a table seen twice) */
	__u64 limit;	/* RLIMIT_NOFILE soft limit of the process */
	__u32 tgid;
	__u32 nfds;    /* descriptors open in this table */
	char comm[16]; /* the thread-group leader's name */
};

#endif /* KPULSE_FD_H */
