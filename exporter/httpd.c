// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP on libmicrohttpd: /metrics, /healthz and a landing page; 404/405 for the rest.
 * Polling threads (epoll) serve every connection without blocking on any of them: answers
 * are cached bodies and bcrypt runs in auth.c's worker. A watchdog closes connections
 * whose request does not arrive in time, however it trickles, and keeps a share of the
 * connections for clients that have sent a complete request: a slow or hostile client
 * costs a socket for a bounded time, never the others' answers.
 */
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <pthread.h>
#include "api.h"
#include "auth.h"
#include "clock.h"
#include "expfmt.h"
#include "gzip.h"
#include "httpd.h"
#include "json.h"
#include "negotiate.h"
#include "page.h"

/* libmicrohttpd changed the handler return type from int to enum MHD_Result in 0.9.71. */
#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

/* Connections the kernel completes for us while every slot is taken (a burst of 2 000). */
#define LISTEN_BACKLOG 1024
/* An answer must be taken within this many idle timeouts of its request (slow readers). */
#define ANSWER_TIMEOUTS 3
/* Uncached password checks a client address may start: one per second, eight at once. */
#define AUTH_RATE 1.0
#define AUTH_BURST 8
#define WATCH_MS 250
#define REPORT_S 60
#define PEER_BUCKETS 256
#define TRIM_PEAK 64 /* connections at once worth trimming the heap after */

enum conn_list { LIST_NONE, LIST_WAITING, LIST_ACTIVE };
enum conn_auth { AUTH_UNCHECKED, AUTH_WAITING, AUTH_CHECKED };

struct conn;

/* The connections of one client address, for choosing whom to close under pressure. */
struct peer {
	struct auth_peer addr;
	struct peer *next;	      /* hash chain */
	unsigned int conns;	      /* open connections */
	unsigned int waiting;	      /* ... of which waiting for a request */
	struct conn *oldest, *newest; /* the waiting ones, oldest first */
};

/* One connection (libmicrohttpd's socket context); all fields under httpd.lock. */
struct conn {
	struct httpd *h;
	struct MHD_Connection *mhd;
	int fd;
	struct peer *peer;
	enum conn_list list;	    /* LIST_NONE once the watchdog shut it down */
	struct conn *prev, *next;   /* in httpd.waiting or httpd.active, oldest first */
	struct conn *pprev, *pnext; /* in peer's waiting list */
	uint64_t since_ns;	    /* waiting since / answering since */
	/* The request under way: libmicrohttpd runs one at a time per connection. */
	bool admitted; /* complete, and counted if there was room */
	bool counted;  /* in httpd.in_flight */
	bool suspended;
	enum conn_auth auth;
	bool auth_ok;
};

struct conn_list_head {
	struct conn *head, *tail;
	unsigned int n;
};

struct httpd {
	struct MHD_Daemon *daemon;
	struct snapstore *store;
	struct httpd_opts opts;
	struct auth *auth;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t watchdog;
	bool stop;
	/*
	 * Requests admitted and not answered yet: waiting for their password check, or being
	 * routed. An answer being sent is not counted: it costs no work (a cached body), and
	 * clients that read slowly or pipeline would otherwise hold every slot; the answer
	 * deadline bounds how long they keep a snapshot alive instead.
	 */
	unsigned int in_flight;
	unsigned int waiting_cap;
	unsigned int conns, peak; /* open connections; most since the heap was last trimmed */
	struct conn_list_head waiting, active;
	struct peer *peers[PEER_BUCKETS];
	/* Connections the watchdog shut down since its last report. */
	uint64_t late, evicted, slow;
	struct auth_stats reported;
	char landing[2048];
	struct buf page; /* the live page's HTML when the history is on, else empty */
};

__attribute__((format(printf, 3, 4))) static void say(struct httpd *h, enum httpd_log_level level,
						      const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!h->opts.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h->opts.log(level, msg);
}

int httpd__listen(const char *addr, int *fd_out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res = NULL, *ai;
	char host[256], *port;
	const char *colon;
	int fd = -1, err, one = 1, zero = 0;

	colon = strrchr(addr, ':');
	if (!colon || colon - addr >= (long)sizeof(host) || !colon[1])
		return -EINVAL;
	memcpy(host, addr, colon - addr);
	host[colon - addr] = '\0';
	port = (char *)colon + 1;
	if (strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535)
		return -EINVAL;
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 2 || host[n - 1] != ']')
			return -EINVAL;
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	} else if (strchr(host, ':')) {
		return -EINVAL; /* an IPv6 address needs brackets */
	}
	hints.ai_family = host[0] ? AF_UNSPEC : AF_INET6;
	err = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (err == EAI_FAMILY || (err && !host[0])) {
		hints.ai_family = AF_INET; /* a kernel without IPv6 */
		err = getaddrinfo(NULL, port, &hints, &res);
	}
	if (err)
		return err == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;

	err = -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* ":port" listens on IPv4 and IPv6 alike. */
		if (ai->ai_family == AF_INET6 && !host[0])
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, LISTEN_BACKLOG))
			break;
		err = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err;
	*fd_out = fd;
	return 0;
}

static mhd_result send_text(struct MHD_Connection *conn, unsigned int status, const char *type,
			    const char *body)
{
	struct MHD_Response *r;
	mhd_result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (status == MHD_HTTP_TOO_MANY_REQUESTS)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void release_snapshot(void *cls)
{
	snapshot__put(cls);
}

static mhd_result serve_metrics(struct httpd *h, struct MHD_Connection *conn)
{
	struct snapshot *s = snapstore__current(h->store, NULL);
	const char *accept, *encoding;
	bool om, gz;
	const struct snap_bytes *b;
	struct MHD_Response *r;
	mhd_result ret;

	if (!s)
		return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
				 "kpulse has not sampled yet\n");
	accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	encoding =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	om = negotiate__format(accept) == NEGOTIATE_OPENMETRICS;
	gz = negotiate__gzip(encoding);
	/* The first scrape of the tick that wants this body renders it, for all the others. */
	if (snapshot__body(s,
			   om ? (gz ? SNAP_OPENMETRICS_GZIP : SNAP_OPENMETRICS)
			      : (gz ? SNAP_TEXT_GZIP : SNAP_TEXT),
			   &b)) {
		snapshot__put(s);
		say(h, HTTPD_LOG_ERROR, "failed to render /metrics: out of memory");
		return send_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
				 "kpulse is out of memory\n");
	}
	/* Zero copy: the response holds a snapshot reference until it has been sent. */
	r = MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->data,
								   release_snapshot, s);
	if (!r) {
		snapshot__put(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				om ? EXPFMT_OPENMETRICS_CONTENT_TYPE : EXPFMT_TEXT_CONTENT_TYPE);
	/* Caches must key on both headers: the body depends on them. */
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
	if (gz)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static mhd_result api_error(struct MHD_Connection *conn, unsigned int status, const char *type,
			    const char *msg)
{
	struct buf b = {};
	mhd_result ret;

	buf__printf(&b, "{\"status\":\"error\",\"errorType\":\"%s\",\"error\":", type);
	json__string(&b, msg, strlen(msg));
	buf__puts(&b, "}\n");
	ret = b.err ? MHD_NO : send_text(conn, status, "application/json", b.data);
	buf__free(&b);
	return ret;
}

static mhd_result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			      const char *value)
{
	struct api_args *a = cls;

	if (a->n == sizeof(a->key) / sizeof(a->key[0])) {
		a->dropped++;
		return MHD_YES;
	}
	a->key[a->n] = key;
	a->value[a->n++] = value;
	return MHD_YES;
}

static ssize_t read_history(void *cls, uint64_t pos, char *buf, size_t max)
{
	ssize_t n = history_result__read(cls, buf, max);

	return n > 0 ? n : n ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
}

static void free_history(void *cls)
{
	history_result__free(cls);
}

static ssize_t history_bytes(void *cls, char *buf, size_t max)
{
	return history_result__read(cls, buf, max);
}

static ssize_t read_history_gz(void *cls, uint64_t pos, char *buf, size_t max)
{
	ssize_t n = gzip_stream__read(cls, buf, max);

	return n > 0 ? n : n ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
}

static void free_history_gz(void *cls)
{
	gzip_stream__free(cls);
}

/*
 * The ring's matching series, copied once, then rendered as JSON a block at a time while
 * the client reads: a large answer neither exists whole nor holds the thread.
 */
static mhd_result serve_history(struct httpd *h, struct MHD_Connection *conn)
{
	struct selector sel[SELECTOR_MAX_MATCHERS];
	struct history_result *res;
	struct history_query q;
	struct api_args args = {};
	struct MHD_Response *r;
	struct gzip_stream *gz = NULL;
	const char *encoding;
	char err[256];
	mhd_result ret;

	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
	if (api__history_query(&args, &q, sel, err, sizeof(err))) {
		api__free_query(&q, sel);
		return api_error(conn, MHD_HTTP_BAD_REQUEST, "bad_data", err);
	}
	res = history__query(h->opts.history, &q);
	api__free_query(&q, sel);
	if (!res)
		return api_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
				 errno == EBUSY ? "too many history queries at once, try again"
						: "out of memory");
	/* JSON of numbers compresses about 8 to 1: 15 minutes of a small host is ~1 MB plain. */
	encoding =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	if (negotiate__gzip(encoding)) {
		gz = gzip_stream__new(history_bytes, free_history, res);
		if (!gz) {
			history_result__free(res);
			return MHD_NO;
		}
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, read_history_gz,
						      gz, free_history_gz);
	} else {
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, read_history,
						      res, free_history);
	}
	if (!r) {
		if (gz)
			gzip_stream__free(gz);
		else
			history_result__free(res);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	if (gz)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/*
 * A file of the live page, or the page itself (@a->data overridden by @body): compiled-in
 * bytes, served by reference; revalidated by ETag, so a reload costs a 304.
 */
static mhd_result serve_page(struct MHD_Connection *conn, const struct page_asset *a,
			     const struct buf *body)
{
	const char *inm, *encoding;
	struct MHD_Response *r;
	mhd_result ret;
	bool gz, fresh;

	inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	encoding =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	fresh = !body && inm && strstr(inm, a->etag);
	gz = !body && !fresh && negotiate__gzip(encoding);
	if (fresh)
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	else if (body)
		r = MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_PERSISTENT);
	else
		r = MHD_create_response_from_buffer(gz ? a->gzlen : a->len,
						    (void *)(gz ? a->gz : a->data),
						    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (body) {
		/* Only this origin's scripts, styles and data; never inside a frame. */
		MHD_add_response_header(r, "Content-Security-Policy",
					"default-src 'self'; style-src 'self' 'unsafe-inline'; "
					"img-src 'self' data:; frame-ancestors 'none'");
	} else {
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, a->etag);
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	}
	if (gz)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	ret = MHD_queue_response(conn, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static mhd_result serve_health(struct httpd *h, struct MHD_Connection *conn)
{
	uint64_t published;
	struct snapshot *s = snapstore__current(h->store, &published);
	bool ok = s && mono_now_ns() - published < h->opts.stale_ns;

	snapshot__put(s);
	if (ok)
		return send_text(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok\n");
	return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
			 "the sampler is not ticking\n");
}

static mhd_result ask_for_auth(struct MHD_Connection *conn)
{
	static const char body[] = "unauthorized\n";
	struct MHD_Response *r;
	mhd_result ret;

	r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	ret = MHD_queue_basic_auth_fail_response(conn, "kpulse", r);
	MHD_destroy_response(r);
	return ret;
}

/* Connection bookkeeping. Everything below runs under h->lock. */

static void list_append(struct conn_list_head *l, struct conn *c)
{
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

static void list_remove(struct conn_list_head *l, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

/* Take @c off the list it is on. */
static void conn_detach(struct httpd *h, struct conn *c)
{
	struct peer *p = c->peer;

	if (c->list == LIST_ACTIVE) {
		list_remove(&h->active, c);
	} else if (c->list == LIST_WAITING) {
		list_remove(&h->waiting, c);
		if (c->pprev)
			c->pprev->pnext = c->pnext;
		else
			p->oldest = c->pnext;
		if (c->pnext)
			c->pnext->pprev = c->pprev;
		else
			p->newest = c->pprev;
		c->pprev = c->pnext = NULL;
		p->waiting--;
	}
	c->list = LIST_NONE;
}

/* @c waits for a request from @now on (a new connection, or one kept alive). */
static void conn_wait(struct httpd *h, struct conn *c, uint64_t now)
{
	struct peer *p = c->peer;

	conn_detach(h, c);
	c->list = LIST_WAITING;
	c->since_ns = now;
	list_append(&h->waiting, c);
	c->pnext = NULL;
	c->pprev = p->newest;
	if (p->newest)
		p->newest->pnext = c;
	else
		p->oldest = c;
	p->newest = c;
	p->waiting++;
}

/* @c has sent a complete request at @now: it is being answered. */
static void conn_answer(struct httpd *h, struct conn *c, uint64_t now)
{
	conn_detach(h, c);
	c->list = LIST_ACTIVE;
	c->since_ns = now;
	list_append(&h->active, c);
}

/*
 * Close @c under libmicrohttpd's feet: shutdown() wakes its poll with an end of file and
 * it closes the connection as if the client had. The descriptor is still ours to use:
 * libmicrohttpd tells us the connection closed (and we take the lock) before it closes it.
 */
static void conn_kill(struct httpd *h, struct conn *c)
{
	shutdown(c->fd, SHUT_RDWR);
	conn_detach(h, c);
}

/*
 * Keep the waiting connections within waiting_cap, so that a share of the connection
 * limit stays free for requests that arrive in full: close the oldest waiting connection
 * of the client address that holds the most. A client sending its request at once is
 * never the oldest, and a flood from one address only ever closes its own connections.
 */
static void enforce_cap(struct httpd *h)
{
	struct peer *p, *most;
	size_t i;

	while (h->waiting.n > h->waiting_cap) {
		most = NULL;
		for (i = 0; i < PEER_BUCKETS; i++)
			for (p = h->peers[i]; p; p = p->next)
				if (!most || p->waiting > most->waiting)
					most = p;
		if (!most || !most->oldest)
			return;
		conn_kill(h, most->oldest);
		h->evicted++;
	}
}

static unsigned int peer_bucket(const struct auth_peer *a)
{
	uint32_t x = 2166136261u; /* FNV-1a */
	size_t i;

	for (i = 0; i < sizeof(a->b); i++)
		x = (x ^ a->b[i]) * 16777619u;
	return x % PEER_BUCKETS;
}

static struct peer *peer_get(struct httpd *h, const struct auth_peer *a)
{
	unsigned int b = peer_bucket(a);
	struct peer *p;

	for (p = h->peers[b]; p; p = p->next)
		if (!memcmp(&p->addr, a, sizeof(*a)))
			return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->addr = *a;
	p->next = h->peers[b];
	h->peers[b] = p;
	return p;
}

static void peer_put(struct httpd *h, struct peer *p)
{
	struct peer **pp;

	if (--p->conns)
		return;
	for (pp = &h->peers[peer_bucket(&p->addr)]; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	free(p);
}

static void report(struct httpd *h)
{
	uint64_t late, evicted, slow;
	struct auth_stats now, *was = &h->reported;

	pthread_mutex_lock(&h->lock);
	late = h->late;
	evicted = h->evicted;
	slow = h->slow;
	h->late = h->evicted = h->slow = 0;
	pthread_mutex_unlock(&h->lock);
	if (late || evicted || slow)
		say(h, HTTPD_LOG_WARN,
		    "http: in the last %ds, closed %llu connections whose request did not "
		    "arrive within %us, %llu waiting ones to keep room for complete requests "
		    "(--web.max-connections) and %llu whose answer was not taken within %us",
		    REPORT_S, (unsigned long long)late, h->opts.timeout_s,
		    (unsigned long long)evicted, (unsigned long long)slow,
		    h->opts.timeout_s * ANSWER_TIMEOUTS);
	if (!h->auth)
		return;
	auth__stats(h->auth, &now);
	if (now.denied != was->denied || now.busy != was->busy)
		say(h, HTTPD_LOG_WARN,
		    "http: in the last %ds, %llu requests with wrong credentials and %llu refused "
		    "(429) because their address had a password check under way or had used "
		    "its budget (%g a second)",
		    REPORT_S, (unsigned long long)(now.denied - was->denied),
		    (unsigned long long)(now.busy - was->busy), AUTH_RATE);
	*was = now;
}

/* Closes connections whose request or answer takes too long; reports once a minute. */
static void *watch(void *arg)
{
	struct httpd *h = arg;
	uint64_t request_ns = h->opts.timeout_s * 1000000000ull;
	uint64_t answer_ns = ANSWER_TIMEOUTS * request_ns, now, next_report;
	struct timespec until;
	struct conn *c, *next;
	char byte;

	next_report = mono_now_ns() + REPORT_S * 1000000000ull;
	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		/*
		 * With no connection there is nothing to watch until one comes (conn_started
		 * wakes us) or the next report is due: an idle kpulse does not wake 4 times a
		 * second for nothing.
		 */
		until = clock__timespec(h->conns ? mono_now_ns() + WATCH_MS * 1000000ull
						 : next_report);
		pthread_cond_timedwait(&h->wake, &h->lock, &until);
		now = mono_now_ns();
		while ((c = h->waiting.head) && now - c->since_ns >= request_ns) {
			conn_kill(h, c);
			h->late++;
		}
		while ((c = h->active.head) && now - c->since_ns >= answer_ns) {
			conn_kill(h, c);
			h->slow++;
		}
		/*
		 * libmicrohttpd 0.9.75's edge-triggered epoll misses an end of file that came
		 * with the last bytes it read (a request, then the client's FIN): it would keep
		 * such a half-closed connection for the whole timeout. Look for it here.
		 */
		for (c = h->waiting.head; c; c = next) {
			next = c->next;
			if (recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
				conn_kill(h, c);
		}
		enforce_cap(h);
		/*
		 * After a crowd has gone, give its memory back (libmicrohttpd's 16 KiB per
		 * connection): malloc keeps freed memory inside its heaps otherwise.
		 */
		if (h->peak >= TRIM_PEAK && h->conns <= h->peak / 8) {
			h->peak = h->conns;
			pthread_mutex_unlock(&h->lock);
			malloc_trim(0);
			pthread_mutex_lock(&h->lock);
		}
		if (now >= next_report) {
			next_report = now + REPORT_S * 1000000000ull;
			pthread_mutex_unlock(&h->lock);
			report(h);
			pthread_mutex_lock(&h->lock);
		}
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* A client certificate must be meant for clients (extended key usage), as in Go. */
static gnutls_typed_vdata_st client_purpose = {
	.type = GNUTLS_DT_KEY_PURPOSE_OID,
	.data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
};

/*
 * Runs inside the handshake: a certificate that was sent must chain to client_ca_file
 * and be meant for clients; none at all is for GNUTLS_CERT_REQUIRE to refuse (or not).
 */
static int verify_client(gnutls_session_t session)
{
	unsigned int n = 0, status = 0;

	if (!gnutls_certificate_get_peers(session, &n) || !n)
		return 0;
	if (gnutls_certificate_verify_peers(session, &client_purpose, 1, &status) < 0 || status)
		return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
	return 0;
}

/* Client certificates: MHD only asks for one; make the handshake enforce the policy. */
static void tls_setup(struct httpd *h, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t session;
	enum webconfig_client_auth a = h->opts.web->client_auth;

	if (a == WEBCONFIG_NO_CLIENT_CERT)
		return;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (!ci || !ci->tls_session)
		return;
	session = (gnutls_session_t)ci->tls_session;
	gnutls_certificate_server_set_request(
		session, a == WEBCONFIG_REQUIRE_ANY_CLIENT_CERT ||
					 a == WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT
				 ? GNUTLS_CERT_REQUIRE
				 : GNUTLS_CERT_REQUEST);
	/* Verified during the handshake against client_ca_file: a bad one never gets in. */
	if (a == WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN ||
	    a == WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT)
		gnutls_session_set_verify_function(session, verify_client);
}

static void conn_started(struct httpd *h, struct MHD_Connection *conn, void **socket_context)
{
	const union MHD_ConnectionInfo *fd, *addr;
	struct auth_peer a;
	struct conn *c;

	fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	addr = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	c = calloc(1, sizeof(*c));
	if (!c || !fd) {
		free(c);
		return; /* served without bookkeeping: the handler answers 503 */
	}
	auth_peer__from(addr ? addr->client_addr : NULL, &a);
	c->h = h;
	c->mhd = conn;
	c->fd = fd->connect_fd;
	pthread_mutex_lock(&h->lock);
	c->peer = peer_get(h, &a);
	if (!c->peer) {
		pthread_mutex_unlock(&h->lock);
		free(c);
		return;
	}
	c->peer->conns++;
	if (!h->conns++)
		pthread_cond_signal(&h->wake); /* the watchdog sleeps while there is none */
	if (h->conns > h->peak)
		h->peak = h->conns;
	conn_wait(h, c, mono_now_ns());
	enforce_cap(h);
	pthread_mutex_unlock(&h->lock);
	*socket_context = c;
}

static void notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		   enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *h = cls;
	struct conn *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		conn_started(h, conn, socket_context);
		if (h->opts.web && h->opts.web->tls)
			tls_setup(h, conn);
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_CLOSED || !c)
		return;
	pthread_mutex_lock(&h->lock);
	conn_detach(h, c);
	peer_put(h, c->peer);
	h->conns--;
	pthread_mutex_unlock(&h->lock);
	free(c);
	*socket_context = NULL;
}

/* The request is over (answered, or the connection failed): the next one may come. */
static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct httpd *h = cls;
	struct conn *c = *con_cls;

	if (!c)
		return;
	pthread_mutex_lock(&h->lock);
	if (c->counted)
		h->in_flight--;
	c->counted = c->admitted = false;
	c->auth = AUTH_UNCHECKED;
	c->auth_ok = false;
	if (c->list == LIST_ACTIVE)
		conn_wait(h, c, mono_now_ns());
	pthread_mutex_unlock(&h->lock);
	*con_cls = NULL;
}

/* From auth's worker: the password check of @cls is done. */
static void auth_done(void *cls, bool ok)
{
	struct conn *c = cls;
	struct httpd *h = c->h;

	pthread_mutex_lock(&h->lock);
	c->auth = AUTH_CHECKED;
	c->auth_ok = ok;
	if (c->suspended) {
		c->suspended = false;
		MHD_resume_connection(c->mhd);
	}
	pthread_mutex_unlock(&h->lock);
}

enum checked {
	CHECK_KNOWN,	/* c->auth_ok says */
	CHECK_ANSWERED, /* refused with 429, *ret is the result */
	CHECK_PARKED,	/* suspended until bcrypt is done */
};

/* Check the credentials of @c's request. */
static enum checked check_auth(struct httpd *h, struct conn *c, struct MHD_Connection *conn,
			       mhd_result *ret)
{
	char user[AUTH_FIELD_MAX + 1], pass[AUTH_FIELD_MAX + 1];
	const char *header;
	enum auth_verdict v;
	bool parked = false;

	header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!header || auth__parse_basic(header, user, pass)) {
		c->auth = AUTH_CHECKED;
		c->auth_ok = false;
		return CHECK_KNOWN;
	}
	pthread_mutex_lock(&h->lock);
	c->auth = AUTH_WAITING;
	pthread_mutex_unlock(&h->lock);
	v = auth__check(h->auth, &c->peer->addr, user, pass, auth_done, c);
	explicit_bzero(pass, sizeof(pass));
	if (v == AUTH_BUSY) {
		c->auth = AUTH_UNCHECKED;
		*ret = send_text(conn, MHD_HTTP_TOO_MANY_REQUESTS, "text/plain; charset=utf-8",
				 "too many password checks from your address at once; retry in "
				 "a second\n");
		return CHECK_ANSWERED;
	}
	if (v != AUTH_PENDING) {
		c->auth = AUTH_CHECKED;
		c->auth_ok = v == AUTH_ALLOW;
		return CHECK_KNOWN;
	}
	/* Park the connection until the worker is done, unless it already is. */
	pthread_mutex_lock(&h->lock);
	if (c->auth == AUTH_WAITING) {
		c->suspended = parked = true;
		MHD_suspend_connection(conn);
	}
	pthread_mutex_unlock(&h->lock);
	*ret = MHD_YES;
	return parked ? CHECK_PARKED : CHECK_KNOWN;
}

static mhd_result route(struct httpd *h, struct MHD_Connection *conn, const char *url,
			const char *method)
{
	const struct page_asset *a;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
				 "method not allowed\n");
	if (!strcmp(url, h->opts.metrics_path))
		return serve_metrics(h, conn);
	if (!strcmp(url, "/healthz"))
		return serve_health(h, conn);
	if (!strcmp(url, "/api/v1/history") && h->opts.history)
		return serve_history(h, conn);
	if (!strcmp(url, "/") && h->page.len)
		return serve_page(conn, &(struct page_asset){.type = "text/html; charset=utf-8"},
				  &h->page);
	if (!strcmp(url, "/"))
		return send_text(conn, MHD_HTTP_OK, "text/html; charset=utf-8", h->landing);
	if (!strncmp(url, "/static/", 8) && h->page.len && (a = page__asset(url)))
		return serve_page(conn, a, NULL);
	return send_text(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", "not found\n");
}

/*
 * The first call, once the request line and headers are in. Everything is answered on a
 * later call, once the request is complete: libmicrohttpd closes a connection whose
 * answer is queued on the first call, which would cost every keep-alive and pipelined
 * request (and a TLS handshake per scrape). Until then the request is still arriving:
 * the connection stays waiting, under the same deadline as its headers.
 */
static mhd_result start_request(struct MHD_Connection *conn, void **con_cls)
{
	const union MHD_ConnectionInfo *ci;
	struct conn *c;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	c = ci ? ci->socket_context : NULL;
	if (!c)
		return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
				 "out of memory\n");
	*con_cls = c;
	return MHD_YES;
}

/* The request is complete: it is being answered, if there is room (--web.max-requests). */
static bool admit(struct httpd *h, struct conn *c)
{
	pthread_mutex_lock(&h->lock);
	c->admitted = true;
	if (c->list != LIST_NONE)
		conn_answer(h, c, mono_now_ns());
	c->counted = h->in_flight < h->opts.max_requests;
	if (c->counted)
		h->in_flight++;
	pthread_mutex_unlock(&h->lock);
	return c->counted;
}

/* The request of @c is answered: it no longer counts against --web.max-requests. */
static void answered(struct httpd *h, struct conn *c)
{
	pthread_mutex_lock(&h->lock);
	if (c->counted)
		h->in_flight--;
	c->counted = false;
	pthread_mutex_unlock(&h->lock);
}

static mhd_result handle(void *cls, struct MHD_Connection *conn, const char *url,
			 const char *method, const char *version, const char *upload_data,
			 size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct conn *c = *con_cls;
	mhd_result ret;

	if (!c)
		return start_request(conn, con_cls);
	/* A request body is not expected; swallow it. */
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!c->admitted && !admit(h, c))
		return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
				 "too many requests in flight (--web.max-requests)\n");
	if (h->auth && c->auth != AUTH_CHECKED) {
		switch (check_auth(h, c, conn, &ret)) {
		case CHECK_PARKED:
			return ret;
		case CHECK_ANSWERED:
			answered(h, c);
			return ret;
		case CHECK_KNOWN:
			break;
		}
	}
	if (h->auth && !c->auth_ok)
		ret = ask_for_auth(conn);
	else
		ret = route(h, conn, url, method);
	answered(h, c);
	return ret;
}

/*
 * "%00" would end the C string the handler sees, and /metrics%00x would be served as
 * /metrics: a path with one is left undecoded, so that it matches nothing.
 */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	if (strstr(s, "%00"))
		return strlen(s);
	return MHD_http_unescape(s);
}

/* @s with &, <, >, " and ' as HTML character references, cut to fit @out. */
static void html_escape(const char *s, char *out, size_t len)
{
	size_t n = 0, k;
	const char *r;

	for (; *s; s++) {
		switch (*s) {
		case '&':
			r = "&amp;";
			break;
		case '<':
			r = "&lt;";
			break;
		case '>':
			r = "&gt;";
			break;
		case '"':
			r = "&quot;";
			break;
		case '\'':
			r = "&#39;";
			break;
		default:
			r = NULL;
		}
		k = r ? strlen(r) : 1;
		if (n + k >= len)
			break;
		memcpy(out + n, r ? r : s, k);
		n += k;
	}
	out[n] = '\0';
}

struct httpd *httpd__start(const struct httpd_opts *o, struct snapstore *store)
{
	struct httpd *h = calloc(1, sizeof(*h));
	struct MHD_OptionItem opts[20];
	const struct webconfig *w = o->web;
	/* epoll: it accepts ten connections per wakeup, poll one (a reconnecting flood). */
	unsigned int flags =
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
	char path[600];
	pthread_condattr_t ca;
	int n = 0, err;

	if (!h)
		return NULL;
	h->store = store;
	h->opts = *o;
	/* A quarter of the connections is kept for clients that have sent a request. */
	h->waiting_cap = o->conn_limit - o->conn_limit / 4;
	if (!h->waiting_cap)
		h->waiting_cap = 1;
	pthread_mutex_init(&h->lock, NULL);
	/* watch() waits until a CLOCK_MONOTONIC deadline: on the default CLOCK_REALTIME that
	 * deadline lies in 1970 and the wait returns at once, a busy loop. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->wake, &ca);
	pthread_condattr_destroy(&ca);
	html_escape(o->metrics_path, path, sizeof(path));
	snprintf(h->landing, sizeof(h->landing),
		 "<!DOCTYPE html>\n<html><head><title>kpulse</title></head><body>\n"
		 "<h1>kpulse</h1>\n<p>eBPF node metrics for Prometheus.</p>\n"
		 "<ul><li><a href=\"%s\">metrics</a></li>"
		 "<li><a href=\"/healthz\">health</a></li></ul>\n</body></html>\n",
		 path);
	/* The live page lives on the history: without it, / stays the landing page above. */
	if (o->history &&
	    page__index(path, history__duration_ns(o->history) / 1000000000ull, &h->page))
		goto out_free;
	if (w && w->nusers) {
		h->auth = auth__new(w, &(struct auth_opts){.rate = AUTH_RATE, .burst = AUTH_BURST});
		if (!h->auth)
			goto out_free;
	}
#define OPT(o, v, p) (opts[n++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (p)})
	OPT(MHD_OPTION_LISTEN_SOCKET, o->listen_fd, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, o->conn_limit, NULL);
	/* An idle connection is closed after this long without progress. */
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s, NULL);
	/* Bounds the request line and headers: larger ones get 414 or 431. */
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16 * 1024, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, h);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)notify, h);
	/* RFC 9112: an HTTP/1.1 request without Host is answered 400, as is a space in a path. */
	OPT(MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL);
	OPT(MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, NULL);
	if (w && w->tls) {
		flags |= MHD_USE_TLS;
		/* Handshakes cost CPU on the polling thread: a second one keeps answering. */
		OPT(MHD_OPTION_THREAD_POOL_SIZE, 2, NULL);
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, w->cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, w->key_pem);
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)w->priorities);
		if (w->ca_pem)
			OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, w->ca_pem);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_ARRAY, opts,
				     MHD_OPTION_END);
	if (!h->daemon)
		goto out_auth;
	err = pthread_create(&h->watchdog, NULL, watch, h);
	if (err) {
		MHD_stop_daemon(h->daemon);
		goto out_auth;
	}
	return h;

out_auth:
	auth__free(h->auth);
out_free:
	buf__free(&h->page);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
	errno = EIO;
	return NULL;
}

void httpd__stop(struct httpd *h)
{
	if (!h)
		return;
	/* Parked requests get their answer (no) first: libmicrohttpd cannot stop with them. */
	if (h->auth)
		auth__stop(h->auth);
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->watchdog, NULL);
	MHD_stop_daemon(h->daemon);
	auth__free(h->auth);
	buf__free(&h->page);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
