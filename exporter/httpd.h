/* SPDX-License-Identifier: GPL-2.0 */
/* The HTTP endpoint on libmicrohttpd: serves the latest snapshot, never touches a source. */
#ifndef KPULSE_HTTPD_H
#define KPULSE_HTTPD_H

#include <stdint.h>
#include "history.h"
#include "snapshot.h"
#include "webconfig.h"

/* What the server tells its owner; the owner decides where it goes (kpulse: stderr). */
enum httpd_log_level {
	HTTPD_LOG_ERROR,
	HTTPD_LOG_WARN,
	HTTPD_LOG_INFO,
	HTTPD_LOG_DEBUG,
};

typedef void (*httpd_log_fn)(enum httpd_log_level level, const char *msg);

struct httpd_opts {
	int listen_fd;		     /* from httpd__listen() */
	const char *metrics_path;    /* e.g. "/metrics" */
	uint64_t stale_ns;	     /* /healthz fails when the last tick is older than this */
	unsigned int conn_limit;     /* open connections, idle ones included */
	unsigned int max_requests;   /* requests being answered at once; beyond: 503 */
	unsigned int timeout_s;	     /* idle limit, and the time a request has to arrive */
	const struct webconfig *web; /* TLS and basic auth; NULL for plain HTTP */
	httpd_log_fn log;	     /* NULL: say nothing */
	struct history *history;     /* /api/v1/history; NULL: 404 */
};

struct httpd;

/*
 * Parse "host:port", ":port" or "[v6]:port" and return a bound, listening socket in
 * @fd; -errno on failure (-EINVAL for an address that does not parse).
 */
int httpd__listen(const char *addr, int *fd);
struct httpd *httpd__start(const struct httpd_opts *o, struct snapstore *store);
void httpd__stop(struct httpd *h);

#endif /* KPULSE_HTTPD_H */
