// SPDX-License-Identifier: GPL-2.0
/* --web.config.file: every mistake is one line naming the file and the line. */
#include <crypt.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "harness.h"
#include "webconfig.h"

static char dir[] = "/tmp/kpulse-webconfig-XXXXXX";
static char path[256];

static int load(const char *yaml, struct webconfig *wc, char *err, size_t len)
{
	FILE *f = fopen(path, "w");

	fputs(yaml, f);
	fclose(f);
	return webconfig__load(path, wc, err, len);
}

/* The error for @yaml, with the temporary path replaced by "web.yml". */
static const char *error_of(const char *yaml)
{
	static char err[1024], out[1024];
	struct webconfig wc;
	size_t n = strlen(path);

	err[0] = '\0';
	if (!load(yaml, &wc, err, sizeof(err))) {
		webconfig__free(&wc);
		return "(loaded)";
	}
	if (!strncmp(err, path, n))
		snprintf(out, sizeof(out), "web.yml%s", err + n);
	else
		snprintf(out, sizeof(out), "%s", err);
	return out;
}

TEST(errors_name_the_line)
{
	static const struct {
		const char *yaml, *err;
	} cases[] = {
		{"tls_server_config:\n  cert: x\n",
		 "web.yml:2: tls_server_config: unsupported key 'cert'"},
		{"# comment\nbasic_auth_users:\n  alice: plain\n",
		 "web.yml:3: basic_auth_users: alice: not a bcrypt hash ($2b$...)"},
		{"tls_config:\n  cert_file: a\n",
		 "web.yml:1: unknown key 'tls_config' (tls_server_config, basic_auth_users)"},
		{"basic_auth_users: [a, b]\n", "web.yml:1: basic_auth_users must be a mapping"},
		{"tls_server_config:\n  cert_file: a\n  key_file: [\n",
		 "web.yml:4: did not find expected node content"},
		{"tls_server_config:\n  cert_file: c.pem\n",
		 "web.yml:2: tls_server_config: key_file is required too"},
		{"tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n  min_version: TLS9\n",
		 "web.yml:4: min_version: unknown TLS version 'TLS9' (TLS10, TLS11, TLS12 or "
		 "TLS13)"},
		{"tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n"
		 "  client_auth_type: Maybe\n",
		 "web.yml:4: client_auth_type: unknown 'Maybe' (NoClientCert, RequestClientCert, "
		 "RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"},
		{"tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n"
		 "  client_auth_type: RequireAndVerifyClientCert\n",
		 "web.yml:4: client_auth_type RequireAndVerifyClientCert needs client_ca_file"},
		{"tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n"
		 "  client_ca_file: ca.pem\n",
		 "web.yml:4: client_ca_file is set but client_auth_type is NoClientCert: set it to "
		 "RequireAndVerifyClientCert or VerifyClientCertIfGiven"},
		{"tls_server_config:\n  cert_file: missing.pem\n  key_file: k.pem\n", NULL},
		{"", "(loaded)"},
		{"# only a comment\n", "(loaded)"},
		{"---\n", "(loaded)"},
		{"basic_auth_users:\n", "(loaded)"},
		/* exporter-toolkit reads only the first document: a second is an error here. */
		{"---\n---\nbasic_auth_users:\n  alice: x\n",
		 "web.yml:3: a second YAML document starts here: only the first is read, so keep "
		 "every setting in one"},
		{"http_server_config:\n  http2: false\n---\n# nothing\n", "(loaded)"},
		{"basic_auth_users:\n  alice: "
		 "'$2b$31$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234'\n",
		 "web.yml:2: basic_auth_users: alice: bcrypt cost 31 would make each check of a "
		 "new "
		 "password take 2^21 times as long as cost 10 (~0.1 s): hash it again with a cost "
		 "from 4 to 14 (htpasswd -nBC 10 alice)"},
		{"basic_auth_users:\n  alice: "
		 "'$2b$03$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234'\n",
		 "web.yml:2: basic_auth_users: alice: bcrypt cost 3 is not one (4 to 31)"},
		{"basic_auth_users:\n  alice: "
		 "'$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ0123'\n",
		 "web.yml:2: basic_auth_users: alice: not a bcrypt hash ($2b$...)"},
		{"basic_auth_users:\n  alice: "
		 "'$2x$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234'\n",
		 "web.yml:2: basic_auth_users: alice: not a bcrypt hash ($2b$...)"},
		{"http_server_config:\n  http2: false\n", "(loaded)"},
	};
	char want[1024];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!cases[i].err) {
			snprintf(want, sizeof(want),
				 "web.yml:2: cert_file: cannot read %s/missing.pem: No such file "
				 "or directory",
				 dir);
			CHECK_STR(error_of(cases[i].yaml), want);
			continue;
		}
		CHECK_STR(error_of(cases[i].yaml), cases[i].err);
	}
}

TEST(bcrypt_users)
{
	char yaml[512], err[256], salt[64];
	struct webconfig wc;
	const char *hash;

	/* A real bcrypt hash from the system's crypt, at the cheapest cost. */
	CHECK(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)) != NULL);
	hash = crypt("secret", salt);
	CHECK(hash && !strncmp(hash, "$2b$04$", 7));
	snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  alice: %s\n  bob: '%s'\n", hash, hash);
	CHECK_INT(load(yaml, &wc, err, sizeof(err)), 0);
	CHECK_INT(wc.nusers, 2);
	CHECK_STR(webconfig__user_hash(&wc, "bob"), hash);
	CHECK(!webconfig__user_hash(&wc, "carol"));
	CHECK(!wc.tls);
	webconfig__free(&wc);
	snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  alice: %s\n  alice: %s\n", hash, hash);
	CHECK_STR(error_of(yaml), "web.yml:3: basic_auth_users: user 'alice' is listed twice");
}

/* A FIFO or a device where a file should be is refused at once, never waited on. */
TEST(not_regular_files)
{
	char fifo[300], yaml[700], err[1024], want[1024];
	struct webconfig wc;

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK_INT(mkfifo(fifo, 0600), 0);
	err[0] = '\0';
	CHECK_INT(webconfig__load(fifo, &wc, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: not a regular file", fifo);
	CHECK_STR(err, want);
	snprintf(yaml, sizeof(yaml), "tls_server_config:\n  cert_file: %s\n  key_file: k.pem\n",
		 fifo);
	snprintf(want, sizeof(want), "web.yml:2: cert_file: cannot read %s: not a regular file",
		 fifo);
	CHECK_STR(error_of(yaml), want);
	CHECK_STR(error_of("tls_server_config:\n  cert_file: /dev/zero\n  key_file: k.pem\n"),
		  "web.yml:2: cert_file: cannot read /dev/zero: not a regular file");
	CHECK_INT(webconfig__load("/dev/zero", &wc, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "/dev/zero: not a regular file");
	unlink(fifo);
}

/* What kpulse's main warns about: a config that loads with neither TLS nor users. */
TEST(empty_means_nothing)
{
	static const char *const empty[] = {"", "# comment\n", "---\n", "basic_auth_users:\n",
					    "tls_server_config: ~\nbasic_auth_users: {}\n"};
	char err[256];
	struct webconfig wc;
	size_t i;

	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		CHECK_INT(load(empty[i], &wc, err, sizeof(err)), 0);
		CHECK(!wc.tls && !wc.nusers);
		webconfig__free(&wc);
	}
}

int main(void)
{
	h_suite = "webconfig";
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/web.yml", dir);
	RUN(errors_name_the_line);
	RUN(bcrypt_users);
	RUN(not_regular_files);
	RUN(empty_means_nothing);
	unlink(path);
	rmdir(dir);
	return DONE();
}
