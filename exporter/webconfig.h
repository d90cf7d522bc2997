/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --web.config.file: the Prometheus exporter-toolkit YAML (tls_server_config,
 * basic_auth_users). Loaded once at start-up, before privileges are dropped: the
 * certificate, key and CA are kept in memory.
 */
#ifndef KPULSE_WEBCONFIG_H
#define KPULSE_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Highest bcrypt cost accepted: a check takes ~0.1 s at 10 and doubles with each step. */
#define WEBCONFIG_BCRYPT_MAX_COST 14
/* Largest web config, certificate, key or CA file read. */
#define WEBCONFIG_FILE_MAX (1 << 20)

enum webconfig_client_auth {
	WEBCONFIG_NO_CLIENT_CERT,
	WEBCONFIG_REQUEST_CLIENT_CERT,	   /* ask, accept anything or nothing */
	WEBCONFIG_REQUIRE_ANY_CLIENT_CERT, /* require one, do not verify it */
	WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN,
	WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT,
};

struct webconfig_user {
	char *name;
	char *hash; /* bcrypt: $2a$, $2b$ or $2y$ */
};

struct webconfig {
	bool tls;
	char *cert_pem, *key_pem, *ca_pem; /* file contents; ca_pem may be NULL */
	enum webconfig_client_auth client_auth;
	const char *priorities; /* GnuTLS priority string from min_version / max_version */
	struct webconfig_user *users;
	size_t nusers;
};

/*
 * Parse @path into @wc (zeroed first). On failure returns -errno with a one-line
 * reason in @err that names the file and line ("web.yml:7: unknown key 'cert'"). The
 * file must be a regular file (a FIFO is refused, not waited on) of at most 1 MiB, with
 * one YAML document. An empty file, or one of comments only, loads as no TLS and no
 * users: exporter-toolkit serves plain HTTP then, and so does kpulse (the caller warns).
 */
int webconfig__load(const char *path, struct webconfig *wc, char *err, size_t errlen);
/* The same for the YAML @text of @len bytes; @path names it in errors and is where
 * relative file names start. */
int webconfig__parse(const char *text, size_t len, const char *path, struct webconfig *wc,
		     char *err, size_t errlen);
void webconfig__free(struct webconfig *wc);
/* The bcrypt hash of @name, or NULL for a user that is not configured. */
const char *webconfig__user_hash(const struct webconfig *wc, const char *name);

#endif /* KPULSE_WEBCONFIG_H */
