/* keyset.h: Redis keys as binary strings: a set that tells whether a key was
 * seen (SCAN may return a key twice) and, when asked, keeps the keys in an
 * arena so that a purge deletes exactly the keys its preview counted. */
#ifndef REHEARSE_KEYSET_H
#define REHEARSE_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keyset {
	uint64_t	*slots;		/* 64-bit hashes; 0 marks a free slot */
	size_t		 cap;		/* power of two */
	size_t		 count;		/* distinct keys */
	bool		 keep;		/* store the keys themselves */
	char		*arena;		/* keys: 4-byte length, then bytes */
	size_t		 arena_len;
	size_t		 arena_cap;
};

void	 keyset_init(struct keyset *, bool keep);
void	 keyset_done(struct keyset *);
/* Adds a key; returns true when it was not there before. */
bool	 keyset_add(struct keyset *, const void *key, size_t len);

/* Iterating kept keys: pos starts at 0; returns false at the end. */
bool	 keyset_next(const struct keyset *, size_t *pos, const char **key,
	     size_t *len);

#endif
