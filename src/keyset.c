/* keyset.c: see keyset.h.  Keys are told apart by a 64-bit hash: the chance
 * that two of ten million keys collide is about one in three hundred
 * thousand, and a collision only makes a count one short. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "keyset.h"
#include "xmalloc.h"

static uint64_t
key_hash(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ len;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	/* splitmix64 finaliser: spreads FNV's weak high bits. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h != 0 ? h : 1;
}

void
keyset_init(struct keyset *k, bool keep)
{
	memset(k, 0, sizeof *k);
	k->keep = keep;
}

void
keyset_done(struct keyset *k)
{
	free(k->slots);
	free(k->arena);
	memset(k, 0, sizeof *k);
}

static bool
slot_insert(uint64_t *slots, size_t cap, uint64_t h)
{
	size_t i = (size_t)h & (cap - 1);

	while (slots[i] != 0) {
		if (slots[i] == h)
			return false;
		i = (i + 1) & (cap - 1);
	}
	slots[i] = h;
	return true;
}

bool
keyset_add(struct keyset *k, const void *key, size_t len)
{
	uint64_t h = key_hash(key, len), *old;
	size_t oldcap, i;
	uint32_t l32;

	if ((k->count + 1) * 2 > k->cap) {
		old = k->slots;
		oldcap = k->cap;
		k->cap = oldcap ? oldcap * 2 : 1024;
		k->slots = xcalloc(k->cap, sizeof *k->slots);
		for (i = 0; i < oldcap; i++)
			if (old[i] != 0)
				slot_insert(k->slots, k->cap, old[i]);
		free(old);
	}
	if (!slot_insert(k->slots, k->cap, h))
		return false;
	k->count++;
	if (k->keep) {
		if (len > UINT32_MAX)
			fatal("a Redis key longer than 4 GiB");
		while (k->arena_len + 4 + len > k->arena_cap) {
			k->arena_cap = k->arena_cap ? k->arena_cap * 2 : 65536;
			k->arena = xrealloc(k->arena, k->arena_cap);
		}
		l32 = (uint32_t)len;
		memcpy(k->arena + k->arena_len, &l32, 4);
		memcpy(k->arena + k->arena_len + 4, key, len);
		k->arena_len += 4 + len;
	}
	return true;
}

bool
keyset_next(const struct keyset *k, size_t *pos, const char **key,
    size_t *len)
{
	uint32_t l32;

	if (*pos + 4 > k->arena_len)
		return false;
	memcpy(&l32, k->arena + *pos, 4);
	*key = k->arena + *pos + 4;
	*len = l32;
	*pos += 4 + l32;
	return true;
}
