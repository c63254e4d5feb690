/* audit_chain.h: what the audit writer and reader share: the hash chain
 * (SHA-256, or HMAC-SHA-256 for sealed logs), the record framing and the
 * JSON encoding that is safe to cat.  man/rehearse-audit.5 is the contract. */
#ifndef REHEARSE_AUDIT_CHAIN_H
#define REHEARSE_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define AUDIT_FORMAT		1
#define AUDIT_HEX		65		/* 64 hex digits and a NUL */
#define AUDIT_MAX_LINE		(1024 * 1024)	/* longest record, bytes */
#define AUDIT_KEY_MIN		16
#define AUDIT_KEY_MAX		4096
/* A record ends with this, then 64 hex digits and "}. */
#define AUDIT_HASH_TAG		",\"hash\":\""
#define AUDIT_HASH_TAIL		(sizeof AUDIT_HASH_TAG - 1 + 64 + 2)

struct audit_key {
	unsigned char	 bytes[AUDIT_KEY_MAX];
	size_t		 len;		/* 0: not sealed, plain SHA-256 */
};

/* Reads a key file (its bytes, less one trailing newline).  Returns 0, or
 * -1 with *cause set (caller frees). */
int	 audit_key_load(struct audit_key *, const char *path, char **cause);
/* hex of SHA-256(data), or of HMAC-SHA-256(key, data) when key->len > 0. */
void	 audit_hash(const struct audit_key *, const void *data, size_t len,
	     char out[AUDIT_HEX]);
/* The prev of the first record: 64 zeros, or HMAC(key, "rehearse-audit-genesis"). */
void	 audit_genesis(const struct audit_key *, char out[AUDIT_HEX]);
/* A short public name of a key, so that a wrong key can be told from an
 * edited log: 16 hex digits of HMAC(key, "rehearse-audit-key-id"). */
void	 audit_key_id(const struct audit_key *, char out[17]);

/* Serialises a record object compactly and escapes, inside strings, every
 * character that could drive a terminal (C1, bidi and format controls, DEL)
 * as \uXXXX.  Returns a new string. */
char	*audit_json_encode(const json_t *);
/* A JSON value for bytes that may not be UTF-8: a string when they are
 * valid UTF-8, otherwise {"bytes": ESCAPED} with \\ and \xHH escapes. */
json_t	*audit_json_bytes(const void *, size_t);

/* Checks the framing of one line (without its newline): it must end with
 * ,"hash":"<64 hex>"}.  On success *body_len is the length of the part
 * before ,"hash" and hash points at the 64 hex digits. */
bool	 audit_line_split(const char *line, size_t len, size_t *body_len,
	     const char **hash);
/* The hash a line claims must equal this: the hash of the line's body
 * followed by "}". */
void	 audit_line_hash(const struct audit_key *, const char *line,
	     size_t body_len, char out[AUDIT_HEX]);

/* "2026-11-26T07:41:03.512Z" for now; out holds at least 32 bytes. */
void	 audit_timestamp(char *out, size_t len);

#endif
