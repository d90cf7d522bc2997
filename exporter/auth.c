// SPDX-License-Identifier: GPL-2.0
/*
 * Basic auth: a strict header decoder, caches of earlier results keyed by a salted digest
 * of (user, password, hash), and one bcrypt worker at idle priority fed by a bounded
 * queue that holds at most one check per peer, each peer within a token-bucket budget.
 */
#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include "auth.h"
#include "clock.h"

#define DIGEST_LEN 32 /* SHA-256 */
/* Right answers are few (one per scraper); wrong ones may be many, and never evict them. */
#define ALLOW_CACHE 64
#define DENY_CACHE 256
#define QUEUE_MAX 32
#define PEERS_MAX 256

struct cache {
	unsigned char (*digest)[DIGEST_LEN];
	bool *used;
	unsigned int size, next;
};

struct peer_slot {
	struct auth_peer peer;
	bool used;
	bool queued; /* a check of this peer is queued or running */
	double tokens;
	uint64_t last_ns; /* when tokens was last brought up to date */
};

struct job {
	unsigned char digest[DIGEST_LEN];
	char pass[AUTH_FIELD_MAX + 1];
	const char *hash;
	bool known; /* the user exists: otherwise the hash is the dummy and the answer no */
	int peer;
	auth_done_fn done;
	void *cls;
};

struct auth {
	const struct webconfig *wc;
	struct auth_opts opts;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t worker;
	bool stop;
	unsigned char salt[32]; /* random per process: the digests mean nothing elsewhere */
	char dummy[64];		/* a bcrypt setting at the highest configured cost */
	struct cache allow, deny;
	unsigned char allow_d[ALLOW_CACHE][DIGEST_LEN], deny_d[DENY_CACHE][DIGEST_LEN];
	bool allow_u[ALLOW_CACHE], deny_u[DENY_CACHE];
	struct peer_slot peers[PEERS_MAX];
	struct job queue[QUEUE_MAX];
	unsigned int head, count;
	struct auth_stats stats;
};

void auth_peer__from(const struct sockaddr *sa, struct auth_peer *p)
{
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(p, 0, sizeof(*p));
	if (sa && sa->sa_family == AF_INET) {
		memcpy(p->b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		p->b[10] = p->b[11] = 0xff;
	} else if (sa && sa->sa_family == AF_INET6) {
		const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

		/* An IPv4 client on the dual-stack socket is that IPv4 address. */
		if (!memcmp(a, v4mapped, sizeof(v4mapped)))
			memcpy(p->b, a, 16);
		else
			memcpy(p->b, a, 8); /* one client can hold a whole /64 */
	}
}

void auth_peer__format(const struct auth_peer *p, char *out, size_t len)
{
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char a[INET6_ADDRSTRLEN];

	if (!memcmp(p->b, v4mapped, sizeof(v4mapped))) {
		inet_ntop(AF_INET, p->b + 12, a, sizeof(a));
		snprintf(out, len, "%s", a);
	} else {
		inet_ntop(AF_INET6, p->b, a, sizeof(a));
		snprintf(out, len, "%s/64", a);
	}
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64 with padding, as Go's base64.StdEncoding reads it; -EINVAL otherwise. */
static int b64_decode(const char *in, unsigned char *out, size_t cap, size_t *outlen)
{
	size_t n = strlen(in), i, o = 0;

	if (n % 4)
		return -EINVAL;
	for (i = 0; i < n; i += 4) {
		int v[4], k, pad = 0;
		uint32_t w = 0;

		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			v[k] = pad ? -1 : b64_value(in[i + k]);
			if (v[k] < 0)
				return -EINVAL;
		}
		w = (uint32_t)v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3];
		/* Padding only at the very end, and the bits it stands for are zero. */
		if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
			return -EINVAL;
		if (o + 3 - pad > cap)
			return -EINVAL;
		out[o++] = w >> 16;
		if (pad < 2)
			out[o++] = w >> 8;
		if (pad < 1)
			out[o++] = w;
	}
	*outlen = o;
	return 0;
}

int auth__parse_basic(const char *header, char *user, char *pass)
{
	unsigned char raw[2 * AUTH_FIELD_MAX + 2];
	const unsigned char *colon;
	size_t n, ulen, plen;
	int err;

	if (!header || strncasecmp(header, "Basic ", 6))
		return -EINVAL;
	err = b64_decode(header + 6, raw, sizeof(raw), &n);
	if (err)
		return err;
	colon = memchr(raw, ':', n);
	err = -EINVAL;
	if (!colon || memchr(raw, '\0', n))
		goto out;
	ulen = colon - raw;
	plen = n - ulen - 1;
	if (ulen > AUTH_FIELD_MAX || plen > AUTH_FIELD_MAX)
		goto out;
	memcpy(user, raw, ulen);
	user[ulen] = '\0';
	memcpy(pass, colon + 1, plen);
	pass[plen] = '\0';
	err = 0;
out:
	explicit_bzero(raw, sizeof(raw));
	return err;
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

/* Every entry is compared, found or not. */
static bool cache_has(const struct cache *c, const unsigned char *digest)
{
	bool found = false;
	unsigned int i;

	for (i = 0; i < c->size; i++)
		found |= c->used[i] & equal_ct(c->digest[i], digest, DIGEST_LEN);
	return found;
}

static void cache_put(struct cache *c, const unsigned char *digest)
{
	if (cache_has(c, digest))
		return;
	memcpy(c->digest[c->next], digest, DIGEST_LEN);
	c->used[c->next] = true;
	c->next = (c->next + 1) % c->size;
}

/* The bcrypt cost of a "$2b$NN$..." hash, or -1. */
static int bcrypt_cost(const char *hash)
{
	if (strlen(hash) < 7 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' ||
	    hash[6] != '$' || hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9')
		return -1;
	return (hash[4] - '0') * 10 + hash[5] - '0';
}

/*
 * The worker yields to the HTTP threads: guessing must not slow the scrapes. Nice 10 (a
 * tenth of a nice 0 thread's share when they compete), not SCHED_IDLE or nice 19: on a
 * machine kept busy by others those may barely run, and a right password seen for the
 * first time would wait for seconds.
 */
static void lower_priority(void)
{
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
}

static void *work(void *arg)
{
	struct auth *a = arg;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	struct job j;
	const char *out;
	bool ok;

	lower_priority();
	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!a->stop && !a->count)
			pthread_cond_wait(&a->wake, &a->lock);
		if (a->stop)
			break;
		j = a->queue[a->head];
		explicit_bzero(a->queue[a->head].pass, sizeof(j.pass));
		pthread_mutex_unlock(&a->lock);

		out = cd ? crypt_r(j.pass, j.hash, cd) : NULL;
		ok = j.known && out && strlen(out) == strlen(j.hash) &&
		     equal_ct((const unsigned char *)out, (const unsigned char *)j.hash,
			      strlen(j.hash));
		explicit_bzero(j.pass, sizeof(j.pass));
		if (cd)
			explicit_bzero(cd, sizeof(*cd));

		pthread_mutex_lock(&a->lock);
		/* Dequeued only now, so that auth__free never misses a running check. */
		a->head = (a->head + 1) % QUEUE_MAX;
		a->count--;
		a->stats.bcrypt_runs++;
		if (ok)
			a->stats.allowed++;
		else
			a->stats.denied++;
		cache_put(ok ? &a->allow : &a->deny, j.digest);
		a->peers[j.peer].queued = false;
		pthread_mutex_unlock(&a->lock);
		j.done(j.cls, ok);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	free(cd);
	return NULL;
}

struct auth *auth__new(const struct webconfig *wc, const struct auth_opts *o)
{
	struct auth *a = calloc(1, sizeof(*a));
	char setting[64];
	size_t i;
	int err, cost = 10, c;

	if (!a)
		return NULL;
	a->wc = wc;
	a->opts = *o;
	if (a->opts.burst < 1)
		a->opts.burst = 1;
	if (!(a->opts.rate > 0))
		a->opts.rate = 1;
	a->allow = (struct cache){a->allow_d, a->allow_u, ALLOW_CACHE, 0};
	a->deny = (struct cache){a->deny_d, a->deny_u, DENY_CACHE, 0};
	for (i = 0; i < wc->nusers; i++) {
		c = bcrypt_cost(wc->users[i].hash);
		if (!i || c > cost)
			cost = c;
	}
	a->stats.max_cost = cost;
	/*
	 * An unknown user is checked against this, at the highest configured cost, so that
	 * the time of an answer does not tell whether a user exists (exporter-toolkit does
	 * the same). It is a setting without a hash: nothing can match it.
	 */
	if (cost < 4 || !crypt_gensalt_rn("$2b$", cost, NULL, 0, setting, sizeof(setting)) ||
	    gnutls_rnd(GNUTLS_RND_NONCE, a->salt, sizeof(a->salt))) {
		free(a);
		errno = EINVAL;
		return NULL;
	}
	snprintf(a->dummy, sizeof(a->dummy), "%s", setting);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	err = pthread_create(&a->worker, NULL, work, a);
	if (err) {
		pthread_cond_destroy(&a->wake);
		pthread_mutex_destroy(&a->lock);
		free(a);
		errno = err;
		return NULL;
	}
	return a;
}

void auth__stop(struct auth *a)
{
	struct job j;

	pthread_mutex_lock(&a->lock);
	if (a->stop) {
		pthread_mutex_unlock(&a->lock);
		return;
	}
	a->stop = true;
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->worker, NULL);
	/* Whoever still waits gets an answer: no. */
	pthread_mutex_lock(&a->lock);
	while (a->count) {
		j = a->queue[a->head];
		explicit_bzero(a->queue[a->head].pass, sizeof(j.pass));
		explicit_bzero(j.pass, sizeof(j.pass));
		a->head = (a->head + 1) % QUEUE_MAX;
		a->count--;
		pthread_mutex_unlock(&a->lock);
		j.done(j.cls, false);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
}

void auth__free(struct auth *a)
{
	if (!a)
		return;
	auth__stop(a);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	explicit_bzero(a, sizeof(*a));
	free(a);
}

/* The slot of @p, with its budget brought up to date; -1 when every slot is in use. */
static int peer_slot(struct auth *a, const struct auth_peer *p, uint64_t now)
{
	struct peer_slot *s;
	int i, free_slot = -1;
	double full_ns = a->opts.rate > 0 ? a->opts.burst / a->opts.rate * 1e9 : 0;

	for (i = 0; i < PEERS_MAX; i++) {
		s = &a->peers[i];
		if (s->used && !memcmp(&s->peer, p, sizeof(*p)))
			break;
		/* A slot can be given away once its peer is idle and its budget full again. */
		if (free_slot < 0 && (!s->used || (!s->queued && now - s->last_ns >= full_ns)))
			free_slot = i;
	}
	if (i == PEERS_MAX) {
		if (free_slot < 0)
			return -1;
		i = free_slot;
		s = &a->peers[i];
		*s = (struct peer_slot){.peer = *p, .used = true, .tokens = a->opts.burst};
		s->last_ns = now;
	}
	s = &a->peers[i];
	s->tokens += (now - s->last_ns) / 1e9 * a->opts.rate;
	if (s->tokens > a->opts.burst)
		s->tokens = a->opts.burst;
	s->last_ns = now;
	return i;
}

enum auth_verdict auth__check(struct auth *a, const struct auth_peer *peer, const char *user,
			      const char *pass, auth_done_fn done, void *cls)
{
	const char *hash = webconfig__user_hash(a->wc, user);
	unsigned char digest[DIGEST_LEN];
	enum auth_verdict v = AUTH_BUSY;
	gnutls_hash_hd_t hd;
	struct job *j;
	int slot;

	if (!hash)
		hash = a->dummy;
	/* The key covers the hash too: a user whose hash changes is checked again. */
	if (gnutls_hash_init(&hd, GNUTLS_DIG_SHA256))
		return AUTH_BUSY;
	gnutls_hash(hd, a->salt, sizeof(a->salt));
	gnutls_hash(hd, user, strlen(user) + 1);
	gnutls_hash(hd, pass, strlen(pass) + 1);
	gnutls_hash(hd, hash, strlen(hash) + 1);
	gnutls_hash_deinit(hd, digest);

	pthread_mutex_lock(&a->lock);
	if (cache_has(&a->allow, digest)) {
		a->stats.allowed++;
		v = AUTH_ALLOW;
		goto out;
	}
	if (cache_has(&a->deny, digest)) {
		a->stats.denied++;
		v = AUTH_DENY;
		goto out;
	}
	slot = peer_slot(a, peer, mono_now_ns());
	if (slot < 0 || a->peers[slot].queued || a->peers[slot].tokens < 1 ||
	    a->count == QUEUE_MAX || a->stop) {
		a->stats.busy++;
		goto out;
	}
	a->peers[slot].tokens -= 1;
	a->peers[slot].queued = true;
	j = &a->queue[(a->head + a->count) % QUEUE_MAX];
	memcpy(j->digest, digest, DIGEST_LEN);
	snprintf(j->pass, sizeof(j->pass), "%s", pass);
	j->hash = hash;
	j->known = hash != a->dummy;
	j->peer = slot;
	j->done = done;
	j->cls = cls;
	a->count++;
	pthread_cond_signal(&a->wake);
	v = AUTH_PENDING;
out:
	pthread_mutex_unlock(&a->lock);
	explicit_bzero(digest, sizeof(digest));
	return v;
}

void auth__stats(struct auth *a, struct auth_stats *out)
{
	pthread_mutex_lock(&a->lock);
	*out = a->stats;
	pthread_mutex_unlock(&a->lock);
}
