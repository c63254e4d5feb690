/* audit_redact.c: what the audit log must never hold: the registered
 * secrets (and their base64 forms) scrubbed from free text, and members
 * whose names say they are secret; see audit_redact.h. */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit_redact.h"
#include "buf.h"
#include "xmalloc.h"

#define REDACTED "[redacted]"

/* A secret and the encoded forms it may take in text. */
struct secret {
	char		*value;
	size_t		 len;
	char		**forms;	/* base64 forms, matched as they are */
	size_t		 nforms;
};

static void
add_form(struct secret *x, const char *f, size_t len)
{
	size_t i;

	/* Shorter fragments would match text by chance. */
	if (len < 6)
		return;
	for (i = 0; i < x->nforms; i++)
		if (strlen(x->forms[i]) == len && memcmp(x->forms[i], f, len) == 0)
			return;
	x->forms = xreallocarray(x->forms, x->nforms + 1, sizeof *x->forms);
	x->forms[x->nforms++] = xstrndup(f, len);
}

/* f and its URL-safe twin (- and _ for + and /), each with and without
 * the padding it ends with. */
static void
add_b64(struct secret *x, const char *f, size_t len)
{
	char *u = xstrndup(f, len);
	size_t i, bare = len;

	for (i = 0; i < len; i++)
		u[i] = u[i] == '+' ? '-' : u[i] == '/' ? '_' : u[i];
	while (bare > 0 && f[bare - 1] == '=')
		bare--;
	add_form(x, f, len);
	add_form(x, f, bare);
	add_form(x, u, len);
	add_form(x, u, bare);
	explicit_bzero(u, len);
	free(u);
}

/* The base64 forms of x->value: the whole value encoded alone, and, for
 * each of the three alignments it can have inside a longer encoded text,
 * the run of characters that only its own bytes decide. */
static void
secret_forms(struct secret *x)
{
	size_t o, n, enc, first, last, k;
	unsigned char *in;
	char *out;

	if (x->len < 4 || x->len > 4096)
		return;
	in = xcalloc(x->len + 4, 1);
	out = xmalloc(4 * ((x->len + 4 + 2) / 3) + 1);
	for (o = 0; o < 3; o++) {
		memset(in, 0, x->len + 4);
		memcpy(in + o, x->value, x->len);
		n = o == 0 ? x->len : o + x->len + 2;
		enc = (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
		if (o == 0) {
			add_b64(x, out, enc);	/* the whole value, padded */
			continue;
		}
		/* Character k holds bits 6k to 6k+5 of the stream: it is the
		 * value's alone when they all fall in bytes o to o+len-1. */
		first = (8 * o + 5) / 6;
		last = (8 * (o + x->len)) / 6;	/* one past */
		k = last < enc ? last : enc;
		if (k > first)
			add_b64(x, out + first, k - first);
	}
	/* Alignment 0 inside a longer text: the full groups and the bits of
	 * a partial one that are the value's. */
	enc = (size_t)EVP_EncodeBlock((unsigned char *)out, (unsigned char *)
	    x->value, (int)x->len);
	add_b64(x, out, (8 * x->len) / 6);
	explicit_bzero(in, x->len + 4);
	explicit_bzero(out, enc);
	free(in);
	free(out);
}

void
redactor_add(struct redactor *a, const char *value)
{
	struct secret *x;
	size_t i;

	if (value == NULL || *value == '\0')
		return;
	for (i = 0; i < a->nsecrets; i++)
		if (strcmp(a->secrets[i].value, value) == 0)
			return;
	a->secrets = xreallocarray(a->secrets, a->nsecrets + 1,
	    sizeof *a->secrets);
	x = &a->secrets[a->nsecrets++];
	memset(x, 0, sizeof *x);
	x->value = xstrdup(value);
	x->len = strlen(value);
	secret_forms(x);
}

static void
secret_free(struct secret *x)
{
	size_t i;

	for (i = 0; i < x->nforms; i++) {
		explicit_bzero(x->forms[i], strlen(x->forms[i]));
		free(x->forms[i]);
	}
	free(x->forms);
	explicit_bzero(x->value, x->len);
	free(x->value);
}

/* Redaction ---------------------------------------------------------------- */

/* Object keys whose values are secrets whatever they hold. */
static bool
secret_key(const char *k)
{
	static const char *const exact[] = { "cookie", "set-cookie",
	    "authorization", "proxy-authorization", "x-api-key", "api_key",
	    "apikey", "auth", NULL };
	static const char *const parts[] = { "password", "passwd", "secret",
	    "token", NULL };
	char low[64];
	size_t i, n = strlen(k);

	if (n >= sizeof low)
		n = sizeof low - 1;
	for (i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)k[i]);
	low[n] = '\0';
	if (n > 4 && strcmp(low + n - 4, "_env") == 0)
		return false;	/* names a variable; the value is redacted */
	for (i = 0; exact[i] != NULL; i++)
		if (strcmp(low, exact[i]) == 0)
			return true;
	for (i = 0; parts[i] != NULL; i++)
		if (strstr(low, parts[i]) != NULL)
			return true;
	return false;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The length of the text at s (len bytes) that spells x->value, each byte
 * as itself or URL-encoded (%XX in either case, + for a space), or 0. */
static size_t
match_at(const char *s, size_t len, const struct secret *x)
{
	size_t i, j = 0;
	int hi, lo;

	for (i = 0; i < x->len; i++) {
		if (j >= len)
			return 0;
		if (s[j] == x->value[i]) {
			j++;
			continue;
		}
		if (s[j] == '+' && x->value[i] == ' ') {
			j++;
			continue;
		}
		if (s[j] == '%' && j + 2 < len &&
		    (hi = hexval((unsigned char)s[j + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[j + 2])) >= 0 &&
		    (char)(hi * 16 + lo) == x->value[i]) {
			j += 3;
			continue;
		}
		return 0;
	}
	return j;
}

/* The first place in s where x appears, in any of its forms, and its
 * length there (the longest form at that place). */
static const char *
find_secret(const char *s, size_t len, const struct secret *x, size_t *mlen)
{
	const char *best = NULL, *hit;
	size_t i, m, flen, room;
	unsigned char c0 = (unsigned char)x->value[0];

	*mlen = 0;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] != c0 && s[i] != '%' &&
		    !(s[i] == '+' && c0 == ' '))
			continue;
		if ((m = match_at(s + i, len - i, x)) > 0) {
			best = s + i;
			*mlen = m;
			break;
		}
	}
	for (i = 0; i < x->nforms; i++) {
		flen = strlen(x->forms[i]);
		/* Only a form that starts no later than the best so far. */
		room = best != NULL ? (size_t)(best - s) + flen : len;
		hit = memmem(s, room < len ? room : len, x->forms[i], flen);
		if (hit != NULL && (best == NULL || hit < best ||
		    (hit == best && flen > *mlen))) {
			best = hit;
			*mlen = flen;
		}
	}
	return best;
}

/* s with every registered secret replaced; NULL when there was none.  The
 * next place of each secret is remembered and searched again only once the
 * scan has passed it, so that a text with many hits costs one pass per
 * secret, not one per hit. */
char *
redactor_scrub(const struct redactor *a, const char *s, size_t len)
{
	struct buf b;
	const char *p, *best, **next;
	size_t i, *nlen, bestlen;
	bool changed = false, *done;

	if (a->nsecrets == 0)
		return NULL;
	next = xcalloc(a->nsecrets, sizeof *next);
	nlen = xcalloc(a->nsecrets, sizeof *nlen);
	done = xcalloc(a->nsecrets, sizeof *done);
	buf_init(&b);
	buf_add(&b, "", 0);
	p = s;
	for (;;) {
		best = NULL;
		bestlen = 0;
		for (i = 0; i < a->nsecrets; i++) {
			const struct secret *x = &a->secrets[i];

			/* Short secrets only as a whole value: replacing every
			 * "ab" in a log would make it unreadable. */
			if (x->len < 4) {
				if (p == s && len == x->len &&
				    memcmp(s, x->value, x->len) == 0) {
					best = s;
					bestlen = x->len;
				}
				continue;
			}
			if (done[i])
				continue;
			if (next[i] == NULL || next[i] < p) {
				next[i] = find_secret(p, len - (size_t)(p - s), x,
				    &nlen[i]);
				if (next[i] == NULL) {
					done[i] = true;
					continue;
				}
			}
			if (best == NULL || next[i] < best ||
			    (next[i] == best && nlen[i] > bestlen)) {
				best = next[i];
				bestlen = nlen[i];
			}
		}
		if (best == NULL)
			break;
		buf_add(&b, p, (size_t)(best - p));
		buf_adds(&b, REDACTED);
		p = best + bestlen;
		changed = true;
	}
	free(next);
	free(nlen);
	free(done);
	if (!changed) {
		buf_free(&b);
		return NULL;
	}
	buf_add(&b, p, len - (size_t)(p - s));
	return buf_detach(&b);
}

/*
 * The names of the members rehearse writes in data.  A key that is one of
 * them is never rewritten (readers look members up by name).  A member
 * marked own holds what rehearse itself decided (a type, a verdict, a
 * kind, a state, an id or name the runbook gives, a hash, a number): its
 * value is never scrubbed either, so that a secret that happens to be
 * "pass" or "run" cannot turn a verdict into [redacted].  Everything else
 * is free text (command output, observed values, errors, header values,
 * notes) and is scrubbed; so is any member not listed here.  Keep sorted.
 */
static const struct field {
	const char	*name;
	bool		 own;
} fields[] = {
	{ "after", true }, { "backed_up", true }, { "backup", false },
	{ "bytes", false }, { "cache", false }, { "checks", false },
	{ "cols", true }, { "command", false }, { "compare", false },
	{ "connect_ms", true }, { "d_p50_ms", true }, { "d_p95_ms", true },
	{ "deleted", true }, { "dir", false }, { "dns_ms", true },
	{ "environment", false }, { "error", false }, { "errors", true },
	{ "existed", true }, { "exit", true }, { "expected", false },
	{ "expired", true }, { "first_error", false }, { "format", true },
	{ "gone", true }, { "hit", true }, { "hit_after", true },
	{ "hit_before", true }, { "hostname", false }, { "in_doubt", true },
	{ "intent", true }, { "key_id", true }, { "killed", true },
	{ "kind", true }, { "left_running", true }, { "lines", true },
	{ "max_keys", true }, { "max_ms", true }, { "min_ms", true },
	{ "miss", true }, { "ms", true }, { "note", false },
	{ "observed", false }, { "ok", true }, { "open_intents", true },
	{ "other", true }, { "output", false }, { "output_held", true },
	{ "over_limit", true }, { "owner", false }, { "p50_ms", true },
	{ "p95_ms", true }, { "path", false }, { "patterns", false },
	{ "pid", true }, { "previewed", true }, { "previous", true },
	{ "probes", true }, { "profile", true }, { "reason", false },
	{ "records", true }, { "refused", false }, { "replace", true },
	{ "restored", true }, { "rollback", true }, { "route", true },
	{ "rows", true }, { "runbook", false }, { "sample", false },
	{ "samples", true }, { "sealed", true }, { "server_ms", true },
	{ "sha256", true }, { "shell", true }, { "signal", true },
	{ "size", true }, { "state", true }, { "status", true },
	{ "stopped", true }, { "terminal", false }, { "text", false },
	{ "timed_out", true }, { "timeout_s", true }, { "title", false },
	{ "tls_ms", true }, { "torn_bytes", true }, { "total_ms", true },
	{ "transfer_ms", true }, { "truncated", true }, { "type", true },
	{ "url", false }, { "verdict", true }, { "version", true },
	{ "what", false }, { "with", true },
};

static int
field_cmp(const void *k, const void *f)
{
	return strcmp(k, ((const struct field *)f)->name);
}

static const struct field *
field_named(const char *k)
{
	return bsearch(k, fields, sizeof fields / sizeof fields[0],
	    sizeof fields[0], field_cmp);
}

/* Returns a redacted deep copy of j. */
json_t *
redactor_copy(const struct redactor *a, json_t *j)
{
	const struct field *f;
	json_t *out, *v;
	const char *k;
	char *s;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		out = json_object();
		json_object_foreach(j, k, v) {
			if ((f = field_named(k)) != NULL) {
				json_object_set_new(out, k, f->own &&
				    !json_is_object(v) && !json_is_array(v) ?
				    json_incref(v) : redactor_copy(a, v));
				continue;
			}
			s = redactor_scrub(a, k, strlen(k));
			/* Two keys redacted alike must not overwrite each other. */
			for (i = 2; s != NULL && json_object_get(out, s); i++) {
				char *t = xprintf("%s#%zu", REDACTED, i);
				free(s);
				s = t;
			}
			if (secret_key(k) && !json_is_null(v))
				json_object_set_new(out, s ? s : k,
				    json_string(REDACTED));
			else
				json_object_set_new(out, s ? s : k,
				    redactor_copy(a, v));
			free(s);
		}
		return out;
	case JSON_ARRAY:
		out = json_array();
		json_array_foreach(j, i, v)
			json_array_append_new(out, redactor_copy(a, v));
		return out;
	case JSON_STRING:
		s = redactor_scrub(a, json_string_value(j), json_string_length(j));
		if (s == NULL)
			return json_incref(j);
		out = json_string(s);
		free(s);
		return out;
	default:
		return json_incref(j);
	}
}

void
redactor_free(struct redactor *a)
{
	size_t i;

	for (i = 0; i < a->nsecrets; i++)
		secret_free(&a->secrets[i]);
	free(a->secrets);
	a->secrets = NULL;
	a->nsecrets = 0;
}
