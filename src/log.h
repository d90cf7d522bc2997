/* SPDX-License-Identifier: GPL-2.0 */
/* One-line log messages on stderr: "kpulse: <level>: <what failed>: <why>". */
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

#define log_error(...) log__msg(KP_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log__msg(KP_LOG_WARN, __VA_ARGS__)
#define log_info(...) log__msg(KP_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log__msg(KP_LOG_DEBUG, __VA_ARGS__)

#endif /* KPULSE_LOG_H */
