/* hmap.c: chained hash table plus an insertion-ordered list (dict order, popitem, ls). */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hmap.h"

static uint8_t sip_key[16];
static bool seeded;

void hmap_hash_seed(const uint8_t key[16])
{
	memcpy(sip_key, key, sizeof sip_key);
	seeded = true;
}

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

#define SIP_ROUND(v0, v1, v2, v3)  \
	do {                       \
		v0 += v1;          \
		v1 = rotl(v1, 13); \
		v1 ^= v0;          \
		v0 = rotl(v0, 32); \
		v2 += v3;          \
		v3 = rotl(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = rotl(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = rotl(v1, 17); \
		v1 ^= v2;          \
		v2 = rotl(v2, 32); \
	} while (0)

/* SipHash-2-4 (Aumasson and Bernstein), written from the paper's description. */
static uint64_t siphash(const uint8_t *in, size_t len)
{
	uint64_t k0 = load64(sip_key), k1 = load64(sip_key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
	size_t whole = len & ~(size_t)7;
	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = load64(in + i);
		v3 ^= m;
		SIP_ROUND(v0, v1, v2, v3);
		SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	uint64_t last = (uint64_t)len << 56;
	for (size_t i = 0; i < (len & 7); i++)
		last |= (uint64_t)in[whole + i] << (8 * i);
	v3 ^= last;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t hash_key(const void *key, size_t klen)
{
	if (!seeded) {
		if (getrandom(sip_key, sizeof sip_key, 0) != (ssize_t)sizeof sip_key)
			memset(sip_key, 0x5a, sizeof sip_key);
		seeded = true;
	}
	return siphash(key, klen);
}

void hmap_init(hmap *m)
{
	memset(m, 0, sizeof *m);
}

void hmap_fini(hmap *m, void (*free_value)(void *))
{
	hmap_entry *e = m->first;
	while (e) {
		hmap_entry *next = e->next;
		if (free_value)
			free_value(e->value);
		free(e);
		e = next;
	}
	free(m->buckets);
	hmap_init(m);
}

hmap_entry *hmap_find(const hmap *m, const void *key, size_t klen)
{
	if (!m->nbuckets)
		return NULL;
	uint64_t h = hash_key(key, klen);
	for (hmap_entry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->chain)
		if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
			return e;
	return NULL;
}

void *hmap_get(const hmap *m, const void *key, size_t klen)
{
	hmap_entry *e = hmap_find(m, key, klen);
	return e ? e->value : NULL;
}

static int grow(hmap *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : 8;
	hmap_entry **b = calloc(n, sizeof *b);
	if (!b)
		return -1;
	for (hmap_entry *e = m->first; e; e = e->next) {
		size_t i = e->hash & (n - 1);
		e->chain = b[i];
		b[i] = e;
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
	return 0;
}

hmap_entry *hmap_insert(hmap *m, const void *key, size_t klen, void *value)
{
	if (m->count >= m->nbuckets && grow(m) != 0)
		return NULL;
	hmap_entry *e = malloc(sizeof *e + klen + 1);
	if (!e)
		return NULL;
	e->hash = hash_key(key, klen);
	e->klen = klen;
	e->value = value;
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	size_t i = e->hash & (m->nbuckets - 1);
	e->chain = m->buckets[i];
	m->buckets[i] = e;
	e->prev = m->last;
	e->next = NULL;
	if (m->last)
		m->last->next = e;
	else
		m->first = e;
	m->last = e;
	m->count++;
	return e;
}

void hmap_delete(hmap *m, hmap_entry *e)
{
	hmap_entry **pp = &m->buckets[e->hash & (m->nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	if (e->prev)
		e->prev->next = e->next;
	else
		m->first = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		m->last = e->prev;
	m->count--;
	free(e);
}
