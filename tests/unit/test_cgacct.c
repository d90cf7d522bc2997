// SPDX-License-Identifier: GPL-2.0
/*
 * The cgroup ledger against a directory tree that stands in for the cgroup2 mount (a
 * cgroup id is the inode of its directory, so plain directories behave like cgroups):
 * roll-up, carried totals, the alive check, pruning of labels, churn of 2 000 cgroups.
 */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cgacct.h"
#include "harness.h"

static char root[64];

/* A fresh tree: <root>/cg is the "cgroup2 mount" that <root>/proc/self/mountinfo names. */
static void tree_new(void)
{
	char path[128];
	FILE *f;

	snprintf(root, sizeof(root), "/tmp/kpulse-cgacct-XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(path, sizeof(path), "%s/proc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/self", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/cg", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/proc/self/mountinfo", root);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fprintf(f, "31 30 0:27 / %s/cg rw,nosuid - cgroup2 cgroup2 rw\n", root);
	fclose(f);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

static void tree_free(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int init(struct cgacct *a, unsigned int nvals, unsigned int depth, const char *exclude)
{
	char procfs[128], err[256];
	int rc;

	snprintf(procfs, sizeof(procfs), "%s/proc", root);
	rc = cgacct__init(a, nvals, procfs, depth, NULL, exclude, err, sizeof(err));
	if (rc)
		printf("  cgacct__init: %s\n", err);
	return rc;
}

/* mkdir <root>/cg<path>: the new cgroup's id. */
static uint64_t mk(const char *path)
{
	char full[256];
	struct stat st;

	snprintf(full, sizeof(full), "%s/cg%s", root, path);
	if (mkdir(full, 0755) || stat(full, &st)) {
		perror(full);
		exit(2);
	}
	return st.st_ino;
}

static void rm(const char *path)
{
	char full[256];

	snprintf(full, sizeof(full), "%s/cg%s", root, path);
	if (rmdir(full))
		perror(full);
}

static size_t nforgot;

static void forgot(uint64_t id, void *ctx)
{
	nforgot++;
}

static const struct cgacct_label *label(const struct cgacct *a, const char *name)
{
	for (size_t i = 0; i < a->nlabels; i++)
		if (!strcmp(a->labels[i].name, name))
			return &a->labels[i];
	return NULL;
}

static uint64_t total(const struct cgacct *a, const char *name, unsigned int k)
{
	const struct cgacct_label *l = label(a, name);

	return l ? l->total[k] : UINT64_MAX;
}

TEST(rolled_up_total_survives_removed_children)
{
	struct cgacct a;
	uint64_t svc, ida, idb, idc, other;

	tree_new();
	svc = mk("/svc");
	ida = mk("/svc/a");
	idb = mk("/svc/b");
	other = mk("/other");
	CHECK_INT(init(&a, 1, 1, "/other"), 0);
	(void)svc;

	/* Two children of /svc rolled up at depth 1, and a filtered-out cgroup. */
	uint64_t ids1[] = {ida, idb, other}, v1[] = {100, 50, 7};
	CHECK_INT(cgacct__update(&a, ids1, v1, 3, forgot, NULL), 0);
	CHECK_INT(a.nlabels, 1);
	CHECK_INT(total(&a, "/svc", 0), 150);
	CHECK(!label(&a, "/svc")->prev_valid);
	cgacct__rotate(&a);

	/* Both grow, then /svc/a is removed: its time stays in /svc. */
	uint64_t v2[] = {120, 60, 7};
	cgacct__update(&a, ids1, v2, 3, forgot, NULL);
	CHECK_INT(total(&a, "/svc", 0), 180);
	CHECK_INT(label(&a, "/svc")->prev[0], 150);
	rm("/svc/a");
	nforgot = 0;
	cgacct__update(&a, ids1, v2, 3, forgot, NULL);
	CHECK_INT(nforgot, 1); /* /svc/a: its map entry can go */
	CHECK_INT(total(&a, "/svc", 0), 180);
	CHECK_INT(label(&a, "/svc")->carried[0], 120);

	/* /svc/b leaves the map without being forgotten: carried too. */
	uint64_t ids3[] = {other}, v3[] = {7};
	cgacct__update(&a, ids3, v3, 1, forgot, NULL);
	CHECK_INT(total(&a, "/svc", 0), 180);
	CHECK_INT(label(&a, "/svc")->nids, 0);

	/* A new child under the same label adds on top of the carried time. */
	idc = mk("/svc/c");
	uint64_t ids4[] = {other, idc}, v4[] = {7, 5};
	cgacct__update(&a, ids4, v4, 2, forgot, NULL);
	CHECK_INT(total(&a, "/svc", 0), 185);

	/* The label's own cgroup goes too: the label leaves. */
	rm("/svc/b");
	rm("/svc/c");
	rm("/svc");
	cgacct__update(&a, ids4, v4, 2, forgot, NULL);
	CHECK(label(&a, "/svc") == NULL);
	CHECK_INT(a.nlabels, 0);
	CHECK_INT(a.nids, 1); /* /other, filtered out but alive */
	cgacct__free(&a);
	tree_free();
}

TEST(totals_never_go_backwards)
{
	struct cgacct a;
	uint64_t id;

	tree_new();
	id = mk("/x");
	CHECK_INT(init(&a, 2, 3, NULL), 0);
	uint64_t ids[] = {id}, v1[] = {1000, 10}, v2[] = {900, 12};
	cgacct__update(&a, ids, v1, 1, forgot, NULL);
	/* A lower reading of one value (a CPU's share read mid-update) lowers nothing. */
	cgacct__update(&a, ids, v2, 1, forgot, NULL);
	CHECK_INT(total(&a, "/x", 0), 1000);
	CHECK_INT(total(&a, "/x", 1), 12);
	cgacct__free(&a);
	cgacct__free(&a); /* freeing twice (an empty ledger) is fine */
	tree_free();
}

TEST(only_ids_that_stopped_growing_are_checked)
{
	struct cgacct a;
	uint64_t id;

	tree_new();
	id = mk("/busy");
	CHECK_INT(init(&a, 1, 3, NULL), 0);
	uint64_t ids[] = {id}, v1[] = {10}, v2[] = {20};
	cgacct__update(&a, ids, v1, 1, forgot, NULL);
	/*
	 * Its directory goes, yet its total grew: taken as alive without a stat (a real
	 * cgroup cannot be removed while it has tasks, and a grown total means it had some).
	 */
	rm("/busy");
	nforgot = 0;
	cgacct__update(&a, ids, v2, 1, forgot, NULL);
	CHECK_INT(nforgot, 0);
	CHECK_INT(total(&a, "/busy", 0), 20);
	/* Stopped growing: the stat finds it gone; carried, forgotten, label dropped. */
	cgacct__update(&a, ids, v2, 1, forgot, NULL);
	CHECK_INT(nforgot, 1);
	CHECK_INT(a.nids, 0);
	CHECK_INT(a.nlabels, 0);
	cgacct__free(&a);
	tree_free();
}

TEST(unknown_and_vanished_ids_are_forgotten)
{
	struct cgacct a;
	uint64_t id;

	tree_new();
	id = mk("/gone");
	rm("/gone"); /* created and removed before the first round */
	CHECK_INT(init(&a, 1, 3, NULL), 0);
	uint64_t ids[] = {id}, v[] = {5};
	nforgot = 0;
	CHECK_INT(cgacct__update(&a, ids, v, 1, forgot, NULL), 0);
	CHECK_INT(nforgot, 1);
	CHECK_INT(a.nids, 0);
	CHECK_INT(a.nlabels, 0);
	cgacct__free(&a);
	tree_free();
}

TEST(churn_of_2000_cgroups_returns_to_baseline)
{
	enum { N = 2000 };
	static uint64_t ids[N + 1], vals[(N + 1) * 2];
	struct cgacct a;
	char path[64];
	size_t i;

	tree_new();
	mk("/churn");
	ids[N] = mk("/stays");
	vals[2 * N] = 1;
	vals[2 * N + 1] = 2;
	CHECK_INT(init(&a, 2, 3, NULL), 0);
	cgacct__update(&a, &ids[N], &vals[2 * N], 1, forgot, NULL);
	CHECK_INT(a.nlabels, 1); /* the baseline: /stays */
	for (i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/churn/c%zu", i);
		ids[i] = mk(path);
		vals[2 * i] = i + 1;
		vals[2 * i + 1] = 2 * (i + 1);
	}
	CHECK_INT(cgacct__update(&a, ids, vals, N + 1, forgot, NULL), 0);
	CHECK_INT(a.nlabels, N + 1);
	CHECK_INT(a.nids, N + 1);
	for (i = 1; i < a.nids; i++)
		CHECK(a.ids[i - 1].id < a.ids[i].id);
	for (i = 1; i < a.nlabels; i++)
		CHECK(strcmp(a.labels[i - 1].name, a.labels[i].name) < 0);
	CHECK_INT(total(&a, "/churn/c1999", 1), 4000);
	for (i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "/churn/c%zu", i);
		rm(path);
	}
	rm("/churn");
	/* One round after the removal: every id is forgotten, only /stays is left. */
	nforgot = 0;
	CHECK_INT(cgacct__update(&a, ids, vals, N + 1, forgot, NULL), 0);
	CHECK_INT(nforgot, N);
	CHECK_INT(a.nids, 1);
	CHECK_INT(a.nlabels, 1);
	CHECK_INT(total(&a, "/stays", 1), 2);
	cgacct__free(&a);
	tree_free();
}

TEST(init_errors)
{
	struct cgacct a;
	char err[256];

	tree_new();
	CHECK_INT(init(&a, 0, 3, NULL), -E2BIG);
	CHECK_INT(init(&a, CGACCT_MAX_VALUES + 1, 3, NULL), -E2BIG);
	CHECK_INT(init(&a, 1, 3, "("), -EINVAL);
	cgacct__free(&a);
	CHECK(cgacct__init(&a, 1, "tests/fixtures/nonexistent", 3, NULL, NULL, err, sizeof(err)) <
	      0);
	CHECK(strstr(err, "no cgroup2 mount") == err);
	cgacct__free(&a);
	tree_free();
}

int main(void)
{
	h_suite = "cgacct";
	RUN(rolled_up_total_survives_removed_children);
	RUN(totals_never_go_backwards);
	RUN(only_ids_that_stopped_growing_are_checked);
	RUN(unknown_and_vanished_ids_are_forgotten);
	RUN(churn_of_2000_cgroups_returns_to_baseline);
	RUN(init_errors);
	return DONE();
}
