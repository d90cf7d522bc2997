// SPDX-License-Identifier: GPL-2.0
/*
 * floor HOOK...: attach one empty program (tests/bench/floor.bpf.c) to each HOOK, print
 * "ready <hooks>", and hold them until SIGTERM, SIGINT or SIGHUP, or until stdin closes
 * when it is a pipe (so the programs go when whoever started us goes).
 * HOOK is spelled as a section name: tp_btf/<tracepoint>, raw_tp/<tracepoint> or
 * tracepoint/<category>/<name>. One program per hook, as kpulse loads one per hook, so
 * the floor pays exactly the dispatch kpulse pays and nothing else.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include "floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

/* Open, configure, load and attach one empty program on @hook; the skeleton is kept. */
static int attach_hook(const char *hook, struct floor_bpf **out)
{
	struct bpf_program *prog;
	struct floor_bpf *skel;
	const char *name;
	char cat[256];
	int err;

	/* Open the object */
	skel = floor_bpf__open();
	if (!skel)
		return -errno;
	/* Keep only the program this kind of hook needs */
	if (!strncmp(hook, "tp_btf/", 7)) {
		prog = skel->progs.floor_btf;
		name = hook + 7;
	} else if (!strncmp(hook, "raw_tp/", 7)) {
		prog = skel->progs.floor_raw;
		name = hook + 7;
	} else if (!strncmp(hook, "tracepoint/", 11) && strchr(hook + 11, '/')) {
		prog = skel->progs.floor_tp;
		name = strchr(hook + 11, '/') + 1;
		snprintf(cat, sizeof(cat), "%.*s", (int)(name - 1 - (hook + 11)), hook + 11);
	} else {
		floor_bpf__destroy(skel);
		return -EINVAL;
	}
	bpf_program__set_autoload(skel->progs.floor_btf, prog == skel->progs.floor_btf);
	bpf_program__set_autoload(skel->progs.floor_raw, prog == skel->progs.floor_raw);
	bpf_program__set_autoload(skel->progs.floor_tp, prog == skel->progs.floor_tp);
	/* A tp_btf program is verified against its tracepoint's BTF: name it before load */
	if (prog == skel->progs.floor_btf) {
		err = bpf_program__set_attach_target(prog, 0, name);
		if (err)
			goto out_destroy;
	}
	/* Load & verify */
	err = floor_bpf__load(skel);
	if (err)
		goto out_destroy;
	/* Attach */
	if (prog == skel->progs.floor_btf)
		skel->links.floor_btf = bpf_program__attach(prog);
	else if (prog == skel->progs.floor_raw)
		skel->links.floor_raw = bpf_program__attach_raw_tracepoint(prog, name);
	else
		skel->links.floor_tp = bpf_program__attach_tracepoint(prog, cat, name);
	if (!skel->links.floor_btf && !skel->links.floor_raw && !skel->links.floor_tp) {
		err = -errno;
		goto out_destroy;
	}
	*out = skel;
	return 0;

out_destroy:
	floor_bpf__destroy(skel);
	return err;
}

int main(int argc, char **argv)
{
	struct pollfd in = {.fd = 0, .events = POLLIN};
	struct floor_bpf **skels;
	struct sigaction sa = {.sa_handler = on_signal};
	struct stat st;
	int i, err = 0;
	char buf[256];

	if (argc < 2) {
		fprintf(stderr,
			"usage: floor tp_btf/<tp>|raw_tp/<tp>|tracepoint/<cat>/<name>...\n");
		return 2;
	}
	libbpf_set_print(print_libbpf);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	skels = calloc(argc, sizeof(*skels));
	if (!skels)
		return 1;
	for (i = 1; i < argc; i++) {
		err = attach_hook(argv[i], &skels[i]);
		if (err == -EINVAL) {
			fprintf(stderr,
				"floor: cannot attach to %s: %s (a hook is tp_btf/<tracepoint>, "
				"raw_tp/<tracepoint> or tracepoint/<category>/<name>)\n",
				argv[i], strerror(-err));
			goto out_destroy;
		}
		if (err) {
			fprintf(stderr, "floor: failed to attach an empty program to %s: %s\n",
				argv[i], strerror(-err));
			goto out_destroy;
		}
	}
	printf("ready %d\n", argc - 1);
	fflush(stdout);
	/* Hold the programs until told to stop, or until whoever started us is gone. */
	if (fstat(0, &st) || !S_ISFIFO(st.st_mode))
		in.fd = -1;
	while (!stop) {
		if (poll(&in, 1, -1) > 0 && read(0, buf, sizeof(buf)) <= 0)
			break;
	}

out_destroy:
	for (i = 1; i < argc; i++)
		floor_bpf__destroy(skels[i]);
	free(skels);
	return err ? 1 : 0;
}
