/* fuzz_textesc.c: the text sanitiser that every untrusted string passes
 * through before it reaches a terminal.  The first input byte picks the
 * flags, the rest is the text.  Checked against textesc.h: the output is
 * inert, esc_is_clean() tells when it is the input itself, ESC_ASCII output
 * is ASCII, ESC_BACKSLASH output can be read back to the input, and
 * utf8_decode() takes exactly the well-formed sequences of Unicode's
 * table 3-7. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "textesc.h"

/* Unicode 15, table 3-7, written out independently of utf8_decode():
 * the length of the well-formed sequence at s, or 0. */
static size_t
ref_decode(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] <= 0x7f)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return len;
}

static size_t
encode(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Reads n lower-case hex digits at s; -1 when they are not. */
static long
hex(const char *s, size_t avail, size_t n)
{
	long v = 0;
	size_t i;

	if (avail < n)
		return -1;
	for (i = 0; i < n; i++) {
		if (hexval((unsigned char)s[i]) < 0)
			return -1;
		v = v * 16 + hexval((unsigned char)s[i]);
	}
	return v;
}

/* Undoes ESC_BACKSLASH escaping into b; false when e is not such text. */
static bool
unescape(struct buf *b, const char *e, size_t len)
{
	unsigned char u[4];
	size_t i = 0;
	long v;

	while (i < len) {
		if (e[i] != '\\') {
			buf_addc(b, e[i++]);
			continue;
		}
		if (++i == len)
			return false;
		switch (e[i++]) {
		case '\\':
			buf_addc(b, '\\');
			break;
		case 'n':
			buf_addc(b, '\n');
			break;
		case 'r':
			buf_addc(b, '\r');
			break;
		case 't':
			buf_addc(b, '\t');
			break;
		case 'x':
			if ((v = hex(e + i, len - i, 2)) < 0)
				return false;
			buf_addc(b, (char)v);
			i += 2;
			break;
		case 'u':
			if ((v = hex(e + i, len - i, 4)) < 0)
				return false;
			buf_add(b, u, encode((uint32_t)v, u));
			i += 4;
			break;
		case 'U':
			if ((v = hex(e + i, len - i, 8)) < 0 || v > 0x10ffff)
				return false;
			buf_add(b, u, encode((uint32_t)v, u));
			i += 8;
			break;
		default:
			return false;
		}
	}
	return true;
}

static void
check_decode(const unsigned char *s, size_t n)
{
	unsigned char u[4];
	uint32_t cp;
	size_t i = 0, k, r;

	while (i < n) {
		cp = 0xffffffff;
		k = utf8_decode(s + i, n - i, &cp);
		r = ref_decode(s + i, n - i);
		FUZZ_CHECK(k == r);
		if (k == 0) {
			i++;
			continue;
		}
		FUZZ_CHECK(cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff));
		FUZZ_CHECK(encode(cp, u) == k && memcmp(u, s + i, k) == 0);
		i += k;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;
	size_t len, elen, i;
	struct buf b, r;
	const char *z;
	char *e, *s, *t;
	int flags, inert;
	bool clean;

	if (size == 0)
		return 0;
	flags = data[0] & 0xf;
	len = size - 1;
	check_decode(data + 1, len);

	e = esc_text(in, len, flags);
	elen = strlen(e);
	inert = ((flags & ESC_KEEP_NL) ? INERT_NL : 0) |
	    ((flags & ESC_KEEP_TAB) ? INERT_TAB : 0);
	fuzz_check_inert("esc_text", e, elen, inert);
	if (flags & ESC_ASCII) {
		for (i = 0; i < elen; i++)
			FUZZ_CHECK((unsigned char)e[i] < 0x80);
	}

	/* esc_append after something already there gives the same text. */
	buf_init(&b);
	buf_adds(&b, "prefix ");
	esc_append(&b, in, len, flags);
	FUZZ_CHECK(b.len == 7 + elen && memcmp(b.data + 7, e, elen) == 0);
	FUZZ_CHECK(b.data[b.len] == '\0');
	buf_free(&b);

	clean = esc_is_clean(in, len, flags);
	FUZZ_CHECK(clean == (elen == len && memcmp(e, in, len) == 0));
	/* Clean text is printable: no NUL, no backslash when escaping it. */
	if (clean) {
		FUZZ_CHECK(memchr(in, '\0', len) == NULL);
		if (flags & ESC_BACKSLASH)
			FUZZ_CHECK(memchr(in, '\\', len) == NULL);
	}

	/* ESC_BACKSLASH: reversible. */
	if (flags & ESC_BACKSLASH) {
		buf_init(&r);
		buf_add(&r, "", 0);
		FUZZ_CHECK(unescape(&r, e, elen));
		FUZZ_CHECK(r.len == len && memcmp(r.data, in, len) == 0);
		buf_free(&r);
	}

	/* esc_str stops at the first NUL. */
	if ((z = memchr(in, '\0', len)) != NULL) {
		s = esc_str(in, flags);
		t = esc_text(in, (size_t)(z - in), flags);
		FUZZ_CHECK(strcmp(s, t) == 0);
		free(t);
		free(s);
	}
	free(e);
	return 0;
}
