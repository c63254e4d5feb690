/* record.h: the types of audit records, in one table: each type's name as
 * written, whether it is the intent or the result of an action (and which
 * type pairs with it), how a reader judges it (a failure, a warning) and
 * its one-line summary.  Writers name types with record_name(); readers
 * look names up with record_type_of().  man/rehearse-audit.5 is the
 * contract; a log may hold types this version does not know (readers
 * ignore them). */
#ifndef REHEARSE_RECORD_H
#define REHEARSE_RECORD_H

#include <stdbool.h>

#include <jansson.h>

#include "buf.h"

enum record_type {
	REC_UNKNOWN,			/* a name not in the table */
	REC_SESSION_START,
	REC_SESSION_RESUME,
	REC_SESSION_END,
	REC_INTENT_UNKNOWN,		/* an intent closed without result */
	REC_STEP_START,
	REC_STEP_RESULT,
	REC_HTTP_RESULT,
	REC_MEASURE_RESULT,
	REC_WAIT_RESULT,
	REC_PURGE_PREVIEW,
	REC_PURGE_INTENT,
	REC_PURGE_DONE,
	REC_RUN_INTENT,
	REC_RUN_DONE,
	REC_ROLLBACK_CHECK_INTENT,
	REC_ROLLBACK_CHECK_RESULT,
	REC_ROLLBACK_INTENT,
	REC_ROLLBACK_DONE,
	REC_RESTORE_INTENT,
	REC_RESTORE_DONE,
	REC_MANUAL,
	REC_NOTE,
	REC_REDIS_MASTER,		/* Sentinel: the master's address */
	REC_NTYPES
};

/* How a reader judges a record (record_judge()). */
#define RECORD_FAIL	0x01	/* a failure: verdict fail, exit != 0... */
#define RECORD_WARN	0x02	/* degraded, skipped, outcome unknown */

#define RECORD_INTENT	0x01	/* written (and synced) before an action */
#define RECORD_RESULT	0x02	/* carries data.intent: the seq it closes */

struct record_info {
	enum record_type type;
	const char	*name;
	unsigned	 role;		/* RECORD_INTENT, RECORD_RESULT or 0 */
	enum record_type pair;		/* the intent's result, the result's
					   intent; REC_UNKNOWN: none */
	/* RECORD_FAIL or RECORD_WARN from the record's data; NULL: 0. */
	unsigned	(*judge)(json_t *data);
	/* Appends the summary, escaped; NULL: the default one. */
	void		(*summary)(struct buf *, json_t *rec);
};

/* The table entry of a type (REC_UNKNOWN's for a name not in it). */
const struct record_info *record_info(enum record_type);
/* The name of a type as written ("step.result"). */
const char	*record_name(enum record_type);
/* The type of a name; REC_UNKNOWN for NULL or one not in the table. */
enum record_type record_type_of(const char *name);
/* Whether a name is an intent: in the table as one, or an unknown name
 * ending in ".intent" (later versions may add kinds). */
bool		 record_is_intent(const char *name);
/* RECORD_FAIL / RECORD_WARN for a parsed record (an object). */
unsigned	 record_judge(json_t *rec);
/* Appends the one-line summary of a parsed record, escaped for a
 * terminal, to b. */
void		 record_summary(struct buf *b, json_t *rec);

#endif
