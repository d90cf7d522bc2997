/* SPDX-License-Identifier: GPL-2.0 */
/*
 * HTTP basic auth against the bcrypt hashes of --web.config.file. bcrypt is slow on
 * purpose, so it never runs on an HTTP thread: checks go to one low-priority worker, one
 * at a time per client address and within a per-address budget, and every result is
 * cached, so guessing costs the guesser and not the other clients.
 */
#ifndef KPULSE_AUTH_H
#define KPULSE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "webconfig.h"

/* Longest user name and password read from an Authorization header. */
#define AUTH_FIELD_MAX 1024

/*
 * Where a request comes from, as far as one client can choose it: an IPv4 address (also
 * when it arrives IPv4-mapped on an IPv6 socket) or an IPv6 /64.
 */
struct auth_peer {
	unsigned char b[16];
};

/* The peer of @sa; an unknown address family maps to one shared peer (all zeros). */
void auth_peer__from(const struct sockaddr *sa, struct auth_peer *p);
/* "192.0.2.1" or "2001:db8::/64", for log lines. */
void auth_peer__format(const struct auth_peer *p, char *out, size_t len);

/*
 * Decode an Authorization header value, "Basic " (any case) and the standard base64 of
 * "user:password", into NUL-terminated @user and @pass of AUTH_FIELD_MAX + 1 bytes each.
 * -EINVAL for anything else: another scheme, bad base64, no colon, a NUL byte in either
 * part (a C string would silently drop what follows) or a part longer than AUTH_FIELD_MAX.
 */
int auth__parse_basic(const char *header, char *user, char *pass);

enum auth_verdict {
	AUTH_ALLOW,   /* the cached result of an earlier check: right */
	AUTH_DENY,    /* the cached result of an earlier check: wrong */
	AUTH_PENDING, /* queued: @done will be called once, from the worker thread */
	AUTH_BUSY,    /* not checked: this peer used its budget, or the queue is full */
};

typedef void (*auth_done_fn)(void *cls, bool ok);

struct auth_opts {
	double rate;	    /* uncached checks per second a peer may start, on average */
	unsigned int burst; /* ... and at once, after a quiet time */
};

struct auth_stats {
	uint64_t bcrypt_runs; /* bcrypt computations, unknown users' dummy ones included */
	uint64_t allowed;     /* requests with right credentials (cached or not) */
	uint64_t denied;      /* requests with wrong credentials (cached or not) */
	uint64_t busy;	      /* checks refused as AUTH_BUSY */
	int max_cost;	      /* highest bcrypt cost configured: the dummy hash's cost */
};

struct auth;

/*
 * Start checking against the users of @wc (kept by reference; must outlive the auth).
 * NULL with errno set on failure.
 */
struct auth *auth__new(const struct webconfig *wc, const struct auth_opts *o);
/*
 * Stop the worker: checks still queued complete as denied (their @done is called, the
 * running one's once it ends) and auth__check answers AUTH_BUSY from then on.
 */
void auth__stop(struct auth *a);
/* Stop if not stopped yet, and free. */
void auth__free(struct auth *a);
/*
 * Check @user / @pass from @peer. A cached result is returned at once; otherwise the
 * check is queued (AUTH_PENDING, @done(@cls, ok) follows from the worker) unless @peer
 * already has one queued or running, or has no budget left, or the queue is full
 * (AUTH_BUSY). An unknown user costs the same bcrypt as a known one.
 */
enum auth_verdict auth__check(struct auth *a, const struct auth_peer *peer, const char *user,
			      const char *pass, auth_done_fn done, void *cls);
void auth__stats(struct auth *a, struct auth_stats *out);

#endif /* KPULSE_AUTH_H */
