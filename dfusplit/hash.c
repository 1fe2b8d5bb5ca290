/*
 * hash.c - SHA-256 of the element files on a second thread, so that the
 * hash (nettle, about half of split's CPU time when it ran inline) runs
 * beside the copy instead of after each chunk of it.
 *
 * One producer (the copy) and one hasher: the producer fills buffers that
 * the hasher lends it, queues runs of bytes to hash and the end of each
 * file, and gives each buffer back once its runs are queued.  The queue
 * and the buffers are bounded; both sides sleep on one condition variable
 * when they must wait.  Small jobs hash inline: a thread costs more than
 * it saves there.  The hasher cannot fail; the producer stops on its own
 * errors and hasher_free() drops what is still queued.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "dfusplit.h"

#define NBUF 4		/* buffers of HASH_CHUNK bytes */
#define QLEN 64		/* queued runs, file ends and buffer returns */

/* Below this, hash inline: the same bound as the writer's CRC thread
 * (common/write.c), where starting the thread cost more than it saved. */
#define HASH_THREAD_MIN (4u << 20)

enum { Q_DATA, Q_END, Q_FREE };

struct qent {
	int kind;
	const uint8_t *p;	/* Q_DATA: the run; Q_FREE: the buffer */
	size_t len;
	struct hash_result *res;	/* Q_END */
};

struct hasher {
	struct sha256_ctx ctx;	/* the file being hashed */
	uint8_t *bufs[NBUF];
	int busy[NBUF];		/* lent to the producer or queued */
	int mismatch_seen;	/* a file's hash was not the one expected */
	int threaded;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct qent q[QLEN];
	unsigned qhead, qcount;
	int quit;
};

void
sha256_hex(struct sha256_ctx *ctx, char out[2 * SHA256_DIGEST_SIZE + 1])
{
	uint8_t d[SHA256_DIGEST_SIZE];
	size_t i;

	sha256_digest(ctx, sizeof(d), d);	/* and starts afresh */
	for (i = 0; i < sizeof(d); i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The digest of the file's bytes; 1 if it is not the one expected. */
static int
finish(struct hasher *h, struct hash_result *res)
{
	sha256_hex(&h->ctx, res->hex);
	if (res->expect != NULL && strcasecmp(res->hex,
	    res->expect) != 0)
		res->mismatch = 1;
	res->done = 1;
	return res->mismatch;
}

/* Return a buffer to the free set; with the lock held when threaded. */
static void
release(struct hasher *h, const uint8_t *p)
{
	unsigned i;

	for (i = 0; i < NBUF; i++)
		if (h->bufs[i] == p)
			h->busy[i] = 0;
}

static void *
hash_thread(void *arg)
{
	struct hasher *h = arg;
	struct qent e;
	int bad = 0;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (h->qcount == 0 && !h->quit)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->quit)
			break;
		e = h->q[h->qhead];
		pthread_mutex_unlock(&h->mu);
		if (e.kind == Q_DATA)
			sha256_update(&h->ctx, e.len, e.p);
		else if (e.kind == Q_END)
			bad = finish(h, e.res);
		pthread_mutex_lock(&h->mu);
		if (bad)
			h->mismatch_seen = 1;
		if (e.kind == Q_FREE)
			release(h, e.p);
		h->qhead = (h->qhead + 1) % QLEN;
		h->qcount--;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct hasher *
hasher_new(uint64_t total)
{
	struct hasher *h = xcalloc(1, sizeof(*h));
	unsigned i;

	sha256_init(&h->ctx);
	for (i = 0; i < NBUF; i++)
		h->bufs[i] = xcalloc(1, HASH_CHUNK);
	if (total < HASH_THREAD_MIN)
		return h;
	if (pthread_mutex_init(&h->mu, NULL) != 0)
		return h;
	if (pthread_cond_init(&h->cv, NULL) != 0) {
		pthread_mutex_destroy(&h->mu);
		return h;
	}
	h->threaded = pthread_create(&h->thread, NULL, hash_thread, h) == 0;
	if (!h->threaded) {
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
	}
	return h;
}

/* Queue one entry, waiting while the queue is full. */
static void
push(struct hasher *h, int kind, const uint8_t *p, size_t len,
    struct hash_result *res)
{
	struct qent *e;

	pthread_mutex_lock(&h->mu);
	while (h->qcount == QLEN)
		pthread_cond_wait(&h->cv, &h->mu);
	e = &h->q[(h->qhead + h->qcount) % QLEN];
	e->kind = kind;
	e->p = p;
	e->len = len;
	e->res = res;
	h->qcount++;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

uint8_t *
hasher_buffer(struct hasher *h)
{
	unsigned i;

	if (h->threaded)
		pthread_mutex_lock(&h->mu);
	for (;;) {
		for (i = 0; i < NBUF && h->busy[i]; i++)
			;
		if (i < NBUF || !h->threaded)
			break;
		pthread_cond_wait(&h->cv, &h->mu);
	}
	/* Inline, every buffer is free again once it has been hashed. */
	if (i == NBUF)
		i = 0;
	h->busy[i] = 1;
	if (h->threaded)
		pthread_mutex_unlock(&h->mu);
	return h->bufs[i];
}

void
hasher_data(struct hasher *h, const uint8_t *p, size_t len)
{
	if (len == 0)
		return;
	if (h->threaded)
		push(h, Q_DATA, p, len, NULL);
	else
		sha256_update(&h->ctx, len, p);
}

void
hasher_end(struct hasher *h, struct hash_result *res)
{
	res->done = res->mismatch = 0;
	if (h->threaded)
		push(h, Q_END, NULL, 0, res);
	else if (finish(h, res))
		h->mismatch_seen = 1;
}

void
hasher_release(struct hasher *h, const uint8_t *buf)
{
	if (h->threaded)
		push(h, Q_FREE, buf, 0, NULL);
	else
		release(h, buf);
}

int
hasher_mismatch(struct hasher *h)
{
	int bad;

	if (!h->threaded)
		return h->mismatch_seen;
	pthread_mutex_lock(&h->mu);
	bad = h->mismatch_seen;
	pthread_mutex_unlock(&h->mu);
	return bad;
}

void
hasher_wait(struct hasher *h)
{
	if (!h->threaded)
		return;
	pthread_mutex_lock(&h->mu);
	while (h->qcount > 0)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

void
hasher_free(struct hasher *h)
{
	unsigned i;

	if (h == NULL)
		return;
	if (h->threaded) {
		/* Whatever is still queued is dropped: the producer failed,
		 * or everything was waited for. */
		pthread_mutex_lock(&h->mu);
		h->quit = 1;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->thread, NULL);
		pthread_cond_destroy(&h->cv);
		pthread_mutex_destroy(&h->mu);
	}
	for (i = 0; i < NBUF; i++)
		free(h->bufs[i]);
	free(h);
}
