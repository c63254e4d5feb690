/* tap.c: see tap.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "xmalloc.h"

static char	**skips;	/* "name: why" of the tests that cannot run */
static size_t	  nskips;

void
tap_skip(const char *name, const char *why)
{
	skips = xreallocarray(skips, nskips + 1, sizeof *skips);
	skips[nskips++] = xprintf("%s: %s", name, why);
}

int
tap_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	char path[] = "/tmp/rehearse-tap.XXXXXX", line[8192];
	unsigned long planned = 0;
	size_t i;
	FILE *f;
	int fd;

	/* The skips join check's results; the plan counts them and goes last. */
	if ((fd = mkstemp(path)) < 0)
		fatal("mkstemp: %s", path);
	close(fd);
	srunner_set_tap(sr, path);
	srunner_run_all(sr, CK_SILENT);
	srunner_free(sr);
	if ((f = fopen(path, "r")) == NULL)
		fatal("cannot read %s", path);
	unlink(path);
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "1..%lu", &planned) != 1)
			fputs(line, stdout);
	}
	fclose(f);
	for (i = 0; i < nskips; i++)
		printf("ok # SKIP %s\n", skips[i]);
	printf("1..%lu\n", planned + nskips);
	fflush(stdout);
	return 0;
}

char *
tap_srcpath(const char *rel)
{
	const char *top = getenv("top_srcdir");

	return xprintf("%s/%s", top != NULL ? top : ".", rel);
}
