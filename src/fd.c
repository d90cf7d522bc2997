// SPDX-License-Identifier: GPL-2.0
/*
 * File-descriptor collector: descriptors opened, closed and refused (syscall tracepoints,
 * bpf/fd.bpf.c), open descriptors per process against RLIMIT_NOFILE (an iter/task
 * program run once per tick) and the system totals of <procfs>/sys/fs/file-nr.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

static const struct flag fd_flags[] = {
	{"collector.fd.top", FLAG_UINT, &fd_top,
	 "Export per-process fd gauges for this many names with the most open descriptors "
	 "(plus --process.watch)"},
	{NULL},
};

static const struct metric_desc opened_total = {
	"kpulse_fd_opened_total",
	METRIC_COUNTER,
	"",
	"Descriptors created by successful syscalls (open*, socket, accept*, dup*, pipe*, "
	"eventfd, epoll_create, memfd_create, ...; pipe and socketpair create 2) (eBPF).",
};
static const struct metric_desc closed_total = {
	"kpulse_fd_closed_total",
	METRIC_COUNTER,
	"",
	"Descriptors released by close, close_range (the open ones in the range) and dup2/dup3 "
	"onto an open descriptor; not those released by exit or exec (eBPF).",
};
static const struct metric_desc open_errors_total = {
	"kpulse_fd_open_errors_total",
	METRIC_COUNTER,
	"errno",
	"Descriptor-creating syscalls that failed, by errno name (EMFILE: the process limit, "
	"ENFILE: the system limit; errno=other for codes without a name) (eBPF).",
};
static const struct metric_desc opened_rate = {
	"kpulse_fd_opened_per_second",
	METRIC_GAUGE,
	"",
	"Descriptors created per second over the last sampler interval.",
	METRIC_HISTORY,
};
static const struct metric_desc closed_rate = {
	"kpulse_fd_closed_per_second",
	METRIC_GAUGE,
	"",
	"Descriptors released per second over the last sampler interval.",
};
static const struct metric_desc process_open_fds = {
	"kpulse_process_open_fds",
	METRIC_GAUGE,
	"name",
	"Open descriptors summed over all processes with this name (threads sharing a table "
	"count once), for --process.watch names and the top --collector.fd.top names (eBPF "
	"iterator, at the last sample).",
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
	"kpulse_fd_limit_ratio_max_info",
	METRIC_GAUGE,
	"pid,name",
	"Constant 1, naming the process that has kpulse_fd_limit_ratio_max.",
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

struct fd_proc {
	__u32 tgid;
	__u64 nfds;	 /* all its tables */
	__u64 max_table; /* the fullest table: RLIMIT_NOFILE bounds each table */
	__u64 limit;
	double ratio;
	char comm[16];
};

struct fd_name {
	char comm[16];
	__u64 nfds;   /* sum over the processes */
	double ratio; /* highest of the processes */
};

struct fd {
	struct fd_bpf *skel;
	const struct kpulse_config *cfg;
	int ncpus;
	struct kpulse_fd_stats *vals;
	__u64 prev_opened, prev_closed;
	bool prev_valid;
	char *buf; /* iterator output */
	size_t buflen, bufcap;
	struct fd_proc *procs;
	struct fd_name *names;
	size_t cap;
	bool file_nr_logged;
};

/* Does syscalls:<event> exist on this kernel? */
static bool syscall_event_exists(const char *event)
{
	char path[256];

	snprintf(path, sizeof(path), SYSCALL_EVENTS "/%s", event);
	return !access(path, F_OK);
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
		const char *sec = bpf_program__section_name(prog);
		const char *event;

		if (strncmp(sec, "tracepoint/syscalls/", 20))
			continue;
		event = sec + 20;
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
		log_error("failed to find syscall tracepoints under " SYSCALL_EVENTS
			  ": the kernel needs CONFIG_FTRACE_SYSCALLS");
		return -ENOENT;
	}
	if (nmissing)
		log_info("fd: %d syscall tracepoints missing on this kernel, not counted: %s",
			 nmissing, missing);
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

	/* Open BPF application */
	f->skel = fd_bpf__open();
	if (!f->skel) {
		err = -errno;
		log_error("failed to open the fd BPF object: %s", strerror(-err));
		return err;
	}
	/* Configure: the syscall tracepoints this kernel has, pinned maps */
	err = select_programs(f);
	if (err)
		return err;
	err = loader__pin_maps(f->skel->obj, cfg->pin_path);
	if (err)
		return err;
	/* Load & verify BPF programs */
	err = fd_bpf__load(f->skel);
	if (err) {
		log_error("failed to load the fd BPF programs: %s", strerror(-err));
		return err;
	}
	/* Attach the tracepoint handlers and create the iterator link */
	err = fd_bpf__attach(f->skel);
	if (err) {
		log_error("failed to attach the fd BPF programs: %s", strerror(-err));
		return err;
	}
	return 0;
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

/* Run the iterator once: f->buf holds whole kpulse_fd_proc records. */
static int run_iterator(struct fd *f)
{
	int err = loader__read_iter(f->skel->links.fd_iter, &f->buf, &f->bufcap, &f->buflen);

	if (!err && f->buflen % sizeof(struct kpulse_fd_proc))
		err = -EPROTO;
	return err;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct kpulse_fd_proc *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return x->files_id < y->files_id ? -1 : x->files_id > y->files_id;
}

static int cmp_comm(const void *a, const void *b)
{
	return strncmp(((const struct fd_proc *)a)->comm, ((const struct fd_proc *)b)->comm, 16);
}

static int cmp_nfds_desc(const void *a, const void *b)
{
	const struct fd_name *x = a, *y = b;

	if (x->nfds != y->nfds)
		return x->nfds > y->nfds ? -1 : 1;
	return strncmp(x->comm, y->comm, 16);
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
		if (!strncmp(cfg->watch[i], comm, 16))
			return true;
	return false;
}

static int grow(struct fd *f, size_t n)
{
	struct fd_proc *p;
	struct fd_name *nm;

	if (n <= f->cap)
		return 0;
	p = realloc(f->procs, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	f->procs = p;
	nm = realloc(f->names, n * sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	f->names = nm;
	f->cap = n;
	return 0;
}

static int add_processes(struct fd *f, struct mset *out)
{
	struct kpulse_fd_proc *rec;
	size_t nrec, nproc = 0, nname = 0, i, shown;
	const struct fd_proc *max = NULL;
	char pid[16];
	int err;

	err = run_iterator(f);
	if (err) {
		log_warn("failed to run the fd iterator: %s", strerror(-err));
		return err;
	}
	rec = (struct kpulse_fd_proc *)f->buf;
	nrec = f->buflen / sizeof(*rec);
	if (!nrec) /* not even kpulse has a descriptor: the iterator saw nothing */
		return -ENODATA;
	err = grow(f, nrec);
	if (err)
		return err;

	/*
	 * One process per tgid: add up its tables (a thread with a private table after
	 * unshare(CLONE_FILES)) and count a table seen twice once (the iterator reports every
	 * thread separately when the leader has exited and dropped its table).
	 */
	qsort(rec, nrec, sizeof(*rec), cmp_rec);
	for (i = 0; i < nrec; i++) {
		struct fd_proc *p = nproc ? &f->procs[nproc - 1] : NULL;

		if (p && p->tgid == rec[i].tgid) {
			if (rec[i].files_id != rec[i - 1].files_id) {
				p->nfds += rec[i].nfds;
				if (rec[i].nfds > p->max_table)
					p->max_table = rec[i].nfds;
			}
			continue;
		}
		p = &f->procs[nproc++];
		p->tgid = rec[i].tgid;
		p->nfds = rec[i].nfds;
		p->max_table = rec[i].nfds;
		p->limit = rec[i].limit;
		memcpy(p->comm, rec[i].comm, sizeof(p->comm));
		p->comm[sizeof(p->comm) - 1] = '\0';
	}
	for (i = 0; i < nproc; i++) {
		struct fd_proc *p = &f->procs[i];

		p->ratio = limit_ratio(p->max_table, p->limit);
		/* Ties go to the lowest pid, so the named process does not flap. */
		if (!max || p->ratio > max->ratio)
			max = p;
	}
	if (max) {
		snprintf(pid, sizeof(pid), "%u", max->tgid);
		mset__add(out, &limit_ratio_max, max->ratio);
		mset__add(out, &limit_ratio_max_info, 1, pid, max->comm);
	}

	/* Per name: the sum of the processes' descriptors, the highest of their ratios. */
	qsort(f->procs, nproc, sizeof(*f->procs), cmp_comm);
	for (i = 0; i < nproc; i++) {
		const struct fd_proc *p = &f->procs[i];
		struct fd_name *n = nname ? &f->names[nname - 1] : NULL;

		if (!n || strncmp(n->comm, p->comm, 16)) {
			n = &f->names[nname++];
			memcpy(n->comm, p->comm, sizeof(n->comm));
			n->nfds = 0;
			n->ratio = 0;
		}
		n->nfds += p->nfds;
		if (p->ratio > n->ratio)
			n->ratio = p->ratio;
	}
	qsort(f->names, nname, sizeof(*f->names), cmp_nfds_desc);
	for (i = 0, shown = 0; i < nname; i++) {
		const struct fd_name *n = &f->names[i];

		if (shown >= fd_top && !is_watched(f->cfg, n->comm))
			continue;
		shown++;
		mset__add(out, &process_open_fds, (double)n->nfds, n->comm);
		mset__add(out, &process_limit_ratio, n->ratio, n->comm);
	}
	/* A watched name with no process (or none with a descriptor) reads 0. */
	for (size_t w = 0; w < f->cfg->nwatch; w++) {
		bool seen = false;

		for (i = 0; i < nname && !seen; i++)
			seen = !strncmp(f->names[i].comm, f->cfg->watch[w], 16);
		if (!seen) {
			mset__add(out, &process_open_fds, 0, f->cfg->watch[w]);
			mset__add(out, &process_limit_ratio, 0, f->cfg->watch[w]);
		}
	}
	return 0;
}

static void add_file_nr(struct fd *f, struct mset *out)
{
	struct procfs_buf b = {};
	uint64_t alloc, max;
	char path[512];
	int err;

	snprintf(path, sizeof(path), "%s/sys/fs/file-nr", f->cfg->procfs);
	/* Never blocks (a FIFO there is refused), bounded, and a cut line is left out. */
	err = procfs__read_path(path, &b);
	if (!err)
		err = fd__parse_file_nr(b.data, &alloc, &max);
	procfs__buf_free(&b);
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

	if (bpf_map__lookup_elem(f->skel->maps.fd_stats, &zero, sizeof(zero), f->vals,
				 sizeof(*f->vals) * f->ncpus, 0))
		return -errno;
	add_activity(f, t, out);
	err = add_processes(f, out);
	add_file_nr(f, out);
	return err;
}

/*
 * Detaching a syscall tracepoint's last perf event waits for a tracepoint grace period
 * (perf_trace_event_unreg() → tracepoint_synchronize_unregister()) under event_mutex:
 * one after the other, our ~50 links kept shutdown waiting 3.3 s on this machine. Detached
 * from many threads at once, the parts outside the mutex overlap: 1.7 s.
 */
#define DETACH_THREADS 64

struct detach_job {
	struct bpf_object_skeleton *s;
	int first;
};

static void *detach_some(void *arg)
{
	struct detach_job *job = arg;

	for (int i = job->first; i < job->s->prog_cnt; i += DETACH_THREADS) {
		bpf_link__destroy(*job->s->progs[i].link);
		*job->s->progs[i].link = NULL;
	}
	return NULL;
}

static void detach_all(struct fd_bpf *skel)
{
	struct detach_job jobs[DETACH_THREADS];
	pthread_t tids[DETACH_THREADS];
	bool started[DETACH_THREADS] = {};

	if (!skel || !skel->skeleton)
		return;
	for (int t = 0; t < DETACH_THREADS; t++) {
		jobs[t] = (struct detach_job){.s = skel->skeleton, .first = t};
		started[t] = !pthread_create(&tids[t], NULL, detach_some, &jobs[t]);
		if (!started[t])
			detach_some(&jobs[t]); /* no thread: do its share here */
	}
	for (int t = 0; t < DETACH_THREADS; t++)
		if (started[t])
			pthread_join(tids[t], NULL);
}

static void fd_destroy(struct collector *c)
{
	struct fd *f = c->priv;

	if (!f)
		return;
	detach_all(f->skel);
	fd_bpf__destroy(f->skel);
	free(f->vals);
	free(f->buf);
	free(f->procs);
	free(f->names);
	free(f);
	c->priv = NULL;
}

struct collector fd_collector = {
	.name = "fd",
	.help = "File descriptors opened, closed and refused (syscall tracepoints), open "
		"descriptors per process against RLIMIT_NOFILE (BPF iterator), and "
		"/proc/sys/fs/file-nr",
	.enabled = true,
	.needs_bpf = true,
	.flags = fd_flags,
	.metrics = fd_metrics,
	.init = fd_init,
	.sample = fd_sample,
	.destroy = fd_destroy,
};
