/* glyphs.c: see glyphs.h. */
#include "config.h"

#include <langinfo.h>
#include <string.h>
#include <strings.h>

#include "glyphs.h"

static const struct glyphs utf8_glyphs = {
	"\u2500", "\u2502", "\u2714", "\u2718", "\u25b2", "\u2013", "\u25b6",
	"\u00b7",
	{ "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586",
	  "\u2587", "\u2588" },
};

static const struct glyphs ascii_glyphs = {
	"-", "|", "+", "x", "!", "-", ">", ".",
	{ "_", ".", ",", "-", "~", "=", "*", "#" },
};

bool
glyphs_locale_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);

	return cs != NULL && (strcasecmp(cs, "UTF-8") == 0 ||
	    strcasecmp(cs, "utf8") == 0);
}

const struct glyphs *
glyphs_get(bool utf8)
{
	return utf8 ? &utf8_glyphs : &ascii_glyphs;
}

void
glyphs_sparkline(const struct glyphs *g, const double *v, size_t n,
    size_t width, struct buf *out)
{
	size_t first = n > width ? n - width : 0, i, level;
	double lo, hi;

	if (n == 0)
		return;
	lo = hi = v[first];
	for (i = first; i < n; i++) {
		if (v[i] < lo)
			lo = v[i];
		if (v[i] > hi)
			hi = v[i];
	}
	for (i = first; i < n; i++) {
		level = hi > lo ? (size_t)((v[i] - lo) / (hi - lo) * 7.0 + 0.5) :
		    0;
		if (level > 7)
			level = 7;
		buf_adds(out, g->spark[level]);
	}
}
