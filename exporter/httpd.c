// SPDX-License-Identifier: GPL-2.0
/* HTTP on libmicrohttpd: /metrics, /healthz and a landing page; 404/405 for the rest. */
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
#include <microhttpd.h>
#include "expfmt.h"
#include "httpd.h"

/* libmicrohttpd changed the handler return type from int to enum MHD_Result in 0.9.71. */
#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

struct httpd {
	struct MHD_Daemon *daemon;
	struct snapstore *store;
	struct httpd_opts opts;
	char landing[1024];
};

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
	struct snap_bytes *b;
	struct MHD_Response *r;
	mhd_result ret;

	if (!s)
		return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
				 "kpulse has not sampled yet\n");
	b = &s->body[SNAP_TEXT];
	/* Zero copy: the response holds a snapshot reference until it has been sent. */
	r = MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->data,
								   release_snapshot, s);
	if (!r) {
		snapshot__put(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, EXPFMT_TEXT_CONTENT_TYPE);
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

static mhd_result handle(void *cls, struct MHD_Connection *conn, const char *url,
			 const char *method, const char *version, const char *upload_data,
			 size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
				 "method not allowed\n");
	if (!strcmp(url, h->opts.metrics_path))
		return serve_metrics(h, conn);
	if (!strcmp(url, "/healthz"))
		return serve_health(h, conn);
	if (!strcmp(url, "/"))
		return send_text(conn, MHD_HTTP_OK, "text/html; charset=utf-8", h->landing);
	return send_text(conn, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", "not found\n");
}

struct httpd *httpd__start(const struct httpd_opts *o, struct snapstore *store)
{
	struct httpd *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->store = store;
	h->opts = *o;
	snprintf(h->landing, sizeof(h->landing),
		 "<!DOCTYPE html>\n<html><head><title>kpulse</title></head><body>\n"
		 "<h1>kpulse</h1>\n<p>eBPF node metrics for Prometheus.</p>\n"
		 "<ul><li><a href=\"%s\">metrics</a></li>"
		 "<li><a href=\"/healthz\">health</a></li></ul>\n</body></html>\n",
		 o->metrics_path);
	h->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, handle, h,
		MHD_OPTION_LISTEN_SOCKET, o->listen_fd, MHD_OPTION_CONNECTION_LIMIT, o->conn_limit,
		MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s,
		/* Bounds the request line and headers of each connection. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024, MHD_OPTION_END);
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
	free(h);
}
