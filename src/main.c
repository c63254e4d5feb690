/* main.c: rehearse, a program for rehearsing releases and incident
 * responses against real systems.  Everything lives in the library; this
 * hands the screens of ui/ to the command line. */
#include "config.h"

#include <locale.h>

#include "cli.h"
#include "dashboard.h"
#include "frontend.h"
#include "replay_ui.h"

static const struct frontend screens = { dashboard_main, replay_main };

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	return cli_main(argc, argv, &screens);
}
