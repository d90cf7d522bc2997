// SPDX-License-Identifier: GPL-2.0
/*
 * The pinned-map BTF compatibility check: the same layout matches, a moved or renamed
 * field does not, and BTF whose types refer to themselves (tests/fuzz/corpus/btf/loops,
 * which hung the check and overflowed its stack before it was bounded) still gets an answer.
 */
#include <bpf/btf.h>
#include "harness.h"
#include "loader.h"

/* struct kpulse_value { __u64 ns; __u32 count; } with "count" at @count_bits, named @name. */
static struct btf *value_btf(unsigned int count_bits, const char *name, int *id)
{
	struct btf *b = btf__new_empty();
	int u64 = btf__add_int(b, "unsigned long long", 8, 0);
	int u32 = btf__add_int(b, "unsigned int", 4, 0);

	*id = btf__add_struct(b, "kpulse_value", 16);
	btf__add_field(b, "ns", u64, 0, 0);
	btf__add_field(b, name, u32, count_bits, 0);
	return b;
}

TEST(btf_same_layout_matches_and_changes_are_named)
{
	int a_id, b_id, c_id, d_id;
	struct btf *a = value_btf(64, "count", &a_id), *b = value_btf(64, "count", &b_id);
	struct btf *c = value_btf(96, "count", &c_id), *d = value_btf(64, "runs", &d_id);
	char why[1024] = "";

	CHECK(loader__btf_same_type(a, a_id, b, b_id, why, sizeof(why)));
	/* A typedef over the same struct is the same layout. */
	CHECK(loader__btf_same_type(a, btf__add_typedef(a, "kpulse_value_t", a_id), b, b_id, why,
				    sizeof(why)));
	CHECK(!loader__btf_same_type(a, a_id, c, c_id, why, sizeof(why)));
	CHECK(strstr(why, "count@64") && strstr(why, "count@96"));
	CHECK(!loader__btf_same_type(a, a_id, d, d_id, why, sizeof(why)));
	CHECK(strstr(why, "runs@64") != NULL);
	btf__free(a);
	btf__free(b);
	btf__free(c);
	btf__free(d);
}

TEST(btf_types_that_refer_to_themselves_end)
{
	struct btf *l = btf__new_empty();
	int i = btf__add_int(l, "int", 4, BTF_INT_SIGNED), ta, tb, arr, self;
	char why[1024] = "";

	ta = btf__add_typedef(l, "a", i + 2); /* a -> b -> a */
	tb = btf__add_typedef(l, "b", i + 1);
	arr = btf__add_array(l, i, i + 3, 4); /* an array of itself */
	self = btf__add_struct(l, "self", 16);
	btf__add_field(l, "x", self, 0, 0);
	CHECK_INT(tb, ta + 1);
	CHECK(loader__btf_same_type(l, ta, l, ta, why, sizeof(why)));
	CHECK(loader__btf_same_type(l, arr, l, arr, why, sizeof(why)));
	CHECK(loader__btf_same_type(l, self, l, self, why, sizeof(why)));
	CHECK(!loader__btf_same_type(l, ta, l, i, why, sizeof(why)));
	CHECK(strstr(why, "loop") != NULL);
	/* Past the last type is no type, as for a map without BTF. */
	CHECK(loader__btf_same_type(l, 1000, l, 0, why, sizeof(why)));
	btf__free(l);
}

int main(void)
{
	h_suite = "loader";
	RUN(btf_same_layout_matches_and_changes_are_named);
	RUN(btf_types_that_refer_to_themselves_end);
	return DONE();
}
