/* main.c: rehearse, a program for rehearsing releases and incident
 * responses against real systems.  Everything lives in the library. */
#include "config.h"

#include <locale.h>

#include "cli.h"
#include "dashboard.h"
#include "replay_ui.h"

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	cli_set_dashboard(dashboard_main);
	cli_set_replay(replay_main);
	return cli_main(argc, argv);
}
