// SPDX-License-Identifier: GPL-2.0
/*
 * The self collector: kpulse's own process (named as client_golang's process collector names
 * its families) from /proc/self, and the BPF programs every other collector loaded, from
 * BPF_OBJ_GET_INFO_BY_FD, with their kernel run statistics under --bpf.stats. It is the last
 * in the registry: its init finds the programs the others loaded, and it runs before the
 * privilege drop, which finding attach points needs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "collector.h"
#include "loader.h"
#include "log.h"
#include "procfs.h"

static const struct metric_desc cpu_seconds = {
	"process_cpu_seconds_total",
	METRIC_COUNTER,
	"",
	"Total user and system CPU time spent in seconds.",
};
static const struct metric_desc resident = {
	"process_resident_memory_bytes",
	METRIC_GAUGE,
	"",
	"Resident memory size in bytes.",
};
static const struct metric_desc virtual_mem = {
	"process_virtual_memory_bytes",
	METRIC_GAUGE,
	"",
	"Virtual memory size in bytes.",
};
static const struct metric_desc open_fds = {
	"process_open_fds",
	METRIC_GAUGE,
	"",
	"Number of open file descriptors.",
};
static const struct metric_desc max_fds = {
	"process_max_fds",
	METRIC_GAUGE,
	"",
	"Maximum number of open file descriptors.",
};
static const struct metric_desc start_time = {
	"process_start_time_seconds",
	METRIC_GAUGE,
	"",
	"Start time of the process since unix epoch in seconds.",
};
static const struct metric_desc prog_info = {
	"kpulse_bpf_program_info",
	METRIC_INFO,
	"program,id,tag,hook",
	"A BPF program kpulse loaded: its name, kernel id, tag and attach point (none for "
	"programs only run from userspace).",
};
static const struct metric_desc prog_run_seconds = {
	"kpulse_bpf_program_run_seconds_total",
	METRIC_COUNTER,
	"program",
	"Time the kernel spent running the program (--bpf.stats; counts only while "
	"statistics are enabled).",
};
static const struct metric_desc prog_runs = {
	"kpulse_bpf_program_runs_total",
	METRIC_COUNTER,
	"program",
	"Times the kernel ran the program (--bpf.stats; counts only while statistics are "
	"enabled).",
};

static const struct metric_desc *const self_metrics[] = {
	&cpu_seconds, &resident,  &virtual_mem,	     &open_fds,	 &max_fds,
	&start_time,  &prog_info, &prog_run_seconds, &prog_runs, NULL,
};

struct prog {
	int fd; /* our own duplicate: the program lives as long as we look at it */
	__u32 id;
	char name[128];
	char tag[2 * BPF_TAG_SIZE + 1];
	char hook[128];
	char id_s[16];
	__u32 type;
};

static struct {
	struct prog *progs;
	size_t nprogs;
	bool stats;		 /* --bpf.stats: main enabled the kernel's run statistics */
	int fd_dir;		 /* /proc/self/fd, opened while we could */
	struct procfs_buf statm; /* keeps <procfs>/self/statm open: a pread per tick */
	double start_time;
	long page_size;
	char procfs[256];
} self = {.fd_dir = -1};

static struct prog *prog_by_id(__u32 id)
{
	size_t i;

	for (i = 0; i < self.nprogs; i++)
		if (self.progs[i].id == id)
			return &self.progs[i];
	return NULL;
}

/* The kernel keeps 15 bytes of a program's name; its BTF has the whole function name. */
static void full_name(int fd, const struct bpf_prog_info *brief, char *name, size_t len)
{
	struct bpf_func_info fi = {};
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	const struct btf_type *t;
	struct btf *btf;

	if (!brief->btf_id || !brief->nr_func_info)
		return;
	info.nr_func_info = 1;
	info.func_info_rec_size = sizeof(fi);
	info.func_info = (__u64)(unsigned long)&fi;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return;
	btf = btf__load_from_kernel_by_id(brief->btf_id);
	if (libbpf_get_error(btf))
		return;
	t = btf__type_by_id(btf, fi.type_id);
	if (t && btf_is_func(t))
		snprintf(name, len, "%s", btf__name_by_offset(btf, t->name_off));
	btf__free(btf);
}

static void add_prog(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	struct prog *p;
	int i;

	if (bpf_obj_get_info_by_fd(fd, &info, &len) || prog_by_id(info.id))
		return;
	p = realloc(self.progs, (self.nprogs + 1) * sizeof(*p));
	if (!p)
		return;
	self.progs = p;
	p = &self.progs[self.nprogs];
	memset(p, 0, sizeof(*p));
	p->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (p->fd < 0)
		return;
	p->id = info.id;
	p->type = info.type;
	snprintf(p->id_s, sizeof(p->id_s), "%u", info.id);
	snprintf(p->name, sizeof(p->name), "%s", info.name);
	full_name(fd, &info, p->name, sizeof(p->name));
	for (i = 0; i < BPF_TAG_SIZE; i++)
		snprintf(p->tag + 2 * i, 3, "%02x", info.tag[i]);
	snprintf(p->hook, sizeof(p->hook), "none");
	self.nprogs++;
}

static void set_hook(__u32 prog_id, const char *kind, const char *name)
{
	struct prog *p = prog_by_id(prog_id);

	if (!p)
		return;
	/* tp_btf programs attach through a raw tracepoint link too. */
	if (!strcmp(kind, "raw_tp") && p->type == BPF_PROG_TYPE_TRACING)
		kind = "tp_btf";
	snprintf(p->hook, sizeof(p->hook), "%s/%s", kind, name);
}

/* A link fd: raw_tp, tp_btf (tracing) and iterator links say what they attach to. */
static void link_hook(int fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char name[128] = "";

	info.raw_tracepoint.tp_name = (__u64)(unsigned long)name; /* same place as iter's */
	info.raw_tracepoint.tp_name_len = sizeof(name);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return;
	switch (info.type) {
	case BPF_LINK_TYPE_RAW_TRACEPOINT:
		set_hook(info.prog_id, "raw_tp", name);
		break;
	case BPF_LINK_TYPE_ITER:
		set_hook(info.prog_id, "iter", name);
		break;
	case BPF_LINK_TYPE_TRACING: {
		const struct btf *vmlinux = loader__vmlinux_btf();
		const struct btf_type *t;
		const char *n;

		if (!vmlinux)
			return;
		t = btf__type_by_id(vmlinux, info.tracing.target_btf_id);
		n = t ? btf__name_by_offset(vmlinux, t->name_off) : NULL;
		if (!n)
			return;
		if (info.tracing.attach_type == BPF_TRACE_RAW_TP) {
			if (!strncmp(n, "btf_trace_", 10))
				n += 10;
			set_hook(info.prog_id, "tp_btf", n);
		} else {
			set_hook(info.prog_id, libbpf_bpf_attach_type_str(info.tracing.attach_type),
				 n);
		}
		break;
	}
	default:
		break;
	}
}

/* A perf event fd carrying a program: a classic tracepoint (or a kprobe). */
static void perf_hook(int fd)
{
	__u32 len = 128, prog_id = 0, type = 0;
	__u64 off, addr;
	char name[128] = "";

	if (bpf_task_fd_query(getpid(), fd, 0, name, &len, &prog_id, &type, &off, &addr))
		return;
	if (type == BPF_FD_TYPE_TRACEPOINT)
		set_hook(prog_id, "tracepoint", name);
	else if (type == BPF_FD_TYPE_RAW_TRACEPOINT)
		set_hook(prog_id, "raw_tp", name);
	else if (type == BPF_FD_TYPE_KPROBE || type == BPF_FD_TYPE_KRETPROBE)
		set_hook(prog_id, type == BPF_FD_TYPE_KPROBE ? "kprobe" : "kretprobe", name);
}

static void scan_fds(void)
{
	char path[64], target[64];
	struct dirent *e;
	int pass;
	DIR *d;

	/* Programs first, then what holds them attached. */
	for (pass = 0; pass < 2; pass++) {
		d = opendir("/proc/self/fd");
		if (!d)
			return;
		while ((e = readdir(d))) {
			int fd = atoi(e->d_name);
			ssize_t n;

			if (e->d_name[0] == '.' || fd == dirfd(d))
				continue;
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			n = readlink(path, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (pass == 0 && !strcmp(target, "anon_inode:bpf-prog"))
				add_prog(fd);
			else if (pass == 1 && !strcmp(target, "anon_inode:bpf_link"))
				link_hook(fd);
			else if (pass == 1 && !strcmp(target, "anon_inode:[perf_event]"))
				perf_hook(fd);
		}
		closedir(d);
	}
}

/* Process start: /proc/self/stat field 22 (clock ticks after boot) + btime. */
static double read_start_time(void)
{
	struct procfs_buf stat = {0};
	char path[300], buf[1024], *p;
	unsigned long long ticks = 0;
	uint64_t btime = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/self/stat", self.procfs);
	f = procfs__fopen(path);
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL; /* comm may contain spaces */
	for (i = 3; p && i <= 22; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &ticks) != 1)
		return 0;
	/* btime as the host collector reads it: one parser for /proc/stat's btime. */
	if (procfs__read(self.procfs, "stat", &stat) || procstat__btime(stat.data, &btime))
		btime = 0;
	procfs__buf_free(&stat);
	return btime ? (double)btime + (double)ticks / sysconf(_SC_CLK_TCK) : 0;
}

static int self_init(struct collector *c, const struct kpulse_config *cfg)
{
	snprintf(self.procfs, sizeof(self.procfs), "%s", cfg->procfs);
	self.stats = cfg->bpf_stats;
	self.page_size = sysconf(_SC_PAGESIZE);
	self.start_time = read_start_time();
	/* Kept open: after the privilege drop /proc/self/fd is only ours through this. */
	self.fd_dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	scan_fds();
	log_debug("%zu BPF programs loaded", self.nprogs);
	return 0;
}

static int self_sample(struct collector *c, const struct tick *t, struct mset *out)
{
	unsigned long long vsize_pages, rss_pages;
	struct rusage ru;
	struct rlimit rl;
	size_t i;
	int n;

	if (!getrusage(RUSAGE_SELF, &ru))
		mset__add(out, &cpu_seconds,
			  ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
				  (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	if (!procfs__read(self.procfs, "self/statm", &self.statm) &&
	    sscanf(self.statm.data, "%llu %llu", &vsize_pages, &rss_pages) == 2) {
		mset__add(out, &virtual_mem, (double)vsize_pages * self.page_size);
		mset__add(out, &resident, (double)rss_pages * self.page_size);
	}
	n = self.fd_dir >= 0 ? procfs__count_fds(self.fd_dir) : -EBADF;
	if (n >= 0)
		mset__add(out, &open_fds, n);
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		mset__add(out, &max_fds, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
	if (self.start_time > 0)
		mset__add(out, &start_time, self.start_time);

	for (i = 0; i < self.nprogs; i++) {
		struct prog *p = &self.progs[i];
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		mset__add(out, &prog_info, 1, p->name, p->id_s, p->tag, p->hook);
		if (!self.stats || bpf_obj_get_info_by_fd(p->fd, &info, &len))
			continue;
		mset__add(out, &prog_run_seconds, info.run_time_ns / 1e9, p->name);
		mset__add(out, &prog_runs, (double)info.run_cnt, p->name);
	}
	return 0;
}

static void self_destroy(struct collector *c)
{
	size_t i;

	for (i = 0; i < self.nprogs; i++)
		close(self.progs[i].fd);
	free(self.progs);
	self.progs = NULL;
	self.nprogs = 0;
	if (self.fd_dir >= 0)
		close(self.fd_dir);
	self.fd_dir = -1;
	procfs__buf_free(&self.statm);
}

struct collector self_collector = {
	.name = "self",
	.help = "kpulse's own process (process_* families) and the BPF programs it loaded",
	.enabled = true,
	.always_on = true,
	.metrics = self_metrics,
	.init = self_init,
	.sample = self_sample,
	.destroy = self_destroy,
};
