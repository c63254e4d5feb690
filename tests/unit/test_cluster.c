/* test_cluster.c: a cluster's slots: CRC16 of the key or of its hash tag
 * (the values are what redis-server 7.0's CLUSTER KEYSLOT answers), and
 * which SCAN patterns pin every key they match to one slot. */
#include "config.h"

#include <string.h>

#include "cluster.h"
#include "tap.h"

static unsigned
slot(const char *key)
{
	return cluster_keyslot(key, strlen(key));
}

START_TEST(keyslot_as_redis_says)
{
	ck_assert_uint_eq(slot("foo"), 12182);
	ck_assert_uint_eq(slot("bar"), 5061);
	ck_assert_uint_eq(slot("{user1000}.following"), 3443);
	ck_assert_uint_eq(slot("{user1000}.followers"), 3443);
	/* An empty tag, and no closing brace: the whole key. */
	ck_assert_uint_eq(slot("a{}b"), 13694);
	ck_assert_uint_eq(slot("{}"), 15257);
	ck_assert_uint_eq(slot("a{b"), 13340);
	/* The first '{' and the next '}': the tag is "{a". */
	ck_assert_uint_eq(slot("{{a}}"), 10276);
	ck_assert_uint_eq(slot("anp:page:{blog}/x"), 7653);
	ck_assert_uint_eq(slot("blog"), 7653);
}
END_TEST

START_TEST(keyslot_binary)
{
	const char k[] = { 'a', '\0', 'b', '{', 'x', '}' };

	/* A NUL inside the key counts; the tag is "x". */
	ck_assert_uint_eq(cluster_keyslot(k, sizeof k), slot("x"));
	ck_assert_uint_ne(cluster_keyslot(k, 3), cluster_keyslot(k, 1));
	ck_assert_uint_lt(cluster_keyslot("\xff\xfe", 2), CLUSTER_SLOTS);
}
END_TEST

START_TEST(pattern_pinned_by_a_tag)
{
	ck_assert_int_eq(cluster_pattern_slot("anp:page:{blog}/*"), 7653);
	ck_assert_int_eq(cluster_pattern_slot("{blog}*"), 7653);
	/* No wildcard: one key, one slot. */
	ck_assert_int_eq(cluster_pattern_slot("foo"), 12182);
	/* A wildcard before or inside the tag, an empty tag, no tag: keys
	   of many slots may match. */
	ck_assert_int_eq(cluster_pattern_slot("anp:*:{blog}/x"), -1);
	ck_assert_int_eq(cluster_pattern_slot("anp:{bl*g}/x"), -1);
	ck_assert_int_eq(cluster_pattern_slot("anp:{blog/*"), -1);
	ck_assert_int_eq(cluster_pattern_slot("anp:{}*"), -1);
	ck_assert_int_eq(cluster_pattern_slot("anp:page:/blog/*"), -1);
	ck_assert_int_eq(cluster_pattern_slot("anp:?{blog}"), -1);
	ck_assert_int_eq(cluster_pattern_slot("anp:[ab]{blog}"), -1);
	ck_assert_int_eq(cluster_pattern_slot("anp:\\{blog}*"), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cluster");
	TCase *tc = tcase_create("slots");

	tcase_add_test(tc, keyslot_as_redis_says);
	tcase_add_test(tc, keyslot_binary);
	tcase_add_test(tc, pattern_pinned_by_a_tag);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
