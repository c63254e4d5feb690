/* diag.h: diagnostics collected while reading a file, printed as
 * FILE:LINE:COL: error: MESSAGE in file order. */
#ifndef REHEARSE_DIAG_H
#define REHEARSE_DIAG_H

#include <stdio.h>

enum diag_level {
	DIAG_ERROR,
	DIAG_WARNING,
};

struct diag {
	enum diag_level	 level;
	unsigned	 line;		/* 1-based; 0 when the file as a whole */
	unsigned	 col;		/* 1-based */
	char		*msg;		/* already free of control characters */
};

/* At most this many diagnostics are kept per file; the rest are counted. */
#define DIAG_MAX 100

struct diags {
	struct diag	*v;
	size_t		 n;
	size_t		 cap;
	size_t		 nerrors;
	size_t		 nwarnings;
	size_t		 dropped;	/* over DIAG_MAX */
};

void	 diags_init(struct diags *);
void	 diags_done(struct diags *);
void	 diag_add(struct diags *, enum diag_level, unsigned line, unsigned col,
	     const char *, ...) __attribute__((format(printf, 5, 6)));
/* Orders by position, keeping insertion order for equal positions. */
void	 diags_sort(struct diags *);
/* Prints every diagnostic as FILE:LINE:COL: level: message. */
void	 diags_print(const struct diags *, const char *file, FILE *);

#endif
