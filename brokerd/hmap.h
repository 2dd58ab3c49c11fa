/* hmap.h: a hash map from byte-string keys to pointers that remembers insertion order.
 * Keys are hashed with SipHash-2-4 under a random per-process key, so clients choosing
 * dict keys or object names cannot force collisions. */
#ifndef BROKER_HMAP_H
#define BROKER_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hmap_entry {
	struct hmap_entry *chain;       /* next in the same bucket */
	struct hmap_entry *prev, *next; /* insertion order */
	uint64_t hash;
	void *value;
	size_t klen;
	char key[]; /* klen bytes, then a NUL so text keys can be used as C strings */
} hmap_entry;

typedef struct hmap {
	hmap_entry **buckets;
	size_t nbuckets, count;
	hmap_entry *first, *last;
} hmap;

/* hmap_init: an empty map; allocates nothing until the first insert. */
void hmap_init(hmap *m);

/* hmap_fini: frees every entry, calling free_value (if not NULL) on each value. */
void hmap_fini(hmap *m, void (*free_value)(void *));

/* hmap_find: the entry for key, or NULL. */
hmap_entry *hmap_find(const hmap *m, const void *key, size_t klen);

/* hmap_get: the value for key, or NULL when absent. */
void *hmap_get(const hmap *m, const void *key, size_t klen);

/* hmap_insert: adds key -> value; key must not be present. Returns the new entry, or NULL
 * when out of memory (the map is unchanged). The key is copied. */
hmap_entry *hmap_insert(hmap *m, const void *key, size_t klen, void *value);

/* hmap_delete: removes and frees entry e (not its value). */
void hmap_delete(hmap *m, hmap_entry *e);

/* hmap_hash_seed: sets the SipHash key; tests use it to be repeatable. Call before any insert. */
void hmap_hash_seed(const uint8_t key[16]);

#endif
