// SPDX-License-Identifier: GPL-2.0
/*
 * The /proc reader and its field parser: numbers, a cut last line, files that are
 * not /proc files (FIFOs, devices, huge files), buffers that shrink with their file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "clock.h"
#include "collector.h"
#include "harness.h"
#include "mset_check.h"
#include "procfs.h"

extern struct collector memory_collector, disk_collector, cpu_collector;

#define FIX "tests/fixtures/"

TEST(u64_fields)
{
	static const struct {
		const char *in;
		int err;
		uint64_t want;
	} cases[] = {
		{"0", 0, 0},
		{"  42 rest", 0, 42},
		{"18446744073709551615", 0, UINT64_MAX},
		{"18446744073709551616", -ERANGE, 0},
		{"99999999999999999999999", -ERANGE, 0},
		{"-1", -EINVAL, 0},
		{"0x10", -EINVAL, 0},
		{"12abc", -EINVAL, 0},
		{"", -EINVAL, 0},
		{"nan", -EINVAL, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = cases[i].in;
		uint64_t v = 7;
		int err = procfs__u64(&p, &v);

		CHECKF(err == cases[i].err && (err || v == cases[i].want),
		       "procfs__u64(\"%s\") = %d, %llu; want %d, %llu", cases[i].in, err,
		       (unsigned long long)v, cases[i].err, (unsigned long long)cases[i].want);
	}
}

TEST(cut_last_line_is_left_out)
{
	struct kpulse_config cfg = fixture_config(FIX "cut/proc", FIX "vm/sys");
	struct procfs_buf b = {};
	struct mset *s;
	int err;

	CHECK_INT(procfs__read(FIX "cut/proc", "meminfo", &b), 0);
	CHECK(!strstr(b.data, "MemAvailable"));
	CHECK(b.len && b.data[b.len - 1] == '\n');
	procfs__buf_free(&b);

	s = sample_once(&memory_collector, &cfg, &err);
	CHECK_INT(err, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_total_bytes", ""), 24684084.0 * 1024, 0);
	CHECK_NEAR(mset_get(s, "kpulse_memory_free_bytes", ""), 23927116.0 * 1024, 0);
	MSET_ABSENT(s, "kpulse_memory_available_bytes", "");
	MSET_ABSENT(s, "kpulse_memory_used_ratio", "");
	memory_collector.destroy(&memory_collector);
	mset__free(s);
}

/* A scratch --path.procfs under /tmp, removed by rm_scratch(). */
static char scratch[64];

static void make_scratch(void)
{
	snprintf(scratch, sizeof(scratch), "/tmp/kpulse-unit-XXXXXX");
	CHECK(mkdtemp(scratch) != NULL);
}

static void rm_scratch(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
	CHECK_INT(system(cmd), 0);
}

static void scratch_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", scratch, name);
}

/*
 * What is under --path.procfs is not trusted to be a /proc file: a FIFO (open() and
 * read() would block the sampler forever), /dev/zero (endless), a 100 MB file. Each read
 * returns at once with a reason a log line can carry, and nothing stays allocated.
 */
TEST(reads_never_block_and_are_bounded)
{
	struct kpulse_config cfg;
	struct procfs_buf b = {};
	char path[128];
	uint64_t t0;
	struct mset *s;
	int fd, err;

	make_scratch();
	cfg = fixture_config(scratch, scratch);
	/* The test process dies here instead of hanging if a read blocks. */
	alarm(20);
	scratch_path(path, sizeof(path), "meminfo");
	CHECK_INT(mkfifo(path, 0600), 0);
	scratch_path(path, sizeof(path), "stat");
	CHECK_INT(symlink("/dev/zero", path), 0);
	scratch_path(path, sizeof(path), "diskstats");
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	CHECK_INT(ftruncate(fd, 100 << 20), 0); /* 100 MB of zeros, sparse */
	close(fd);

	t0 = mono_now_ns();
	CHECK_INT(procfs__read(scratch, "meminfo", &b), -EMEDIUMTYPE);
	CHECK_INT(procfs__read(scratch, "stat", &b), -EMEDIUMTYPE);
	CHECK(strstr(procfs__strerror(-EMEDIUMTYPE), "not a regular file") != NULL);
	CHECK_INT(procfs__read(scratch, "diskstats", &b), -EFBIG);
	CHECK(strstr(procfs__strerror(-EFBIG), "16 MiB") != NULL);
	CHECK(b.data == NULL && b.cap == 0); /* the 16 MiB read is given back */
	CHECK(mono_now_ns() - t0 < 5000000000ull);

	/* The collectors go down with that reason, and do not block either. */
	s = sample_once(&memory_collector, &cfg, &err);
	CHECK_INT(err, -EMEDIUMTYPE);
	memory_collector.destroy(&memory_collector);
	mset__free(s);
	s = sample_once(&cpu_collector, &cfg, &err);
	CHECK_INT(err, -EMEDIUMTYPE);
	cpu_collector.destroy(&cpu_collector);
	mset__free(s);
	s = sample_once(&disk_collector, &cfg, &err);
	CHECK_INT(err, -EFBIG);
	disk_collector.destroy(&disk_collector);
	mset__free(s);
	alarm(0);
	rm_scratch();
}

/* A file that shrinks gives back the memory its large reading took. */
TEST(read_buffer_shrinks_with_the_file)
{
	struct procfs_buf b = {};
	char path[128];
	FILE *f;
	int i;

	make_scratch();
	scratch_path(path, sizeof(path), "mountinfo");
	f = fopen(path, "w");
	for (i = 0; i < 100000; i++)
		fprintf(f, "line %d of a file that will shrink\n", i);
	fclose(f);
	CHECK_INT(procfs__read(scratch, "mountinfo", &b), 0);
	CHECK(b.cap >= 3u << 20);
	f = fopen(path, "w");
	fprintf(f, "one line\n");
	fclose(f);
	CHECK_INT(procfs__read(scratch, "mountinfo", &b), 0);
	CHECK_STR(b.data, "one line\n");
	CHECK(b.cap <= 16384);
	procfs__buf_free(&b);
	rm_scratch();
}

static int open_fds(void)
{
	char path[64];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += !access(path, F_OK);
	}
	return n;
}

/*
 * The count of open descriptors (the self collector's process_open_fds) is what a readdir
 * of /proc/self/fd lists, its own descriptor included, and follows opens and closes; a
 * directory that is not a /proc/<pid>/fd is refused, not read as a count.
 */
TEST(count_fds_matches_the_fd_directory)
{
	int dirfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC), extra[40], i;
	int before;

	CHECK(dirfd >= 0);
	before = procfs__count_fds(dirfd);
	CHECK_INT(before, open_fds());
	for (i = 0; i < 40; i++)
		extra[i] = dup(0);
	CHECK_INT(procfs__count_fds(dirfd), before + 40);
	CHECK_INT(procfs__count_fds(dirfd), open_fds());
	for (i = 0; i < 40; i++)
		close(extra[i]);
	CHECK_INT(procfs__count_fds(dirfd), before);
	close(dirfd);
	dirfd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_INT(procfs__count_fds(dirfd), -ENOTDIR);
	close(dirfd);
}

/*
 * A buffer keeps its procfs file open, and every read still comes from the kernel afresh:
 * /proc/sys/kernel/random/uuid is a new UUID at each read. A scratch file (not procfs) is
 * opened every time, so one replaced between reads is read as it is now.
 */
TEST(kept_procfs_file_reads_afresh)
{
	struct procfs_buf b = {};
	char first[64], path[128], moved[160];
	int fds = open_fds();
	FILE *f;

	CHECK_INT(procfs__read("/proc", "sys/kernel/random/uuid", &b), 0);
	snprintf(first, sizeof(first), "%s", b.data);
	CHECK_INT(open_fds(), fds + 1);
	CHECK_INT(procfs__read("/proc", "sys/kernel/random/uuid", &b), 0);
	CHECK_INT(strlen(b.data), 37);
	CHECK(strcmp(first, b.data) != 0);
	CHECK_INT(open_fds(), fds + 1);
	/* Another path: the first one is closed, the new one kept. */
	CHECK_INT(procfs__read("/proc", "loadavg", &b), 0);
	CHECK_INT(open_fds(), fds + 1);

	make_scratch();
	scratch_path(path, sizeof(path), "stat");
	snprintf(moved, sizeof(moved), "%s.new", path);
	f = fopen(path, "w");
	fprintf(f, "old\n");
	fclose(f);
	CHECK_INT(procfs__read(scratch, "stat", &b), 0);
	CHECK_STR(b.data, "old\n");
	CHECK_INT(open_fds(), fds);
	f = fopen(moved, "w");
	fprintf(f, "new\n");
	fclose(f);
	CHECK_INT(rename(moved, path), 0);
	CHECK_INT(procfs__read(scratch, "stat", &b), 0);
	CHECK_STR(b.data, "new\n");
	procfs__buf_free(&b);
	CHECK_INT(open_fds(), fds);
	rm_scratch();
}

int main(void)
{
	h_suite = "procfs";
	RUN(u64_fields);
	RUN(cut_last_line_is_left_out);
	RUN(reads_never_block_and_are_bounded);
	RUN(read_buffer_shrinks_with_the_file);
	RUN(kept_procfs_file_reads_afresh);
	RUN(count_fds_matches_the_fd_directory);
	return DONE();
}
