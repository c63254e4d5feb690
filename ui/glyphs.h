/* glyphs.h: the characters the screen draws with, in UTF-8 or in an ASCII
 * fallback for terminals and locales that cannot show box drawing. */
#ifndef REHEARSE_GLYPHS_H
#define REHEARSE_GLYPHS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct glyphs {
	const char	*hline;
	const char	*vline;
	const char	*pass;		/* step verdicts */
	const char	*fail;
	const char	*degraded;
	const char	*skipped;
	const char	*running;
	const char	*pending;
	const char	*spark[8];	/* lowest to highest */
};

/* True when the current locale (after setlocale) encodes UTF-8. */
bool			 glyphs_locale_utf8(void);
const struct glyphs	*glyphs_get(bool utf8);
/* Appends a sparkline of the last width values of v[0..n), scaled between
 * their minimum and maximum; a flat series draws the lowest bar. */
void			 glyphs_sparkline(const struct glyphs *,
			     const double *v, size_t n, size_t width,
			     struct buf *out);

#endif
