/* cmd_lint.c: `rehearse lint [-q] [--summary] RUNBOOK...`. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>

#include "cli.h"
#include "diag.h"
#include "runbook.h"
#include "runbook_show.h"
#include "textesc.h"

static int
cmd_lint(const struct cli_args *a)
{
	struct diags d;
	struct runbook *rb;
	bool quiet = cli_has(a, 'q'), summary = cli_has(a, 's');
	int i, argc = a->argc, status = EXIT_OK;
	char **argv = a->argv, *name;

	if (argc == 0)
		return cli_usage_error("lint", "no runbook given");
	for (i = 0; i < argc; i++) {
		diags_init(&d);
		rb = runbook_load(argv[i], &d);
		fflush(stdout);
		diags_print(&d, argv[i], stderr);
		if (rb == NULL)
			status = EXIT_USAGE;
		else if (!quiet || summary) {
			name = esc_str(argv[i], ESC_BACKSLASH);
			printf("%s: ok: ", name);
			runbook_print_counts(rb, stdout);
			printf("\n");
			if (summary) {
				runbook_print_summary(rb, stdout);
				if (i + 1 < argc)
					printf("\n");
			}
			free(name);
		}
		runbook_free(rb);
		diags_done(&d);
	}
	return status;
}

static const struct cli_opt lint_opts[] = {
	{ 'q', true, "quiet", NULL, NULL, "print nothing for valid runbooks" },
	{ 's', false, "summary", NULL, NULL, "describe each valid runbook" },
	{ 0, false, NULL, NULL, NULL, NULL },
};

static const struct cli_usage lint_usage[] = {
	{ "lint [-q|--quiet] [--summary] RUNBOOK...",
	  "validate runbooks; errors as FILE:LINE:COL: message" },
	{ NULL, NULL },
};

const struct cli_cmd cmd_lint_entry = {
	"lint", lint_usage,
	"Validates each runbook; problems are printed as FILE:LINE:COL: error: "
	"MESSAGE.",
	lint_opts, cmd_lint,
};
