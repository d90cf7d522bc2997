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
 * The per-tick walk over every descriptor table, in one run of fd_walk.
 *
 * An iter/task program costs 0.4 µs per task before it does anything (the kernel looks
 * every task up by pid and takes a reference: an empty one takes 7.7 ms of CPU per pass
 * over 20 000 processes here), and one record per process left userspace to sort them
 * all. The open-coded task iterator (Linux 6.7) follows the list of processes under RCU
 * instead (2.9 ms for the same 20 000, doing nothing: one cache miss per process, the
 * floor of any walk), and the walk adds up in the kernel: one fd_names entry per process
 * name, and the process nearest its limit. Userspace then reads names_out[] and walk from
 * the mmapped .bss, no syscall. Per process the walk reads what it must and no more: the
 * leader's table, name and limit; other threads only for a process that has some.
 */
extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task,
			     unsigned int flags) __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern struct task_struct *bpf_task_from_pid(__s32 pid) __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

/*
 * Scratch of the walks, not pinned. Names no process has any more are pruned (see
 * prune_names), not at every walk: a pass over a hash map visits every one of its 8192
 * buckets, whatever it holds.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KPULSE_FD_NAMES_MAX);
	__type(key, struct kpulse_fd_name);
	__type(value, struct kpulse_fd_slot);
} fd_names SEC(".maps");

__u64 fd_names_held; /* entries of fd_names: those of this walk and stale ones */

struct kpulse_fd_walk walk;
struct kpulse_fd_name_use names_out[KPULSE_FD_NAMES_MAX];

/*
 * Open descriptors in the @nwords longs of the bitmap at @bits. Global, not inlined: the
 * verifier checks it once on its own; inlined in the walk's loop, its bpf_loop would be
 * explored again for every state of that loop (beyond the 1M-instruction limit).
 */
__noinline __u64 fd_bits_open(__u64 bits, __u64 nwords)
{
	struct popcount_ctx c = {.bits = (unsigned long *)bits, .hi = nwords * 64 - 1};

	if (!nwords || nwords > (1U << 26))
		return 0;
	bpf_loop((nwords - 1) / FD_CHUNK_WORDS + 1, count_chunk, &c, 0);
	return c.open;
}

/*
 * A kernel address as a plain number (a global function takes no kernel pointer): through
 * a .bss slot, which a privileged program may store a pointer into and reads back as a
 * scalar. Cheaper than a probe read.
 */
__u64 addr_slot;

static __always_inline __u64 addr_of(const void *p)
{
	*(volatile __u64 *)&addr_slot = (__u64)p;
	return *(volatile __u64 *)&addr_slot;
}

/* Open descriptors of a table: its bitmap's set bits. */
static __always_inline __u64 table_open(struct files_struct *files)
{
	struct fdtable *fdt = files->fdt;
	__u32 max = fdt->max_fds;
	unsigned long w[4] = {};

	/*
	 * Most processes never open more than 64: the table is still the one embedded in
	 * files_struct (NR_OPEN_DEFAULT = BITS_PER_LONG), one word read as a plain load. Up
	 * to 256 (a table inherited from a parent that had more), one probe read of the
	 * bitmap: here cheaper than four loads through bpf_rdonly_cast(), each of which the
	 * kernel guards much like a probe read. Beyond, a probe read per 2048 descriptors.
	 */
	if (max <= 64)
		return __builtin_popcountll(files->open_fds_init[0]);
	if (max <= 256) {
		if (bpf_probe_read_kernel(w, max / 8, fdt->open_fds))
			return 0;
		return __builtin_popcountll(w[0]) + __builtin_popcountll(w[1]) +
		       __builtin_popcountll(w[2]) + __builtin_popcountll(w[3]);
	}
	return fd_bits_open(addr_of(fdt->open_fds), max / 64);
}

/* Open/limit as a comparable integer (units of 2^-32); limit 0 counts as full. */
static __always_inline __u64 ratio_key(__u64 nfds, __u64 limit)
{
	if (limit == ~0ULL) /* RLIM_INFINITY */
		return 0;
	if (!limit)
		return 1ULL << 32;
	return (nfds << 32) / limit; /* nfds < 2^31 (fs.nr_open): no overflow */
}

/*
 * The executable's path, one component per slot from the file's own name up, crossing
 * mount points the way d_path() does; as the process's mount namespace names it.
 * bpf_d_path() would need a trusted struct path, which mm->exe_file is not. Probe reads,
 * once per walk, for the top process only.
 */
struct exe_walk {
	struct dentry *d;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	__u32 n;
};

/* One step up from e->d: a path component, or a mount crossed; 1 stops the loop. */
static long exe_step(__u64 i, struct exe_walk *e)
{
	struct kpulse_fd_top *top = &walk.top;
	/* Locals: CO-RE relocations must not reach into struct exe_walk. */
	struct dentry *d = e->d, *parent = BPF_CORE_READ(d, d_parent);
	struct vfsmount *vfsmnt = e->vfsmnt;
	struct mount *mnt = e->mnt, *up;
	__u32 n = e->n;

	if (d == BPF_CORE_READ(vfsmnt, mnt_root) || d == parent) {
		/* The top of this mount: go on from where it is mounted. */
		up = BPF_CORE_READ(mnt, mnt_parent);
		if (up == mnt)
			return 1;
		e->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		e->mnt = up;
		e->vfsmnt = (void *)up + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	if (n >= KPULSE_FD_EXE_DEPTH) {
		top->exe_more = 1;
		return 1;
	}
	bpf_probe_read_kernel_str(top->exe[n], KPULSE_FD_EXE_NAME, BPF_CORE_READ(d, d_name.name));
	e->n = n + 1;
	e->d = parent;
	return 0;
}

static __always_inline void read_exe(struct task_struct *t, struct kpulse_fd_top *top)
{
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	struct exe_walk e = {};

	top->exe_depth = 0;
	top->exe_more = 0;
	if (!exe)
		return;
	e.d = BPF_CORE_READ(exe, f_path.dentry);
	e.vfsmnt = BPF_CORE_READ(exe, f_path.mnt);
	e.mnt = (void *)e.vfsmnt - bpf_core_field_offset(struct mount, mnt);
	/* Each mount crossed costs a step too. */
	bpf_loop(4 * KPULSE_FD_EXE_DEPTH, exe_step, &e, 0);
	top->exe_depth = e.n;
}

/* The name's bytes after its first NUL, zeroed: equal names must be equal keys. */
static __always_inline __u64 nul_pad(__u64 q, bool *end)
{
	__u64 keep = 0;

	if (*end)
		return 0;
	for (int i = 0; i < 8; i++) {
		if (!((q >> (8 * i)) & 0xff)) {
			*end = true;
			return q & keep;
		}
		keep = (keep << 8) | 0xff;
	}
	return q;
}

/* Is the table @nfds of @limit nearer its limit than the one @u holds? */
static __always_inline bool worse(__u64 nfds, __u64 limit, const struct kpulse_fd_use *u)
{
	return !u->worst_nfds || ratio_key(nfds, limit) > ratio_key(u->worst_nfds, u->worst_limit);
}

/*
 * The tables of one name the walk is in the middle of: processes of one name often come
 * in a row (a pool of workers forked together), and adding them up here costs no hash
 * lookup. Added to fd_names when the name changes and at the end. In .bss rather than on
 * the stack, as is the top's ratio: the verifier then sees the same state at every turn of
 * the walk's loop and proves it once.
 */
struct {
	__u64 raw[2];	 /* the comm as read: the next process of this name is spotted cheaply */
	__u64 name[2];	 /* the same, NUL-padded: the fd_names key */
	__u64 worst_key; /* ratio_key() of use.worst_* */
	struct kpulse_fd_use use;
} run;

__u64 top_key; /* ratio_key() of walk.top, once walk.top.tgid is set */

static __always_inline void flush_run(void)
{
	struct kpulse_fd_slot *s, fresh = {};
	struct kpulse_fd_use *u;
	__u64 n;

	if (!run.use.nfds)
		return;
	s = bpf_map_lookup_elem(&fd_names, run.name);
	if (!s) {
		if (bpf_map_update_elem(&fd_names, run.name, &fresh, BPF_NOEXIST))
			goto lost;
		fd_names_held++;
		s = bpf_map_lookup_elem(&fd_names, run.name);
		if (!s)
			goto lost;
	}
	if (s->gen != walk.gen) {
		/* The name's first tables of this walk: its slot in names_out[]. */
		n = walk.names;
		if (n >= KPULSE_FD_NAMES_MAX)
			goto lost;
		s->gen = walk.gen;
		s->slot = n;
		__builtin_memcpy(&names_out[n].name, run.name, sizeof(names_out[n].name));
		names_out[n].use = (struct kpulse_fd_use){.gen = walk.gen};
		walk.names = n + 1;
	}
	if (s->slot >= KPULSE_FD_NAMES_MAX)
		goto lost;
	u = &names_out[s->slot].use;
	u->nfds += run.use.nfds;
	if (worse(run.use.worst_nfds, run.use.worst_limit, u)) {
		u->worst_nfds = run.use.worst_nfds;
		u->worst_limit = run.use.worst_limit;
	}
	run.use.nfds = 0;
	return;
lost:
	walk.names_lost++;
	run.use.nfds = 0;
}

/*
 * One descriptor table of process @p (its leader), whose signal_struct is @sig: add it to
 * the process's name and see whether it is nearest its limit. The ratio is computed once
 * (one division) and kept beside the name's worst and the top, so no comparison divides
 * again; @p's pid is read only when @p takes the top or ties it.
 */
static __always_inline void add_table(struct task_struct *p, struct signal_struct *sig,
				      struct files_struct *files)
{
	struct kpulse_fd_top *top = &walk.top;
	__u64 nfds = table_open(files), limit, key, q0, q1;
	bool end = false;
	__u32 tgid;

	if (!nfds)
		return;
	walk.tables++;
	limit = sig->rlim[RLIMIT_NOFILE].rlim_cur;
	key = ratio_key(nfds, limit);

	q0 = *(__u64 *)&p->comm[0];
	q1 = *(__u64 *)&p->comm[8];
	if (!run.use.nfds || q0 != run.raw[0] || q1 != run.raw[1]) {
		flush_run();
		run.raw[0] = q0;
		run.raw[1] = q1;
		run.name[0] = nul_pad(q0, &end);
		run.name[1] = nul_pad(q1, &end);
		run.use.worst_nfds = 0;
	}
	run.use.nfds += nfds;
	if (!run.use.worst_nfds || key > run.worst_key) {
		run.use.worst_nfds = nfds;
		run.use.worst_limit = limit;
		run.worst_key = key;
	}

	if (top->tgid && key < top_key)
		return;
	tgid = p->tgid;
	if (!top->tgid || key > top_key || tgid < top->tgid) {
		top->tgid = tgid;
		top->nfds = nfds;
		top->limit = limit;
		top_key = key;
	}
}

/*
 * One process of the walk, by its leader @p. A process of one thread (the leader alone on
 * its thread list, nearly every process) has one table at most; no other task is looked
 * at. Otherwise its threads are walked for tables other than the leader's: threads sharing
 * the leader's table are skipped, as iter/task_file does; a thread that unshare()d its
 * table adds it; if the leader has exited and dropped its table, its threads still count
 * theirs (threads sharing one visited in a row count it once).
 */
static __always_inline void visit(struct task_struct *p)
{
	struct signal_struct *sig = p->signal;
	struct files_struct *files = p->files, *f;
	struct task_struct *th, *ref;
	struct bpf_iter_task it;
	__u64 prev = 0;

	if (p->thread_node.next == &sig->thread_head) {
		if (files) /* kernel threads have none */
			add_table(p, sig, files);
		return;
	}
	/* The thread iterator wants a task it can trust beyond this RCU section. */
	ref = bpf_task_acquire(p);
	if (!ref)
		return;
	bpf_iter_task_new(&it, ref, BPF_TASK_ITER_PROC_THREADS);
	while ((th = bpf_iter_task_next(&it))) {
		f = th->files;
		if (!f || (__u64)f == prev || (th != ref && f == files))
			continue;
		prev = (__u64)f;
		add_table(ref, sig, f);
	}
	bpf_iter_task_destroy(&it);
	bpf_task_release(ref);
}

/* Forget a name no process had in this walk. */
static long prune_name(struct bpf_map *map, struct kpulse_fd_name *name, struct kpulse_fd_slot *s,
		       void *ctx)
{
	if (s->gen != walk.gen && !bpf_map_delete_elem(map, name))
		fd_names_held--;
	return 0;
}

/*
 * Prune fd_names when its stale names outnumber this walk's (and 64), or it is half full:
 * an idle host, whose names hardly change, then never pays the pass over every bucket,
 * and the next walk still has room for as many new names as this one had.
 */
static __always_inline void prune_names(void)
{
	__u64 live = walk.names, held = fd_names_held;

	if (held > 2 * live + 64 || held > KPULSE_FD_NAMES_MAX / 2)
		bpf_for_each_map_elem(&fd_names, prune_name, NULL, 0);
}

/*
 * Run by userspace once per tick (BPF_PROG_RUN), after it sets walk.gen to a new value;
 * never on a hot path. Sleepable, so the task list is walked under bpf_rcu_read_lock(),
 * which stays preemptible on this kernel (PREEMPT_RCU).
 */
SEC("syscall")
int fd_walk(void *ctx)
{
	struct kpulse_fd_top *top = &walk.top;
	struct bpf_iter_task it;
	struct task_struct *t;

	walk.tables = walk.names = walk.names_lost = 0;
	top->tgid = 0;
	run.use.nfds = 0;
	bpf_rcu_read_lock();
	bpf_iter_task_new(&it, NULL, BPF_TASK_ITER_ALL_PROCS);
	while ((t = bpf_iter_task_next(&it)))
		visit(t);
	bpf_iter_task_destroy(&it);
	bpf_rcu_read_unlock();
	flush_run();
	prune_names();

	/* Who the top process is; it may have exited since (then its pid stays, no more). */
	top->exe_depth = 0;
	top->exe_more = 0;
	top->uid = 0;
	__builtin_memset(top->comm, 0, sizeof(top->comm));
	if (top->tgid) {
		t = bpf_task_from_pid(top->tgid);
		if (t) {
			top->uid = BPF_CORE_READ(t, real_cred, uid.val);
			BPF_CORE_READ_STR_INTO(&top->comm, t, comm);
			read_exe(t, top);
			bpf_task_release(t);
		}
	}
	return 0;
}
