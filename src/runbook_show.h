/* runbook_show.h: a runbook described in plain text for people (the
 * `rehearse lint --summary` output).  Every string from the file is escaped. */
#ifndef REHEARSE_RUNBOOK_SHOW_H
#define REHEARSE_RUNBOOK_SHOW_H

#include <stdio.h>

#include "runbook.h"

struct buf;

/* One line: "\"TITLE\", N steps, N routes, N rollbacks". */
void	 runbook_print_counts(const struct runbook *, FILE *);
/* Title, owner, targets, routes, rollbacks and the numbered steps. */
void	 runbook_print_summary(const struct runbook *, FILE *);
/* What a command is allowed beyond the default: " (sees $A, $B)" for the
 * secret variables it sees, " (keeps what it leaves running)". */
void	 runbook_cmd_extras(struct buf *, const struct rb_cmd *);

#endif
