// SPDX-License-Identifier: GPL-2.0
/*
 * hangfs: a FUSE filesystem whose statfs never answers, to test that a hung mount cannot
 * stall kpulse. Usage: hangfs <mountpoint> <log file>. Each statfs request appends a line
 * "statfs:<caller tid>" to the log; "ready" is written once mounted. SIGUSR1 turns the filesystem
 * healthy: the requests held so far and every later one are answered with 1000 blocks of
 * 4096 bytes (500 free, 400 available), 100 inodes (50 free). SIGINT/SIGTERM unmount.
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

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static fuse_req_t held[MAX_HELD];
static int nheld;
static int healthy;
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

/* Take @req out of the held list; whoever takes it answers it, exactly once. */
static int unhold(fuse_req_t req)
{
	int i;

	for (i = 0; i < nheld; i++) {
		if (held[i] == req) {
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
	held[nheld++] = req;
	pthread_mutex_unlock(&mu);
	/* Called at once if the request was already interrupted. */
	fuse_req_interrupt_func(req, interrupted, NULL);
}

static void hang_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st = {.st_ino = 1, .st_mode = S_IFDIR | 0755, .st_nlink = 2};

	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fuse_reply_attr(req, &st, 1.0);
}

static void hang_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, ENOENT);
}

static const struct fuse_lowlevel_ops ops = {
	.statfs = hang_statfs,
	.getattr = hang_getattr,
	.lookup = hang_lookup,
};

/* SIGUSR1: become healthy and answer every held request. */
static void *releaser(void *arg)
{
	sigset_t *set = arg;
	int sig;

	while (!sigwait(set, &sig)) {
		fuse_req_t req;

		pthread_mutex_lock(&mu);
		healthy = 1;
		log_line("healthy");
		while (nheld) {
			req = held[--nheld];
			pthread_mutex_unlock(&mu);
			answer(req);
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
	/* Blocked here, so only the releaser thread takes SIGUSR1. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
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
