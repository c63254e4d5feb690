/* tap.c: see tap.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "tap.h"
#include "xmalloc.h"

int
tap_run(Suite *s)
{
	SRunner *sr = srunner_create(s);

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	srunner_free(sr);
	fflush(stdout);
	return 0;
}

char *
tap_srcpath(const char *rel)
{
	const char *top = getenv("top_srcdir");

	return xprintf("%s/%s", top != NULL ? top : ".", rel);
}
