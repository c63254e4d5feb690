/* cmdline.h: commands written in a runbook, split into words the way a shell
 * would split them (quotes and backslashes) but never given to a shell:
 * no globbing, no pipes, no redirection, no command substitution.
 * ${NAME} is the only expansion; its value stays inside one word. */
#ifndef REHEARSE_CMDLINE_H
#define REHEARSE_CMDLINE_H

#include <stddef.h>

/* Looks up NAME for ${NAME}; returns NULL when it is not set. */
typedef const char *(*cmd_lookup_fn)(const char *name, void *arg);

struct cmd_error {
	size_t		 offset;	/* byte offset of the problem in text */
	char		*msg;		/* caller frees */
};

/* Splits text into a NULL-terminated argv (caller frees with cmd_argv_free).
 * With lookup NULL, ${NAME} is kept as written (for display and checking);
 * otherwise it is replaced by the value.  Returns 0, or -1 and fills err. */
int	 cmd_split(const char *text, cmd_lookup_fn lookup, void *arg,
	     char ***argv, size_t *argc, struct cmd_error *err);
/* Expands ${NAME} in one word of a list-form command.  Returns a new string,
 * or NULL and fills err (a malformed reference or an unset variable). */
char	*cmd_expand_word(const char *word, cmd_lookup_fn lookup, void *arg,
	     struct cmd_error *err);
void	 cmd_argv_free(char **argv);
/* Joins argv for display, quoting words that need it. */
char	*cmd_join(char *const *argv);

#endif
