// SPDX-License-Identifier: GPL-2.0
/* cgroup v2 mount discovery and the id → path map, rescanned on demand. */
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cgroup.h"
#include "log.h"
#include "mountinfo.h"
#include "procfs.h"

int cgroup__find_mount(const char *procfs, char *out, size_t len)
{
	char path[512], line[8192];
	struct mountinfo m;
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "%s/self/mountinfo", procfs);
	f = procfs__fopen(path);
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (mountinfo__parse(line, &m) || strcmp(m.fstype, "cgroup2"))
			continue;
		snprintf(out, len, "%s", m.mount_point);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

void cgroup__roll_up(const char *path, unsigned int depth, char *out, size_t len)
{
	const char *p = path;
	unsigned int d = 0;

	/* Walk past @depth components: "/a/b/c" at depth 2 ends before "/c". */
	while (*p == '/' && p[1] && d < depth) {
		p = strchr(p + 1, '/');
		d++;
		if (!p) {
			p = path + strlen(path);
			break;
		}
	}
	if (p == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(p - path), path);
}

int cgroups__init(struct cgroups *c, const char *procfs, unsigned int depth, const char *include,
		  const char *exclude, char *err, size_t errlen)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->depth = depth;
	rc = cgroup__find_mount(procfs, c->mount, sizeof(c->mount));
	if (rc) {
		snprintf(err, errlen, "no cgroup2 mount in %s/self/mountinfo: %s", procfs,
			 strerror(-rc));
		return rc;
	}
	return filter__init(&c->filter, include, exclude, err, errlen);
}

static void free_nodes(struct cgroups *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->nodes[i].path);
		free(c->nodes[i].rolled_up);
	}
	c->n = 0;
}

static int add_node(struct cgroups *c, uint64_t id, const char *path)
{
	char rolled[4096];
	struct cgroup_node *n;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		void *p = realloc(c->nodes, cap * sizeof(*c->nodes));

		if (!p)
			return -ENOMEM;
		c->nodes = p;
		c->cap = cap;
	}
	n = &c->nodes[c->n];
	cgroup__roll_up(path, c->depth, rolled, sizeof(rolled));
	n->id = id;
	n->path = strdup(path);
	n->rolled_up = filter__match(&c->filter, rolled) ? strdup(rolled) : NULL;
	if (!n->path) {
		free(n->rolled_up);
		return -ENOMEM;
	}
	c->n++;
	return 0;
}

/*
 * Add the subdirectories of node @i (its directory open as @dirfd, which is closed) as new
 * nodes, at the end of the list.
 */
static int add_children(struct cgroups *c, size_t i, int dirfd)
{
	const char *path = c->nodes[i].path; /* its own allocation: stays valid as nodes grow */
	struct dirent *de;
	struct stat st;
	char *child;
	int err = 0;
	DIR *d;

	d = fdopendir(dirfd);
	if (!d) {
		err = -errno;
		close(dirfd);
		return err;
	}
	while (!err && (de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISDIR(st.st_mode))
			continue; /* removed while we walked */
		if (strlen(path) + 1 + strlen(de->d_name) >= PATH_MAX) {
			/* Its path cannot be stat()ed (cgroups__alive): leave it out, and what
			 * is below it, so a deep tree cannot make the list grow as depth². */
			if (!c->warned_long)
				log_warn("cgroups below %.80s... have paths longer than %d bytes: "
					 "their time is not counted per cgroup",
					 path, PATH_MAX);
			c->warned_long = true;
			continue;
		}
		if (asprintf(&child, "%s/%s", strcmp(path, "/") ? path : "", de->d_name) < 0) {
			err = -ENOMEM;
			break;
		}
		err = add_node(c, st.st_ino, child);
		free(child);
	}
	closedir(d);
	return err;
}

/* Is @parent the directory that holds @path ("/a" holds "/a/b", "/" holds "/a")? */
static bool holds(const char *parent, const char *path)
{
	const char *name = strrchr(path, '/');
	size_t len = name - path;

	return len ? strlen(parent) == len && !strncmp(parent, path, len) : !strcmp(parent, "/");
}

/*
 * Open node @i's directory: relative to @lastfd when that is its parent (a walk down one
 * branch costs one lookup per level), else by its path from the mount.
 */
static int open_node(const struct cgroups *c, int mountfd, size_t i, size_t last, int lastfd)
{
	const char *path = c->nodes[i].path;

	if (lastfd >= 0 && holds(c->nodes[last].path, path))
		return openat(lastfd, strrchr(path, '/') + 1,
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return openat(mountfd, strcmp(path, "/") ? path + 1 : ".",
		      O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

static int cmp_id(const void *a, const void *b)
{
	const struct cgroup_node *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Depth-first, without recursion: a stack of node indexes on the heap, and one directory
 * open at a time (plus the last one, to open its children relative to it). A tree of any
 * depth costs neither stack nor descriptors: a ~1 900-level tree overflowed the stack of
 * the recursive walk this replaces (4 KiB of path per level), at every start.
 */
int cgroups__scan(struct cgroups *c)
{
	size_t *stack = NULL, top = 0, cap = 0, i, k, first, last = 0;
	int mountfd, fd, lastfd = -1, err;
	struct stat st;

	free_nodes(c);
	mountfd = open(c->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mountfd < 0)
		return -errno;
	if (fstat(mountfd, &st)) {
		err = -errno;
		close(mountfd);
		return err;
	}
	err = add_node(c, st.st_ino, "/");
	first = 0;
	while (!err) {
		/* Push what the last directory held; the next node is then one of its children. */
		if (cap < top + (c->n - first)) {
			size_t *p;

			cap = (top + (c->n - first)) * 2;
			p = realloc(stack, cap * sizeof(*stack));
			if (!p) {
				err = -ENOMEM;
				break;
			}
			stack = p;
		}
		for (k = c->n; k > first; k--)
			stack[top++] = k - 1;
		if (!top)
			break;
		i = stack[--top];
		fd = open_node(c, mountfd, i, last, lastfd);
		if (lastfd >= 0)
			close(lastfd);
		lastfd = -1;
		first = c->n;
		if (fd < 0)
			continue; /* removed since it was listed */
		last = i;
		lastfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		err = add_children(c, i, fd);
	}
	if (lastfd >= 0)
		close(lastfd);
	close(mountfd);
	free(stack);
	qsort(c->nodes, c->n, sizeof(*c->nodes), cmp_id);
	return err;
}

static int walk_depth(int dirfd, char *path, size_t len, unsigned int depth,
		      int (*fn)(const char *path, void *ctx), void *ctx)
{
	size_t n = strlen(path);
	struct dirent *de;
	int err = 0, fd;
	DIR *d;

	if (!depth) {
		close(dirfd);
		return 0;
	}
	d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return -errno;
	}
	while (!err && (de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path + n, len - n, "%s%s", n > 1 ? "/" : "", de->d_name) >=
		    (int)(len - n))
			continue; /* deeper than any label we could export */
		fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue; /* removed while we walked */
		err = fn(path, ctx);
		if (!err)
			err = walk_depth(fd, path, len, depth - 1, fn, ctx);
		else
			close(fd);
		path[n] = '\0';
	}
	closedir(d);
	return err;
}

int cgroup__walk(const char *mount, unsigned int max_depth, int (*fn)(const char *path, void *ctx),
		 void *ctx)
{
	char path[4096] = "/";
	int fd, err;

	fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fn(path, ctx);
	if (err) {
		close(fd);
		return err;
	}
	return walk_depth(fd, path, sizeof(path), max_depth, fn, ctx);
}

bool cgroups__alive(const struct cgroups *c, const char *path, uint64_t id)
{
	char full[8192];
	struct stat st;

	snprintf(full, sizeof(full), "%s%s", c->mount, strcmp(path, "/") ? path : "");
	return !stat(full, &st) && (id == 0 || st.st_ino == id);
}

const struct cgroup_node *cgroups__find(const struct cgroups *c, uint64_t id)
{
	struct cgroup_node key = {.id = id};

	if (!c->n)
		return NULL;
	return bsearch(&key, c->nodes, c->n, sizeof(*c->nodes), cmp_id);
}

void cgroups__free(struct cgroups *c)
{
	free_nodes(c);
	free(c->nodes);
	c->nodes = NULL;
	c->cap = 0;
	filter__free(&c->filter);
}
