// SPDX-License-Identifier: GPL-2.0
/*
 * The pinned-map BTF compatibility check (loader__btf_same_type) fed random BTF: the
 * input is raw BTF as the kernel returns it for a pinned map (btf__new parses it; what it
 * rejects ends there). Every type must compare equal to itself, and comparing it with a
 * real map value type must end, whatever the types refer to.
 */
// fuzz-seeds: tests/fuzz/corpus/btf/*
#include <bpf/btf.h>
#include "fuzz.h"
#include "loader.h"

static struct btf *ref;
static __u32 ref_id;

/* A value type shaped like kpulse's: a struct with ints, an array, an enum, a typedef. */
static void make_ref(void)
{
	int u64, u32, arr, en, st;

	ref = btf__new_empty();
	FUZZ_CHECK(ref);
	u64 = btf__add_int(ref, "unsigned long long", 8, 0);
	u32 = btf__add_int(ref, "unsigned int", 4, 0);
	arr = btf__add_array(ref, u32, u32, 16);
	en = btf__add_enum(ref, "kpulse_mode", 4);
	btf__add_enum_value(ref, "KPULSE_A", 0);
	st = btf__add_struct(ref, "kpulse_value", 8 + 64 + 4 + 4);
	btf__add_field(ref, "ns", u64, 0, 0);
	btf__add_field(ref, "slots", arr, 64, 0);
	btf__add_field(ref, "mode", en, 576, 0);
	btf__add_field(ref, "count", u32, 608, 0);
	ref_id = btf__add_typedef(ref, "kpulse_value_t", st);
	FUZZ_CHECK(ref_id > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[1024];
	struct btf *btf;
	__u32 n, id;

	if (!ref)
		make_ref();
	btf = btf__new(data, size);
	if (libbpf_get_error(btf))
		return 0;
	n = btf__type_cnt(btf);
	for (id = 0; id < n && id < 256; id++) {
		FUZZ_CHECK(loader__btf_same_type(btf, id, btf, id, why, sizeof(why)));
		loader__btf_same_type(btf, id, ref, ref_id, why, sizeof(why));
		FUZZ_CHECK(strlen(why) < sizeof(why));
	}
	/* Ids past the end are "void", as the check reads a map without BTF. */
	FUZZ_CHECK(loader__btf_same_type(btf, n + 7, ref, 0, why, sizeof(why)));
	btf__free(btf);
	return 0;
}
