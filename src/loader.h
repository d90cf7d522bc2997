/* SPDX-License-Identifier: GPL-2.0 */
/* What every BPF collector needs before and around open → configure → load → attach. */
#ifndef KPULSE_LOADER_H
#define KPULSE_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

/* 0 if this process may load and attach BPF programs; else -EPERM and @why says what. */
int loader__check_privileges(char *why, size_t len);
/* 0 if the kernel exposes BTF for CO-RE; -ENOENT if not. */
int loader__check_btf(void);
/* Route libbpf's messages through our log (debug level shows libbpf's own detail). */
void loader__init_libbpf(void);
/* Forget libbpf's last reason; loader__reason() then reports only what comes after. */
void loader__clear_reason(void);
/* libbpf's first warning since loader__clear_reason() ("" if none): the why of a failure. */
const char *loader__reason(void);
/*
 * Turn on the kernel's BPF run-time statistics (run_time_ns and run_cnt of every program)
 * for as long as the returned descriptor stays open; -errno if they cannot be.
 */
int loader__enable_stats(void);
/* Mount bpffs at /sys/fs/bpf when it is not mounted there; -errno on failure. */
int loader__mount_bpffs(void);
/* Mount tracefs at /sys/kernel/tracing when needed by classic tracepoints. */
int loader__mount_tracefs(void);
/*
 * The running kernel's BTF, parsed on first use and shared by every collector's start-up
 * questions (which tracepoints, fields and per-CPU symbols it has); NULL (errno set) when
 * it cannot be read. Valid until loader__release_btf().
 */
const struct btf *loader__vmlinux_btf(void);
/* Free that BTF once every collector has started: megabytes the daemon needs no more. */
void loader__release_btf(void);
/* true if tp_btf programs can attach to @tp (a raw tracepoint name such as "sched_switch"). */
bool loader__probe_tp_btf(const char *tp);
/*
 * Keep one of each pair of twins in @obj (call between open and load). A tracepoint's
 * handler comes as <name>_btf (SEC("tp_btf/..."): arguments are trusted BTF pointers) and
 * <name>_raw (SEC("raw_tp/..."): probe reads, for kernels where tp_btf cannot attach).
 * With @try_btf, the _btf twins load if every one still set to load can attach here;
 * otherwise the _raw ones. A program the collector already set not to load (a hook it does
 * not need) stays so; programs without either suffix are left alone. Returns true if the
 * _btf twins were kept.
 */
bool loader__choose_twins(struct bpf_object *obj, bool try_btf);
/*
 * Start a collector's BPF object with the tp_btf twins if it can, else with the raw_tp
 * ones: @load_attach(@ctx, &use_btf) opens, configures (calling loader__choose_twins(obj,
 * use_btf) and storing its answer in use_btf), loads and attaches. When it fails with the
 * tp_btf twins, @unload(@ctx) destroys what it made and it runs once more with raw_tp;
 * the fallback is logged once (a warning). *@used_btf (may be NULL): which twins run.
 */
int loader__load_twins(int (*load_attach)(void *ctx, bool *use_btf), void (*unload)(void *ctx),
		       void *ctx, bool *used_btf);
/*
 * One step of a walk over the entries of @map: the key after *@key (the first key when
 * @first) into *@key, and its value into @value (@value_size bytes: every CPU's for a
 * per-CPU map; @value NULL reads keys only). An entry deleted between the two reads is
 * skipped. 0 with an entry, -ENOENT after the last, other -errno on failure. Deleting the
 * current entry restarts a hash map's walk: collect the keys first.
 */
int loader__map_step(const struct bpf_map *map, void *key, size_t key_size, void *value,
		     size_t value_size, bool first);
/* Every entry of @map: *@key and @value as loader__map_step() fills them; @err after the loop. */
#define loader__for_each_entry(map, key, value, value_size, err)                                   \
	for ((err) = loader__map_step(map, key, sizeof(*(key)), value, value_size, true); !(err);  \
	     (err) = loader__map_step(map, key, sizeof(*(key)), value, value_size, false))
/*
 * Take an exclusive lock on the pin directory @dir (created if missing) for the life of the
 * process. Two instances pinning to one directory share their maps, and both attach
 * programs that add to them: every eBPF counter would count each event twice. -EWOULDBLOCK
 * (and @why saying what to do) if another process holds it.
 */
int loader__lock_pin_path(const char *dir, char *why, size_t len);
/*
 * Pin every map of @obj (not .bss/.rodata) under @dir as <dir>/<map name>: a compatible
 * map already pinned there is reused, so counters survive a restart; an incompatible one
 * (another layout after an upgrade) is logged and replaced. Call between open and load.
 * @dir NULL or "" disables pinning.
 */
int loader__pin_maps(struct bpf_object *obj, const char *dir);
/*
 * Do type @a_id of @a and type @b_id of @b have the same layout (names, offsets, sizes,
 * nested)? If not, @why says how they differ. Any BTF is safe here, even one whose types
 * refer to themselves; the pinned-map check uses it for key and value types.
 */
bool loader__btf_same_type(const struct btf *a, __u32 a_id, const struct btf *b, __u32 b_id,
			   char *why, size_t len);
/*
 * Destroy every link of skeleton @s from many threads at once, before its __destroy():
 * for a collector with many classic tracepoints, whose detaches each wait for a grace
 * period, serially.
 */
void loader__detach_parallel(struct bpf_object_skeleton *s);
/*
 * The value of enumerator @name in any enum of @btf (the running kernel's, say): constants
 * the kernel keeps in an anonymous enum, out of CO-RE's reach. -ENOENT if there is none.
 */
int loader__btf_enum_value(const struct btf *btf, const char *name, long long *val);
/*
 * Run the BPF iterator behind @link once and read everything it writes into *@buf, which
 * grows as needed (*@cap bytes) and can be kept across calls; *@len is what was read.
 */
int loader__read_iter(struct bpf_link *link, char **buf, size_t *cap, size_t *len);

#endif /* KPULSE_LOADER_H */
