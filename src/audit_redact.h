/* audit_redact.h: what an audit log must never hold.  A redactor knows the
 * secrets of a session (values from the environment and files the runbook
 * names, and their base64 forms) and scrubs them from free text; a copy of
 * a record's data made through it also hides members whose names say they
 * are secret (cookie, authorization, *password*...).  Members rehearse
 * itself decides (types, verdicts, kinds, ids, hashes, counts) are kept as
 * they are: readers depend on them. */
#ifndef REHEARSE_AUDIT_REDACT_H
#define REHEARSE_AUDIT_REDACT_H

#include <stddef.h>

#include <jansson.h>

struct secret;

struct redactor {
	struct secret	*secrets;
	size_t		 nsecrets;
};

/* Registers a secret (nothing for NULL or ""; once per value). */
void	 redactor_add(struct redactor *, const char *value);
void	 redactor_free(struct redactor *);
/* s with every secret replaced by [redacted]; NULL when none was in it.
 * Secrets under 4 bytes are replaced only as the whole text. */
char	*redactor_scrub(const struct redactor *, const char *s, size_t len);
/* A redacted deep copy of j (a new reference). */
json_t	*redactor_copy(const struct redactor *, json_t *j);

#endif
