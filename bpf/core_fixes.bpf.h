/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CO-RE shims for kernel fields that were renamed: each reads the field under whichever
 * name the running kernel has, and cites the commit that renamed it. BPF side only.
 */
#ifndef KPULSE_CORE_FIXES_BPF_H
#define KPULSE_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/* task_struct::state became __state in 5.14 (commit 2f064a59a11f, "sched: Change
 * task_struct::state"). */
struct task_struct___o {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return ((struct task_struct___o *)t)->state;
}

/*
 * kernfs_node::parent became __parent in 6.15 (commit 633488947ef6, "kernfs: Use RCU to
 * access kernfs_node::parent.").
 */
struct kernfs_node___o {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___o *)kn, parent);
}

#endif /* KPULSE_CORE_FIXES_BPF_H */
