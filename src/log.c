// SPDX-License-Identifier: GPL-2.0
/* Leveled logging to stderr, one line per message, written with a single write(). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "log.h"

enum kp_log_level kp_log_level = KP_LOG_INFO;

static const char *const names[] = {"error", "warn", "info", "debug"};
/* The collector whose init or sample this thread runs: the sampler's, not the HTTP threads'. */
static __thread const char *collector;
static char reason[512], taken[512];

int log__parse_level(const char *s, enum kp_log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

void log__msg(enum kp_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level > kp_log_level)
		return;
	n = snprintf(line, sizeof(line), "kpulse: %s: %s%s", names[level],
		     collector ? collector : "", collector ? ": " : "");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	/* libbpf messages arrive with their own newline. */
	if (n > 0 && line[n - 1] != '\n')
		line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void log__set_collector(const char *name)
{
	collector = name;
}

void log__reason(const char *fmt, ...)
{
	va_list ap;

	if (reason[0])
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
}

const char *log__take_reason(void)
{
	memcpy(taken, reason, sizeof(taken));
	reason[0] = '\0';
	return taken;
}
