/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One-line log messages on stderr: "kpulse: <level>: [<collector>: ]<what failed>: <why>".
 *
 * The contract of a collector (src/<name>.c) with the log:
 * - Its name comes once, first, added here while main runs its init or the sampler its
 *   sample (log__set_collector()): never write it into a message.
 * - init returns -errno and does not log its failure: main logs one line, "collector <name>
 *   is down: <why>[: libbpf: <libbpf's reason>]", <why> being what the collector told
 *   log__reason() (the bad flag and what is wrong with it; the step that failed and its
 *   errno), else the errno. init logs only what main cannot know and is not the failure:
 *   a fallback or a feature left out (warn), what it chose (debug).
 * - sample returns -errno and does not log its failure either: the sampler logs the change
 *   to down ("collector <name> failed to sample: <why>", with log__reason() as above) and
 *   back to up, once. sample logs only what degrades a sample that still succeeds, once per
 *   cause, with procfs__warn_once() and a named bit (enum { WARN_<CAUSE> = 1u << n }).
 */
#ifndef KPULSE_LOG_H
#define KPULSE_LOG_H

enum kp_log_level {
	KP_LOG_ERROR,
	KP_LOG_WARN,
	KP_LOG_INFO,
	KP_LOG_DEBUG,
};

extern enum kp_log_level kp_log_level;

/* Parse "error", "warn", "info" or "debug"; -EINVAL for anything else. */
int log__parse_level(const char *s, enum kp_log_level *out);
void log__msg(enum kp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix this thread's messages with "<name>: " until called with NULL. */
void log__set_collector(const char *name);
/*
 * Why the collector being started fails, when its -errno does not say: kept (the first one
 * since log__take_reason()) for main's one line instead of a line of its own.
 */
void log__reason(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The reason kept since the last call ("" if none), and forget it. */
const char *log__take_reason(void);

#define log_error(...) log__msg(KP_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log__msg(KP_LOG_WARN, __VA_ARGS__)
#define log_info(...) log__msg(KP_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log__msg(KP_LOG_DEBUG, __VA_ARGS__)

#endif /* KPULSE_LOG_H */
