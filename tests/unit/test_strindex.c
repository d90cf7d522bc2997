// SPDX-License-Identifier: GPL-2.0
/* The string index: put, get, replace, grow past many keys, clear and give memory back. */
#include <stdio.h>
#include <stdlib.h>
#include "harness.h"
#include "strindex.h"

TEST(put_get_replace_and_grow)
{
	static char keys[20000][16];
	struct strindex x = {};
	size_t i, v, bad = 0;

	CHECK(!strindex__get(&x, "sda", &v)); /* empty, never allocated */
	for (i = 0; i < 20000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "/mnt/m%zu", i);
		CHECK_INT(strindex__put(&x, keys[i], i), 0);
	}
	CHECK_INT(x.n, 20000);
	CHECK(x.cap >= 40000); /* at most half full */
	for (i = 0; i < 20000; i++)
		bad += !strindex__get(&x, keys[i], &v) || v != i;
	CHECK_INT(bad, 0);
	CHECK(!strindex__get(&x, "/mnt/m20000", &v));
	CHECK(!strindex__get(&x, "", &v));
	/* Another pointer to equal text is the same key; put replaces the value. */
	CHECK_INT(strindex__put(&x, "/mnt/m7", 70), 0);
	CHECK_INT(x.n, 20000);
	CHECK(strindex__get(&x, keys[7], &v) && v == 70);
	strindex__free(&x);
}

TEST(clear_keeps_or_gives_back_memory)
{
	struct strindex x = {};
	char keys[3000][16];
	size_t i, v;

	for (i = 0; i < 3000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "dev%zu", i);
		strindex__put(&x, keys[i], i);
	}
	/* A clear after a full tick keeps the table for the next one... */
	strindex__clear(&x);
	CHECK(x.cap >= 6000 && x.n == 0);
	CHECK(!strindex__get(&x, "dev1", &v));
	/* ...but one after a tick that used a sliver of it gives the memory back. */
	strindex__put(&x, keys[1], 1);
	strindex__clear(&x);
	CHECK_INT(x.cap, 0);
	CHECK(x.slots == NULL);
	CHECK_INT(strindex__put(&x, keys[2], 2), 0);
	CHECK(strindex__get(&x, "dev2", &v) && v == 2);
	strindex__free(&x);
}

int main(void)
{
	h_suite = "strindex";
	RUN(put_get_replace_and_grow);
	RUN(clear_keeps_or_gives_back_memory);
	return DONE();
}
