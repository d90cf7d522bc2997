// SPDX-License-Identifier: GPL-2.0
/*
 * Basic auth: the header decoder, the caches of right and wrong answers, the dummy hash
 * for unknown users, one check at a time per client address and the per-address budget.
 */
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "auth.h"
#include "harness.h"

TEST(parse_basic)
{
	static const struct {
		const char *header, *user, *pass; /* user NULL: refused */
	} cases[] = {
		{"Basic cHJvbTpzM2NyZXQ=", "prom", "s3cret"},
		{"basic cHJvbTpzM2NyZXQ=", "prom", "s3cret"}, /* the scheme in any case */
		{"BASIC cHJvbTpzM2NyZXQ=", "prom", "s3cret"},
		{"Basic cHJvbTpzOmNyZXQ=", "prom", "s:cret"}, /* the first colon splits */
		{"Basic Og==", "", ""},
		{"Basic cHJvbTo=", "prom", ""},
		{"Basic w6k6w6k=", "\xc3\xa9", "\xc3\xa9"},
		{"Basic cHJvbTpzM2NyZXQAeA==", NULL,
		 NULL},					 /* "prom:s3cret\0x": NUL in the password */
		{"Basic cHIAb206czNjcmV0", NULL, NULL},	 /* "pr\0om:s3cret" */
		{"Basic cHJvbXMzY3JldA==", NULL, NULL},	 /* no colon */
		{"Basic cHJvbTpzM2NyZXQ", NULL, NULL},	 /* padding missing */
		{"Basic cHJvbTpzM2NyZXQ=x", NULL, NULL}, /* bad length */
		{"Basic cHJvbTpz=2NyZXQ=", NULL, NULL},	 /* padding inside */
		{"Basic cHJvbTpzM2NyZXR=", NULL, NULL},	 /* padding bits not zero */
		{"Basic cHJv bTpzM2NyZXQ=", NULL, NULL}, /* a space inside */
		{"Basic  cHJvbTpzM2NyZXQ=", NULL, NULL}, /* two spaces */
		{"Basic ====", NULL, NULL},
		{"Basic ", NULL, NULL}, /* nothing: no colon */
		{"Basic", NULL, NULL},
		{"Bearer cHJvbTpzM2NyZXQ=", NULL, NULL},
		{"Digest username=\"prom\"", NULL, NULL},
		{"", NULL, NULL},
	};
	char user[AUTH_FIELD_MAX + 1], pass[AUTH_FIELD_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = auth__parse_basic(cases[i].header, user, pass);

		if (!cases[i].user) {
			if (err != -EINVAL)
				printf("  case %zu: \"%s\" should be refused\n", i,
				       cases[i].header);
			CHECK_INT(err, -EINVAL);
			continue;
		}
		CHECK_INT(err, 0);
		if (!err) {
			CHECK_STR(user, cases[i].user);
			CHECK_STR(pass, cases[i].pass);
		}
	}
	CHECK_INT(auth__parse_basic(NULL, user, pass), -EINVAL);
}

TEST(parse_basic_bounds)
{
	char user[AUTH_FIELD_MAX + 1], pass[AUTH_FIELD_MAX + 1];
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char raw[3000];
	char header[4200];
	size_t n, i, o;

	/* "u:" + a password of AUTH_FIELD_MAX bytes is read; one more byte is refused. */
	for (int extra = 0; extra <= 1; extra++) {
		n = 2 + AUTH_FIELD_MAX + extra;
		raw[0] = 'u';
		raw[1] = ':';
		memset(raw + 2, 'p', n - 2);
		o = snprintf(header, sizeof(header), "Basic ");
		for (i = 0; i < n; i += 3) {
			uint32_t w = raw[i] << 16 | (i + 1 < n ? raw[i + 1] << 8 : 0) |
				     (i + 2 < n ? raw[i + 2] : 0);

			header[o++] = b64[w >> 18 & 63];
			header[o++] = b64[w >> 12 & 63];
			header[o++] = i + 1 < n ? b64[w >> 6 & 63] : '=';
			header[o++] = i + 2 < n ? b64[w & 63] : '=';
		}
		header[o] = '\0';
		CHECK_INT(auth__parse_basic(header, user, pass), extra ? -EINVAL : 0);
		if (!extra)
			CHECK_INT(strlen(pass), AUTH_FIELD_MAX);
	}
}

TEST(peers)
{
	struct sockaddr_in v4 = {.sin_family = AF_INET};
	struct sockaddr_in6 a = {.sin6_family = AF_INET6}, b = a, mapped = a;
	struct auth_peer p4, pa, pb, pm;
	char s[64];

	inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr);
	inet_pton(AF_INET6, "2001:db8:1:2:aaaa::1", &a.sin6_addr);
	inet_pton(AF_INET6, "2001:db8:1:2:bbbb::2", &b.sin6_addr);
	inet_pton(AF_INET6, "::ffff:192.0.2.7", &mapped.sin6_addr);
	auth_peer__from((struct sockaddr *)&v4, &p4);
	auth_peer__from((struct sockaddr *)&a, &pa);
	auth_peer__from((struct sockaddr *)&b, &pb);
	auth_peer__from((struct sockaddr *)&mapped, &pm);
	/* The same IPv4 address on either socket family is one peer; an IPv6 /64 is one. */
	CHECK(!memcmp(&p4, &pm, sizeof(p4)));
	CHECK(!memcmp(&pa, &pb, sizeof(pa)));
	CHECK(memcmp(&pa, &p4, sizeof(pa)));
	auth_peer__format(&p4, s, sizeof(s));
	CHECK_STR(s, "192.0.2.7");
	auth_peer__format(&pa, s, sizeof(s));
	CHECK_STR(s, "2001:db8:1:2::/64");
}

/* A done callback the test can wait on. */
struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int calls;
	bool ok;
};

static void done(void *cls, bool ok)
{
	struct waiter *w = cls;

	pthread_mutex_lock(&w->lock);
	w->calls++;
	w->ok = ok;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void waiter_init(struct waiter *w)
{
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->calls = 0;
	w->ok = false;
}

/* The result of a check that went to the worker (-1: it did not). */
static int wait_result(struct auth *a, const struct auth_peer *peer, const char *user,
		       const char *pass)
{
	struct waiter w;
	enum auth_verdict v;

	waiter_init(&w);
	v = auth__check(a, peer, user, pass, done, &w);
	if (v != AUTH_PENDING)
		return -1;
	pthread_mutex_lock(&w.lock);
	while (!w.calls)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	return w.ok;
}

static char hash_alice[128], hash_bob[128], hash_carol[128];
static struct webconfig_user users[2] = {{"alice", hash_alice}, {"bob", hash_bob}};
static const struct webconfig wc = {.users = users, .nusers = 2};
/* A slow hash (cost 10, ~0.1 s): checks of it are still running when the next call comes. */
static struct webconfig_user slow_users[1] = {{"carol", hash_carol}};
static const struct webconfig slow_wc = {.users = slow_users, .nusers = 1};

static void make_hash(char *out, const char *pass, int cost)
{
	char salt[64];
	struct crypt_data cd = {};

	crypt_gensalt_rn("$2b$", cost, NULL, 0, salt, sizeof(salt));
	snprintf(out, 128, "%s", crypt_r(pass, salt, &cd));
}

static struct auth_peer peer(int n)
{
	struct auth_peer p = {};

	p.b[15] = n;
	return p;
}

TEST(caches_right_and_wrong)
{
	struct auth *a = auth__new(&wc, &(struct auth_opts){.rate = 100, .burst = 100});
	struct auth_peer p = peer(1);
	struct auth_stats st;

	CHECK(a != NULL);
	if (!a)
		return;
	CHECK_INT(wait_result(a, &p, "alice", "right"), 1);
	CHECK_INT(wait_result(a, &p, "alice", "wrong"), 0);
	/* Asked again, both are answered from the caches: no bcrypt. */
	CHECK_INT(auth__check(a, &p, "alice", "right", done, NULL), AUTH_ALLOW);
	CHECK_INT(auth__check(a, &p, "alice", "wrong", done, NULL), AUTH_DENY);
	/* The key covers the user: bob with alice's password is checked (and wrong). */
	CHECK_INT(wait_result(a, &p, "bob", "right"), 0);
	CHECK_INT(wait_result(a, &p, "bob", "bobs"), 1);
	auth__stats(a, &st);
	CHECK_INT(st.bcrypt_runs, 4);
	CHECK_INT(st.allowed, 3);
	CHECK_INT(st.denied, 3);
	CHECK_INT(st.busy, 0);
	auth__free(a);
}

TEST(unknown_user_costs_a_bcrypt)
{
	struct auth *a = auth__new(&wc, &(struct auth_opts){.rate = 100, .burst = 100});
	struct auth_peer p = peer(1);
	struct auth_stats st;

	if (!a) {
		CHECK(a != NULL);
		return;
	}
	/* As long as a known user's wrong password: the answer does not tell who exists. */
	CHECK_INT(wait_result(a, &p, "mallory", "right"), 0);
	CHECK_INT(wait_result(a, &p, "", ""), 0);
	auth__stats(a, &st);
	CHECK_INT(st.bcrypt_runs, 2);
	CHECK_INT(st.max_cost, 5); /* the dummy is hashed at the highest configured cost */
	CHECK_INT(auth__check(a, &p, "mallory", "right", done, NULL), AUTH_DENY);
	auth__free(a);
}

TEST(one_check_at_a_time_per_peer)
{
	struct auth *a = auth__new(&slow_wc, &(struct auth_opts){.rate = 100, .burst = 100});
	struct auth_peer p1 = peer(1), p2 = peer(2);
	struct waiter w1, w2;
	struct auth_stats st;

	if (!a) {
		CHECK(a != NULL);
		return;
	}
	waiter_init(&w1);
	waiter_init(&w2);
	CHECK_INT(auth__check(a, &p1, "carol", "guess1", done, &w1), AUTH_PENDING);
	/* While p1's check runs, p1's next guess is refused, another address is queued. */
	CHECK_INT(auth__check(a, &p1, "carol", "guess2", done, NULL), AUTH_BUSY);
	CHECK_INT(auth__check(a, &p2, "carol", "guess3", done, &w2), AUTH_PENDING);
	pthread_mutex_lock(&w2.lock);
	while (!w2.calls)
		pthread_cond_wait(&w2.cond, &w2.lock);
	pthread_mutex_unlock(&w2.lock);
	/* FIFO: p1's check ended before p2's. */
	pthread_mutex_lock(&w1.lock);
	CHECK_INT(w1.calls, 1);
	pthread_mutex_unlock(&w1.lock);
	auth__stats(a, &st);
	CHECK_INT(st.busy, 1);
	auth__free(a);
}

TEST(budget_per_peer)
{
	struct auth *a = auth__new(&wc, &(struct auth_opts){.rate = 0.001, .burst = 3});
	struct auth_peer p1 = peer(1), p2 = peer(2);
	char guess[32];
	int i;

	if (!a) {
		CHECK(a != NULL);
		return;
	}
	/* Three uncached checks, then nothing until the budget refills (1000 s here). */
	for (i = 0; i < 3; i++) {
		snprintf(guess, sizeof(guess), "guess%d", i);
		CHECK_INT(wait_result(a, &p1, "alice", guess), 0);
	}
	CHECK_INT(auth__check(a, &p1, "alice", "guess3", done, NULL), AUTH_BUSY);
	/* Cached answers cost no budget; another address has its own. */
	CHECK_INT(auth__check(a, &p1, "alice", "guess0", done, NULL), AUTH_DENY);
	CHECK_INT(wait_result(a, &p2, "alice", "right"), 1);
	CHECK_INT(auth__check(a, &p1, "alice", "right", done, NULL), AUTH_ALLOW);
	auth__free(a);
}

TEST(stop_answers_what_waits)
{
	struct auth *a = auth__new(&wc, &(struct auth_opts){.rate = 100, .burst = 100});
	struct waiter w[8];
	struct auth_peer p;
	char guess[32];
	int i, calls = 0;

	if (!a) {
		CHECK(a != NULL);
		return;
	}
	for (i = 0; i < 8; i++) {
		waiter_init(&w[i]);
		p = peer(10 + i);
		snprintf(guess, sizeof(guess), "guess%d", i);
		CHECK_INT(auth__check(a, &p, "alice", guess, done, &w[i]), AUTH_PENDING);
	}
	auth__stop(a);
	for (i = 0; i < 8; i++)
		calls += w[i].calls;
	CHECK_INT(calls, 8);
	p = peer(30);
	CHECK_INT(auth__check(a, &p, "alice", "late", done, NULL), AUTH_BUSY);
	auth__free(a);
}

int main(void)
{
	h_suite = "auth";
	make_hash(hash_alice, "right", 4);
	make_hash(hash_bob, "bobs", 5);
	make_hash(hash_carol, "carols", 10);
	RUN(parse_basic);
	RUN(parse_basic_bounds);
	RUN(peers);
	RUN(caches_right_and_wrong);
	RUN(unknown_user_costs_a_bcrypt);
	RUN(one_check_at_a_time_per_peer);
	RUN(budget_per_peer);
	RUN(stop_answers_what_waits);
	return DONE();
}
