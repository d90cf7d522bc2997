// SPDX-License-Identifier: GPL-2.0
/*
 * hangfs: a FUSE filesystem whose statfs never answers, to test that a hung mount cannot
 * stall kpulse. Usage: hangfs <mountpoint> <log file>. Each statfs request appends a line
 * "statfs:<caller tid>" to the log; "ready" is written once mounted. SIGUSR1 turns the filesystem
 * healthy: the requests held so far and every later one are answered with 1000 blocks of
 * 4096 bytes (500 free, 400 available), 100 inodes (50 free). SIGINT/SIGTERM unmount.
 *
 * It also holds one regular file, "meminfo" (a small /proc/meminfo), to stand for a read
 * that never returns where kpulse expects a /proc file (--path.procfs on it). Its reads
 * ("read:<caller tid>" in the log) are answered at once until SIGUSR2, held from then
 * until SIGUSR1, which answers them too.
 *
 * A held request is answered EINTR when its caller is interrupted. That happens only when
 * the caller gets a fatal signal (kpulse blocks SIGINT and SIGTERM in its threads): the
 * kernel's request_wait_answer() then sends FUSE_INTERRUPT and, for a request userspace
 * has already read, waits uninterruptibly for the answer. A daemon that reads requests and
 * ignores interrupts would leave the caller's process unkillable; one that stops reading
 * altogether does not (the request is still pending and is dropped). This models the
 * common, well-behaved case: slow forever, but honours interrupts.
 */
#define FUSE_USE_VERSION 34
#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#define MAX_HELD 1024

#define FILE_INO 2
#define FILE_NAME "meminfo"

static const char file_text[] = "MemTotal:           1000 kB\n"
				"MemFree:             500 kB\n"
				"MemAvailable:        400 kB\n";

/* A request left unanswered: a statfs, or a read of @size bytes at @off. */
struct held_req {
	fuse_req_t req;
	int is_read;
	size_t size;
	off_t off;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct held_req held[MAX_HELD];
static int nheld;
static int healthy;
static int reads_hang;
static FILE *logf;

static void log_line(const char *s)
{
	fprintf(logf, "%s\n", s);
	fflush(logf);
}

static void answer(fuse_req_t req)
{
	struct statvfs st = {
		.f_bsize = 4096,
		.f_frsize = 4096,
		.f_blocks = 1000,
		.f_bfree = 500,
		.f_bavail = 400,
		.f_files = 100,
		.f_ffree = 50,
		.f_namemax = 255,
	};

	fuse_reply_statfs(req, &st);
}

static void answer_read(fuse_req_t req, size_t size, off_t off)
{
	size_t len = sizeof(file_text) - 1;

	if (off < 0 || (size_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > len - off)
		size = len - off;
	fuse_reply_buf(req, file_text + off, size);
}

static void answer_held(const struct held_req *h)
{
	if (h->is_read)
		answer_read(h->req, h->size, h->off);
	else
		answer(h->req);
}

/* Take @req out of the held list; whoever takes it answers it, exactly once. */
static int unhold(fuse_req_t req)
{
	int i;

	for (i = 0; i < nheld; i++) {
		if (held[i].req == req) {
			held[i] = held[--nheld];
			return 1;
		}
	}
	return 0;
}

static void interrupted(fuse_req_t req, void *data)
{
	int mine;

	pthread_mutex_lock(&mu);
	mine = unhold(req);
	pthread_mutex_unlock(&mu);
	if (mine) {
		log_line("interrupted");
		fuse_reply_err(req, EINTR);
	}
}

static void hang_statfs(fuse_req_t req, fuse_ino_t ino)
{
	char line[32];

	/* The caller's thread id, so a test counts only its own kpulse's calls. */
	snprintf(line, sizeof(line), "statfs:%d", (int)fuse_req_ctx(req)->pid);
	pthread_mutex_lock(&mu);
	log_line(line);
	if (healthy || nheld == MAX_HELD) {
		pthread_mutex_unlock(&mu);
		answer(req);
		return;
	}
	held[nheld++] = (struct held_req){.req = req};
	pthread_mutex_unlock(&mu);
	/* Called at once if the request was already interrupted. */
	fuse_req_interrupt_func(req, interrupted, NULL);
}

static void file_attr(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = FILE_INO;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = sizeof(file_text) - 1;
}

static void hang_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st = {.st_ino = 1, .st_mode = S_IFDIR | 0755, .st_nlink = 2};

	if (ino == FILE_INO)
		file_attr(&st);
	else if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fuse_reply_attr(req, &st, 1.0);
}

static void hang_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = {.ino = FILE_INO, .attr_timeout = 1.0, .entry_timeout = 1.0};

	if (parent != FUSE_ROOT_ID || strcmp(name, FILE_NAME)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	file_attr(&e.attr);
	fuse_reply_entry(req, &e);
}

static void hang_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != FILE_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->direct_io = 1; /* every read comes here, none from the page cache */
	fuse_reply_open(req, fi);
}

static void hang_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	char line[32];

	snprintf(line, sizeof(line), "read:%d", (int)fuse_req_ctx(req)->pid);
	pthread_mutex_lock(&mu);
	log_line(line);
	if (!reads_hang || nheld == MAX_HELD) {
		pthread_mutex_unlock(&mu);
		answer_read(req, size, off);
		return;
	}
	held[nheld++] = (struct held_req){.req = req, .is_read = 1, .size = size, .off = off};
	pthread_mutex_unlock(&mu);
	fuse_req_interrupt_func(req, interrupted, NULL);
}

static const struct fuse_lowlevel_ops ops = {
	.statfs = hang_statfs,
	.getattr = hang_getattr,
	.lookup = hang_lookup,
	.open = hang_open,
	.read = hang_read,
};

/* SIGUSR1: become healthy and answer every held request. SIGUSR2: hold reads from now. */
static void *releaser(void *arg)
{
	sigset_t *set = arg;
	int sig;

	while (!sigwait(set, &sig)) {
		struct held_req h;

		pthread_mutex_lock(&mu);
		if (sig == SIGUSR2) {
			reads_hang = 1;
			log_line("reads-hang");
			pthread_mutex_unlock(&mu);
			continue;
		}
		healthy = 1;
		reads_hang = 0;
		log_line("healthy");
		while (nheld) {
			h = held[--nheld];
			pthread_mutex_unlock(&mu);
			answer_held(&h);
			pthread_mutex_lock(&mu);
		}
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	/*
	 * allow_other: kpulse drops to an unprivileged user after start, and FUSE answers
	 * statfs from any other user with zeros without asking the daemon.
	 */
	char *fargv[] = {argv[0], "-o", "fsname=hangfs,subtype=hangfs,allow_other", NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct fuse_session *se;
	static sigset_t usr1;
	pthread_t tid;
	int ret = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: hangfs <mountpoint> <log file>\n");
		return 2;
	}
	logf = fopen(argv[2], "a");
	if (!logf) {
		perror("hangfs: failed to open the log");
		return 1;
	}
	/* Blocked here, so only the releaser thread takes SIGUSR1 and SIGUSR2. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigaddset(&usr1, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	if (pthread_create(&tid, NULL, releaser, &usr1))
		return 1;

	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se)
		return 1;
	if (fuse_set_signal_handlers(se))
		goto out_destroy;
	if (fuse_session_mount(se, argv[1]))
		goto out_handlers;
	log_line("ready");
	/* Single-threaded: held requests do not block the loop, they are only unanswered. */
	ret = fuse_session_loop(se) ? 1 : 0;
	fuse_session_unmount(se);
out_handlers:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
	return ret;
}
