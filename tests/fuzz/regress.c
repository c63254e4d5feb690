/* regress.c: replays saved inputs through one fuzz harness, without
 * libFuzzer, for make check (gcc, and the ASan build in CI).
 *
 *   regress_TARGET NAME DIR|FILE...
 *
 * Every regular file of each DIR (sorted, dot files skipped) is passed to
 * LLVMFuzzerTestOneInput in a child process, so that a crash, a violated
 * invariant or a leak report fails that file only.  Prints TAP: "ok N -
 * NAME: FILE" per file, then the plan.  Exit 0; the TAP lines carry the
 * failures. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

static int n;

/* The whole file in memory; NULL with errno set. */
static uint8_t *
slurp(const char *path, size_t *size)
{
	FILE *f;
	uint8_t *data = NULL, *p;
	size_t cap = 0, len = 0, got;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((p = realloc(data, cap)) == NULL) {
				free(data);
				fclose(f);
				return NULL;
			}
			data = p;
		}
		if ((got = fread(data + len, 1, cap - len, f)) == 0)
			break;
		len += got;
	}
	fclose(f);
	*size = len;
	return data;
}

static void
run_one(const char *name, const char *path)
{
	uint8_t *data;
	size_t size = 0;
	pid_t pid;
	int status;

	n++;
	fflush(stdout);
	if ((pid = fork()) == -1) {
		printf("not ok %d - %s: %s: fork: %s\n", n, name, path,
		    strerror(errno));
		return;
	}
	if (pid == 0) {
		if ((data = slurp(path, &size)) == NULL) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			_exit(3);
		}
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		exit(0);	/* exit, not _exit: LeakSanitizer runs then */
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			printf("not ok %d - %s: %s: waitpid: %s\n", n, name,
			    path, strerror(errno));
			return;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		printf("ok %d - %s: %s\n", n, name, path);
	else if (WIFEXITED(status))
		printf("not ok %d - %s: %s: exit %d\n", n, name, path,
		    WEXITSTATUS(status));
	else
		printf("not ok %d - %s: %s: signal %d\n", n, name, path,
		    WTERMSIG(status));
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void
run_dir(const char *name, const char *dir)
{
	struct dirent **list;
	struct stat st;
	char path[4096];
	int i, count;

	if ((count = scandir(dir, &list, NULL, by_name)) == -1) {
		n++;
		printf("not ok %d - %s: %s: %s\n", n, name, dir,
		    strerror(errno));
		return;
	}
	for (i = 0; i < count; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
		if (list[i]->d_name[0] != '.' && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode))
			run_one(name, path);
		free(list[i]);
	}
	free(list);
}

int
main(int argc, char **argv)
{
	struct stat st;
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: %s NAME DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			run_dir(argv[1], argv[i]);
		else
			run_one(argv[1], argv[i]);
	}
	printf("1..%d\n", n);
	return 0;
}
