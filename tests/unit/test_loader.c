// SPDX-License-Identifier: GPL-2.0
/*
 * The pinned-map BTF compatibility check: the same layout matches, a moved or renamed
 * field does not, and BTF whose types refer to themselves (tests/fuzz/corpus/btf/loops,
 * which hung the check and overflowed its stack before it was bounded) still gets an answer.
 * And the twins convention loader__choose_twins() relies on, on the real objects (opened,
 * never loaded: no kernel needed).
 */
#include <bpf/btf.h>
#include "harness.h"
#include "loader.h"
#include "block.h"
#include "net.h"
#include "oom.h"
#include "sched.h"
#include "block.skel.h"
#include "net.skel.h"
#include "oom.skel.h"
#include "sched.skel.h"

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

/*
 * BTF with a header of odd length (libbpf takes any hdr_len from 24 up): every type sits
 * misaligned, and reading one was undefined behaviour (fuzz_btf's crash input,
 * tests/fuzz/corpus/btf/crash-hdr-len-87). The check reads none of it and says it differs.
 */
TEST(btf_with_misaligned_types_differs_without_reading_them)
{
	int id, odd_id;
	struct btf *a = value_btf(64, "count", &id), *odd;
	const struct btf_header *h;
	unsigned char raw[4096];
	const void *data;
	char why[1024] = "";
	__u32 size;

	data = btf__raw_data(a, &size);
	CHECK(data && size + 3 < sizeof(raw));
	h = data;
	/* The same BTF with a header 3 bytes longer (zeros), sections moved along. */
	memcpy(raw, data, h->hdr_len);
	memset(raw + h->hdr_len, 0, 3);
	memcpy(raw + h->hdr_len + 3, (const char *)data + h->hdr_len, size - h->hdr_len);
	((struct btf_header *)raw)->hdr_len = h->hdr_len + 3;
	odd = btf__new(raw, size + 3);
	CHECK(!libbpf_get_error(odd));
	if (libbpf_get_error(odd))
		return;
	odd_id = id;
	CHECK(!loader__btf_same_type(odd, odd_id, a, id, why, sizeof(why)));
	CHECK(strstr(why, "misaligned") != NULL);
	CHECK(loader__btf_same_type(odd, odd_id, odd, odd_id, why, sizeof(why)));
	btf__free(odd);
	btf__free(a);
}

/* Every <x>_btf program is SEC("tp_btf/<tp>") with an <x>_raw twin SEC("raw_tp/<tp>"). */
static void check_twins(struct bpf_object *obj)
{
	struct bpf_program *p, *q;
	int pairs = 0;

	bpf_object__for_each_program(p, obj)
	{
		const char *name = bpf_program__name(p), *sec = bpf_program__section_name(p);
		size_t len = strlen(name);
		char twin[128];

		if (len < 4 || strcmp(name + len - 4, "_btf"))
			continue;
		snprintf(twin, sizeof(twin), "%.*s_raw", (int)(len - 4), name);
		q = bpf_object__find_program_by_name(obj, twin);
		if (!q) {
			printf("  %s: %s has no twin %s\n", bpf_object__name(obj), name, twin);
			CHECK(q != NULL);
			continue;
		}
		CHECK(!strncmp(sec, "tp_btf/", 7));
		CHECK(!strncmp(bpf_program__section_name(q), "raw_tp/", 7));
		CHECK_STR(bpf_program__section_name(q) + 7, sec + 7);
		pairs++;
	}
	bpf_object__for_each_program(p, obj)
	{
		const char *name = bpf_program__name(p);
		size_t len = strlen(name);
		char twin[128];

		if (len < 4 || strcmp(name + len - 4, "_raw"))
			continue;
		snprintf(twin, sizeof(twin), "%.*s_btf", (int)(len - 4), name);
		CHECK(bpf_object__find_program_by_name(obj, twin) != NULL);
	}
	CHECK(pairs > 0);
}

TEST(every_tracepoint_handler_has_its_twin)
{
	struct block_bpf *b = block_bpf__open();
	struct net_bpf *n = net_bpf__open();
	struct oom_bpf *o = oom_bpf__open();
	struct sched_bpf *s = sched_bpf__open();

	CHECK(b && n && o && s);
	if (b && n && o && s) {
		check_twins(b->obj);
		check_twins(n->obj);
		check_twins(o->obj);
		check_twins(s->obj);
	}
	block_bpf__destroy(b);
	net_bpf__destroy(n);
	oom_bpf__destroy(o);
	sched_bpf__destroy(s);
}

/* raw_tp chosen: the _raw twins load, the _btf ones not; what was off stays off. */
TEST(choose_twins_keeps_one_of_each_and_what_was_off)
{
	struct sched_bpf *s = sched_bpf__open();

	CHECK(s != NULL);
	if (!s)
		return;
	bpf_program__set_autoload(s->progs.sched_wakeup_btf, false);
	bpf_program__set_autoload(s->progs.sched_wakeup_raw, false);
	CHECK(!loader__choose_twins(s->obj, false));
	CHECK(bpf_program__autoload(s->progs.sched_switch_raw));
	CHECK(!bpf_program__autoload(s->progs.sched_switch_btf));
	CHECK(bpf_program__autoload(s->progs.sched_wakeup_new_raw));
	CHECK(!bpf_program__autoload(s->progs.sched_wakeup_new_btf));
	CHECK(!bpf_program__autoload(s->progs.sched_wakeup_raw));
	CHECK(!bpf_program__autoload(s->progs.sched_wakeup_btf));
	/* Not twins: the flush program and the iterator are the collector's to choose. */
	CHECK(bpf_program__autoload(s->progs.sched_flush));
	CHECK(bpf_program__autoload(s->progs.sched_procs));
	sched_bpf__destroy(s);
}

int main(void)
{
	h_suite = "loader";
	RUN(btf_same_layout_matches_and_changes_are_named);
	RUN(btf_types_that_refer_to_themselves_end);
	RUN(btf_with_misaligned_types_differs_without_reading_them);
	RUN(every_tracepoint_handler_has_its_twin);
	RUN(choose_twins_keeps_one_of_each_and_what_was_off);
	return DONE();
}
