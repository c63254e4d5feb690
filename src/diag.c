/* diag.c: see diag.h. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>

#include "diag.h"
#include "textesc.h"
#include "xmalloc.h"

void
diags_init(struct diags *d)
{
	d->v = NULL;
	d->n = d->cap = 0;
	d->nerrors = d->nwarnings = d->dropped = 0;
}

void
diags_done(struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	diags_init(d);
}

void
diag_add(struct diags *d, enum diag_level level, unsigned line, unsigned col,
    const char *fmt, ...)
{
	va_list ap;
	struct diag *g;
	char *raw;

	if (level == DIAG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
	if (d->n >= DIAG_MAX) {
		d->dropped++;
		return;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = xreallocarray(d->v, d->cap, sizeof *d->v);
	}
	g = &d->v[d->n++];
	g->level = level;
	g->line = line;
	g->col = col;
	va_start(ap, fmt);
	xvasprintf(&raw, fmt, ap);
	va_end(ap);
	/* Messages quote names from the file: whatever a caller forgot to
	 * escape, a diagnostic never carries a control character. */
	g->msg = esc_str(raw, 0);
	free(raw);
}

static int
diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return 0;
}

void
diags_sort(struct diags *d)
{
	size_t i, j;
	struct diag t;

	/* Insertion sort: stable, and n is at most DIAG_MAX. */
	for (i = 1; i < d->n; i++) {
		t = d->v[i];
		for (j = i; j > 0 && diag_cmp(&d->v[j - 1], &t) > 0; j--)
			d->v[j] = d->v[j - 1];
		d->v[j] = t;
	}
}

void
diags_print(const struct diags *d, const char *file, FILE *f)
{
	const struct diag *g;
	char *name = esc_str(file, ESC_BACKSLASH);
	size_t i;

	for (i = 0; i < d->n; i++) {
		g = &d->v[i];
		if (g->line == 0)
			fprintf(f, "%s: ", name);
		else
			fprintf(f, "%s:%u:%u: ", name, g->line, g->col);
		fprintf(f, "%s: %s\n",
		    g->level == DIAG_ERROR ? "error" : "warning", g->msg);
	}
	if (d->dropped > 0)
		fprintf(f, "%s: %zu more diagnostics not shown\n", name,
		    d->dropped);
	free(name);
}
