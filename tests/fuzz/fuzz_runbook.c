/* fuzz_runbook.c: the runbook loader (libyaml, the tree with its limits, the
 * schema) on untrusted bytes, then everything that prints what it loaded:
 * the diagnostics (they quote the file) and lint --summary.  A runbook is
 * data from a repository that anyone may have edited. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "fuzz.h"
#include "runbook.h"
#include "runbook_show.h"
#include "xmalloc.h"

/* A directory that does not exist: the loader only resolves it. */
#define FUZZ_PATH "fuzz-input/runbook.yml"

/* Runs print into memory and checks what came out is inert. */
static void
check_printed(const char *what, const struct runbook *rb,
    const struct diags *d,
    void (*print)(const struct runbook *, const struct diags *, FILE *))
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&text, &len)) == NULL)
		abort();
	print(rb, d, f);
	if (fclose(f) != 0)
		abort();
	fuzz_check_inert(what, text, len, INERT_NL);
	free(text);
}

static void
print_diags(const struct runbook *rb, const struct diags *d, FILE *f)
{
	(void)rb;
	diags_print(d, FUZZ_PATH, f);
}

static void
print_summary(const struct runbook *rb, const struct diags *d, FILE *f)
{
	(void)d;
	runbook_print_counts(rb, f);
	fputc('\n', f);
	runbook_print_summary(rb, f);
}

/* What the rest of the program relies on once a runbook loaded: every
 * index names something that exists, names are unique. */
static void
check_runbook(const struct runbook *rb)
{
	const struct rb_step *s;
	size_t i;
	char *e;

	FUZZ_CHECK(strlen(rb->sha256) == 64);
	FUZZ_CHECK(rb->title != NULL && rb->owner != NULL);
	for (i = 0; i < rb->nroutes; i++) {
		FUZZ_CHECK(rb->routes[i].name != NULL);
		FUZZ_CHECK(runbook_route(rb, rb->routes[i].name) == i);
	}
	for (i = 0; i < rb->nrollbacks; i++) {
		FUZZ_CHECK(rb->rollbacks[i].name != NULL);
		FUZZ_CHECK(runbook_rollback(rb, rb->rollbacks[i].name) == i);
		FUZZ_CHECK(rb->rollbacks[i].run.text != NULL);
	}
	for (i = 0; i < rb->http.nprofiles; i++)
		FUZZ_CHECK(runbook_profile(rb, rb->http.profiles[i].name) == i);
	for (i = 0; i < rb->nsteps; i++) {
		s = &rb->steps[i];
		FUZZ_CHECK(s->title != NULL);
		FUZZ_CHECK((unsigned)s->kind < STEP_NKINDS);
		if (s->id != NULL)
			FUZZ_CHECK(runbook_step(rb, s->id) == i);
		switch (s->kind) {
		case STEP_HTTP:
		case STEP_MEASURE:
		case STEP_WAIT:
		case STEP_PURGE:
			FUZZ_CHECK(s->route < rb->nroutes);
			break;
		case STEP_RUN:
			FUZZ_CHECK(s->cmd.text != NULL);
			FUZZ_CHECK(s->cmd.shell || s->cmd.argv != NULL);
			break;
		case STEP_ROLLBACK_CHECK:
			FUZZ_CHECK(s->rollback < rb->nrollbacks);
			break;
		case STEP_MANUAL:
			break;
		case STEP_NKINDS:	/* not a kind: the check above fails */
			break;
		}
		FUZZ_CHECK(s->profile == RB_NONE ||
		    s->profile < rb->http.nprofiles);
		FUZZ_CHECK(s->compare == RB_NONE || s->compare < i);
		/* Raw text from the file: its callers escape it. */
		e = step_describe(rb, s);
		FUZZ_CHECK(e != NULL && strlen(e) > 0);
		free(e);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct runbook *rb;
	struct diags d;
	size_t i;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	diags_init(&d);
	rb = runbook_load_buffer(FUZZ_PATH, (const char *)data, size, &d);

	/* NULL exactly when there is an error; every one counted. */
	FUZZ_CHECK((rb == NULL) == (d.nerrors > 0));
	FUZZ_CHECK(d.n <= DIAG_MAX);
	FUZZ_CHECK(d.n + d.dropped == d.nerrors + d.nwarnings);
	for (i = 0; i < d.n; i++) {
		FUZZ_CHECK(d.v[i].msg != NULL);
		FUZZ_CHECK(i == 0 || d.v[i - 1].line < d.v[i].line ||
		    (d.v[i - 1].line == d.v[i].line &&
		    d.v[i - 1].col <= d.v[i].col));
		/* diag.h: "already free of control characters". */
		fuzz_check_str("diagnostic", d.v[i].msg, 0);
	}
	diags_print(&d, FUZZ_PATH, devnull);
	check_printed("diags_print", rb, &d, print_diags);

	if (rb != NULL) {
		check_runbook(rb);
		check_printed("summary", rb, &d, print_summary);
	}
	runbook_free(rb);
	diags_done(&d);
	return 0;
}
