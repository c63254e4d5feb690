/* textesc.c: see textesc.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "textesc.h"
#include "xmalloc.h"

size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;	/* continuation byte, 0xc0, 0xc1, 0xf5.. */
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000))
		return 0;	/* overlong */
	if (c >= 0xd800 && c <= 0xdfff)
		return 0;	/* surrogate */
	if (c > 0x10ffff)
		return 0;
	*cp = c;
	return len;
}

bool
esc_is_unsafe_cp(uint32_t cp)
{
	if (cp < 0x20 || cp == 0x7f)
		return true;			/* C0, DEL */
	if (cp >= 0x80 && cp <= 0x9f)
		return true;			/* C1, CSI among them */
	switch (cp) {
	case 0x00ad:				/* soft hyphen */
	case 0x061c:				/* Arabic letter mark */
	case 0x180e:				/* Mongolian vowel separator */
	case 0x2028: case 0x2029:		/* line and paragraph separators */
	case 0xfeff:				/* zero-width no-break space, BOM */
		return true;
	}
	if (cp >= 0x200b && cp <= 0x200f)	/* zero width, LRM, RLM */
		return true;
	if (cp >= 0x202a && cp <= 0x202e)	/* bidi embeddings, overrides */
		return true;
	if (cp >= 0x2060 && cp <= 0x206f)	/* word joiner, bidi isolates */
		return true;
	if (cp >= 0xfff9 && cp <= 0xfffb)	/* interlinear annotations */
		return true;
	if (cp >= 0xe0000 && cp <= 0xe007f)	/* tag characters */
		return true;
	return false;
}

static void
esc_cp(struct buf *b, uint32_t cp)
{
	if (cp <= 0xffff)
		buf_addf(b, "\\u%04x", (unsigned)cp);
	else
		buf_addf(b, "\\U%08x", (unsigned)cp);
}

void
esc_append(struct buf *b, const void *p, size_t len, int flags)
{
	const unsigned char *s = p;
	size_t i = 0, n, run = 0;
	uint32_t cp;

	while (i < len) {
		n = utf8_decode(s + i, len - i, &cp);
		if (n == 1 && cp >= 0x20 && cp != 0x7f && cp != '\\') {
			i++;
			run++;
			continue;
		}
		if (n > 1 && !esc_is_unsafe_cp(cp) && (~flags & ESC_ASCII)) {
			i += n;
			run += n;
			continue;
		}
		/* Flush the clean run before the character that needs care. */
		buf_add(b, s + i - run, run);
		run = 0;
		if (n == 0) {
			buf_addf(b, "\\x%02x", s[i]);
			i++;
			continue;
		}
		i += n;
		if (cp == '\\') {
			buf_adds(b, (flags & ESC_BACKSLASH) ? "\\\\" : "\\");
		} else if (cp == '\t') {
			buf_adds(b, (flags & ESC_KEEP_TAB) ? "\t" : "\\t");
		} else if (cp == '\n') {
			buf_adds(b, (flags & ESC_KEEP_NL) ? "\n" : "\\n");
		} else if (cp == '\r') {
			buf_adds(b, "\\r");
		} else if (cp < 0x20 || cp == 0x7f) {
			buf_addf(b, "\\x%02x", (unsigned)cp);
		} else
			esc_cp(b, cp);
	}
	buf_add(b, s + i - run, run);
}

char *
esc_text(const void *s, size_t len, int flags)
{
	struct buf b;

	buf_init(&b);
	buf_add(&b, "", 0);
	esc_append(&b, s, len, flags);
	return buf_detach(&b);
}

char *
esc_str(const char *s, int flags)
{
	return esc_text(s, strlen(s), flags);
}

bool
esc_is_clean(const void *p, size_t len, int flags)
{
	char *e = esc_text(p, len, flags);
	bool clean = strlen(e) == len && memcmp(e, p, len) == 0;

	free(e);
	return clean;
}
