/* yamltree.h: a YAML document read with libyaml's event parser into a small
 * tree with line and column marks, with the limits that libyaml lacks:
 * nesting depth, node count, alias expansion, alias cycles, duplicate keys.
 * Aliases become shared nodes (the tree is a DAG); merge keys (<<) are
 * resolved.  Typing is left to the caller (the runbook schema). */
#ifndef REHEARSE_YAMLTREE_H
#define REHEARSE_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define YAML_MAX_BYTES		(4u * 1024 * 1024)
#define YAML_MAX_DEPTH		64
#define YAML_MAX_NODES		200000
#define YAML_MAX_EXPANDED	200000

enum ynode_type {
	YN_SCALAR,
	YN_SEQ,
	YN_MAP,
};

struct ynode;

struct ypair {
	struct ynode	*key;		/* always a scalar */
	struct ynode	*value;
};

struct ynode {
	enum ynode_type	 type;
	unsigned	 line;		/* 1-based start mark */
	unsigned	 col;		/* 1-based, in characters */
	bool		 complete;	/* end event seen (cycle detection) */
	size_t		 weight;	/* nodes after alias expansion, saturating */

	/* YN_SCALAR */
	char		*str;		/* NUL-terminated, may hold NULs */
	size_t		 len;
	bool		 plain;		/* plain style and no tag: may be typed */

	/* YN_SEQ: items; YN_MAP: pairs */
	struct ynode	**items;
	struct ypair	*pairs;
	size_t		 n;
	size_t		 cap;
};

struct ydoc {
	struct ynode	*root;		/* NULL for an empty stream */
	struct ynode	**all;		/* every node, for freeing */
	size_t		 nall;
	size_t		 capall;
};

/* Parses buf[0..len) into doc.  Returns 0, or -1 after adding errors to d
 * (the document is then unusable but must still be freed). */
int	 ydoc_parse(struct ydoc *doc, const char *buf, size_t len, struct diags *d);
void	 ydoc_free(struct ydoc *doc);

/* The value for key in a mapping, or NULL. */
struct ynode *ymap_get(const struct ynode *map, const char *key);
/* "a mapping", "a list", "a quoted string", "null", ... for messages. */
const char *ynode_describe(const struct ynode *);
/* True for a plain null scalar ("", "~", "null"). */
bool	 ynode_is_null(const struct ynode *);

#endif
