/* yamltree.c: see yamltree.h.
 *
 * The tree is built from libyaml events with an explicit stack, so neither
 * building nor freeing recurses.  libyaml 0.2.5 registers nothing itself at
 * the event level; anchors are ours: an anchor is known from its start event,
 * and an alias to a node that has not ended yet is a cycle. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "textesc.h"
#include "xmalloc.h"
#include "yamltree.h"

#define TAG_STR	"tag:yaml.org,2002:str"
#define TAG_SEQ	"tag:yaml.org,2002:seq"
#define TAG_MAP	"tag:yaml.org,2002:map"

struct anchor {
	char		*name;
	struct ynode	*node;
};

struct frame {
	struct ynode	*node;
	struct ynode	*key;		/* mapping key waiting for its value */
	bool		 merges;	/* mapping has a << key */
};

struct builder {
	struct ydoc	*doc;
	struct diags	*d;
	const char	*buf;
	size_t		 len;

	struct frame	 stack[YAML_MAX_DEPTH + 1];
	size_t		 depth;

	struct anchor	*anchors;	/* open-addressing hash table */
	size_t		 nanchors;
	size_t		 capanchors;

	size_t		 expanded;	/* nodes reached through aliases */
	bool		 failed;	/* stop: the tree cannot be trusted */
};

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct anchor *
anchor_slot(struct anchor *tab, size_t cap, const char *name)
{
	size_t i = hash_str(name) & (cap - 1);

	while (tab[i].name != NULL && strcmp(tab[i].name, name) != 0)
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static void
anchor_set(struct builder *b, const char *name, struct ynode *node)
{
	struct anchor *old, *slot;
	size_t oldcap, i;

	if ((b->nanchors + 1) * 2 > b->capanchors) {
		old = b->anchors;
		oldcap = b->capanchors;
		b->capanchors = oldcap ? oldcap * 2 : 64;
		b->anchors = xcalloc(b->capanchors, sizeof *b->anchors);
		for (i = 0; i < oldcap; i++) {
			if (old[i].name != NULL)
				*anchor_slot(b->anchors, b->capanchors,
				    old[i].name) = old[i];
		}
		free(old);
	}
	slot = anchor_slot(b->anchors, b->capanchors, name);
	if (slot->name == NULL) {
		slot->name = xstrdup(name);
		b->nanchors++;
	}
	slot->node = node;	/* a later anchor of the same name wins */
}

static struct ynode *
anchor_get(struct builder *b, const char *name)
{
	struct anchor *slot;

	if (b->capanchors == 0)
		return NULL;
	slot = anchor_slot(b->anchors, b->capanchors, name);
	return slot->name != NULL ? slot->node : NULL;
}

static void
anchors_free(struct builder *b)
{
	size_t i;

	for (i = 0; i < b->capanchors; i++)
		free(b->anchors[i].name);
	free(b->anchors);
}

static void
berror(struct builder *b, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void
bnote(struct builder *b, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* An error that leaves the tree usable (the first duplicate key wins), so
 * the schema can still report its own problems. */
static void
bnote(struct builder *b, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	diag_add(b->d, DIAG_ERROR, line, col, "%s", msg);
	free(msg);
}

static void
berror(struct builder *b, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	bnote(b, line, col, "%s", msg);
	free(msg);
	b->failed = true;
}

static struct ynode *
node_new(struct builder *b, enum ynode_type type, const yaml_mark_t *m)
{
	struct ydoc *doc = b->doc;
	struct ynode *n;

	if (doc->nall >= YAML_MAX_NODES) {
		berror(b, (unsigned)m->line + 1, (unsigned)m->column + 1,
		    "more than %u YAML nodes; a runbook is never this large",
		    YAML_MAX_NODES);
		return NULL;
	}
	n = xcalloc(1, sizeof *n);
	n->type = type;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	n->weight = 1;
	if (doc->nall == doc->capall) {
		doc->capall = doc->capall ? doc->capall * 2 : 64;
		doc->all = xreallocarray(doc->all, doc->capall, sizeof *doc->all);
	}
	doc->all[doc->nall++] = n;
	return n;
}

static void
weight_add(struct ynode *n, size_t w)
{
	n->weight = n->weight + w > YAML_MAX_EXPANDED ?
	    YAML_MAX_EXPANDED + 1 : n->weight + w;
}

/* Adds child as the next value of the open collection, or as the root. */
static void
attach(struct builder *b, struct ynode *child)
{
	struct frame *f;
	struct ynode *p;

	if (b->depth == 0) {
		b->doc->root = child;
		return;
	}
	f = &b->stack[b->depth - 1];
	p = f->node;
	weight_add(p, child->weight);
	if (p->type == YN_SEQ) {
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 4;
			p->items = xreallocarray(p->items, p->cap,
			    sizeof *p->items);
		}
		p->items[p->n++] = child;
		return;
	}
	if (f->key == NULL) {
		if (child->type != YN_SCALAR) {
			berror(b, child->line, child->col,
			    "a mapping key must be a plain value, not %s",
			    ynode_describe(child));
			return;
		}
		f->key = child;
		return;
	}
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 4;
		p->pairs = xreallocarray(p->pairs, p->cap, sizeof *p->pairs);
	}
	if (f->key->plain && strcmp(f->key->str, "<<") == 0)
		f->merges = true;
	p->pairs[p->n].key = f->key;
	p->pairs[p->n].value = child;
	p->n++;
	f->key = NULL;
}

static int
key_cmp(const struct ynode *a, const struct ynode *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->str, b->str, n);

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

struct ordered {
	struct ypair	 pair;
	size_t		 order;		/* position before sorting */
	bool		 own;		/* written in the mapping itself */
};

static int
ordered_cmp(const void *x, const void *y)
{
	const struct ordered *a = x, *b = y;
	int c = key_cmp(a->pair.key, b->pair.key);

	if (c != 0)
		return c;
	return a->order < b->order ? -1 : a->order > b->order;
}

static int
order_cmp(const void *x, const void *y)
{
	const struct ordered *a = x, *b = y;

	return a->order < b->order ? -1 : a->order > b->order;
}

static void
add_ordered(struct ordered **v, size_t *n, size_t *cap, struct ypair pair,
    bool own)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xreallocarray(*v, *cap, sizeof **v);
	}
	(*v)[*n].pair = pair;
	(*v)[*n].order = *n;
	(*v)[*n].own = own;
	(*n)++;
}

/* Finds duplicate keys and resolves merge keys: keys of the mapping itself
 * win over merged ones, earlier merge sources over later ones. */
static void
map_finish(struct builder *b, struct ynode *map, bool merges)
{
	struct ordered *v = NULL;
	struct ynode *src, *val;
	size_t n = 0, cap = 0, i, j, k, out;

	for (i = 0; i < map->n; i++) {
		if (merges && map->pairs[i].key->plain &&
		    strcmp(map->pairs[i].key->str, "<<") == 0)
			continue;
		add_ordered(&v, &n, &cap, map->pairs[i], true);
	}
	for (i = 0; merges && i < map->n; i++) {
		if (!map->pairs[i].key->plain ||
		    strcmp(map->pairs[i].key->str, "<<") != 0)
			continue;
		val = map->pairs[i].value;
		for (j = 0; j < (val->type == YN_SEQ ? val->n : 1); j++) {
			src = val->type == YN_SEQ ? val->items[j] : val;
			if (src->type != YN_MAP) {
				berror(b, src->line, src->col,
				    "a merge key (<<) needs a mapping or a list "
				    "of mappings, not %s", ynode_describe(src));
				continue;
			}
			for (k = 0; k < src->n; k++)
				add_ordered(&v, &n, &cap, src->pairs[k], false);
		}
	}
	if (n == 0) {
		map->n = 0;
		return;
	}
	qsort(v, n, sizeof *v, ordered_cmp);
	out = 0;
	for (i = 0; i < n; i++) {
		if (out > 0 && key_cmp(v[out - 1].pair.key, v[i].pair.key) == 0) {
			if (v[i].own && v[out - 1].own) {
				char *k1 = esc_text(v[i].pair.key->str,
				    v[i].pair.key->len, ESC_BACKSLASH);
				bnote(b, v[i].pair.key->line,
				    v[i].pair.key->col,
				    "duplicate key '%s' (first at line %u, "
				    "column %u)", k1, v[out - 1].pair.key->line,
				    v[out - 1].pair.key->col);
				free(k1);
			}
			continue;	/* the first (own, or earlier) wins */
		}
		v[out++] = v[i];
	}
	qsort(v, out, sizeof *v, order_cmp);
	if (out > map->cap) {
		map->cap = out;
		map->pairs = xreallocarray(map->pairs, map->cap,
		    sizeof *map->pairs);
	}
	for (i = 0; i < out; i++)
		map->pairs[i] = v[i].pair;
	map->n = out;
	free(v);
}

/* Tags: only the standard ones that do not change our typing. */
static bool
tag_ok(struct builder *b, const yaml_char_t *tag, const char *allowed,
    const yaml_mark_t *m, bool *forced_str)
{
	char *t;

	if (tag == NULL)
		return true;
	if (strcmp((const char *)tag, allowed) == 0 ||
	    strcmp((const char *)tag, "!") == 0) {
		if (forced_str != NULL)
			*forced_str = true;
		return true;
	}
	t = esc_str((const char *)tag, ESC_BACKSLASH);
	berror(b, (unsigned)m->line + 1, (unsigned)m->column + 1,
	    "unsupported YAML tag '%s' (only !!str, !!seq and !!map are "
	    "accepted)", t);
	free(t);
	return false;
}

static void
on_event(struct builder *b, yaml_event_t *ev)
{
	const yaml_mark_t *m = &ev->start_mark;
	struct ynode *n;
	struct frame *f;
	const yaml_char_t *anchor = NULL;
	bool forced = false;
	char *a;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (!tag_ok(b, ev->data.scalar.tag, TAG_STR, m, &forced))
			return;
		if ((n = node_new(b, YN_SCALAR, m)) == NULL)
			return;
		n->len = ev->data.scalar.length;
		n->str = xmalloc(n->len + 1);
		memcpy(n->str, ev->data.scalar.value, n->len);
		n->str[n->len] = '\0';
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    !forced;
		n->complete = true;
		anchor = ev->data.scalar.anchor;
		if (anchor != NULL)
			anchor_set(b, (const char *)anchor, n);
		attach(b, n);
		return;
	case YAML_ALIAS_EVENT:
		a = esc_str((const char *)ev->data.alias.anchor, ESC_BACKSLASH);
		n = anchor_get(b, (const char *)ev->data.alias.anchor);
		if (n == NULL)
			berror(b, (unsigned)m->line + 1, (unsigned)m->column + 1,
			    "alias *%s refers to no anchor defined before it", a);
		else if (!n->complete)
			berror(b, (unsigned)m->line + 1, (unsigned)m->column + 1,
			    "alias *%s refers to a node that contains it "
			    "(a cycle)", a);
		else {
			b->expanded += n->weight;
			if (b->expanded > YAML_MAX_EXPANDED)
				berror(b, (unsigned)m->line + 1,
				    (unsigned)m->column + 1,
				    "aliases expand to more than %u nodes "
				    "(an alias bomb?)", YAML_MAX_EXPANDED);
			else
				attach(b, n);
		}
		free(a);
		return;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (b->depth >= YAML_MAX_DEPTH) {
			berror(b, (unsigned)m->line + 1, (unsigned)m->column + 1,
			    "nesting deeper than %u levels", YAML_MAX_DEPTH);
			return;
		}
		if (ev->type == YAML_SEQUENCE_START_EVENT) {
			if (!tag_ok(b, ev->data.sequence_start.tag, TAG_SEQ, m,
			    NULL))
				return;
			n = node_new(b, YN_SEQ, m);
			anchor = ev->data.sequence_start.anchor;
		} else {
			if (!tag_ok(b, ev->data.mapping_start.tag, TAG_MAP, m,
			    NULL))
				return;
			n = node_new(b, YN_MAP, m);
			anchor = ev->data.mapping_start.anchor;
		}
		if (n == NULL)
			return;
		if (anchor != NULL)
			anchor_set(b, (const char *)anchor, n);
		f = &b->stack[b->depth++];
		f->node = n;
		f->key = NULL;
		f->merges = false;
		return;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		f = &b->stack[--b->depth];
		n = f->node;
		if (n->type == YN_MAP)
			map_finish(b, n, f->merges);
		n->complete = true;
		attach(b, n);
		return;
	default:
		return;
	}
}

/* Line and column of a byte offset, for reader errors that carry no mark. */
static void
offset_mark(const char *buf, size_t len, size_t off, unsigned *line,
    unsigned *col)
{
	size_t i;
	uint32_t cp;
	size_t n;

	*line = 1;
	*col = 1;
	if (off > len)
		off = len;
	for (i = 0; i < off; i += n) {
		n = utf8_decode((const unsigned char *)buf + i, off - i, &cp);
		if (n == 0)
			n = 1;
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

static void
parser_error(struct builder *b, yaml_parser_t *p)
{
	unsigned line, col;
	const char *problem = p->problem ? p->problem : "malformed YAML";
	const char *hint = "";
	size_t off;

	if (p->error == YAML_READER_ERROR) {
		offset_mark(b->buf, b->len, p->problem_offset, &line, &col);
		if (p->problem_value != -1 &&
		    strstr(problem, "control characters") != NULL) {
			berror(b, line, col, "%s (byte 0x%02x); is this a "
			    "binary file?", problem, p->problem_value & 0xff);
			return;
		}
		if (strstr(problem, "UTF-8") != NULL)
			hint = "; a runbook must be UTF-8 text";
		berror(b, line, col, "%s%s", problem, hint);
		return;
	}
	line = (unsigned)p->problem_mark.line + 1;
	col = (unsigned)p->problem_mark.column + 1;
	off = p->problem_mark.index;
	if (off < b->len && b->buf[off] == '\t')
		hint = "; tabs cannot indent YAML, use spaces";
	if (p->context != NULL && (p->context_mark.line != p->problem_mark.line ||
	    p->context_mark.column != p->problem_mark.column))
		berror(b, line, col, "%s %s (line %u, column %u)%s", problem,
		    p->context, (unsigned)p->context_mark.line + 1,
		    (unsigned)p->context_mark.column + 1, hint);
	else
		berror(b, line, col, "%s%s", problem, hint);
}

/* libyaml names the byte after a bad lead byte; point at the sequence. */
static int
check_utf8(struct builder *b)
{
	const unsigned char *s = (const unsigned char *)b->buf;
	unsigned line, col;
	uint32_t cp;
	size_t i, n;

	if (b->len >= 2 && ((s[0] == 0xff && s[1] == 0xfe) ||
	    (s[0] == 0xfe && s[1] == 0xff)))
		return 0;	/* UTF-16 with a byte order mark: libyaml's */
	for (i = 0; i < b->len; i += n) {
		if ((n = utf8_decode(s + i, b->len - i, &cp)) == 0) {
			offset_mark(b->buf, b->len, i, &line, &col);
			berror(b, line, col, "invalid UTF-8 (byte 0x%02x); a "
			    "runbook must be UTF-8 text", s[i]);
			return -1;
		}
	}
	return 0;
}

int
ydoc_parse(struct ydoc *doc, const char *buf, size_t len, struct diags *d)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct builder b;
	int docs = 0;
	bool done = false;

	memset(doc, 0, sizeof *doc);
	memset(&b, 0, sizeof b);
	b.doc = doc;
	b.d = d;
	b.buf = buf;
	b.len = len;

	if (len > YAML_MAX_BYTES) {
		diag_add(d, DIAG_ERROR, 0, 0, "file is %zu bytes; the limit "
		    "for a runbook is %u bytes", len, YAML_MAX_BYTES);
		return -1;
	}
	if (check_utf8(&b) != 0)
		return -1;
	if (!yaml_parser_initialize(&parser))
		fatal("out of memory starting the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done && !b.failed) {
		if (!yaml_parser_parse(&parser, &ev)) {
			parser_error(&b, &parser);
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
			berror(&b, (unsigned)ev.start_mark.line + 1,
			    (unsigned)ev.start_mark.column + 1,
			    "a second YAML document; a runbook is one document");
		} else if (ev.type == YAML_STREAM_END_EVENT)
			done = true;
		else
			on_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	anchors_free(&b);
	return b.failed ? -1 : 0;
}

void
ydoc_free(struct ydoc *doc)
{
	size_t i;
	struct ynode *n;

	for (i = 0; i < doc->nall; i++) {
		n = doc->all[i];
		free(n->str);
		free(n->items);
		free(n->pairs);
		free(n);
	}
	free(doc->all);
	memset(doc, 0, sizeof *doc);
}

struct ynode *
ymap_get(const struct ynode *map, const char *key)
{
	size_t i, klen = strlen(key);

	if (map == NULL || map->type != YN_MAP)
		return NULL;
	for (i = 0; i < map->n; i++) {
		if (map->pairs[i].key->len == klen &&
		    memcmp(map->pairs[i].key->str, key, klen) == 0)
			return map->pairs[i].value;
	}
	return NULL;
}

bool
ynode_is_null(const struct ynode *n)
{
	if (n->type != YN_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 ||
	    strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	    strcmp(n->str, "NULL") == 0;
}

const char *
ynode_describe(const struct ynode *n)
{
	switch (n->type) {
	case YN_SEQ:
		return "a list";
	case YN_MAP:
		return "a mapping";
	case YN_SCALAR:
		break;
	}
	if (ynode_is_null(n))
		return "an empty value";
	return n->plain ? "a plain value" : "a quoted string";
}
