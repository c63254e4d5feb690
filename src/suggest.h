/* suggest.h: "did you mean" hints for misspelt names. */
#ifndef REHEARSE_SUGGEST_H
#define REHEARSE_SUGGEST_H

#include <stddef.h>

/* Optimal-string-alignment distance between a and b (bytes), capped at 100. */
size_t		 edit_distance(const char *a, const char *b);
/* The candidate (NULL-terminated list) closest to word, if close enough to
 * be a likely typo; otherwise NULL. */
const char	*suggest(const char *word, const char *const *candidates);

#endif
