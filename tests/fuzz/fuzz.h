/* fuzz.h: what the libFuzzer harnesses share: the entry point (built by
 * clang with -fsanitize=fuzzer, or by gcc into a regression program that
 * calls it on saved inputs, tests/fuzz/regress.c), a place for the input
 * as a file, and the check that text handed out is inert.
 *
 * A violated invariant calls abort(): libFuzzer saves the input as a
 * crasher and the regression program reports it as "not ok". */
#ifndef REHEARSE_FUZZ_H
#define REHEARSE_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "textesc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Prints why, then aborts so that the input is kept. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant violated: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

#define INERT_NL	0x1	/* \n may appear (multi-line text) */
#define INERT_TAB	0x2	/* \t may appear */
#define INERT_CUT	0x4	/* may end inside a UTF-8 sequence (cut) */

/* Aborts unless s[0..len) is safe to print on a terminal: no C0 control
 * (but those flags allows), no DEL, every other byte part of a valid UTF-8
 * sequence whose code point esc_is_unsafe_cp() lets through (so no C1, no
 * bidi or format control).  With INERT_CUT, an incomplete sequence may end
 * the text: fixed-size fields are cut at a byte, and a prefix of a
 * character drives no terminal. */
static inline void
fuzz_check_inert(const char *what, const void *p, size_t len, int flags)
{
	const unsigned char *s = p;
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (s[i] == '\n' && (flags & INERT_NL)) {
			i++;
			continue;
		}
		if (s[i] == '\t' && (flags & INERT_TAB)) {
			i++;
			continue;
		}
		n = utf8_decode(s + i, len - i, &cp);
		if (n == 0 && (flags & INERT_CUT) && s[i] >= 0xc2 &&
		    s[i] <= 0xf4) {
			/* Only continuation bytes up to the end: a cut. */
			for (k = i + 1; k < len && (s[k] & 0xc0) == 0x80; k++)
				;
			if (k == len && len - i < 4)
				return;
		}
		if (n == 0 || esc_is_unsafe_cp(cp)) {
			fprintf(stderr, "%s: unsafe byte 0x%02x at %zu of %zu: ",
			    what, s[i], i, len);
			for (k = i > 16 ? i - 16 : 0; k < len && k < i + 16; k++)
				fprintf(stderr, "%02x", s[k]);
			fputc('\n', stderr);
			abort();
		}
		i += n;
	}
}

/* Same for a NUL-terminated string. */
static inline void
fuzz_check_str(const char *what, const char *s, int flags)
{
	fuzz_check_inert(what, s, strlen(s), flags);
}

/* A file holding the input, for the readers that take a path: one memfd
 * for the process, rewritten for every input, opened again through /proc
 * as a regular file.  Nothing is left behind on disk. */
static inline const char *
fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	size_t off = 0;
	ssize_t n;

	if (fd == -1) {
		if ((fd = memfd_create("rehearse-fuzz", MFD_CLOEXEC)) == -1) {
			perror("memfd_create");
			abort();
		}
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0)
		abort();
	while (off < size) {
		if ((n = pwrite(fd, data + off, size - off, (off_t)off)) <= 0)
			abort();
		off += (size_t)n;
	}
	return path;
}

/* Appends to the file of fuzz_file(), as a writer would. */
static inline void
fuzz_file_append(const char *path, const uint8_t *data, size_t size)
{
	FILE *f;

	if ((f = fopen(path, "a")) == NULL)
		abort();
	if (fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
}

#endif
