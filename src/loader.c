// SPDX-License-Identifier: GPL-2.0
/* Privilege and kernel-feature checks, filesystem mounts, probing and map pinning. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include "loader.h"
#include "log.h"

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
	return first_warn;
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

bool loader__probe_tp_btf(const char *tp)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP);
	int fd, id;

	id = libbpf_find_vmlinux_btf_id(tp, BPF_TRACE_RAW_TP);
	if (id < 0)
		return false;
	opts.attach_btf_id = id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Does the map pinned at @path have the layout @map will be created with? */
static bool pinned_compatible(int fd, const struct bpf_map *map, char *why, size_t len)
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
	return true;
}

int loader__pin_maps(struct bpf_object *obj, const char *dir)
{
	struct bpf_map *map;
	char path[512], why[160];
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
			if (!pinned_compatible(fd, map, why, sizeof(why))) {
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
