/* suggest.c: see suggest.h. */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "suggest.h"

#define MAXLEN 100

size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, cost, best;
	static size_t d[MAXLEN + 1][MAXLEN + 1];

	if (la > MAXLEN || lb > MAXLEN)
		return MAXLEN;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			cost = a[i - 1] == b[j - 1] ? 0 : 1;
			best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

const char *
suggest(const char *word, const char *const *cands)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1, dist, limit, len = strlen(word);
	size_t i;

	if (len == 0)
		return NULL;
	limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
	for (i = 0; cands[i] != NULL; i++) {
		if (strcasecmp(word, cands[i]) == 0)
			return cands[i];
		dist = edit_distance(word, cands[i]);
		if (dist < bestd) {
			bestd = dist;
			best = cands[i];
		}
	}
	/* A word that is a prefix of a candidate ("time" for "timeout_s"). */
	if (bestd > limit) {
		for (i = 0; cands[i] != NULL; i++) {
			if (len >= 3 && strncasecmp(word, cands[i], len) == 0)
				return cands[i];
		}
	}
	return bestd <= limit ? best : NULL;
}
