/* audit_tool.c: drives the audit writer from the shell tests, until the
 * session engine (which writes real rehearsals) exists.
 *
 *   audit_tool write LOG RUNBOOK N [KEY]   N records, then session.end
 *   audit_tool open LOG RUNBOOK N [KEY]    N records, no session.end
 *   audit_tool resume LOG RUNBOOK N [KEY]  continue LOG with N records
 *   audit_tool intent LOG RUNBOOK          an intent and no result, no end
 *   audit_tool loop LOG RUNBOOK            records until refused; prints
 *                                          each seq, then the refusal
 *   audit_tool hold LOG RUNBOOK            open, print "ready", wait for
 *                                          stdin to close, then close
 *   audit_tool synth LOG RUNBOOK N         a valid N-record log written
 *                                          without fsync (for benchmarks)
 * LOG "-" means the default directory.  Exit 0, 3 when refused, 2 on an
 * open error (printed). */
#include "config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_chain.h"
#include "runbook.h"
#include "xmalloc.h"

/* Builds a log the way the writer does, minus durability, fast. */
static int
synth(const char *path, unsigned long n)
{
	char prev[AUDIT_HEX], hash[AUDIT_HEX], *body, *line;
	FILE *f = fopen(path, "w");
	unsigned long i;
	json_t *o, *d;
	size_t len;

	if (f == NULL)
		return 2;
	audit_genesis(NULL, prev);
	for (i = 1; i <= n; i++) {
		if (i == 1)
			d = json_pack("{s:i, s:b}", "format", 1, "sealed", 0);
		else if (i == n)
			d = json_pack("{s:I}", "records", (json_int_t)n);
		else
			d = json_pack("{s:s, s:I}", "text", "a note of some "
			    "length, as an operator writes it", "i",
			    (json_int_t)i);
		o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:o, s:s}",
		    "seq", (json_int_t)i, "ts", "2026-11-26T08:00:00.000Z",
		    "session", "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e",
		    "actor", "ops@stage-1", "type", i == 1 ? "session.start" :
		    i == n ? "session.end" : "note", "step", 1, "data", d,
		    "prev", prev);
		body = audit_json_encode(o);
		json_decref(o);
		len = strlen(body);
		audit_hash(NULL, body, len, hash);
		body[len - 1] = '\0';
		line = xprintf("%s,\"hash\":\"%s\"}", body, hash);
		audit_hash(NULL, line, strlen(line), prev);
		fprintf(f, "%s\n", line);
		free(line);
		free(body);
	}
	fclose(f);
	return 0;
}

static json_t *
note(unsigned long i)
{
	/* Text that must come out inert: ESC, C1, bidi, DEL. */
	return json_pack("{s:s, s:I}", "text",
	    "note \x1b[31m red \xc2\x9b bidi \xe2\x80\xae del \x7f",
	    "i", (json_int_t)i);
}

int
main(int argc, char **argv)
{
	struct audit_opts o;
	struct diags d;
	struct runbook *rb;
	struct audit *a;
	char *cause = NULL, buf[64];
	unsigned long i, n = 0;
	const char *cmd;

	if (argc < 4) {
		fprintf(stderr, "usage: audit_tool CMD LOG RUNBOOK [N] [KEY]\n");
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "synth") == 0 && argc > 4)
		return synth(argv[2], strtoul(argv[4], NULL, 10));
	diags_init(&d);
	if ((rb = runbook_load(argv[3], &d)) == NULL) {
		diags_print(&d, argv[3], stderr);
		return 2;
	}
	if (argc > 4)
		n = strtoul(argv[4], NULL, 10);
	memset(&o, 0, sizeof o);
	o.path = strcmp(argv[2], "-") == 0 ? NULL : argv[2];
	o.rb = rb;
	o.key_file = argc > 5 ? argv[5] : NULL;
	o.resume = strcmp(cmd, "resume") == 0;
	o.cols = 80;
	o.rows = 24;
	signal(SIGXFSZ, SIG_IGN);
	if ((a = audit_open(&o, &cause)) == NULL) {
		fprintf(stderr, "audit_tool: %s\n", cause);
		free(cause);
		runbook_free(rb);
		return 2;
	}
	printf("path %s\n", audit_path(a));
	fflush(stdout);
	if (strcmp(cmd, "loop") == 0) {
		for (i = 0; ; i++) {
			uint64_t seq = audit_append(a, "note", 1, note(i));
			if (seq == 0)
				break;
			printf("%" PRIu64 "\n", seq);
			fflush(stdout);
		}
		printf("refused: %s\n", audit_refusal(a));
		audit_close(a);
		runbook_free(rb);
		return 3;
	}
	if (strcmp(cmd, "hold") == 0) {
		printf("ready\n");
		fflush(stdout);
		while (fgets(buf, sizeof buf, stdin) != NULL)
			;
		audit_close(a);
		runbook_free(rb);
		return 0;
	}
	if (strcmp(cmd, "intent") == 0) {
		audit_intent(a, "purge.intent", 2, json_pack("{s:s}", "pattern",
		    "anp:page:/blog/*"));
		_exit(0);	/* "crash" before the result */
	}
	for (i = 0; i < n; i++) {
		if (audit_append(a, "note", (unsigned)(i % 9) + 1, note(i)) == 0) {
			printf("refused: %s\n", audit_refusal(a));
			return 3;
		}
	}
	if (strcmp(cmd, "open") == 0)
		_exit(0);	/* no session.end: as after a crash */
	if (audit_close(a) != 0)
		return 3;
	runbook_free(rb);
	return 0;
}
