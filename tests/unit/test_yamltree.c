/* test_yamltree.c: the YAML reader and its limits. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"
#include "yamltree.h"

static int
parse(struct ydoc *doc, const char *text, size_t len, struct diags *d)
{
	diags_init(d);
	return ydoc_parse(doc, text, len, d);
}

static void
assert_error(const struct diags *d, unsigned line, unsigned col,
    const char *fragment)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		if (d->v[i].line == line && d->v[i].col == col &&
		    strstr(d->v[i].msg, fragment) != NULL)
			return;
	}
	ck_abort_msg("no error '%s' at %u:%u (first: %u:%u %s)", fragment, line,
	    col, d->n ? d->v[0].line : 0, d->n ? d->v[0].col : 0,
	    d->n ? d->v[0].msg : "none");
}

START_TEST(scalars_keep_style_and_marks)
{
	const char *y = "a: 1\nb: \"2\"\nc: !!str 3\nd:\n  - x\n";
	struct ydoc doc;
	struct diags d;
	struct ynode *n;

	ck_assert_int_eq(parse(&doc, y, strlen(y), &d), 0);
	ck_assert_int_eq(doc.root->type, YN_MAP);
	n = ymap_get(doc.root, "a");
	ck_assert(n->plain);
	ck_assert_uint_eq(n->line, 1);
	ck_assert_uint_eq(n->col, 4);
	ck_assert(!ymap_get(doc.root, "b")->plain);
	ck_assert(!ymap_get(doc.root, "c")->plain);
	n = ymap_get(doc.root, "d");
	ck_assert_int_eq(n->type, YN_SEQ);
	ck_assert_uint_eq(n->items[0]->line, 5);
	ck_assert_uint_eq(n->items[0]->col, 5);
	ydoc_free(&doc);
	diags_done(&d);
}
END_TEST

START_TEST(nul_in_quoted_scalar_is_kept)
{
	const char *y = "a: \"x\\0y\"\n";
	struct ydoc doc;
	struct diags d;
	struct ynode *n;

	ck_assert_int_eq(parse(&doc, y, strlen(y), &d), 0);
	n = ymap_get(doc.root, "a");
	ck_assert_uint_eq(n->len, 3);
	ck_assert_mem_eq(n->str, "x\0y", 3);
	ydoc_free(&doc);
	diags_done(&d);
}
END_TEST

START_TEST(aliases_share_and_merge_keys_resolve)
{
	const char *y =
	    "base: &b { x: 1, y: 2 }\n"
	    "more: &m { z: 3, x: 9 }\n"
	    "use: { <<: [*b, *m], y: 5 }\n"
	    "same: *b\n";
	struct ydoc doc;
	struct diags d;
	struct ynode *u;

	ck_assert_int_eq(parse(&doc, y, strlen(y), &d), 0);
	ck_assert_uint_eq(d.nerrors, 0);
	u = ymap_get(doc.root, "use");
	ck_assert_uint_eq(u->n, 3);
	ck_assert_str_eq(ymap_get(u, "x")->str, "1");	/* earlier source */
	ck_assert_str_eq(ymap_get(u, "y")->str, "5");	/* own key wins */
	ck_assert_str_eq(ymap_get(u, "z")->str, "3");
	ck_assert_ptr_null(ymap_get(u, "<<"));
	ck_assert_ptr_eq(ymap_get(doc.root, "same"), ymap_get(doc.root, "base"));
	ydoc_free(&doc);
	diags_done(&d);
}
END_TEST

START_TEST(merge_of_a_scalar_is_an_error)
{
	const char *y = "a: &a 1\nb: { <<: *a }\n";
	struct ydoc doc;
	struct diags d;

	parse(&doc, y, strlen(y), &d);
	assert_error(&d, 1, 4, "merge key");
	ydoc_free(&doc);
	diags_done(&d);
}
END_TEST

START_TEST(depth_limit_is_exact)
{
	struct buf b;
	struct ydoc doc;
	struct diags d;
	int i;

	/* 64 nested collections are allowed, 65 are not. */
	buf_init(&b);
	for (i = 0; i < YAML_MAX_DEPTH; i++)
		buf_addc(&b, '[');
	for (i = 0; i < YAML_MAX_DEPTH; i++)
		buf_addc(&b, ']');
	ck_assert_int_eq(parse(&doc, b.data, b.len, &d), 0);
	ydoc_free(&doc);
	diags_done(&d);
	buf_reset(&b);
	for (i = 0; i <= YAML_MAX_DEPTH; i++)
		buf_addc(&b, '[');
	for (i = 0; i <= YAML_MAX_DEPTH; i++)
		buf_addc(&b, ']');
	ck_assert_int_eq(parse(&doc, b.data, b.len, &d), -1);
	assert_error(&d, 1, YAML_MAX_DEPTH + 1, "nesting deeper");
	ydoc_free(&doc);
	diags_done(&d);
	buf_free(&b);
}
END_TEST

START_TEST(twenty_thousand_deep)
{
	struct buf b;
	struct ydoc doc;
	struct diags d;
	int i;

	buf_init(&b);
	/* Block style: compact nested sequences. */
	buf_adds(&b, "steps:\n");
	for (i = 0; i < 20000; i++)
		buf_adds(&b, "- ");
	buf_adds(&b, "x\n");
	ck_assert_int_eq(parse(&doc, b.data, b.len, &d), -1);
	ck_assert_msg(strstr(d.v[0].msg, "nesting deeper") != NULL, "%s",
	    d.v[0].msg);
	ck_assert_uint_le(doc.nall, YAML_MAX_DEPTH + 2);
	ydoc_free(&doc);
	diags_done(&d);
	/* Flow style. */
	buf_reset(&b);
	for (i = 0; i < 20000; i++)
		buf_adds(&b, "{a: [");
	ck_assert_int_eq(parse(&doc, b.data, b.len, &d), -1);
	ck_assert_msg(strstr(d.v[0].msg, "nesting deeper") != NULL, "%s",
	    d.v[0].msg);
	ydoc_free(&doc);
	diags_done(&d);
	buf_free(&b);
}
END_TEST

START_TEST(node_limit)
{
	struct buf b;
	struct ydoc doc;
	struct diags d;
	int i;

	buf_init(&b);
	buf_addc(&b, '[');
	for (i = 0; i < YAML_MAX_NODES + 10; i++)
		buf_adds(&b, "1,");
	buf_addc(&b, ']');
	ck_assert_int_eq(parse(&doc, b.data, b.len, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.v[0].msg, "YAML nodes"));
	ydoc_free(&doc);
	diags_done(&d);
	buf_free(&b);
}
END_TEST

START_TEST(wide_alias_bomb)
{
	/* 2^30 nodes from 30 lines: each level doubles the last. */
	struct buf b;
	struct ydoc doc;
	struct diags d;
	int i;

	buf_init(&b);
	buf_adds(&b, "l0: &l0 [x, x]\n");
	for (i = 1; i < 30; i++)
		buf_addf(&b, "l%d: &l%d [*l%d, *l%d]\n", i, i, i - 1, i - 1);
	ck_assert_int_eq(parse(&doc, b.data, b.len, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.v[0].msg, "alias bomb"));
	ydoc_free(&doc);
	diags_done(&d);
	buf_free(&b);
}
END_TEST

START_TEST(size_limit)
{
	size_t len = YAML_MAX_BYTES + 1;
	char *big = malloc(len);
	struct ydoc doc;
	struct diags d;

	memset(big, 'a', len);
	ck_assert_int_eq(parse(&doc, big, len, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.v[0].msg, "limit"));
	ydoc_free(&doc);
	diags_done(&d);
	free(big);
}
END_TEST

START_TEST(utf16_with_bom_is_read)
{
	/* "a: b\n" in UTF-16LE with a byte order mark. */
	const char y[] = "\xff\xfe" "a\0:\0 \0b\0\n\0";
	struct ydoc doc;
	struct diags d;

	ck_assert_int_eq(parse(&doc, y, sizeof y - 1, &d), 0);
	ck_assert_str_eq(ymap_get(doc.root, "a")->str, "b");
	ydoc_free(&doc);
	diags_done(&d);
}
END_TEST

START_TEST(complex_keys_refused)
{
	const char *y = "? [a, b]\n: c\n";
	struct ydoc doc;
	struct diags d;

	ck_assert_int_eq(parse(&doc, y, strlen(y), &d), -1);
	assert_error(&d, 1, 3, "mapping key");
	ydoc_free(&doc);
	diags_done(&d);
}
END_TEST

START_TEST(random_bytes_never_crash)
{
	unsigned char buf[512];
	unsigned long x = 12345;
	struct ydoc doc;
	struct diags d;
	int round;
	size_t i;

	for (round = 0; round < 2000; round++) {
		for (i = 0; i < sizeof buf; i++) {
			x = x * 6364136223846793005UL + 1442695040888963407UL;
			/* Mostly YAML punctuation, sometimes anything. */
			buf[i] = (x >> 60) < 12 ?
			    (unsigned char)"[]{}:,-&*!|>'\"#\n ab"[(x >> 33) % 20] :
			    (unsigned char)(x >> 40);
		}
		parse(&doc, (const char *)buf, sizeof buf, &d);
		ydoc_free(&doc);
		diags_done(&d);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("yamltree");
	TCase *tc = tcase_create("yamltree");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, scalars_keep_style_and_marks);
	tcase_add_test(tc, nul_in_quoted_scalar_is_kept);
	tcase_add_test(tc, aliases_share_and_merge_keys_resolve);
	tcase_add_test(tc, merge_of_a_scalar_is_an_error);
	tcase_add_test(tc, depth_limit_is_exact);
	tcase_add_test(tc, twenty_thousand_deep);
	tcase_add_test(tc, node_limit);
	tcase_add_test(tc, wide_alias_bomb);
	tcase_add_test(tc, size_limit);
	tcase_add_test(tc, utf16_with_bom_is_read);
	tcase_add_test(tc, complex_keys_refused);
	tcase_add_test(tc, random_bytes_never_crash);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
