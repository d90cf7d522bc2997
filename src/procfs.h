/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pure parsers for the /proc files the memory, disk, cpu and host collectors read, and a
 * reusable whole-file reader. Every parser takes a buffer, so tests feed it fixtures; a
 * field that is missing, truncated, not a number or out of range is reported absent,
 * never as a made-up value.
 */
#ifndef KPULSE_PROCFS_H
#define KPULSE_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Most one file may hold. The largest real ones (mountinfo with 100 000 mounts, diskstats
 * with as many devices) stay below it; a 100 MB file or /dev/zero under --path.procfs
 * must not become 100 MB of kpulse's memory.
 */
#define PROCFS_READ_MAX (16u << 20)

/*
 * A growing buffer reused tick after tick, so reading a file costs no allocation. It also
 * keeps the procfs, sysfs or cgroupfs file it read last open: reading the same path again is a
 * pread from 0, which the kernel generates afresh, without the path walk, open, fstat and
 * close that cost a small /proc file more than its contents (15 of 19 us for /proc/stat
 * here). Other files (fixtures under --path.procfs) are opened every time, as they may be
 * replaced between reads. procfs__buf_free closes it.
 */
struct procfs_kept {
	int fd; /* + 1, so that a zeroed one keeps nothing */
	char *path;
};

struct procfs_buf {
	char *data; /* NUL-terminated after procfs__read */
	size_t len, cap;
	uint64_t cut_logged; /* hash of the path whose cut last line was logged; 0: none */
	struct procfs_kept kept;
};

/*
 * Open @path for reading without ever blocking a tick: O_NONBLOCK, so a FIFO put where a
 * /proc file should be cannot hold open() or read(), and only regular files are accepted
 * (every procfs and sysfs file is one; a FIFO, a device such as /dev/zero or a socket is
 * not: -EMEDIUMTYPE, an errno no procfs or sysfs file returns, unlike EOPNOTSUPP of
 * /proc/pressure with PSI off). Returns the descriptor or -errno.
 */
int procfs__open(const char *path);
/* read() of up to @len bytes, again when a signal interrupts it; -errno on failure. */
ssize_t procfs__read_fd(int fd, void *buf, size_t len);
/* procfs__open as a stdio stream, for line-by-line readers; NULL with errno set. */
FILE *procfs__fopen(const char *path);
/*
 * Read <@root>/<@rel> whole into @b, opened with procfs__open. At most PROCFS_READ_MAX
 * bytes (-EFBIG beyond, and the buffer is released). The kernel ends every line with a
 * newline, so a last line without one was cut (a file truncated or still being written):
 * it is dropped here, logged once, and the parsers only ever see complete lines.
 * -ENODATA if no complete line is left; other -errno from open() and read().
 */
int procfs__read(const char *root, const char *rel, struct procfs_buf *b);
/* The same for a whole path. */
int procfs__read_path(const char *path, struct procfs_buf *b);
void procfs__buf_free(struct procfs_buf *b);
/*
 * procfs__read with the file kept open in @k instead of in @b: several files read through one
 * buffer each keep their own descriptor (also on cgroupfs). procfs__kept_close closes it.
 */
int procfs__read_kept(struct procfs_kept *k, const char *root, const char *rel,
		      struct procfs_buf *b);
void procfs__kept_close(struct procfs_kept *k);
/*
 * Open descriptors of the process whose /proc/<pid>/fd directory is open at @dirfd (its
 * own descriptor included): since Linux 6.2 fstat() says in st_size (the weight of the
 * table's bitmap, one syscall), before that a readdir of every descriptor. -errno on
 * failure.
 */
int procfs__count_fds(int dirfd);
/* What an error of procfs__open / procfs__read means, for a log line (strerror otherwise). */
const char *procfs__strerror(int err);

/*
 * Parse an unsigned decimal at *@s (leading blanks skipped), ending at a blank, a newline
 * or the end of the string: no sign, no hex, no trailing junk. -ERANGE above 2^64 - 1,
 * -EINVAL if it is not a number. *@s moves past it on success.
 */
int procfs__u64(const char **s, uint64_t *out);

/* /proc/meminfo: the lines kpulse exports, in kB as the kernel writes them. */
enum meminfo_field {
	MEMINFO_TOTAL,
	MEMINFO_FREE,
	MEMINFO_AVAILABLE,
	MEMINFO_BUFFERS,
	MEMINFO_CACHED,
	MEMINFO_SWAP_TOTAL,
	MEMINFO_SWAP_FREE,
	MEMINFO_DIRTY,
	MEMINFO_WRITEBACK,
	MEMINFO_SHMEM,
	MEMINFO_SLAB,
	MEMINFO_NFIELDS,
};

struct meminfo {
	uint64_t kb[MEMINFO_NFIELDS];
	uint32_t present; /* bit i: kb[i] parsed */
	uint32_t bad;	  /* bit i: the line is there but its value does not parse */
};

/* The key of @f as /proc/meminfo spells it ("MemTotal"). */
const char *meminfo__key(enum meminfo_field f);
/* Parse a whole /proc/meminfo; -ENODATA if not one field parsed. */
int meminfo__parse(const char *buf, struct meminfo *m);

/* /proc/diskstats (Documentation/admin-guide/iostats.rst), the fields after the name. */
enum diskstat_field {
	DISK_READS,	    /* reads completed */
	DISK_READS_MERGED,  /* unused, parsed to keep positions */
	DISK_SECTORS_READ,  /* 512-byte units whatever the device's sector size */
	DISK_READ_MS,	    /* time spent reading */
	DISK_WRITES,	    /* writes completed */
	DISK_WRITES_MERGED, /* unused */
	DISK_SECTORS_WRITTEN,
	DISK_WRITE_MS,
	DISK_IOS_NOW, /* I/Os currently in progress */
	DISK_IO_MS,   /* time the device had I/O in flight */
	DISK_NFIELDS,
};

#define DISK_NAME_MAX 64

struct diskstat {
	unsigned int major, minor;
	char name[DISK_NAME_MAX];
	uint64_t v[DISK_NFIELDS];
	uint32_t present; /* bit i: v[i] parsed */
};

/* Parse one diskstats line; -EINVAL without major, minor and a name (the line is skipped). */
int diskstats__parse_line(const char *line, struct diskstat *d);

/*
 * /proc/stat cpu lines: USER_HZ ticks per mode. The guest and guest_nice columns that follow
 * are already counted in user and nice (kernel/sched/cputime.c account_guest_time()), so
 * they are kept apart, not as modes.
 */
enum cpu_mode {
	CPU_USER,
	CPU_NICE,
	CPU_SYSTEM,
	CPU_IDLE,
	CPU_IOWAIT,
	CPU_IRQ,
	CPU_SOFTIRQ,
	CPU_STEAL,
	CPU_NMODES,
};

struct cpustat {
	int cpu; /* -1 for the all-CPU "cpu " line */
	uint64_t ticks[CPU_NMODES];
	uint32_t present;	/* bit i: ticks[i] parsed */
	uint64_t guest[2];	/* guest, guest_nice */
	uint32_t guest_present; /* bit i: guest[i] parsed */
};

/* Highest CPU count accepted in a "cpuN" line (x86 MAXSMP's NR_CPUS); beyond it the line
 * is taken as garbage, so a bad file cannot make the collector allocate much. */
#define PROCFS_MAX_CPUS 8192

const char *cpu_mode__name(enum cpu_mode m);
/* Parse a "cpu " or "cpuN " line; -EINVAL for any other line or a bad CPU number. */
int procstat__parse_cpu(const char *line, struct cpustat *c);
/* The "btime" line of /proc/stat (boot time, seconds since the epoch); -ENOENT/-EINVAL. */
int procstat__btime(const char *buf, uint64_t *out);

/*
 * One read of <procfs>/stat per tick for the collectors that need it: the cpu collector,
 * which reads it whole every tick, offers its buffer for tick @seq (NULL: withdraw it);
 * a collector sampled after it in the same tick (host, for btime) takes that text instead
 * of having the kernel generate the file again. procstat__take returns NULL unless a
 * buffer was offered for the same @procfs in tick @seq. Sampler thread only.
 */
void procstat__offer(const char *procfs, uint64_t seq, const struct procfs_buf *b);
const char *procstat__take(const char *procfs, uint64_t seq);

/* /proc/loadavg: bit i of the result is set when @load[i] (1, 5, 15 min) parsed. */
unsigned int loadavg__parse(const char *buf, double load[3]);

/* The CPU model from /proc/cpuinfo ("model name" on x86, "Processor"/"cpu" elsewhere). */
int cpuinfo__model(const char *buf, char *out, size_t len);

/* Log @fmt once per bit of *@seen: a broken source is reported, not every second. */
void procfs__warn_once(uint32_t *seen, uint32_t bit, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* KPULSE_PROCFS_H */
