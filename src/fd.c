// SPDX-License-Identifier: GPL-2.0
/*
 * File-descriptor collector: open descriptors per process name against RLIMIT_NOFILE (a
 * walk over every descriptor table, bpf/fd.bpf.c, run once per tick), the system totals
 * of <procfs>/sys/fs/file-nr and, opt-in, descriptors opened, closed and refused
 * (syscall tracepoints).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collector.h"
#include "fd.h"
#include "fd.skel.h"
#include "fd_parse.h"
#include "loader.h"
#include "log.h"
#include "procfs.h"
#include "rate.h"

#define SYSCALL_EVENTS "/sys/kernel/tracing/events/syscalls"
/* The kernel's RLIM_INFINITY for an unsigned long rlim_cur on 64-bit kernels. */
#define RLIM_INFINITY_U64 (~0ULL)

static unsigned int fd_top = 10;
static bool fd_syscalls;

static const struct flag fd_flags[] = {
	{"collector.fd.top", FLAG_UINT, &fd_top,
	 "Export per-process fd gauges for this many names with the most open descriptors "
	 "(plus --process.watch)"},
	{"collector.fd.syscalls", FLAG_BOOL, &fd_syscalls,
	 "Also count descriptors opened, closed and refused by errno (kpulse_fd_opened_total, "
	 "...) from ~50 syscalls:* tracepoints. Off by default: any syscall tracepoint sends "
	 "every syscall of every task through the kernel's slow path: make bench on a 2-vCPU "
	 "KVM guest, Linux 6.18, measured a getppid loop 21 % slower with them, an open+close "
	 "loop 16 %, 64 B UDP on loopback 7 %, pinned perf bench sched pipe 3 %"},
	{NULL},
};

static const struct metric_desc opened_total = {
	"kpulse_fd_opened_total",
	METRIC_COUNTER,
	"",
	"Descriptors created by successful syscalls (open*, socket, accept*, dup*, pipe*, "
	"eventfd, epoll_create, memfd_create, ...; pipe and socketpair create 2) (eBPF, "
	"--collector.fd.syscalls).",
};
static const struct metric_desc closed_total = {
	"kpulse_fd_closed_total",
	METRIC_COUNTER,
	"",
	"Descriptors released by close, close_range (the open ones in the range) and dup2/dup3 "
	"onto an open descriptor; not those released by exit or exec (eBPF, "
	"--collector.fd.syscalls).",
};
static const struct metric_desc open_errors_total = {
	"kpulse_fd_open_errors_total",
	METRIC_COUNTER,
	"errno",
	"Descriptor-creating syscalls that failed, by errno name (EMFILE: the process limit, "
	"ENFILE: the system limit; errno=other for codes without a name) (eBPF, "
	"--collector.fd.syscalls).",
};
static const struct metric_desc opened_rate = {
	"kpulse_fd_opened_per_second",
	METRIC_GAUGE,
	"",
	"Descriptors created per second over the last sampler interval "
	"(--collector.fd.syscalls).",
	METRIC_HISTORY,
};
static const struct metric_desc closed_rate = {
	"kpulse_fd_closed_per_second",
	METRIC_GAUGE,
	"",
	"Descriptors released per second over the last sampler interval "
	"(--collector.fd.syscalls).",
};
static const struct metric_desc process_open_fds = {
	"kpulse_process_open_fds",
	METRIC_GAUGE,
	"name",
	"Open descriptors summed over all processes with this name (threads sharing a table "
	"count once), for --process.watch names and the top --collector.fd.top names (eBPF "
	"task walk, at the last sample).",
};
static const struct metric_desc process_limit_ratio = {
	"kpulse_process_fd_limit_ratio",
	METRIC_GAUGE,
	"name",
	"Highest open descriptors / RLIMIT_NOFILE soft limit among the processes with this "
	"name, at the last sample (above 1 if the limit was lowered below what is open).",
	METRIC_MERGE_MAX,
};
static const struct metric_desc limit_ratio_max = {
	"kpulse_fd_limit_ratio_max",
	METRIC_GAUGE,
	"",
	"Highest open descriptors / RLIMIT_NOFILE soft limit of any process on the host, at "
	"the last sample.",
	METRIC_HISTORY,
};
static const struct metric_desc limit_ratio_max_info = {
	"kpulse_fd_limit_ratio_max_process_info",
	METRIC_INFO,
	"pid,name,uid,exe",
	"Who has kpulse_fd_limit_ratio_max: its pid, name (comm, which any process can "
	"choose), real uid and executable path (as its mount namespace names it; a path cut "
	"in front starts with .../).",
};
static const struct metric_desc allocated = {
	"kpulse_fd_allocated",
	METRIC_GAUGE,
	"",
	"File handles allocated system-wide (first field of /proc/sys/fs/file-nr).",
};
static const struct metric_desc maximum = {
	"kpulse_fd_maximum",
	METRIC_GAUGE,
	"",
	"Most file handles the system allocates (fs.file-max, third field of "
	"/proc/sys/fs/file-nr).",
};

static const struct metric_desc *const fd_metrics[] = {
	&opened_total,	      &closed_total,	&open_errors_total,
	&opened_rate,	      &closed_rate,	&process_open_fds,
	&process_limit_ratio, &limit_ratio_max, &limit_ratio_max_info,
	&allocated,	      &maximum,		NULL,
};

/* Linux errno names by number; the numbers come from this architecture's <errno.h>. */
#define X(e) [e] = #e
static const char *const errno_names[] = {
	X(EPERM),
	X(ENOENT),
	X(ESRCH),
	X(EINTR),
	X(EIO),
	X(ENXIO),
	X(E2BIG),
	X(ENOEXEC),
	X(EBADF),
	X(ECHILD),
	X(EAGAIN),
	X(ENOMEM),
	X(EACCES),
	X(EFAULT),
	X(ENOTBLK),
	X(EBUSY),
	X(EEXIST),
	X(EXDEV),
	X(ENODEV),
	X(ENOTDIR),
	X(EISDIR),
	X(EINVAL),
	X(ENFILE),
	X(EMFILE),
	X(ENOTTY),
	X(ETXTBSY),
	X(EFBIG),
	X(ENOSPC),
	X(ESPIPE),
	X(EROFS),
	X(EMLINK),
	X(EPIPE),
	X(EDOM),
	X(ERANGE),
	X(EDEADLK),
	X(ENAMETOOLONG),
	X(ENOLCK),
	X(ENOSYS),
	X(ENOTEMPTY),
	X(ELOOP),
	X(ENOMSG),
	X(EIDRM),
	X(ECHRNG),
	X(EL2NSYNC),
	X(EL3HLT),
	X(EL3RST),
	X(ELNRNG),
	X(EUNATCH),
	X(ENOCSI),
	X(EL2HLT),
	X(EBADE),
	X(EBADR),
	X(EXFULL),
	X(ENOANO),
	X(EBADRQC),
	X(EBADSLT),
	X(EBFONT),
	X(ENOSTR),
	X(ENODATA),
	X(ETIME),
	X(ENOSR),
	X(ENONET),
	X(ENOPKG),
	X(EREMOTE),
	X(ENOLINK),
	X(EADV),
	X(ESRMNT),
	X(ECOMM),
	X(EPROTO),
	X(EMULTIHOP),
	X(EDOTDOT),
	X(EBADMSG),
	X(EOVERFLOW),
	X(ENOTUNIQ),
	X(EBADFD),
	X(EREMCHG),
	X(ELIBACC),
	X(ELIBBAD),
	X(ELIBSCN),
	X(ELIBMAX),
	X(ELIBEXEC),
	X(EILSEQ),
	X(ERESTART),
	X(ESTRPIPE),
	X(EUSERS),
	X(ENOTSOCK),
	X(EDESTADDRREQ),
	X(EMSGSIZE),
	X(EPROTOTYPE),
	X(ENOPROTOOPT),
	X(EPROTONOSUPPORT),
	X(ESOCKTNOSUPPORT),
	X(EOPNOTSUPP),
	X(EPFNOSUPPORT),
	X(EAFNOSUPPORT),
	X(EADDRINUSE),
	X(EADDRNOTAVAIL),
	X(ENETDOWN),
	X(ENETUNREACH),
	X(ENETRESET),
	X(ECONNABORTED),
	X(ECONNRESET),
	X(ENOBUFS),
	X(EISCONN),
	X(ENOTCONN),
	X(ESHUTDOWN),
	X(ETOOMANYREFS),
	X(ETIMEDOUT),
	X(ECONNREFUSED),
	X(EHOSTDOWN),
	X(EHOSTUNREACH),
	X(EALREADY),
	X(EINPROGRESS),
	X(ESTALE),
	X(EUCLEAN),
	X(ENOTNAM),
	X(ENAVAIL),
	X(EISNAM),
	X(EREMOTEIO),
	X(EDQUOT),
	X(ENOMEDIUM),
	X(EMEDIUMTYPE),
	X(ECANCELED),
	X(ENOKEY),
	X(EKEYEXPIRED),
	X(EKEYREVOKED),
	X(EKEYREJECTED),
	X(EOWNERDEAD),
	X(ENOTRECOVERABLE),
	X(ERFKILL),
	X(EHWPOISON),
};
#undef X

/* Kernel-internal codes (include/linux/errno.h) that can reach sys_exit. */
static const char *const errno_internal[] = {
	"ERESTARTSYS",
	"ERESTARTNOINTR",
	"ERESTARTNOHAND",
	"ENOIOCTLCMD",
	"ERESTART_RESTARTBLOCK",
	"EPROBE_DEFER",
	"EOPENSTALE",
	"ENOPARAM",
	NULL,
	"EBADHANDLE",
	"ENOTSYNC",
	"EBADCOOKIE",
	"ENOTSUPP",
	"ETOOSMALL",
	"ESERVERFAULT",
	"EBADTYPE",
	"EJUKEBOX",
	"EIOCBQUEUED",
	"ERECALLCONFLICT",
	"ENOGRACE",
};

const char *fd__errno_name(int e)
{
	if (e > 0 && (size_t)e < sizeof(errno_names) / sizeof(errno_names[0]))
		return errno_names[e];
	if (e >= 512 && (size_t)(e - 512) < sizeof(errno_internal) / sizeof(errno_internal[0]))
		return errno_internal[e - 512];
	return NULL;
}

int fd__slot_errno(unsigned int slot)
{
	if (slot < KPULSE_FD_ERRNO_LOW)
		return slot;
	if (slot < KPULSE_FD_NERR)
		return slot - KPULSE_FD_ERRNO_LOW + KPULSE_FD_ERRNO_HIGH_BASE;
	return 0;
}

/* One unsigned decimal at *@p, then skip blanks; -EINVAL if there is none. */
static int parse_u64(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (*s - '0');
	}
	while (*s == ' ' || *s == '\t')
		s++;
	*p = s;
	*out = v;
	return 0;
}

int fd__parse_file_nr(const char *text, uint64_t *alloc, uint64_t *max)
{
	const char *p = text;
	uint64_t v[3];

	for (int i = 0; i < 3; i++) {
		/* Fields are separated by blanks; the first has none before it. */
		if (i && p[-1] != ' ' && p[-1] != '\t')
			return -EINVAL;
		if (parse_u64(&p, &v[i]))
			return -EINVAL;
	}
	if (*p == '\n')
		p++;
	if (*p)
		return -EINVAL;
	*alloc = v[0];
	*max = v[2];
	return 0;
}

void fd__exe_path(const struct kpulse_fd_top *top, char *out, size_t len)
{
	static const char cut[] = "...";
	__u32 depth = top->exe_depth < KPULSE_FD_EXE_DEPTH ? top->exe_depth : KPULSE_FD_EXE_DEPTH;
	__u32 keep = 0; /* components [0, keep) are written, the leaf first */
	bool more = top->exe_more;
	size_t need = 0, n, pos = 0;

	if (!len)
		return;
	out[0] = '\0';
	for (__u32 i = 0; i < depth; i++)
		need += 1 + strnlen(top->exe[i], KPULSE_FD_EXE_NAME - 1);
	if (!more && need < len) {
		keep = depth;
	} else {
		/* Keep the end: as many whole components as fit behind ".../". */
		more = true;
		need = sizeof(cut) - 1;
		for (; keep < depth; keep++) {
			n = 1 + strnlen(top->exe[keep], KPULSE_FD_EXE_NAME - 1);
			if (need + n >= len)
				break;
			need += n;
		}
		if (need >= len)
			return;
		memcpy(out, cut, sizeof(cut) - 1);
		pos = sizeof(cut) - 1;
	}
	for (__u32 i = keep; i-- > 0;) {
		n = strnlen(top->exe[i], KPULSE_FD_EXE_NAME - 1);
		out[pos++] = '/';
		memcpy(out + pos, top->exe[i], n);
		pos += n;
	}
	out[pos] = '\0';
}

struct fd {
	struct fd_bpf *skel;
	const struct kpulse_config *cfg;
	int ncpus;
	struct kpulse_fd_stats *vals; /* --collector.fd.syscalls only */
	__u64 prev_opened, prev_closed;
	bool prev_valid;
	__u64 gen;		   /* of the last walk */
	struct procfs_buf file_nr; /* keeps <procfs>/sys/fs/file-nr open: a pread per tick */
	bool file_nr_logged, names_lost_logged;
};

/* Does syscalls:<event> exist on this kernel? */
static bool syscall_event_exists(const char *event)
{
	char path[256];

	snprintf(path, sizeof(path), SYSCALL_EVENTS "/%s", event);
	return !access(path, F_OK);
}

static bool is_syscall_program(const struct bpf_program *prog)
{
	return !strncmp(bpf_program__section_name(prog), "tracepoint/syscalls/", 20);
}

/*
 * Without --collector.fd.syscalls, none of the syscall programs is even loaded (and their
 * maps not created): nothing of this collector is on any syscall's path.
 */
static void skip_syscall_programs(struct fd *f)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, f->skel->obj) if (is_syscall_program(prog))
		bpf_program__set_autoload(prog, false);
	bpf_map__set_autocreate(f->skel->maps.fd_stats, false);
	bpf_map__set_autocreate(f->skel->maps.fd_pending, false);
}

/* Autoload only the programs whose syscall tracepoint exists; log the missing ones once. */
static int select_programs(struct fd *f)
{
	struct bpf_program *prog;
	char missing[512] = "";
	size_t off = 0;
	int nmissing = 0, nattached = 0;

	bpf_object__for_each_program(prog, f->skel->obj)
	{
		const char *event;

		if (!is_syscall_program(prog))
			continue;
		event = bpf_program__section_name(prog) + 20;
		if (syscall_event_exists(event)) {
			nattached++;
			continue;
		}
		bpf_program__set_autoload(prog, false);
		nmissing++;
		if (off < sizeof(missing))
			off += snprintf(missing + off, sizeof(missing) - off, "%s%s",
					off ? " " : "", event);
	}
	if (!nattached) {
		log__reason("no syscall tracepoints under " SYSCALL_EVENTS ": the kernel needs "
			    "CONFIG_FTRACE_SYSCALLS for --collector.fd.syscalls");
		return -ENOENT;
	}
	if (nmissing)
		log_info("%d syscall tracepoints missing on this kernel, not counted: %s", nmissing,
			 missing);
	return 0;
}

static int fd_init(struct collector *c, const struct kpulse_config *cfg)
{
	struct fd *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return -ENOMEM;
	c->priv = f;
	f->cfg = cfg;
	if (fd_syscalls) {
		f->ncpus = libbpf_num_possible_cpus();
		if (f->ncpus <= 0)
			return f->ncpus ? f->ncpus : -EINVAL;
		f->vals = calloc(f->ncpus, sizeof(*f->vals));
		if (!f->vals)
			return -ENOMEM;
		/* Syscall tracepoints are classic ones: they need tracefs */
		err = loader__mount_tracefs();
		if (err)
			return err;
	}

	/* Open BPF application */
	f->skel = fd_bpf__open();
	if (!f->skel) {
		err = -errno;
		log__reason("failed to open the BPF object: %s", strerror(-err));
		return err;
	}
	/* Configure: the syscall programs only if asked for, pinned counters */
	if (fd_syscalls) {
		err = select_programs(f);
		if (err)
			return err;
	} else {
		skip_syscall_programs(f);
	}
	err = loader__pin_maps(f->skel->obj, cfg->pin_path);
	if (err)
		return err;
	/* fd_names is one walk's scratch, meaningless to another instance or after a restart. */
	err = bpf_map__set_pin_path(f->skel->maps.fd_names, NULL);
	if (err)
		return err;
	/* Load & verify BPF programs */
	err = fd_bpf__load(f->skel);
	if (err) {
		log__reason("failed to load the programs: %s (the descriptor walk needs Linux 6.7 "
			    "or later, for bpf_iter_task_new)",
			    strerror(-err));
		return err;
	}
	/* Attach the syscall tracepoint handlers (fd_walk is run, not attached) */
	err = fd_bpf__attach(f->skel);
	if (err)
		log__reason("failed to attach the programs: %s", strerror(-err));
	return err;
}

static void add_activity(struct fd *f, const struct tick *t, struct mset *out)
{
	__u64 opened = 0, closed = 0, errs[KPULSE_FD_NERR] = {}, other = 0;
	double rate;

	for (int cpu = 0; cpu < f->ncpus; cpu++) {
		opened += f->vals[cpu].opened;
		closed += f->vals[cpu].closed;
		for (int i = 0; i < KPULSE_FD_NERR; i++)
			errs[i] += f->vals[cpu].errors[i];
	}
	mset__add(out, &opened_total, (double)opened);
	mset__add(out, &closed_total, (double)closed);
	for (int i = 0; i < KPULSE_FD_NERR; i++) {
		int e = fd__slot_errno(i);
		const char *name = fd__errno_name(e);

		/* EMFILE and ENFILE always exist, so an alert on them has a series from start. */
		if (!name)
			other += errs[i];
		else if (errs[i] || e == EMFILE || e == ENFILE)
			mset__add(out, &open_errors_total, (double)errs[i], name);
	}
	if (other)
		mset__add(out, &open_errors_total, (double)other, "other");
	if (f->prev_valid && rate__per_second(f->prev_opened, opened, t->elapsed_ns, &rate))
		mset__add(out, &opened_rate, rate);
	if (f->prev_valid && rate__per_second(f->prev_closed, closed, t->elapsed_ns, &rate))
		mset__add(out, &closed_rate, rate);
	f->prev_opened = opened;
	f->prev_closed = closed;
	f->prev_valid = true;
}

/* Most descriptors first; equal ones by name, so the top-N does not flap. */
static int cmp_nfds_desc(const void *a, const void *b)
{
	const struct kpulse_fd_name_use *x = a, *y = b;

	if (x->use.nfds != y->use.nfds)
		return x->use.nfds > y->use.nfds ? -1 : 1;
	return strncmp(x->name.comm, y->name.comm, KPULSE_COMM_LEN);
}

/* Open/limit, the share of its descriptor budget a process uses. */
static double limit_ratio(__u64 nfds, __u64 limit)
{
	if (limit == RLIM_INFINITY_U64)
		return 0;
	if (!limit) /* it can open nothing more */
		return 1;
	return (double)nfds / (double)limit;
}

static bool is_watched(const struct kpulse_config *cfg, const char *comm)
{
	for (size_t i = 0; i < cfg->nwatch; i++)
		if (!strncmp(cfg->watch[i], comm, KPULSE_COMM_LEN))
			return true;
	return false;
}

static void add_top(const struct kpulse_fd_top *top, struct mset *out)
{
	char pid[16], uid[16], comm[KPULSE_COMM_LEN], exe[METRIC_VALUE_MAX];

	snprintf(pid, sizeof(pid), "%u", top->tgid);
	snprintf(uid, sizeof(uid), "%u", top->uid);
	memcpy(comm, top->comm, sizeof(comm));
	comm[sizeof(comm) - 1] = '\0';
	fd__exe_path(top, exe, sizeof(exe));
	mset__add(out, &limit_ratio_max, limit_ratio(top->nfds, top->limit));
	mset__add(out, &limit_ratio_max_info, 1, pid, comm, uid, exe);
}

/* Walk every descriptor table once (fd_walk) and export what it added up. */
static int add_processes(struct fd *f, struct mset *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	struct kpulse_fd_walk *w = &f->skel->bss->walk;
	struct kpulse_fd_name_use *names = f->skel->bss->names_out;
	size_t i, n, shown;
	int err;

	w->gen = ++f->gen;
	err = bpf_prog_test_run_opts(bpf_program__fd(f->skel->progs.fd_walk), &opts);
	if (err) {
		log_debug("failed to run the fd walk: %s", strerror(-err));
		return err;
	}
	if (!w->tables) /* not even kpulse has a descriptor: the walk saw nothing */
		return -ENODATA;
	if (w->names_lost && !f->names_lost_logged)
		log_warn("more than %d process names; open descriptors of %llu tables are "
			 "not counted per name this tick (kpulse_fd_limit_ratio_max still sees "
			 "them)",
			 KPULSE_FD_NAMES_MAX, (unsigned long long)w->names_lost);
	f->names_lost_logged = w->names_lost;
	if (w->top.tgid)
		add_top(&w->top, out);

	/* names_out[] is ours until the next walk: sort it in place. */
	n = w->names < KPULSE_FD_NAMES_MAX ? w->names : KPULSE_FD_NAMES_MAX;
	for (i = 0; i < n; i++)
		names[i].name.comm[KPULSE_COMM_LEN - 1] = '\0';
	qsort(names, n, sizeof(*names), cmp_nfds_desc);
	for (i = 0, shown = 0; i < n; i++) {
		const struct kpulse_fd_name_use *u = &names[i];

		if (shown >= fd_top && !is_watched(f->cfg, u->name.comm))
			continue;
		shown++;
		mset__add(out, &process_open_fds, (double)u->use.nfds, u->name.comm);
		mset__add(out, &process_limit_ratio,
			  limit_ratio(u->use.worst_nfds, u->use.worst_limit), u->name.comm);
	}
	/* A watched name with no process (or none with a descriptor) reads 0. */
	for (size_t wi = 0; wi < f->cfg->nwatch; wi++) {
		bool seen = false;

		for (i = 0; i < n && !seen; i++)
			seen = !strncmp(names[i].name.comm, f->cfg->watch[wi], KPULSE_COMM_LEN);
		if (!seen) {
			mset__add(out, &process_open_fds, 0, f->cfg->watch[wi]);
			mset__add(out, &process_limit_ratio, 0, f->cfg->watch[wi]);
		}
	}
	return 0;
}

static void add_file_nr(struct fd *f, struct mset *out)
{
	uint64_t alloc, max;
	char path[512];
	int err;

	snprintf(path, sizeof(path), "%s/sys/fs/file-nr", f->cfg->procfs);
	/* Never blocks (a FIFO there is refused), bounded, and a cut line is left out. */
	err = procfs__read_path(path, &f->file_nr);
	if (!err)
		err = fd__parse_file_nr(f->file_nr.data, &alloc, &max);
	if (err)
		goto fail;
	mset__add(out, &allocated, (double)alloc);
	mset__add(out, &maximum, (double)max);
	f->file_nr_logged = false;
	return;
fail:
	/* Absent, never garbage; say so once until it reads again. */
	if (!f->file_nr_logged)
		log_warn("failed to read %s: %s; kpulse_fd_allocated and kpulse_fd_maximum are "
			 "not exported",
			 path, err == -EINVAL ? "unexpected content" : procfs__strerror(err));
	f->file_nr_logged = true;
}

static int fd_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	struct fd *f = c->priv;
	__u32 zero = 0;
	int err;

	if (fd_syscalls) {
		if (bpf_map__lookup_elem(f->skel->maps.fd_stats, &zero, sizeof(zero), f->vals,
					 sizeof(*f->vals) * f->ncpus, 0))
			return -errno;
		add_activity(f, t, out);
	}
	err = add_processes(f, out);
	add_file_nr(f, out);
	return err;
}

static void fd_destroy(struct collector *c)
{
	struct fd *f = c->priv;

	if (!f)
		return;
	/* ~50 classic syscall tracepoints: one after the other they take seconds to detach. */
	if (fd_syscalls && f->skel)
		loader__detach_parallel(f->skel->skeleton);
	fd_bpf__destroy(f->skel);
	procfs__buf_free(&f->file_nr);
	free(f->vals);
	free(f);
	c->priv = NULL;
}

struct collector fd_collector = {
	.name = "fd",
	.help = "Open descriptors per process name against RLIMIT_NOFILE and the process "
		"nearest its limit (a BPF walk over every descriptor table once per tick), "
		"/proc/sys/fs/file-nr, and with --collector.fd.syscalls descriptors opened, "
		"closed and refused (syscall tracepoints)",
	.enabled = true,
	.needs_bpf = true,
	.flags = fd_flags,
	.metrics = fd_metrics,
	.init = fd_init,
	.sample = fd_sample,
	.destroy = fd_destroy,
};
