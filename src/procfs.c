// SPDX-License-Identifier: GPL-2.0
/* Parsers for /proc/{meminfo,diskstats,stat,loadavg,cpuinfo}; see procfs.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "log.h"
#include "procfs.h"
#include "strindex.h"

int procfs__open(const char *path)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EMEDIUMTYPE;
	}
	return fd;
}

FILE *procfs__fopen(const char *path)
{
	int fd = procfs__open(path);
	FILE *f;

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		int err = errno;

		close(fd);
		errno = err;
	}
	return f;
}

/* Grow @b so that at least 4 KiB are free, up to PROCFS_READ_MAX + 1 (the NUL). */
static int grow(struct procfs_buf *b)
{
	size_t cap;
	char *p;

	if (b->cap - b->len >= 4096 || b->cap == PROCFS_READ_MAX + 1)
		return 0;
	cap = b->cap ? b->cap * 2 : 16384;
	if (cap > PROCFS_READ_MAX + 1)
		cap = PROCFS_READ_MAX + 1;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

/*
 * Drop a last line that has no newline; false if nothing is left. Logged once per path
 * until that path reads whole again, even when one buffer serves several files.
 */
static bool drop_cut_line(const char *path, struct procfs_buf *b)
{
	uint64_t h = strindex__hash(path) | 1; /* never 0, which means "nothing logged" */
	size_t len = b->len;

	if (!len || b->data[len - 1] == '\n') {
		if (b->cut_logged == h)
			b->cut_logged = 0;
		return len > 0;
	}
	while (len && b->data[len - 1] != '\n')
		len--;
	if (b->cut_logged != h)
		log_warn("%s: the last line is cut (no newline at the end of the file): '%.40s'; "
			 "it is left out",
			 path, b->data + len);
	b->cut_logged = h;
	b->len = len;
	b->data[len] = '\0';
	return len > 0;
}

ssize_t procfs__read_fd(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

void procfs__kept_close(struct procfs_kept *k)
{
	if (k->fd)
		close(k->fd - 1);
	free(k->path);
	k->fd = 0;
	k->path = NULL;
}

/*
 * The descriptor to read @path from: the one @k kept, or a new one, which @k keeps if
 * @keep and it is on procfs, sysfs or cgroupfs (*@kept then says so: do not close it).
 */
static int open_kept(const char *path, struct procfs_kept *k, bool keep, bool *kept)
{
	struct statfs sf;
	int fd;

	*kept = k->fd && !strcmp(k->path, path);
	if (*kept)
		return k->fd - 1;
	procfs__kept_close(k);
	fd = procfs__open(path);
	if (fd < 0 || !keep || fstatfs(fd, &sf) ||
	    (sf.f_type != PROC_SUPER_MAGIC && sf.f_type != SYSFS_MAGIC &&
	     sf.f_type != CGROUP2_SUPER_MAGIC && sf.f_type != CGROUP_SUPER_MAGIC))
		return fd;
	k->path = strdup(path);
	if (k->path) {
		k->fd = fd + 1;
		*kept = true;
	}
	return fd;
}

/* The next bytes of @fd: a pread at @off if @kept, else a read; -errno on failure. */
static ssize_t read_at(int fd, void *buf, size_t len, bool kept, size_t off)
{
	ssize_t n;

	if (!kept)
		return procfs__read_fd(fd, buf, len);
	do
		n = pread(fd, buf, len, off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/*
 * Read the file at @fd into @b to its end: from offset 0 with pread if @kept (the kernel
 * generates the file afresh for a read at 0), else with read on a new descriptor.
 */
static int read_whole(int fd, struct procfs_buf *b, bool kept)
{
	ssize_t n;
	int err;

	b->len = 0;
	for (;;) {
		err = grow(b);
		if (err)
			return err;
		if (b->len == PROCFS_READ_MAX) {
			char c;

			/* Full: one more byte means the file is larger than we read. */
			n = read_at(fd, &c, 1, kept, b->len);
			return n > 0 ? -EFBIG : (int)n;
		}
		/* procfs files are generated per read(): read to EOF, keep one byte for NUL. */
		n = read_at(fd, b->data + b->len, b->cap - b->len - 1, kept, b->len);
		if (n <= 0)
			return (int)n;
		b->len += n;
	}
}

static int read_path(struct procfs_kept *k, const char *path, struct procfs_buf *b)
{
	bool kept;
	int fd, err;

	fd = open_kept(path, k, true, &kept);
	if (fd < 0)
		return fd;
	err = read_whole(fd, b, kept);
	/*
	 * A kept file that went away (its device) fails: open the path again. So does one
	 * that cannot be read at an offset (ESPIPE), which is then read as before.
	 */
	if (err && err != -EFBIG && kept) {
		procfs__kept_close(k);
		fd = open_kept(path, k, err != -ESPIPE, &kept);
		if (fd < 0)
			return fd;
		err = read_whole(fd, b, kept);
	}
	if (!kept)
		close(fd);
	if (err == -EFBIG) {
		/* Do not keep 16 MiB for a file that is not what it should be. */
		procfs__buf_free(b);
		return err;
	}
	if (b->data)
		b->data[b->len] = '\0';
	if (err)
		return err;
	if (!drop_cut_line(path, b))
		return -ENODATA;
	/* A file that shrank (mounts went away) gives back what it no longer needs. */
	if (b->cap > (1u << 20) && b->len < b->cap / 4) {
		size_t cap = b->len * 2 > 16384 ? b->len * 2 : 16384;
		char *p = realloc(b->data, cap);

		if (p) {
			b->data = p;
			b->cap = cap;
		}
	}
	return 0;
}

int procfs__read_path(const char *path, struct procfs_buf *b)
{
	return read_path(&b->kept, path, b);
}

int procfs__read_kept(struct procfs_kept *k, const char *root, const char *rel,
		      struct procfs_buf *b)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, rel) >= sizeof(path))
		return -ENAMETOOLONG;
	return read_path(k, path, b);
}

int procfs__read(const char *root, const char *rel, struct procfs_buf *b)
{
	return procfs__read_kept(&b->kept, root, rel, b);
}

int procfs__count_fds(int dirfd)
{
	struct dirent *e;
	struct statfs sf;
	struct stat st;
	int n = 0, fd;
	DIR *d;

	if (fstatfs(dirfd, &sf) || fstat(dirfd, &st))
		return -errno;
	if (sf.f_type != PROC_SUPER_MAGIC || !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	/* Never 0 on 6.2+: the count includes @dirfd. */
	if (st.st_size > 0)
		return st.st_size <= INT32_MAX ? (int)st.st_size : -EOVERFLOW;
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		n = -errno;
		if (fd >= 0)
			close(fd);
		return n;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* not the one reading the directory */
}

void procfs__buf_free(struct procfs_buf *b)
{
	procfs__kept_close(&b->kept);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

const char *procfs__strerror(int err)
{
	switch (err) {
	case -EMEDIUMTYPE:
		return "not a regular file (a FIFO, a device or a socket?): kpulse reads only "
		       "regular files there; check --path.procfs and --path.sysfs";
	case -EFBIG:
		return "larger than the 16 MiB kpulse reads from one file: not a /proc file? "
		       "check --path.procfs";
	case -ENODATA:
		return "no complete line in it (empty, or cut before its first newline)";
	default:
		return strerror(-err);
	}
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool ends_field(char c)
{
	return !c || c == ' ' || c == '\t' || c == '\n';
}

int procfs__u64(const char **s, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	while (is_blank(*p))
		p++;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = *p - '0';

		if (v > (UINT64_MAX - d) / 10) {
			/* Keep scanning so the caller can step over the field. */
			while (*p >= '0' && *p <= '9')
				p++;
			*s = p;
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	if (!ends_field(*p))
		return -EINVAL;
	*s = p;
	*out = v;
	return 0;
}

/* Skip to the next blank-separated field on the same line; false at the end of line. */
static bool next_field(const char **s)
{
	const char *p = *s;

	while (!ends_field(*p))
		p++;
	while (is_blank(*p))
		p++;
	*s = p;
	return *p && *p != '\n';
}

static const char *const meminfo_keys[MEMINFO_NFIELDS] = {
	[MEMINFO_TOTAL] = "MemTotal",
	[MEMINFO_FREE] = "MemFree",
	[MEMINFO_AVAILABLE] = "MemAvailable",
	[MEMINFO_BUFFERS] = "Buffers",
	[MEMINFO_CACHED] = "Cached",
	[MEMINFO_SWAP_TOTAL] = "SwapTotal",
	[MEMINFO_SWAP_FREE] = "SwapFree",
	[MEMINFO_DIRTY] = "Dirty",
	[MEMINFO_WRITEBACK] = "Writeback",
	[MEMINFO_SHMEM] = "Shmem",
	[MEMINFO_SLAB] = "Slab",
};

const char *meminfo__key(enum meminfo_field f)
{
	return f < MEMINFO_NFIELDS ? meminfo_keys[f] : "";
}

/* "Key:   123 kB": the value in kB; only "kB" (or no unit) is accepted. */
static int meminfo_value(const char *p, uint64_t *kb)
{
	int err = procfs__u64(&p, kb);

	if (err)
		return err;
	while (is_blank(*p))
		p++;
	if (*p == '\n' || !*p)
		return 0;
	if (strncmp(p, "kB", 2))
		return -EINVAL;
	for (p += 2; is_blank(*p); p++)
		;
	return *p == '\n' || !*p ? 0 : -EINVAL;
}

int meminfo__parse(const char *buf, struct meminfo *m)
{
	const char *line = buf;

	memset(m, 0, sizeof(*m));
	while (line && *line) {
		const char *colon = strchr(line, ':'), *eol = strchr(line, '\n');

		if (colon && (!eol || colon < eol)) {
			size_t klen = colon - line;
			int i;

			for (i = 0; i < MEMINFO_NFIELDS; i++) {
				if (strlen(meminfo_keys[i]) != klen ||
				    strncmp(line, meminfo_keys[i], klen))
					continue;
				if (!meminfo_value(colon + 1, &m->kb[i])) {
					m->present |= 1u << i;
					m->bad &= ~(1u << i);
				} else if (!(m->present & (1u << i))) {
					m->bad |= 1u << i;
				}
				break;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return m->present ? 0 : -ENODATA;
}

int diskstats__parse_line(const char *line, struct diskstat *d)
{
	const char *p = line;
	uint64_t maj, min;
	size_t n;
	int i;

	memset(d, 0, sizeof(*d));
	if (procfs__u64(&p, &maj) || maj > UINT32_MAX || !next_field(&p))
		return -EINVAL;
	if (procfs__u64(&p, &min) || min > UINT32_MAX || !next_field(&p))
		return -EINVAL;
	n = 0;
	while (!ends_field(p[n]))
		n++;
	if (!n || n >= sizeof(d->name))
		return -EINVAL;
	memcpy(d->name, p, n);
	d->name[n] = '\0';
	d->major = maj;
	d->minor = min;
	/* Fields are positional: one that does not parse is absent, the others still count. */
	for (i = 0; i < DISK_NFIELDS && next_field(&p); i++)
		if (!procfs__u64(&p, &d->v[i]))
			d->present |= 1u << i;
	return 0;
}

static const char *const cpu_modes[CPU_NMODES] = {
	"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
};

const char *cpu_mode__name(enum cpu_mode m)
{
	return m < CPU_NMODES ? cpu_modes[m] : "";
}

int procstat__parse_cpu(const char *line, struct cpustat *c)
{
	const char *p = line + 3;
	int i;

	memset(c, 0, sizeof(*c));
	if (strncmp(line, "cpu", 3))
		return -EINVAL;
	if (is_blank(*p)) {
		c->cpu = -1;
	} else {
		uint64_t cpu;

		if (procfs__u64(&p, &cpu) || cpu >= PROCFS_MAX_CPUS)
			return -EINVAL;
		c->cpu = (int)cpu;
	}
	for (i = 0; i < CPU_NMODES && next_field(&p); i++)
		if (!procfs__u64(&p, &c->ticks[i]))
			c->present |= 1u << i;
	if (c->present != (1u << CPU_NMODES) - 1)
		return 0; /* the guest columns only count after all eight modes */
	for (i = 0; i < 2 && next_field(&p); i++)
		if (!procfs__u64(&p, &c->guest[i]))
			c->guest_present |= 1u << i;
	return 0;
}

int procstat__btime(const char *buf, uint64_t *out)
{
	const char *p = buf;

	while (p && *p) {
		if (!strncmp(p, "btime", 5) && is_blank(p[5])) {
			p += 5;
			return procfs__u64(&p, out);
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

static struct {
	const char *procfs;
	uint64_t seq;
	const struct procfs_buf *buf;
} procstat_offer;

void procstat__offer(const char *procfs, uint64_t seq, const struct procfs_buf *b)
{
	procstat_offer.procfs = procfs;
	procstat_offer.seq = seq;
	procstat_offer.buf = b;
}

const char *procstat__take(const char *procfs, uint64_t seq)
{
	const struct procfs_buf *b = procstat_offer.buf;

	if (!b || !b->data || seq != procstat_offer.seq || strcmp(procfs, procstat_offer.procfs))
		return NULL;
	return b->data;
}

unsigned int loadavg__parse(const char *buf, double load[3])
{
	const char *p = buf;
	unsigned int ok = 0;
	int i;

	for (i = 0; i < 3; i++) {
		char *end;
		double v;

		while (is_blank(*p))
			p++;
		/* "0.52": digits and one dot only, so strtod never takes "nan", "inf" or hex. */
		if (*p < '0' || *p > '9')
			break;
		errno = 0;
		v = strtod(p, &end);
		if (errno || !ends_field(*end) || !isfinite(v) ||
		    strspn(p, "0123456789.") != (size_t)(end - p))
			break;
		load[i] = v;
		ok |= 1u << i;
		p = end;
	}
	return ok;
}

int cpuinfo__model(const char *buf, char *out, size_t len)
{
	/* In order of preference: x86, 32-bit arm, mips, powerpc. */
	static const char *const keys[] = {"model name", "Processor", "cpu model", "cpu"};
	size_t k;

	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *line = buf;

		while (line && *line) {
			const char *eol = strchrnul(line, '\n'),
				   *colon = memchr(line, ':', eol - line);
			size_t klen;

			if (colon) {
				klen = colon - line;
				while (klen && is_blank(line[klen - 1]))
					klen--;
				if (klen == strlen(keys[k]) && !strncmp(line, keys[k], klen)) {
					const char *v = colon + 1;
					size_t vlen;

					while (is_blank(*v))
						v++;
					vlen = eol - v;
					while (vlen && is_blank(v[vlen - 1]))
						vlen--;
					if (vlen) {
						snprintf(out, len, "%.*s", (int)vlen, v);
						return 0;
					}
				}
			}
			line = *eol ? eol + 1 : NULL;
		}
	}
	return -ENOENT;
}

void procfs__warn_once(uint32_t *seen, uint32_t bit, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (*seen & bit)
		return;
	*seen |= bit;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s", msg);
}
