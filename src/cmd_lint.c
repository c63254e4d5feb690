/* cmd_lint.c: `rehearse lint [-q] [--summary] RUNBOOK...`. */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>

#include "cli.h"
#include "diag.h"
#include "runbook.h"
#include "runbook_show.h"
#include "textesc.h"

int
cmd_lint(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "summary", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct diags d;
	struct runbook *rb;
	bool quiet = false, summary = false;
	int ch, i, status = EXIT_OK;
	char *name;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":qh", opts, NULL)) != -1) {
		switch (ch) {
		case 'q':
			quiet = true;
			break;
		case 's':
			summary = true;
			break;
		case 'h':
			printf("usage: rehearse lint [-q] [--summary] "
			    "RUNBOOK...\n\n"
			    "Validates each runbook; problems are printed as "
			    "FILE:LINE:COL: error: MESSAGE.\n"
			    "  -q, --quiet  print nothing for valid runbooks\n"
			    "  --summary    describe each valid runbook\n");
			return EXIT_OK;
		default:
			return cli_usage_error("lint", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("lint", "no runbook given");
	for (i = optind; i < argc; i++) {
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
