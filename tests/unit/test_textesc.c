/* test_textesc.c: untrusted text comes out inert. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "textesc.h"

static void
check_esc(const char *in, size_t len, int flags, const char *want)
{
	char *out = esc_text(in, len, flags);

	ck_assert_str_eq(out, want);
	free(out);
}

START_TEST(printable_passes)
{
	check_esc("hello, world", 12, 0, "hello, world");
	check_esc("caf\xc3\xa9 \xe2\x9c\x94", 9, 0, "caf\xc3\xa9 \xe2\x9c\x94");
	ck_assert(esc_is_clean("plain text", 10, 0));
}
END_TEST

START_TEST(c0_and_del)
{
	check_esc("a\x1b[2Jb", 6, 0, "a\\x1b[2Jb");
	check_esc("\x7f\x01", 2, 0, "\\x7f\\x01");
	check_esc("a\tb\nc\rd", 7, 0, "a\\tb\\nc\\rd");
	check_esc("a\tb\nc", 5, ESC_KEEP_TAB | ESC_KEEP_NL, "a\tb\nc");
	check_esc("a\0b", 3, 0, "a\\x00b");
}
END_TEST

START_TEST(c1_controls)
{
	/* U+009B is CSI: a terminal in 8-bit mode acts on it. */
	check_esc("x\xc2\x9b" "31m", 6, 0, "x\\u009b31m");
	check_esc("\xc2\x85", 2, 0, "\\u0085");
}
END_TEST

START_TEST(bidi_and_format_controls)
{
	check_esc("abc\xe2\x80\xae" "fdp.exe", 13, 0, "abc\\u202efdp.exe");
	check_esc("\xe2\x81\xa6x\xe2\x81\xa9", 7, 0, "\\u2066x\\u2069");
	check_esc("\xef\xbb\xbfz", 4, 0, "\\ufeffz");
	check_esc("a\xe2\x80\x8b" "b", 5, 0, "a\\u200bb");
	check_esc("\xf3\xa0\x80\x81", 4, 0, "\\U000e0001");
}
END_TEST

START_TEST(invalid_utf8)
{
	check_esc("\xff\xfe", 2, 0, "\\xff\\xfe");
	check_esc("\xc0\xaf", 2, 0, "\\xc0\\xaf");		/* overlong */
	check_esc("\xed\xa0\x80", 3, 0, "\\xed\\xa0\\x80");	/* surrogate */
	check_esc("\xe2\x82", 2, 0, "\\xe2\\x82");		/* truncated */
	check_esc("\xf4\x90\x80\x80", 4, 0, "\\xf4\\x90\\x80\\x80");
}
END_TEST

START_TEST(backslash_is_reversible_on_request)
{
	check_esc("a\\x1b", 5, 0, "a\\x1b");
	check_esc("a\\x1b", 5, ESC_BACKSLASH, "a\\\\x1b");
}
END_TEST

START_TEST(ascii_mode)
{
	check_esc("caf\xc3\xa9", 5, ESC_ASCII, "caf\\u00e9");
}
END_TEST

START_TEST(every_byte_is_inert)
{
	unsigned char in[256];
	char *out;
	size_t i;

	for (i = 0; i < 256; i++)
		in[i] = (unsigned char)i;
	out = esc_text(in, sizeof in, 0);
	for (i = 0; out[i] != '\0'; i++) {
		ck_assert_msg((unsigned char)out[i] >= 0x20 &&
		    (unsigned char)out[i] < 0x7f, "byte 0x%02x at %zu",
		    (unsigned char)out[i], i);
	}
	free(out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("textesc");
	TCase *tc = tcase_create("textesc");

	tcase_add_test(tc, printable_passes);
	tcase_add_test(tc, c0_and_del);
	tcase_add_test(tc, c1_controls);
	tcase_add_test(tc, bidi_and_format_controls);
	tcase_add_test(tc, invalid_utf8);
	tcase_add_test(tc, backslash_is_reversible_on_request);
	tcase_add_test(tc, ascii_mode);
	tcase_add_test(tc, every_byte_is_inert);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
