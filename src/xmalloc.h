/* xmalloc.h: allocation that never returns NULL, and fatal() for impossible
 * states.  Running out of memory is not something a user can fix from inside
 * the program, so these abort (after the fatal hook has restored the terminal). */
#ifndef REHEARSE_XMALLOC_H
#define REHEARSE_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
/* Grows an array of nmemb elements of size bytes, checking for overflow. */
void *xreallocarray(void *, size_t nmemb, size_t size);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
/* Like asprintf, but aborts instead of failing. */
int xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));
int xvasprintf(char **, const char *, va_list) __attribute__((format(printf, 2, 0)));
/* Returns a new string; convenience over xasprintf. */
char *xprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Called by fatal() before it prints: the UI sets it to end curses. */
void fatal_set_hook(void (*)(void));
/* Prints "rehearse: fatal: ..." to stderr and aborts. */
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
