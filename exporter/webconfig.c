// SPDX-License-Identifier: GPL-2.0
/* The exporter-toolkit web configuration, parsed with libyaml and checked with GnuTLS. */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <gnutls/gnutls.h>
#include <yaml.h>
#include "webconfig.h"

struct ctx {
	const char *path;
	char dir[4096]; /* relative file names are relative to the config file */
	yaml_document_t *doc;
	char *err;
	size_t errlen;
	/* tls_server_config as written, before the files are read */
	char *cert_file, *key_file, *ca_file;
	int cert_line, key_line, ca_line, auth_line;
	bool has_tls;
	int min_v, max_v; /* indexes in versions[] */
	struct webconfig *wc;
};

__attribute__((format(printf, 3, 4))) static int fail(struct ctx *c, const yaml_node_t *n,
						      const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n)
		snprintf(c->err, c->errlen, "%s:%lu: %s", c->path,
			 (unsigned long)n->start_mark.line + 1, what);
	else
		snprintf(c->err, c->errlen, "%s: %s", c->path, what);
	return -EINVAL;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A plain empty, "~" or "null" scalar is YAML's null: the key is as good as absent. */
static bool is_null(const yaml_node_t *n)
{
	const char *v = scalar(n);

	return v && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*v || !strcmp(v, "~") || !strcmp(v, "null"));
}

typedef int (*pair_fn)(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v);

static int for_each_pair(struct ctx *c, yaml_node_t *map, const char *what, pair_fn fn)
{
	yaml_node_pair_t *p;
	int err;

	if (is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return fail(c, map, "%s must be a mapping", what);
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, p->value);

		if (!scalar(k))
			return fail(c, k, "%s: keys must be strings", what);
		err = fn(c, scalar(k), k, v);
		if (err)
			return err;
	}
	return 0;
}

static int string_value(struct ctx *c, const char *key, yaml_node_t *v, char **out)
{
	if (is_null(v))
		return 0;
	if (!scalar(v))
		return fail(c, v, "%s must be a string", key);
	free(*out);
	*out = strdup(scalar(v));
	return *out ? 0 : -ENOMEM;
}

static const char *const auth_names[] = {
	[WEBCONFIG_NO_CLIENT_CERT] = "NoClientCert",
	[WEBCONFIG_REQUEST_CLIENT_CERT] = "RequestClientCert",
	[WEBCONFIG_REQUIRE_ANY_CLIENT_CERT] = "RequireAnyClientCert",
	[WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN] = "VerifyClientCertIfGiven",
	[WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT] = "RequireAndVerifyClientCert",
};

static const char *const versions[] = {"TLS10", "TLS11", "TLS12", "TLS13"};

static int version_index(struct ctx *c, yaml_node_t *v, const char *key, int *out)
{
	size_t i;

	if (!scalar(v))
		return fail(c, v, "%s must be a string", key);
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		if (!strcmp(scalar(v), versions[i])) {
			*out = (int)i;
			return 0;
		}
	}
	return fail(c, v, "%s: unknown TLS version '%s' (TLS10, TLS11, TLS12 or TLS13)", key,
		    scalar(v));
}

static int tls_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	struct webconfig *wc = c->wc;
	size_t i;

	if (!strcmp(key, "cert_file")) {
		c->cert_line = k->start_mark.line + 1;
		return string_value(c, key, v, &c->cert_file);
	}
	if (!strcmp(key, "key_file")) {
		c->key_line = k->start_mark.line + 1;
		return string_value(c, key, v, &c->key_file);
	}
	if (!strcmp(key, "client_ca_file")) {
		c->ca_line = k->start_mark.line + 1;
		return string_value(c, key, v, &c->ca_file);
	}
	if (!strcmp(key, "client_auth_type")) {
		c->auth_line = k->start_mark.line + 1;
		if (is_null(v))
			return 0;
		for (i = 0; i < sizeof(auth_names) / sizeof(auth_names[0]); i++) {
			if (scalar(v) && !strcmp(scalar(v), auth_names[i])) {
				wc->client_auth = i;
				return 0;
			}
		}
		return fail(c, v,
			    "client_auth_type: unknown '%s' (NoClientCert, RequestClientCert, "
			    "RequireAnyClientCert, VerifyClientCertIfGiven, "
			    "RequireAndVerifyClientCert)",
			    scalar(v) ? scalar(v) : "");
	}
	if (!strcmp(key, "min_version"))
		return is_null(v) ? 0 : version_index(c, v, key, &c->min_v);
	if (!strcmp(key, "max_version"))
		return is_null(v) ? 0 : version_index(c, v, key, &c->max_v);
	return fail(c, k, "tls_server_config: unsupported key '%s'", key);
}

/*
 * A bcrypt hash ($2a$, $2b$ or $2y$, a two-digit cost, 22 characters of salt and 31 of
 * hash) at a cost that answers in reasonable time. The salt is checked by the system's
 * crypt() at the cheapest cost: at the configured one, cost 31, it would run for days.
 */
static int check_bcrypt(struct ctx *c, const char *user, yaml_node_t *v)
{
	static const char b64[] =
		"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	const char *h = scalar(v);
	char setting[32];
	struct crypt_data *cd;
	const char *out;
	int cost;
	bool ok;

	if (strlen(h) != 60 || strncmp(h, "$2", 2) || !strchr("aby", h[2]) || h[3] != '$' ||
	    h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' || h[6] != '$' ||
	    strspn(h + 7, b64) != 53)
		return fail(c, v, "basic_auth_users: %s: not a bcrypt hash ($2b$...)", user);
	cost = (h[4] - '0') * 10 + h[5] - '0';
	if (cost < 4 || cost > 31)
		return fail(c, v, "basic_auth_users: %s: bcrypt cost %d is not one (4 to 31)", user,
			    cost);
	if (cost > WEBCONFIG_BCRYPT_MAX_COST)
		return fail(c, v,
			    "basic_auth_users: %s: bcrypt cost %d would make each check of a new "
			    "password take 2^%d times as long as cost 10 (~0.1 s): hash it again "
			    "with a cost from 4 to %d (htpasswd -nBC 10 %s)",
			    user, cost, cost - 10, WEBCONFIG_BCRYPT_MAX_COST, user);
	snprintf(setting, sizeof(setting), "%.4s04$%.22s", h, h + 7);
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return -ENOMEM;
	out = crypt_r("", setting, cd);
	ok = out && out[0] != '*' && strlen(out) == 60;
	free(cd);
	if (!ok)
		return fail(c, v, "basic_auth_users: %s: not a bcrypt hash ($2b$...)", user);
	return 0;
}

static int user_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	struct webconfig *wc = c->wc;
	struct webconfig_user *u;
	int err;

	if (!scalar(v) || is_null(v))
		return fail(c, v, "basic_auth_users: %s: the value must be a bcrypt hash", key);
	if (webconfig__user_hash(wc, key))
		return fail(c, k, "basic_auth_users: user '%s' is listed twice", key);
	err = check_bcrypt(c, key, v);
	if (err)
		return err;
	u = realloc(wc->users, (wc->nusers + 1) * sizeof(*u));
	if (!u)
		return -ENOMEM;
	wc->users = u;
	u = &wc->users[wc->nusers];
	u->name = strdup(key);
	u->hash = strdup(scalar(v));
	if (!u->name || !u->hash) {
		free(u->name);
		free(u->hash);
		return -ENOMEM;
	}
	wc->nusers++;
	return 0;
}

static int ignore_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	return 0;
}

static int top_pair(struct ctx *c, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	if (!strcmp(key, "tls_server_config")) {
		c->has_tls = !is_null(v);
		return for_each_pair(c, v, key, tls_pair);
	}
	if (!strcmp(key, "basic_auth_users"))
		return for_each_pair(c, v, key, user_pair);
	/* http2 and response headers are Go server details; nothing to do for them here. */
	if (!strcmp(key, "http_server_config"))
		return for_each_pair(c, v, key, ignore_pair);
	return fail(c, k, "unknown key '%s' (tls_server_config, basic_auth_users)", key);
}

/*
 * Read a regular file of at most @max bytes into a NUL-terminated string. Opened
 * non-blocking: a FIFO or a device in its place is refused instead of hanging start-up.
 */
static int read_regular(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *data = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, err;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	err = -EINVAL;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode))
		goto out; /* "not a regular file" */
	err = -EFBIG;
	if ((size_t)st.st_size > max)
		goto out;
	err = -ENOMEM;
	data = malloc(max + 1);
	if (!data)
		goto out;
	/* Read to the end, not to st_size: the file may change under us; stay bounded. */
	while (n <= max && (r = read(fd, data + n, max + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto out;
		}
		n += r;
	}
	err = -EFBIG;
	if (n > max)
		goto out;
	data[n] = '\0';
	*out = data;
	*len = n;
	data = NULL;
	err = 0;
out:
	free(data);
	close(fd);
	return err;
}

static const char *read_error(int err)
{
	if (err == -EINVAL)
		return "not a regular file";
	if (err == -EFBIG)
		return "larger than 1 MiB";
	return strerror(-err);
}

/* Read @name (relative to the config file's directory) into a NUL-terminated string. */
static int read_file(struct ctx *c, const char *name, int line, const char *key, char **out)
{
	char path[8192];
	size_t len;
	int err;

	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", c->dir, name);
	err = read_regular(path, WEBCONFIG_FILE_MAX, out, &len);
	if (err)
		snprintf(c->err, c->errlen, "%s:%d: %s: cannot read %s: %s", c->path, line, key,
			 path, read_error(err));
	return err;
}

static const char *const priorities[4][4] = {
	/* [min][max]: GnuTLS priority strings limiting the protocol versions */
	{"NORMAL:-VERS-ALL:+VERS-TLS1.0", "NORMAL:-VERS-ALL:+VERS-TLS1.0:+VERS-TLS1.1",
	 "NORMAL:-VERS-ALL:+VERS-TLS1.0:+VERS-TLS1.1:+VERS-TLS1.2",
	 "NORMAL:-VERS-ALL:+VERS-TLS1.0:+VERS-TLS1.1:+VERS-TLS1.2:+VERS-TLS1.3"},
	{NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.1", "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.2",
	 "NORMAL:-VERS-ALL:+VERS-TLS1.1:+VERS-TLS1.2:+VERS-TLS1.3"},
	{NULL, NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.2", "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3"},
	{NULL, NULL, NULL, "NORMAL:-VERS-ALL:+VERS-TLS1.3"},
};

static int finish_tls(struct ctx *c, struct webconfig *wc)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t cert, key;
	int err, line = c->cert_line ? c->cert_line : c->key_line;

	if (!c->cert_file && !c->key_file) {
		if (c->has_tls || c->ca_file)
			return fail(c, NULL,
				    "tls_server_config: cert_file and key_file are "
				    "required");
		return 0;
	}
	if (!c->cert_file || !c->key_file) {
		snprintf(c->err, c->errlen, "%s:%d: tls_server_config: %s is required too", c->path,
			 line, c->cert_file ? "key_file" : "cert_file");
		return -EINVAL;
	}
	if (c->min_v > c->max_v)
		return fail(c, NULL, "tls_server_config: min_version %s is above max_version %s",
			    versions[c->min_v], versions[c->max_v]);
	wc->priorities = priorities[c->min_v][c->max_v];
	/* Like exporter-toolkit: a CA without a verifying policy is a mistake, and so is
	 * the reverse. */
	if (c->ca_file && wc->client_auth != WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN &&
	    wc->client_auth != WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT) {
		snprintf(c->err, c->errlen,
			 "%s:%d: client_ca_file is set but client_auth_type is %s: set it to "
			 "RequireAndVerifyClientCert or VerifyClientCertIfGiven",
			 c->path, c->ca_line, auth_names[wc->client_auth]);
		return -EINVAL;
	}
	if (!c->ca_file && (wc->client_auth == WEBCONFIG_VERIFY_CLIENT_CERT_IF_GIVEN ||
			    wc->client_auth == WEBCONFIG_REQUIRE_AND_VERIFY_CLIENT_CERT)) {
		snprintf(c->err, c->errlen, "%s:%d: client_auth_type %s needs client_ca_file",
			 c->path, c->auth_line, auth_names[wc->client_auth]);
		return -EINVAL;
	}
	err = read_file(c, c->cert_file, c->cert_line, "cert_file", &wc->cert_pem);
	if (!err)
		err = read_file(c, c->key_file, c->key_line, "key_file", &wc->key_pem);
	if (!err && c->ca_file)
		err = read_file(c, c->ca_file, c->ca_line, "client_ca_file", &wc->ca_pem);
	if (err)
		return err;

	/* Check here what the TLS server would only find when it starts, with the lines. */
	if (gnutls_certificate_allocate_credentials(&cred))
		return -ENOMEM;
	cert = (gnutls_datum_t){(unsigned char *)wc->cert_pem, strlen(wc->cert_pem)};
	key = (gnutls_datum_t){(unsigned char *)wc->key_pem, strlen(wc->key_pem)};
	err = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
	if (err < 0) {
		snprintf(c->err, c->errlen, "%s:%d: cert_file %s and key_file %s: %s", c->path,
			 c->cert_line, c->cert_file, c->key_file, gnutls_strerror(err));
		gnutls_certificate_free_credentials(cred);
		return -EINVAL;
	}
	if (wc->ca_pem) {
		gnutls_datum_t ca = {(unsigned char *)wc->ca_pem, strlen(wc->ca_pem)};

		err = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
		if (err <= 0) {
			snprintf(c->err, c->errlen, "%s:%d: client_ca_file %s: %s", c->path,
				 c->ca_line, c->ca_file,
				 err < 0 ? gnutls_strerror(err) : "no certificate in it");
			gnutls_certificate_free_credentials(cred);
			return -EINVAL;
		}
	}
	gnutls_certificate_free_credentials(cred);
	wc->tls = true;
	return 0;
}

int webconfig__parse(const char *text, size_t len, const char *path, struct webconfig *wc,
		     char *errbuf, size_t errlen)
{
	struct ctx c = {.path = path, .err = errbuf, .errlen = errlen};
	yaml_parser_t parser;
	yaml_document_t doc, next;
	yaml_node_t *root;
	char *copy;
	int err;

	memset(wc, 0, sizeof(*wc));
	errbuf[0] = '\0';
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	snprintf(c.dir, sizeof(c.dir), "%s", dirname(copy));
	free(copy);
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(errbuf, errlen, "%s:%lu: %s", path,
			 (unsigned long)parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "not YAML");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	c.doc = &doc;
	c.wc = wc;
	c.min_v = 2; /* TLS12, as exporter-toolkit defaults */
	c.max_v = 3;
	root = yaml_document_get_root_node(&doc);
	err = root ? for_each_pair(&c, root, "the file", top_pair) : 0;
	if (!err)
		err = finish_tls(&c, wc);
	/*
	 * exporter-toolkit reads the first document only: settings in a second one would be
	 * ignored without a word (an empty first document would then mean no TLS, no auth).
	 */
	if (!err) {
		if (!yaml_parser_load(&parser, &next)) {
			err = fail(&c, NULL, "after the first YAML document: %s",
				   parser.problem ? parser.problem : "not YAML");
		} else {
			root = yaml_document_get_root_node(&next);
			if (root && !is_null(root))
				err = fail(&c, root,
					   "a second YAML document starts here: only the "
					   "first is read, so keep every setting in one");
			yaml_document_delete(&next);
		}
	}
	free(c.cert_file);
	free(c.key_file);
	free(c.ca_file);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (err)
		webconfig__free(wc);
	return err;
}

int webconfig__load(const char *path, struct webconfig *wc, char *errbuf, size_t errlen)
{
	char *text;
	size_t len;
	int err;

	memset(wc, 0, sizeof(*wc));
	err = read_regular(path, WEBCONFIG_FILE_MAX, &text, &len);
	if (err) {
		snprintf(errbuf, errlen, "%s: %s", path, read_error(err));
		return err;
	}
	err = webconfig__parse(text, len, path, wc, errbuf, errlen);
	free(text);
	return err;
}

void webconfig__free(struct webconfig *wc)
{
	size_t i;

	free(wc->cert_pem);
	free(wc->key_pem);
	free(wc->ca_pem);
	for (i = 0; i < wc->nusers; i++) {
		free(wc->users[i].name);
		free(wc->users[i].hash);
	}
	free(wc->users);
	memset(wc, 0, sizeof(*wc));
}

const char *webconfig__user_hash(const struct webconfig *wc, const char *name)
{
	size_t i;

	for (i = 0; i < wc->nusers; i++)
		if (!strcmp(wc->users[i].name, name))
			return wc->users[i].hash;
	return NULL;
}
