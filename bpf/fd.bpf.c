// SPDX-License-Identifier: GPL-2.0
/*
 * File-descriptor collector: descriptors created, closed and refused, from the syscall
 * tracepoints of every syscall that creates or closes descriptors; and open descriptors
 * per process from an iter/task program that userspace runs once per interval.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "fd.h"

char LICENSE[] SEC("license") = "GPL";

#define RLIMIT_NOFILE 7
#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#define EBADF 9

/*
 * Classic syscall tracepoint records (see events/syscalls/sys_*_x/format): these are raw
 * offsets fixed by the tracing ABI, not kernel structs, so no CO-RE here.
 */
struct kp_sys_enter {
	__u64 common;
	__s64 nr;
	__u64 args[6];
};

struct kp_sys_exit {
	__u64 common;
	__s64 nr;
	__s64 ret;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kpulse_fd_stats);
} fd_stats SEC(".maps");

/*
 * Enter → exit hand-over for the few syscalls whose exit alone is ambiguous. LRU, so a
 * task killed between the two hooks cannot leak an entry forever.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct kpulse_fd_pending);
} fd_pending SEC(".maps");

static __always_inline struct kpulse_fd_stats *stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fd_stats, &zero);
}

static __always_inline __u32 errno_slot(__s64 ret)
{
	__u64 e = -ret;

	if (e < KPULSE_FD_ERRNO_LOW)
		return e;
	if (e >= KPULSE_FD_ERRNO_HIGH_BASE &&
	    e < KPULSE_FD_ERRNO_HIGH_BASE + KPULSE_FD_NERR - KPULSE_FD_ERRNO_LOW)
		return e - KPULSE_FD_ERRNO_HIGH_BASE + KPULSE_FD_ERRNO_LOW;
	return 0;
}

/* A descriptor-creating syscall returned @ret; on success it created @n descriptors. */
static __always_inline int count_open(__s64 ret, __u64 n)
{
	struct kpulse_fd_stats *s = stats();
	__u32 slot;

	if (!s)
		return 0;
	/*
	 * A per-CPU slot, and plain adds are safe: syscall tracepoints are called preemptible
	 * on recent kernels (they may fault), but perf_syscall_{enter,exit}() run the program
	 * under guard(preempt_notrace)() (kernel/trace/trace_syscalls.c), so nothing else on
	 * this CPU writes the slot meanwhile.
	 */
	if (ret >= 0) {
		s->opened += n;
		return 0;
	}
	slot = errno_slot(ret);
	if (slot < KPULSE_FD_NERR)
		s->errors[slot]++;
	return 0;
}

static __always_inline void count_closed(__u64 n)
{
	struct kpulse_fd_stats *s = stats();

	if (s && n)
		s->closed += n;
}

/*
 * One program per syscall tracepoint rather than one on raw_syscalls:sys_exit with a
 * table of syscall numbers: a raw_syscalls program would run on every syscall of the
 * host (read, write, futex...), these run only on the syscalls that create or close
 * descriptors; the others pay one bit test in the kernel's syscall tracing path.
 */

/* Syscalls that return one new descriptor, or -errno. */
#define FD_OPEN1(name)                                                                             \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                                 \
	int fd_x_##name(struct kp_sys_exit *ctx)                                                   \
	{                                                                                          \
		return count_open(ctx->ret, 1);                                                    \
	}

/* Syscalls that return 0 after filling in two new descriptors, or -errno. */
#define FD_OPEN2(name)                                                                             \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                                 \
	int fd_x_##name(struct kp_sys_exit *ctx)                                                   \
	{                                                                                          \
		return count_open(ctx->ret, 2);                                                    \
	}

FD_OPEN1(open)
FD_OPEN1(openat)
FD_OPEN1(openat2)
FD_OPEN1(creat)
FD_OPEN1(open_by_handle_at)
FD_OPEN1(open_tree)
FD_OPEN1(fsopen)
FD_OPEN1(fspick)
FD_OPEN1(fsmount)
FD_OPEN1(socket)
FD_OPEN1(accept)
FD_OPEN1(accept4)
FD_OPEN1(dup)
FD_OPEN1(eventfd)
FD_OPEN1(eventfd2)
FD_OPEN1(epoll_create)
FD_OPEN1(epoll_create1)
FD_OPEN1(memfd_create)
FD_OPEN1(memfd_secret)
FD_OPEN1(timerfd_create)
FD_OPEN1(inotify_init)
FD_OPEN1(inotify_init1)
FD_OPEN1(fanotify_init)
FD_OPEN1(pidfd_open)
FD_OPEN1(pidfd_getfd)
FD_OPEN1(perf_event_open)
FD_OPEN1(userfaultfd)
FD_OPEN1(io_uring_setup)
FD_OPEN1(mq_open)
FD_OPEN1(landlock_create_ruleset)
FD_OPEN2(pipe)
FD_OPEN2(pipe2)
FD_OPEN2(socketpair)

static __always_inline struct fdtable *current_fdt(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(t, files, fdt);
}

/* Is @fd open in the calling task's table? A racy peek, as exact as the syscall's own. */
static __always_inline bool fd_is_open(struct fdtable *fdt, __u64 fd)
{
	unsigned long *bits, word;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return false;
	bits = BPF_CORE_READ(fdt, open_fds);
	if (bpf_probe_read_kernel(&word, sizeof(word), bits + fd / 64))
		return false;
	return word & (1UL << (fd % 64));
}

static __always_inline void pend(__u32 kind, __u32 noop, __u64 closes)
{
	struct kpulse_fd_pending p = {.kind = kind, .noop = noop, .closes = closes};
	__u64 id = bpf_get_current_pid_tgid();

	bpf_map_update_elem(&fd_pending, &id, &p, BPF_ANY);
}

/* Take what the enter hook of @kind left; false if it left nothing (not our case). */
static __always_inline bool unpend(__u32 kind, struct kpulse_fd_pending *out)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct kpulse_fd_pending *p;

	p = bpf_map_lookup_elem(&fd_pending, &id);
	if (!p)
		return false;
	*out = *p;
	bpf_map_delete_elem(&fd_pending, &id);
	return out->kind == kind;
}

/* fcntl creates a descriptor only for F_DUPFD*: remember those, ignore every other cmd. */
SEC("tracepoint/syscalls/sys_enter_fcntl")
int fd_e_fcntl(struct kp_sys_enter *ctx)
{
	__u32 cmd = ctx->args[1];

	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		pend(KPULSE_FD_PEND_DUPFD, 0, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_fcntl")
int fd_x_fcntl(struct kp_sys_exit *ctx)
{
	struct kpulse_fd_pending p;

	if (unpend(KPULSE_FD_PEND_DUPFD, &p))
		count_open(ctx->ret, 1);
	return 0;
}

/*
 * dup2/dup3 onto an open descriptor close it first (counted as a close); dup2(fd, fd)
 * succeeds without creating anything (dup3 refuses it with EINVAL).
 */
static __always_inline int dup2_enter(struct kp_sys_enter *ctx)
{
	__u32 oldfd = ctx->args[0], newfd = ctx->args[1];

	if (oldfd == newfd)
		pend(KPULSE_FD_PEND_DUP2, 1, 0);
	else
		pend(KPULSE_FD_PEND_DUP2, 0, fd_is_open(current_fdt(), newfd));
	return 0;
}

static __always_inline int dup2_exit(struct kp_sys_exit *ctx)
{
	struct kpulse_fd_pending p;

	if (!unpend(KPULSE_FD_PEND_DUP2, &p))
		return 0;
	if (ctx->ret >= 0 && p.noop)
		return 0;
	count_open(ctx->ret, 1);
	if (ctx->ret >= 0)
		count_closed(p.closes);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_dup2")
int fd_e_dup2(struct kp_sys_enter *ctx)
{
	return dup2_enter(ctx);
}

SEC("tracepoint/syscalls/sys_exit_dup2")
int fd_x_dup2(struct kp_sys_exit *ctx)
{
	return dup2_exit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_dup3")
int fd_e_dup3(struct kp_sys_enter *ctx)
{
	return dup2_enter(ctx);
}

SEC("tracepoint/syscalls/sys_exit_dup3")
int fd_x_dup3(struct kp_sys_exit *ctx)
{
	return dup2_exit(ctx);
}

/* signalfd(fd, ...) with fd != -1 updates an existing signalfd and returns it. */
static __always_inline int signalfd_enter(struct kp_sys_enter *ctx)
{
	if ((__s32)ctx->args[0] == -1)
		pend(KPULSE_FD_PEND_SIGNALFD, 0, 0);
	return 0;
}

static __always_inline int signalfd_exit(struct kp_sys_exit *ctx)
{
	struct kpulse_fd_pending p;

	if (unpend(KPULSE_FD_PEND_SIGNALFD, &p))
		count_open(ctx->ret, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_signalfd")
int fd_e_signalfd(struct kp_sys_enter *ctx)
{
	return signalfd_enter(ctx);
}

SEC("tracepoint/syscalls/sys_exit_signalfd")
int fd_x_signalfd(struct kp_sys_exit *ctx)
{
	return signalfd_exit(ctx);
}

SEC("tracepoint/syscalls/sys_enter_signalfd4")
int fd_e_signalfd4(struct kp_sys_enter *ctx)
{
	return signalfd_enter(ctx);
}

SEC("tracepoint/syscalls/sys_exit_signalfd4")
int fd_x_signalfd4(struct kp_sys_exit *ctx)
{
	return signalfd_exit(ctx);
}

/* close releases the descriptor whatever it returns, except EBADF (nothing was open). */
SEC("tracepoint/syscalls/sys_exit_close")
int fd_x_close(struct kp_sys_exit *ctx)
{
	if (ctx->ret != -EBADF)
		count_closed(1);
	return 0;
}

/*
 * Count the set bits of the descriptor bitmap @bits in [lo, hi], FD_CHUNK_WORDS longs per
 * probe read (a 10 000-descriptor table is 157 longs: 5 reads, not 10 000 calls).
 */
#define FD_CHUNK_WORDS 32

struct popcount_ctx {
	unsigned long *bits;
	__u64 lo, hi; /* inclusive bit range */
	__u64 open;
};

static long count_chunk(__u64 i, struct popcount_ctx *c)
{
	unsigned long buf[FD_CHUNK_WORDS], word;
	__u64 first = c->lo / 64 + i * FD_CHUNK_WORDS, last = c->hi / 64, n;

	if (first > last)
		return 1;
	n = last - first + 1;
	if (n > FD_CHUNK_WORDS)
		n = FD_CHUNK_WORDS;
	if (bpf_probe_read_kernel(buf, n * sizeof(buf[0]), c->bits + first))
		return 1;
	for (int w = 0; w < FD_CHUNK_WORDS; w++) {
		if (w >= n)
			break;
		word = buf[w];
		if (first + w == c->lo / 64)
			word &= ~0UL << (c->lo % 64);
		if (first + w == last && c->hi % 64 != 63)
			word &= (1UL << (c->hi % 64 + 1)) - 1;
		c->open += __builtin_popcountll(word);
	}
	return 0;
}

/* Open descriptors of @fdt in [lo, hi] (hi clamped to the table). */
static __always_inline __u64 count_open_fds(struct fdtable *fdt, __u64 lo, __u64 hi)
{
	struct popcount_ctx c = {.lo = lo, .hi = hi};
	__u32 max = BPF_CORE_READ(fdt, max_fds);

	if (!max || lo > hi || lo >= max)
		return 0;
	if (c.hi >= max)
		c.hi = max - 1;
	c.bits = BPF_CORE_READ(fdt, open_fds);
	bpf_loop((c.hi / 64 - c.lo / 64) / FD_CHUNK_WORDS + 1, count_chunk, &c, 0);
	return c.open;
}

/*
 * close_range(lo, hi, flags) closes whatever is open in [lo, hi]: count the open bits of
 * the range in the descriptor table now and credit them when the call succeeds.
 * CLOSE_RANGE_CLOEXEC only marks them close-on-exec; CLOSE_RANGE_UNSHARE closes the same
 * range in a private copy of the table, so the count is the same.
 */
SEC("tracepoint/syscalls/sys_enter_close_range")
int fd_e_close_range(struct kp_sys_enter *ctx)
{
	struct fdtable *fdt;

	if ((__u32)ctx->args[2] & CLOSE_RANGE_CLOEXEC)
		return 0;
	fdt = current_fdt();
	if (!fdt)
		return 0;
	pend(KPULSE_FD_PEND_CLOSE_RANGE, 0,
	     count_open_fds(fdt, (__u32)ctx->args[0], (__u32)ctx->args[1]));
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_close_range")
int fd_x_close_range(struct kp_sys_exit *ctx)
{
	struct kpulse_fd_pending p;

	if (unpend(KPULSE_FD_PEND_CLOSE_RANGE, &p) && ctx->ret == 0)
		count_closed(p.closes);
	return 0;
}

/*
 * The per-process iterator: iter/task calls this once per task. A process's open
 * descriptors are the set bits of its table's open_fds bitmap, so one visit per task
 * costs max_fds / 64 words of popcount, a few microseconds for 10 000 descriptors, where
 * iter/task_file would run once per open file. Threads that share their leader's table
 * are skipped (the way iter/task_file does it), so a table is counted once per process.
 * One kpulse_fd_proc record per table, written with bpf_seq_write.
 *
 * A bit is set from the moment an open reserves the number until close releases it, so
 * a call in flight may count one descriptor that /proc/<pid>/fd does not list yet.
 */
SEC("iter/task")
int fd_iter(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct kpulse_fd_proc rec = {};
	struct files_struct *files;

	if (!task)
		return 0;
	files = BPF_CORE_READ(task, files);
	if (!files) /* kernel threads, exiting tasks */
		return 0;
	if (task->pid != task->tgid && files == BPF_CORE_READ(task, group_leader, files))
		return 0;
	rec.nfds = count_open_fds(BPF_CORE_READ(files, fdt), 0, ~0U);
	if (!rec.nfds)
		return 0;
	rec.files_id = (__u64)files;
	rec.tgid = task->tgid;
	rec.limit = BPF_CORE_READ(task, signal, rlim[RLIMIT_NOFILE].rlim_cur);
	BPF_CORE_READ_STR_INTO(&rec.comm, task, group_leader, comm);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
