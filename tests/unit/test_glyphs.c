/* test_glyphs.c: glyph sets and sparklines. */
#include "config.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "glyphs.h"
#include "tap.h"

START_TEST(sparkline_scales_between_min_and_max)
{
	const double v[] = { 10, 20, 30, 40, 50, 60, 70, 80 };
	struct buf b;

	buf_init(&b);
	glyphs_sparkline(glyphs_get(false), v, 8, 8, &b);
	ck_assert_str_eq(b.data, "_.,-~=*#");
	buf_free(&b);
}
END_TEST

START_TEST(sparkline_keeps_the_last_values)
{
	const double v[] = { 1000, 1, 2 };
	struct buf b;

	buf_init(&b);
	glyphs_sparkline(glyphs_get(false), v, 3, 2, &b);
	ck_assert_str_eq(b.data, "_#");
	buf_free(&b);
}
END_TEST

START_TEST(sparkline_flat_series)
{
	const double v[] = { 5, 5, 5 };
	struct buf b;

	buf_init(&b);
	glyphs_sparkline(glyphs_get(true), v, 3, 10, &b);
	ck_assert_str_eq(b.data, "\u2581\u2581\u2581");
	buf_free(&b);
}
END_TEST

START_TEST(locale_detection)
{
	ck_assert_ptr_nonnull(setlocale(LC_ALL, "C"));
	ck_assert(!glyphs_locale_utf8());
	if (setlocale(LC_ALL, "C.UTF-8") != NULL)
		ck_assert(glyphs_locale_utf8());
	setlocale(LC_ALL, "C");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("glyphs");
	TCase *tc = tcase_create("glyphs");

	tcase_add_test(tc, sparkline_scales_between_min_and_max);
	tcase_add_test(tc, sparkline_keeps_the_last_values);
	tcase_add_test(tc, sparkline_flat_series);
	tcase_add_test(tc, locale_detection);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
