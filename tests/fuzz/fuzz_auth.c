// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the basic-auth header decoder, and for the cache lookup that the
 * decoded credentials go to. The input is the Authorization header value, tried as it
 * is and after "Basic ".
 */
#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "auth.h"

static char hash[128];
static struct webconfig_user users[1] = {{"prom", hash}};
static const struct webconfig wc = {.users = users, .nusers = 1};
static struct auth *auth;

static void done(void *cls, bool ok)
{
}

static void decode(const char *header)
{
	char user[AUTH_FIELD_MAX + 1], pass[AUTH_FIELD_MAX + 1];
	struct auth_peer peer = {};

	if (auth__parse_basic(header, user, pass))
		return;
	if (strlen(user) > AUTH_FIELD_MAX || strlen(pass) > AUTH_FIELD_MAX)
		abort();
	auth__check(auth, &peer, user, pass, done, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 7);

	if (!auth) {
		struct crypt_data cd = {};
		char salt[64];

		crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt));
		snprintf(hash, sizeof(hash), "%s", crypt_r("s3cret", salt, &cd));
		auth = auth__new(&wc, &(struct auth_opts){.rate = 1e6, .burst = 1000000});
		if (!auth)
			abort();
	}
	if (!s)
		return 0;
	memcpy(s, "Basic ", 6);
	memcpy(s + 6, data, size);
	s[6 + size] = '\0';
	decode(s + 6);
	decode(s);
	free(s);
	return 0;
}
