/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by bpf/fd.bpf.c and src/fd.c: fixed-width only, kpulse_ prefixed. */
#ifndef KPULSE_FD_H
#define KPULSE_FD_H

#include "kpulse.h"

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
 * The per-tick walk (fd_walk, a BPF_PROG_TYPE_SYSCALL program that userspace runs once per
 * tick) visits every descriptor table once and aggregates in the kernel, so what reaches
 * userspace grows with the number of process names, not of processes.
 */
#define KPULSE_FD_NAMES_MAX 8192 /* distinct process names per tick */
#define KPULSE_FD_EXE_DEPTH 16	 /* path components kept of the top process's executable */
#define KPULSE_FD_EXE_NAME 64	 /* bytes kept of each component, NUL included */

/* Key of fd_names: a thread-group leader's name, NUL-padded to the full length. */
struct kpulse_fd_name {
	char comm[KPULSE_COMM_LEN];
};

/* Value of fd_names: where the name is added up, names_out[slot], in the walk of tick @gen. */
struct kpulse_fd_slot {
	__u64 gen;
	__u32 slot;
	__u32 pad;
};

/* The processes of one name, in the walk of tick @gen. */
struct kpulse_fd_use {
	__u64 gen;
	__u64 nfds;	   /* open descriptors, summed over their tables */
	__u64 worst_nfds;  /* the table nearest its limit: its open descriptors... */
	__u64 worst_limit; /* ...and its process's RLIMIT_NOFILE soft limit */
};

/* One name of the last walk, as fd_walk lists them for userspace (fd_bpf.bss). */
struct kpulse_fd_name_use {
	struct kpulse_fd_name name;
	struct kpulse_fd_use use;
};

/* The process nearest its RLIMIT_NOFILE (ties: the lowest pid), as the walk found it. */
struct kpulse_fd_top {
	__u64 nfds;
	__u64 limit; /* ~0: RLIM_INFINITY */
	__u32 tgid;  /* 0: none found */
	__u32 uid;   /* real uid */
	char comm[KPULSE_COMM_LEN];
	__u32 exe_depth; /* components in exe[], the executable's own name first */
	__u32 exe_more;	 /* 1 if the path has more components than exe[] holds */
	char exe[KPULSE_FD_EXE_DEPTH][KPULSE_FD_EXE_NAME];
};

/* What one walk found (fd_bpf.bss); userspace sets gen before each run. */
struct kpulse_fd_walk {
	__u64 gen;
	__u64 tables;	  /* descriptor tables counted */
	__u64 names;	  /* entries of names_out[] */
	__u64 names_lost; /* tables whose name found no room in fd_names */
	struct kpulse_fd_top top;
};

#endif /* KPULSE_FD_H */
