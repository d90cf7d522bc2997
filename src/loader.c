// SPDX-License-Identifier: GPL-2.0
/* Privilege and kernel-feature checks, filesystem mounts, probing and map pinning. */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "loader.h"
#include "log.h"
#include "procfs.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

int loader__check_privileges(char *why, size_t len)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data)) {
		snprintf(why, len, "cannot read capabilities: %s", strerror(errno));
		return -errno;
	}
	/* CAP_SYS_ADMIN covers everything on kernels without CAP_BPF/CAP_PERFMON. */
	if (has_cap(data, CAP_SYS_ADMIN) || (has_cap(data, CAP_BPF) && has_cap(data, CAP_PERFMON)))
		return 0;
	snprintf(why, len,
		 "kpulse needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN) to load its eBPF "
		 "programs: run it with sudo, or disable the eBPF collectors");
	return -EPERM;
}

int loader__check_btf(void)
{
	return access("/sys/kernel/btf/vmlinux", R_OK) ? -ENOENT : 0;
}

/* libbpf's first warning since loader__clear_reason(): usually the most specific. */
static char first_warn[512];

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if (level == LIBBPF_WARN && !first_warn[0]) {
		va_list copy;

		va_copy(copy, ap);
		vsnprintf(first_warn, sizeof(first_warn), fmt, copy);
		va_end(copy);
		n = strlen(first_warn);
		while (n && (first_warn[n - 1] == '\n' || first_warn[n - 1] == ' '))
			first_warn[--n] = '\0';
	}
	if (level == LIBBPF_DEBUG && kp_log_level < KP_LOG_DEBUG)
		return 0;
	/* libbpf's warnings are detail for the one error line the caller prints. */
	if (level == LIBBPF_WARN && kp_log_level < KP_LOG_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	log_debug("libbpf: %s", line);
	return 0;
}

void loader__clear_reason(void)
{
	first_warn[0] = '\0';
}

const char *loader__reason(void)
{
	/* libbpf starts its messages with "libbpf: "; the caller says where it comes from. */
	return strncmp(first_warn, "libbpf: ", 8) ? first_warn : first_warn + 8;
}

int loader__enable_stats(void)
{
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);

	return fd < 0 ? -errno : fd;
}

void loader__init_libbpf(void)
{
	libbpf_set_print(print_libbpf);
}

static int mount_if_missing(const char *dir, const char *type, long magic)
{
	struct statfs st;

	if (!statfs(dir, &st) && (long)st.f_type == magic)
		return 0;
	if (mount(type, dir, type, 0, NULL)) {
		int err = -errno;

		log_error("failed to mount %s at %s: %s", type, dir, strerror(errno));
		return err;
	}
	log_info("mounted %s at %s", type, dir);
	return 0;
}

int loader__mount_bpffs(void)
{
	return mount_if_missing("/sys/fs/bpf", "bpf", BPF_FS_MAGIC);
}

int loader__mount_tracefs(void)
{
	return mount_if_missing("/sys/kernel/tracing", "tracefs", TRACEFS_MAGIC);
}

static struct btf *vmlinux_btf;

const struct btf *loader__vmlinux_btf(void)
{
	if (!vmlinux_btf) {
		struct btf *btf = btf__load_vmlinux_btf();

		if (libbpf_get_error(btf))
			return NULL;
		vmlinux_btf = btf;
	}
	return vmlinux_btf;
}

void loader__release_btf(void)
{
	btf__free(vmlinux_btf);
	vmlinux_btf = NULL;
}

bool loader__probe_tp_btf(const char *tp)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP);
	const struct btf *btf = loader__vmlinux_btf();
	char name[256];
	int fd, id;

	/* What libbpf_find_vmlinux_btf_id() looks up, without parsing the BTF again. */
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) : -ENOENT;
	if (id <= 0)
		return false;
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* "_btf" or "_raw" if @prog is one of a pair of twins, else NULL. */
static const char *twin_kind(const struct bpf_program *prog)
{
	const char *name = bpf_program__name(prog);
	size_t len = strlen(name);

	if (len > 4 && (!strcmp(name + len - 4, "_btf") || !strcmp(name + len - 4, "_raw")))
		return name + len - 4;
	return NULL;
}

bool loader__choose_twins(struct bpf_object *obj, bool try_btf)
{
	struct bpf_program *prog;
	bool use_btf = try_btf;

	/* Every tp_btf twin that will load must attach: SEC("tp_btf/<tracepoint>"). */
	bpf_object__for_each_program(prog, obj)
	{
		const char *kind = twin_kind(prog), *sec = bpf_program__section_name(prog);

		if (use_btf && kind && !strcmp(kind, "_btf") && bpf_program__autoload(prog))
			use_btf = !strncmp(sec, "tp_btf/", 7) && loader__probe_tp_btf(sec + 7);
	}
	bpf_object__for_each_program(prog, obj)
	{
		const char *kind = twin_kind(prog);

		if (kind && strcmp(kind, use_btf ? "_btf" : "_raw"))
			bpf_program__set_autoload(prog, false);
	}
	return use_btf;
}

int loader__load_twins(int (*load_attach)(void *ctx, bool *use_btf), void (*unload)(void *ctx),
		       void *ctx, bool *used_btf)
{
	bool use_btf = true;
	int err;

	err = load_attach(ctx, &use_btf);
	if (err && use_btf) {
		/* The log names the collector being started. */
		log_warn("tp_btf programs failed (%s), falling back to raw_tp", strerror(-err));
		unload(ctx);
		use_btf = false;
		err = load_attach(ctx, &use_btf);
	}
	if (used_btf)
		*used_btf = use_btf;
	return err;
}

int loader__map_step(const struct bpf_map *map, void *key, size_t key_size, void *value,
		     size_t value_size, bool first)
{
	/* The kernel reads the current key before it writes the next: one buffer serves. */
	while (!bpf_map__get_next_key(map, first ? NULL : key, key, key_size)) {
		first = false;
		if (!value || !bpf_map__lookup_elem(map, key, key_size, value, value_size, 0))
			return 0;
	}
	return -errno;
}

int loader__btf_enum_value(const struct btf *btf, const char *name, long long *val)
{
	__u32 id, n = btf__type_cnt(btf);
	__u16 i;

	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t);

			for (i = 0; i < btf_vlen(t); i++, e++)
				if (!strcmp(btf__name_by_offset(btf, e->name_off), name)) {
					*val = btf_kflag(t) ? (long long)e->val
							    : (long long)(__u32)e->val;
					return 0;
				}
		} else if (btf_is_enum64(t)) {
			const struct btf_enum64 *e = btf_enum64(t);

			for (i = 0; i < btf_vlen(t); i++, e++)
				if (!strcmp(btf__name_by_offset(btf, e->name_off), name)) {
					*val = (long long)btf_enum64_value(e);
					return 0;
				}
		}
	}
	return -ENOENT;
}

/* A name from @btf, "" when the offset is out of range (BTF from anywhere is checked). */
static const char *btf_name(const struct btf *btf, __u32 off)
{
	const char *n = btf__name_by_offset(btf, off);

	return n ? n : "";
}

/*
 * A text signature of BTF type @id: what the bytes mean, not just how many there are.
 * Struct and member names, offsets and sizes, recursively; typedefs and qualifiers are
 * looked through (renaming a typedef does not change a layout). Bounded: at most 8 levels
 * and 64 typedef or qualifier steps, so a BTF whose types refer to themselves (the kernel
 * rejects those, a fuzzer does not) ends in "loop" instead of never.
 */
static void btf_sig(const struct btf *btf, __u32 id, char *out, size_t len, size_t *pos, int depth)
{
	const struct btf_type *t;
	int steps = 0;
	__u16 i;

#define PUT(...)                                                                                   \
	do {                                                                                       \
		if (*pos < len)                                                                    \
			*pos += snprintf(out + *pos, len - *pos, __VA_ARGS__);                     \
	} while (0)
	t = btf__type_by_id(btf, id);
	/*
	 * Types are 4-byte aligned after a header of the usual 24 bytes; libbpf also takes a
	 * header of any length, which leaves every type misaligned (found by fuzz_btf). Such
	 * BTF is not read further: it matches nothing kpulse loads.
	 */
	if (t && (uintptr_t)t % __alignof__(struct btf_type)) {
		PUT("misaligned");
		return;
	}
	while (t && (btf_is_typedef(t) || btf_is_mod(t)) && steps++ < 64)
		t = btf__type_by_id(btf, t->type);
	if (!t || btf_kind(t) == BTF_KIND_UNKN) { /* id 0, or out of range */
		PUT("void");
		return;
	}
	if (steps > 64 || depth >= 8) {
		PUT("%s", steps > 64 ? "loop" : "...");
		return;
	}
	if (btf_is_int(t)) {
		PUT("int%u%s", btf_int_bits(t), btf_int_encoding(t) & BTF_INT_SIGNED ? "s" : "");
	} else if (btf_is_composite(t)) {
		const struct btf_member *m = btf_members(t);

		PUT("%s %s(%u){", btf_is_struct(t) ? "struct" : "union", btf_name(btf, t->name_off),
		    t->size);
		for (i = 0; i < btf_vlen(t) && *pos < len; i++, m++) {
			PUT("%s@%u:", btf_name(btf, m->name_off), btf_member_bit_offset(t, i));
			btf_sig(btf, m->type, out, len, pos, depth + 1);
			PUT(";");
		}
		PUT("}");
	} else if (btf_is_array(t)) {
		PUT("[%u]", btf_array(t)->nelems);
		btf_sig(btf, btf_array(t)->type, out, len, pos, depth + 1);
	} else if (btf_is_enum(t)) {
		PUT("enum%u", t->size);
	} else if (btf_is_ptr(t)) {
		PUT("ptr");
	} else {
		PUT("kind%u", btf_kind(t));
	}
#undef PUT
}

bool loader__btf_same_type(const struct btf *a, __u32 a_id, const struct btf *b, __u32 b_id,
			   char *why, size_t len)
{
	char sa[2048], sb[2048];
	size_t pa = 0, pb = 0;

	sa[0] = sb[0] = '\0';
	btf_sig(a, a_id, sa, sizeof(sa), &pa, 0);
	btf_sig(b, b_id, sb, sizeof(sb), &pb, 0);
	if (!strcmp(sa, sb))
		return true;
	snprintf(why, len, "pinned %.400s, now %.400s", sa, sb);
	return false;
}

/* Same BTF key and value types? A layout change that keeps the sizes shows up here. */
static bool btf_compatible(const struct bpf_map_info *info, struct bpf_object *obj,
			   const struct bpf_map *map, char *why, size_t len)
{
	const struct btf *ours = bpf_object__btf(obj);
	struct btf *theirs;
	char diff[1024];
	bool same;

	if (!ours || !bpf_map__btf_value_type_id(map))
		return true; /* nothing to compare with */
	if (!info->btf_id || !info->btf_value_type_id) {
		snprintf(why, len, "the pinned map has no BTF types");
		return false;
	}
	theirs = btf__load_from_kernel_by_id(info->btf_id);
	if (libbpf_get_error(theirs)) {
		snprintf(why, len, "cannot read the pinned map's BTF: %s", strerror(errno));
		return false;
	}
	same = loader__btf_same_type(theirs, info->btf_key_type_id, ours,
				     bpf_map__btf_key_type_id(map), diff, sizeof(diff));
	if (!same)
		snprintf(why, len, "key type differs: %.900s", diff);
	if (same) {
		same = loader__btf_same_type(theirs, info->btf_value_type_id, ours,
					     bpf_map__btf_value_type_id(map), diff, sizeof(diff));
		if (!same)
			snprintf(why, len, "value type differs: %.900s", diff);
	}
	btf__free(theirs);
	return same;
}

/* Does the map pinned at @path have the layout @map will be created with? */
static bool pinned_compatible(int fd, struct bpf_object *obj, const struct bpf_map *map, char *why,
			      size_t len)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len)) {
		snprintf(why, len, "cannot read its info: %s", strerror(errno));
		return false;
	}
	if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
	    info.value_size != bpf_map__value_size(map) ||
	    info.max_entries != bpf_map__max_entries(map) ||
	    info.map_flags != bpf_map__map_flags(map)) {
		snprintf(why, len,
			 "layout differs (type %u/%u, key %u/%u, value %u/%u, entries %u/%u)",
			 info.type, bpf_map__type(map), info.key_size, bpf_map__key_size(map),
			 info.value_size, bpf_map__value_size(map), info.max_entries,
			 bpf_map__max_entries(map));
		return false;
	}
	return btf_compatible(&info, obj, map, why, len);
}

int loader__lock_pin_path(const char *dir, char *why, size_t len)
{
	int fd, err;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		snprintf(why, len, "failed to create pin directory %s: %s", dir, strerror(errno));
		return err;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(why, len, "failed to open pin directory %s: %s", dir, strerror(errno));
		return err;
	}
	/* Never closed: the kernel drops the lock when the process ends, kill -9 included. */
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return 0;
	err = -errno;
	close(fd);
	if (err == -EWOULDBLOCK)
		snprintf(why, len,
			 "another kpulse is running with --bpf.pin-path=%s: sharing its maps would "
			 "count every eBPF event twice; stop it, or give each instance its own "
			 "--bpf.pin-path",
			 dir);
	else
		snprintf(why, len, "failed to lock pin directory %s: %s", dir, strerror(-err));
	return err;
}

int loader__pin_maps(struct bpf_object *obj, const char *dir)
{
	struct bpf_map *map;
	char path[512], why[1024];
	int err, fd;

	if (!dir || !*dir)
		return 0;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		log_error("failed to create pin directory %s: %s", dir, strerror(errno));
		return err;
	}
	bpf_object__for_each_map(map, obj)
	{
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			if (!pinned_compatible(fd, obj, map, why, sizeof(why))) {
				log_warn("replacing pinned map %s: %s", path, why);
				unlink(path);
			}
			close(fd);
		}
		err = bpf_map__set_pin_path(map, path);
		if (err)
			return err;
	}
	return 0;
}

int loader__read_iter(struct bpf_link *link, char **buf, size_t *cap, size_t *len)
{
	/* At least this much room for each read(): a record is never split across two. */
	const size_t room = 16384;
	int fd, err = 0;
	ssize_t n;

	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		return -errno;
	*len = 0;
	for (;;) {
		if (*cap - *len < room) {
			size_t c = *cap ? *cap * 2 : 4 * room;
			char *p = realloc(*buf, c);

			if (!p) {
				err = -ENOMEM;
				break;
			}
			*buf = p;
			*cap = c;
		}
		n = procfs__read_fd(fd, *buf + *len, *cap - *len);
		if (n <= 0) {
			err = (int)n;
			break;
		}
		*len += n;
	}
	close(fd);
	return err;
}

/*
 * Detaching a syscall tracepoint's last perf event waits for a tracepoint grace period
 * (perf_trace_event_unreg() → tracepoint_synchronize_unregister()) under event_mutex:
 * one after the other, fd's ~50 links kept shutdown waiting 3.3 s on this machine. Detached
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

void loader__detach_parallel(struct bpf_object_skeleton *s)
{
	struct detach_job jobs[DETACH_THREADS];
	pthread_t tids[DETACH_THREADS];
	bool started[DETACH_THREADS] = {};

	if (!s)
		return;
	for (int t = 0; t < DETACH_THREADS; t++) {
		jobs[t] = (struct detach_job){.s = s, .first = t};
		started[t] = !pthread_create(&tids[t], NULL, detach_some, &jobs[t]);
		if (!started[t])
			detach_some(&jobs[t]); /* no thread: do its share here */
	}
	for (int t = 0; t < DETACH_THREADS; t++)
		if (started[t])
			pthread_join(tids[t], NULL);
}
