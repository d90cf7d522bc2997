// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP on libmicrohttpd: /metrics, /healthz and a landing page; 404/405 for the rest.
 * One polling thread (epoll) serves every connection without blocking on any of them:
 * answers are cached bodies, so a slow or idle client costs a socket, never the thread.
 */
#include <crypt.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <pthread.h>
#include "api.h"
#include "expfmt.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "negotiate.h"

/* libmicrohttpd changed the handler return type from int to enum MHD_Result in 0.9.71. */
#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

/* Successful basic-auth checks, so that a scrape every second does not pay for bcrypt. */
#define AUTH_CACHE_SIZE 64
#define AUTH_DIGEST 32 /* SHA-256 */

struct auth_cache {
	pthread_mutex_t lock;
	unsigned char salt[32]; /* random per process: the digests mean nothing elsewhere */
	unsigned char digest[AUTH_CACHE_SIZE][AUTH_DIGEST];
	bool used[AUTH_CACHE_SIZE];
	unsigned int next;
};

struct httpd {
	struct MHD_Daemon *daemon;
	struct snapstore *store;
	struct httpd_opts opts;
	unsigned int in_flight; /* requests accepted and not yet completed */
	struct auth_cache auth;
	char landing[1024];
};

/* Marks a connection's request as counted in in_flight (a non-NULL con_cls). */
static char counted;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
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
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 128))
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
	struct snap_bytes *b;
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
	b = &s->body[om ? (gz ? SNAP_OPENMETRICS_GZIP : SNAP_OPENMETRICS)
			: (gz ? SNAP_TEXT_GZIP : SNAP_TEXT)];
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
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, read_history, res,
					      free_history);
	if (!r) {
		history_result__free(res);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static mhd_result serve_health(struct httpd *h, struct MHD_Connection *conn)
{
	uint64_t published;
	struct snapshot *s = snapstore__current(h->store, &published);
	bool ok = s && mono_ns() - published < h->opts.stale_ns;

	snapshot__put(s);
	if (ok)
		return send_text(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok\n");
	return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
			 "the sampler is not ticking\n");
}

/* Constant time: how long this takes says nothing about where two digests differ. */
static bool equal_ct(const unsigned char *a, const unsigned char *b, size_t n)
{
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return !d;
}

static bool auth_cached(struct auth_cache *c, const unsigned char *digest, bool insert)
{
	bool found = false;
	unsigned int i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < AUTH_CACHE_SIZE; i++)
		found |= c->used[i] & equal_ct(c->digest[i], digest, AUTH_DIGEST);
	if (insert && !found) {
		memcpy(c->digest[c->next], digest, AUTH_DIGEST);
		c->used[c->next] = true;
		c->next = (c->next + 1) % AUTH_CACHE_SIZE;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

/* Does @user / @pass match a configured bcrypt hash? */
static bool check_password(struct httpd *h, const char *user, const char *pass)
{
	const char *hash = webconfig__user_hash(h->opts.web, user);
	unsigned char digest[AUTH_DIGEST];
	struct crypt_data *cd;
	gnutls_hash_hd_t hd;
	const char *out;
	bool ok;

	if (!hash)
		return false;
	/* The cache key covers the hash too: a user whose hash changes is checked again. */
	if (gnutls_hash_init(&hd, GNUTLS_DIG_SHA256))
		return false;
	gnutls_hash(hd, h->auth.salt, sizeof(h->auth.salt));
	gnutls_hash(hd, user, strlen(user) + 1);
	gnutls_hash(hd, pass, strlen(pass) + 1);
	gnutls_hash(hd, hash, strlen(hash) + 1);
	gnutls_hash_deinit(hd, digest);
	if (auth_cached(&h->auth, digest, false))
		return true;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	out = crypt_r(pass, hash, cd);
	ok = out && strlen(out) == strlen(hash) &&
	     equal_ct((const unsigned char *)out, (const unsigned char *)hash, strlen(hash));
	free(cd);
	if (ok)
		auth_cached(&h->auth, digest, true);
	return ok;
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

static bool authorized(struct httpd *h, struct MHD_Connection *conn)
{
	char *user, *pass = NULL;
	bool ok;

	if (!h->opts.web || !h->opts.web->nusers)
		return true;
	user = MHD_basic_auth_get_username_password(conn, &pass);
	ok = user && pass && check_password(h, user, pass);
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	return ok;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct httpd *h = cls;

	if (*con_cls == &counted)
		__atomic_sub_fetch(&h->in_flight, 1, __ATOMIC_RELAXED);
	*con_cls = NULL;
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
static void tls_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *h = cls;
	const union MHD_ConnectionInfo *ci;
	gnutls_session_t session;
	enum webconfig_client_auth a = h->opts.web->client_auth;

	if (toe != MHD_CONNECTION_NOTIFY_STARTED || a == WEBCONFIG_NO_CLIENT_CERT)
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

static mhd_result handle(void *cls, struct MHD_Connection *conn, const char *url,
			 const char *method, const char *version, const char *upload_data,
			 size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;

	/* A request body is not expected; swallow it rather than answer twice. */
	if (*con_cls == &counted && *upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!*con_cls) {
		/* Admission: a bounded number of requests are answered at once. */
		if (__atomic_add_fetch(&h->in_flight, 1, __ATOMIC_RELAXED) > h->opts.max_requests) {
			__atomic_sub_fetch(&h->in_flight, 1, __ATOMIC_RELAXED);
			*con_cls = (void *)1; /* answered, not counted */
			return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
					 "text/plain; charset=utf-8",
					 "too many requests in flight (--web.max-requests)\n");
		}
		*con_cls = &counted;
	}
	if (!authorized(h, conn))
		return ask_for_auth(conn);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
				 "method not allowed\n");
	if (!strcmp(url, h->opts.metrics_path))
		return serve_metrics(h, conn);
	if (!strcmp(url, "/healthz"))
		return serve_health(h, conn);
	if (!strcmp(url, "/api/v1/history") && h->opts.history)
		return serve_history(h, conn);
	if (!strcmp(url, "/"))
		return send_text(conn, MHD_HTTP_OK, "text/html; charset=utf-8", h->landing);
	return send_text(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", "not found\n");
}

struct httpd *httpd__start(const struct httpd_opts *o, struct snapstore *store)
{
	struct httpd *h = calloc(1, sizeof(*h));
	struct MHD_OptionItem opts[16];
	const struct webconfig *w = o->web;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	int n = 0;

	if (!h)
		return NULL;
	h->store = store;
	h->opts = *o;
	pthread_mutex_init(&h->auth.lock, NULL);
	if (gnutls_rnd(GNUTLS_RND_NONCE, h->auth.salt, sizeof(h->auth.salt))) {
		free(h);
		return NULL;
	}
	snprintf(h->landing, sizeof(h->landing),
		 "<!DOCTYPE html>\n<html><head><title>kpulse</title></head><body>\n"
		 "<h1>kpulse</h1>\n<p>eBPF node metrics for Prometheus.</p>\n"
		 "<ul><li><a href=\"%s\">metrics</a></li>"
		 "<li><a href=\"/healthz\">health</a></li></ul>\n</body></html>\n",
		 o->metrics_path);
#define OPT(o, v, p) (opts[n++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (p)})
	OPT(MHD_OPTION_LISTEN_SOCKET, o->listen_fd, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, o->conn_limit, NULL);
	/* An idle or trickling connection is closed after this long without progress. */
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s, NULL);
	/* Bounds the request line and headers: larger ones get 414 or 431. */
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16 * 1024, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, h);
	if (w && w->nusers)
		/* bcrypt of an unknown password takes the thread ~50 ms: keep a second one. */
		OPT(MHD_OPTION_THREAD_POOL_SIZE, 2, NULL);
	if (w && w->tls) {
		flags |= MHD_USE_TLS;
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, w->cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, w->key_pem);
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)w->priorities);
		if (w->ca_pem)
			OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, w->ca_pem);
		OPT(MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)tls_notify, h);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_ARRAY, opts,
				     MHD_OPTION_END);
	if (!h->daemon) {
		free(h);
		errno = EIO;
		return NULL;
	}
	return h;
}

void httpd__stop(struct httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->daemon);
	pthread_mutex_destroy(&h->auth.lock);
	free(h);
}
