/* cmdline.c: see cmdline.h. */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmdline.h"
#include "textesc.h"
#include "xmalloc.h"

static int
seterr(struct cmd_error *err, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
seterr(struct cmd_error *err, size_t off, const char *fmt, ...)
{
	va_list ap;

	err->offset = off;
	va_start(ap, fmt);
	xvasprintf(&err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

static bool
name_start(int c)
{
	return c == '_' || isalpha(c);
}

static bool
name_char(int c)
{
	return c == '_' || isalnum(c);
}

/* Handles "${" at text[*i] (which is '$').  Appends the value (or the
 * reference itself when lookup is NULL) and advances *i past the '}'. */
static int
expand_ref(const char *text, size_t *i, struct buf *w, cmd_lookup_fn lookup,
    void *arg, struct cmd_error *err)
{
	size_t start = *i, j = *i + 2;
	const char *val;
	char *name, *shown;

	if (!name_start((unsigned char)text[j]))
		return seterr(err, start, "'${' must be followed by a variable "
		    "name and '}', as in ${NAME}");
	while (name_char((unsigned char)text[j]))
		j++;
	if (text[j] != '}')
		return seterr(err, start, "unterminated ${...}: variable "
		    "names are letters, digits and '_', closed by '}'");
	name = xstrndup(text + start + 2, j - start - 2);
	if (lookup == NULL)
		buf_add(w, text + start, j + 1 - start);
	else if ((val = lookup(name, arg)) == NULL) {
		shown = esc_str(name, ESC_BACKSLASH);
		seterr(err, start, "environment variable %s is not set", shown);
		free(shown);
		free(name);
		return -1;
	} else
		buf_adds(w, val);
	free(name);
	*i = j + 1;
	return 0;
}

static void
push_word(char ***argv, size_t *argc, size_t *cap, struct buf *w)
{
	if (*argc + 2 > *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*argv = xreallocarray(*argv, *cap, sizeof **argv);
	}
	(*argv)[(*argc)++] = buf_detach(w);
	(*argv)[*argc] = NULL;
}

int
cmd_split(const char *text, cmd_lookup_fn lookup, void *arg, char ***argvp,
    size_t *argcp, struct cmd_error *err)
{
	char **argv = NULL;
	size_t argc = 0, cap = 0, i = 0, quote_at;
	struct buf w;
	bool inword = false;
	char c;

	err->msg = NULL;
	err->offset = 0;
	buf_init(&w);
	for (;;) {
		c = text[i];
		if (c == '\0' || c == ' ' || c == '\t' || c == '\n') {
			if (inword)
				push_word(&argv, &argc, &cap, &w);
			inword = false;
			if (c == '\0')
				break;
			i++;
			continue;
		}
		if (c == '\'') {
			quote_at = i++;
			while (text[i] != '\'' && text[i] != '\0')
				buf_addc(&w, text[i++]);
			if (text[i] == '\0') {
				seterr(err, quote_at, "unterminated single quote");
				goto fail;
			}
			i++;
			inword = true;
			buf_add(&w, "", 0);
			continue;
		}
		if (c == '"') {
			quote_at = i++;
			buf_add(&w, "", 0);
			while (text[i] != '"' && text[i] != '\0') {
				if (text[i] == '\\' && text[i + 1] != '\0' &&
				    strchr("\"\\$`\n", text[i + 1]) != NULL) {
					if (text[i + 1] != '\n')
						buf_addc(&w, text[i + 1]);
					i += 2;
				} else if (text[i] == '$' && text[i + 1] == '{') {
					if (expand_ref(text, &i, &w, lookup, arg,
					    err) != 0)
						goto fail;
				} else if (text[i] == '`' ||
				    (text[i] == '$' && text[i + 1] == '(')) {
					seterr(err, i, "command substitution "
					    "needs a shell; this command runs "
					    "without one (set shell: true)");
					goto fail;
				} else
					buf_addc(&w, text[i++]);
			}
			if (text[i] == '\0') {
				seterr(err, quote_at, "unterminated double quote");
				goto fail;
			}
			i++;
			inword = true;
			continue;
		}
		if (c == '\\') {
			if (text[i + 1] == '\0') {
				seterr(err, i, "a backslash at the end escapes "
				    "nothing");
				goto fail;
			}
			if (text[i + 1] != '\n') {
				buf_addc(&w, text[i + 1]);
				inword = true;
			}
			i += 2;
			continue;
		}
		if (c == '$' && text[i + 1] == '{') {
			if (expand_ref(text, &i, &w, lookup, arg, err) != 0)
				goto fail;
			inword = true;
			continue;
		}
		if (c == '$' && name_start((unsigned char)text[i + 1])) {
			seterr(err, i, "write ${NAME}: only the braced form is "
			    "expanded");
			goto fail;
		}
		if (strchr("|;&<>`", c) != NULL ||
		    (c == '$' && text[i + 1] == '(') ||
		    (c == '#' && !inword)) {
			seterr(err, i, "'%c' is shell syntax, but this command "
			    "runs without a shell (quote it, or set "
			    "shell: true)", c);
			goto fail;
		}
		buf_addc(&w, c);
		inword = true;
		i++;
	}
	buf_free(&w);
	if (argc == 0) {
		seterr(err, 0, "the command is empty");
		free(argv);
		return -1;
	}
	*argvp = argv;
	*argcp = argc;
	return 0;
fail:
	buf_free(&w);
	if (argv != NULL)
		cmd_argv_free(argv);
	return -1;
}

char *
cmd_expand_word(const char *word, cmd_lookup_fn lookup, void *arg,
    struct cmd_error *err)
{
	struct buf w;
	size_t i = 0;

	err->msg = NULL;
	err->offset = 0;
	buf_init(&w);
	buf_add(&w, "", 0);
	while (word[i] != '\0') {
		if (word[i] == '$' && word[i + 1] == '{') {
			if (expand_ref(word, &i, &w, lookup, arg, err) != 0) {
				buf_free(&w);
				return NULL;
			}
		} else
			buf_addc(&w, word[i++]);
	}
	return buf_detach(&w);
}

void
cmd_argv_free(char **argv)
{
	size_t i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

char *
cmd_join(char *const *argv)
{
	struct buf b;
	const char *p;
	size_t i;
	bool plain;

	buf_init(&b);
	buf_add(&b, "", 0);
	for (i = 0; argv[i] != NULL; i++) {
		if (i > 0)
			buf_addc(&b, ' ');
		plain = argv[i][0] != '\0';
		for (p = argv[i]; *p != '\0' && plain; p++) {
			if (!isalnum((unsigned char)*p) &&
			    strchr("-_./:=,+%@{}$", *p) == NULL)
				plain = false;
		}
		if (plain) {
			buf_adds(&b, argv[i]);
			continue;
		}
		buf_addc(&b, '\'');
		for (p = argv[i]; *p != '\0'; p++) {
			if (*p == '\'')
				buf_adds(&b, "'\\''");
			else
				buf_addc(&b, *p);
		}
		buf_addc(&b, '\'');
	}
	return buf_detach(&b);
}
