// SPDX-License-Identifier: GPL-2.0
/*
 * The floor: programs that do nothing, attached by tests/bench/floor.c to the hooks a
 * kpulse configuration uses, so make bench can tell what any program on those hooks costs
 * (the trampoline or tracepoint dispatch) from what kpulse's programs add on top. Each
 * section is left without a target: the loader sets it per hook.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* For a tp_btf hook: the target is set with bpf_program__set_attach_target(). */
SEC("tp_btf")
int floor_btf(void *ctx)
{
	return 0;
}

/* For a raw_tp hook (kpulse's twin on kernels where tp_btf does not load). */
SEC("raw_tp")
int floor_raw(void *ctx)
{
	return 0;
}

/* For a classic tracepoint, such as syscalls:sys_exit_openat. */
SEC("tracepoint")
int floor_tp(void *ctx)
{
	return 0;
}
