/* audit_chain.c: see audit_chain.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "audit_chain.h"
#include "fileio.h"
#include "buf.h"
#include "textesc.h"
#include "xmalloc.h"

static void
to_hex(const unsigned char *md, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 0xf];
	}
	out[2 * len] = '\0';
}

/* SHA-256, fetched once: OpenSSL 3 would look the implementation up
 * again for every digest, a cost that shows on a backup of many keys. */
static const EVP_MD *
sha256(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	static EVP_MD *md;

	if (md == NULL && (md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		fatal("SHA-256 is not available");
	return md;
#else
	return EVP_sha256();
#endif
}

void
audit_hash(const struct audit_key *k, const void *data, size_t len,
    char out[AUDIT_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (k != NULL && k->len > 0) {
		if (HMAC(EVP_sha256(), k->bytes, (int)k->len, data, len, md,
		    &mdlen) == NULL)
			fatal("HMAC-SHA-256 failed");
	} else {
		/* One context for every digest: a backed-up purge hashes a
		 * line per key, and EVP_Digest allocates one each time. */
		static EVP_MD_CTX *ctx;

		if (ctx == NULL && (ctx = EVP_MD_CTX_new()) == NULL)
			fatal("out of memory for a SHA-256 context");
		if (!EVP_DigestInit_ex(ctx, sha256(), NULL) ||
		    !EVP_DigestUpdate(ctx, data, len) ||
		    !EVP_DigestFinal_ex(ctx, md, &mdlen))
			fatal("SHA-256 failed");
	}
	to_hex(md, 32, out);
}

void
audit_genesis(const struct audit_key *k, char out[AUDIT_HEX])
{
	static const char g[] = "rehearse-audit-genesis";

	if (k == NULL || k->len == 0) {
		memset(out, '0', 64);
		out[64] = '\0';
		return;
	}
	audit_hash(k, g, sizeof g - 1, out);
}

void
audit_key_id(const struct audit_key *k, char out[17])
{
	static const char id[] = "rehearse-audit-key-id";
	char full[AUDIT_HEX];

	audit_hash(k, id, sizeof id - 1, full);
	memcpy(out, full, 16);
	out[16] = '\0';
}

int
audit_key_load(struct audit_key *k, const char *path, char **cause)
{
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd;

	memset(k, 0, sizeof *k);
	/* A FIFO would block the open forever: refused without waiting. */
	if ((fd = open_regular(path, O_RDONLY, 0, cause)) < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		xasprintf(cause, "%s: cannot stat the key: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (st.st_mode & 0077) {
		xasprintf(cause, "%s: the key is readable by others (mode "
		    "%04o); chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	while (len < sizeof k->bytes) {
		n = read(fd, k->bytes + len, sizeof k->bytes - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > 0 && k->bytes[len - 1] == '\n')
		len--;
	if (len < AUDIT_KEY_MIN || len >= sizeof k->bytes) {
		xasprintf(cause, "%s: a key holds from %d to %d bytes, not %zu",
		    path, AUDIT_KEY_MIN, AUDIT_KEY_MAX - 1, len);
		memset(k, 0, sizeof *k);
		return -1;
	}
	k->len = len;
	return 0;
}

/* Appends the \u escape of cp, as a surrogate pair above U+FFFF. */
static void
json_u(struct buf *b, uint32_t cp)
{
	if (cp > 0xffff) {
		cp -= 0x10000;
		buf_addf(b, "\\u%04x\\u%04x", 0xd800 + (unsigned)(cp >> 10),
		    0xdc00 + (unsigned)(cp & 0x3ff));
	} else
		buf_addf(b, "\\u%04x", (unsigned)cp);
}

char *
audit_json_encode(const json_t *j)
{
	char *raw = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);
	const unsigned char *s = (const unsigned char *)raw;
	struct buf b;
	size_t i, n, len;
	uint32_t cp;

	if (raw == NULL)
		fatal("cannot encode an audit record");
	len = strlen(raw);
	buf_init(&b);
	buf_add(&b, "", 0);
	for (i = 0; i < len; i += n) {
		n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			fatal("jansson produced invalid UTF-8");
		/* jansson escapes C0; the rest of the unsafe set only occurs
		 * inside strings, where \u is always valid. */
		if (cp >= 0x20 && esc_is_unsafe_cp(cp))
			json_u(&b, cp);
		else
			buf_add(&b, s + i, n);
	}
	free(raw);
	return buf_detach(&b);
}

json_t *
audit_json_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	json_t *o;
	char *e;
	size_t i, n;
	uint32_t cp;

	for (i = 0; i < len; i += n) {
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0)
			break;
	}
	if (i >= len)
		return json_stringn(p, len);
	/* Not UTF-8: keep every byte, escaped.  esc_text leaves valid UTF-8
	 * text alone and writes \xHH for the rest; backslashes are doubled
	 * so the escaping can be undone. */
	e = esc_text(p, len, ESC_BACKSLASH | ESC_KEEP_TAB | ESC_KEEP_NL);
	o = json_pack("{s:s}", "bytes", e);
	free(e);
	return o;
}

bool
audit_line_split(const char *line, size_t len, size_t *body_len,
    const char **hash)
{
	size_t tag = sizeof AUDIT_HASH_TAG - 1, i;
	const char *h;

	if (len < AUDIT_HASH_TAIL + 1 || line[0] != '{')
		return false;
	h = line + len - AUDIT_HASH_TAIL;
	if (memcmp(h, AUDIT_HASH_TAG, tag) != 0 ||
	    memcmp(line + len - 2, "\"}", 2) != 0)
		return false;
	for (i = 0; i < 64; i++) {
		char c = h[tag + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	*body_len = len - AUDIT_HASH_TAIL;
	*hash = h + tag;
	return true;
}

void
audit_line_hash(const struct audit_key *k, const char *line, size_t body_len,
    char out[AUDIT_HEX])
{
	struct buf b;

	buf_init(&b);
	buf_add(&b, line, body_len);
	buf_addc(&b, '}');
	audit_hash(k, b.data, b.len, out);
	buf_free(&b);
}

void
audit_timestamp(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}
