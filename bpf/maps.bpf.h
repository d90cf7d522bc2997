/* SPDX-License-Identifier: GPL-2.0 */
/* Map helpers shared by the BPF programs (BPF side only). */
#ifndef KPULSE_MAPS_BPF_H
#define KPULSE_MAPS_BPF_H

#include <bpf/bpf_helpers.h>

/*
 * The value (a @type) of @key in hash @map, inserted as zeros when missing; NULL when the
 * map is full. Two CPUs may insert at once: BPF_NOEXIST lets the first one win and the
 * lookup after it finds that entry either way, so a count is never overwritten with zeros.
 * A macro so that the zeros are built on the stack only when the key is missing: a large
 * value (a histogram) costs nothing on the path that finds it.
 */
#define kpulse_map_lookup_or_zero(map, key, type)                                                  \
	({                                                                                         \
		type *__v = bpf_map_lookup_elem(map, key);                                         \
                                                                                                   \
		if (!__v) {                                                                        \
			type __zero = {};                                                          \
                                                                                                   \
			bpf_map_update_elem(map, key, &__zero, BPF_NOEXIST);                       \
			__v = bpf_map_lookup_elem(map, key);                                       \
		}                                                                                  \
		__v;                                                                               \
	})

#endif /* KPULSE_MAPS_BPF_H */
