/* main.c: rehearse, a program for rehearsing releases and incident
 * responses against real systems.  Everything lives in the library. */
#include "config.h"

#include <locale.h>

#include "cli.h"

int
main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	return cli_main(argc, argv);
}
