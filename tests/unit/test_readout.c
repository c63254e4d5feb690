/* test_readout.c: the readouts' arithmetic: rates between two INFO samples,
 * the pacing of route counts, durations and the count line, staleness, a
 * cluster's partial sums. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "readout.h"
#include "scan.h"
#include "tap.h"

/* A cluster's sums: partial when a node did not answer, never a complete
 * number; unknown when none did. */
START_TEST(sums_say_partial)
{
	struct readout_sum s = { 0 };
	char buf[64];

	readout_sum_text(&s, buf, sizeof buf);
	ck_assert_str_eq(buf, "--");
	s.missing = 3;
	readout_sum_text(&s, buf, sizeof buf);
	ck_assert_str_eq(buf, "--");
	s.v = 2000;
	s.known = 2;
	s.missing = 1;
	readout_sum_text(&s, buf, sizeof buf);
	ck_assert_str_eq(buf, ">=2000 (partial)");
	s.missing = 0;
	readout_sum_text(&s, buf, sizeof buf);
	ck_assert_str_eq(buf, "2000");
}
END_TEST

START_TEST(rate_first_sample_is_unknown)
{
	struct rate r = { 0 };

	ck_assert(rate_sample(&r, 1000, 10.0) < 0);
	ck_assert(r.have);
	ck_assert(!r.reset);
}
END_TEST

START_TEST(rate_between_two_samples)
{
	struct rate r = { 0 };

	rate_sample(&r, 1000, 10.0);
	ck_assert(fabs(rate_sample(&r, 1100, 12.0) - 50.0) < 1e-9);
	/* The next one is between the last two samples, not since start. */
	ck_assert(fabs(rate_sample(&r, 1100, 14.0) - 0.0) < 1e-9);
	ck_assert(fabs(rate_sample(&r, 1130, 14.5) - 60.0) < 1e-9);
}
END_TEST

START_TEST(rate_counter_down_resets)
{
	struct rate r = { 0 };

	rate_sample(&r, 5000, 1.0);
	rate_sample(&r, 6000, 2.0);
	/* CONFIG RESETSTAT or a restart: no negative rate, a reset. */
	ck_assert(rate_sample(&r, 10, 3.0) < 0);
	ck_assert(r.reset);
	/* Counting starts over from the new value. */
	ck_assert(fabs(rate_sample(&r, 30, 5.0) - 10.0) < 1e-9);
	ck_assert(!r.reset);
}
END_TEST

START_TEST(rate_same_instant_changes_nothing)
{
	struct rate r = { 0 };

	rate_sample(&r, 100, 1.0);
	rate_sample(&r, 200, 2.0);
	ck_assert(fabs(rate_sample(&r, 900, 2.0) - 100.0) < 1e-9);
	ck_assert_int_eq(r.last, 200);
	ck_assert(fabs(rate_sample(&r, 300, 3.0) - 100.0) < 1e-9);
}
END_TEST

START_TEST(pace_keeps_scan_under_budget)
{
	double call, pause;

	/* A call and its pause: SCAN's share of the time is at most 5%. */
	for (call = 0.0001; call < 0.05; call *= 1.7) {
		pause = readout_pace_pause(call);
		ck_assert_msg(call / (call + pause) <= 0.05,
		    "call %g pause %g", call, pause);
		ck_assert(fabs(pause - READOUT_PACE * call) < 1e-12);
	}
	/* Unpaced (a purge's preview) and nonsense: no pause. */
	ck_assert(scan_pause(0, 0.001) == 0);
	ck_assert(scan_pause(20, -1) == 0);
	ck_assert(fabs(scan_pause(20, 0.001) - 0.02) < 1e-12);
	/* A call that took long does not stop the walk for ever. */
	ck_assert(scan_pause(READOUT_PACE, 5.0) <= 10.0);
}
END_TEST

START_TEST(walk_interval_grows_with_the_walk)
{
	ck_assert(readout_walk_interval(2, 0.1) == 2);
	ck_assert(readout_walk_interval(2, 30) == 30);
	ck_assert(readout_walk_interval(2, 300) > readout_walk_interval(2, 30));
}
END_TEST

START_TEST(durations)
{
	char b[32];

	readout_duration(42.2, b, sizeof b);
	ck_assert_str_eq(b, "42 s");
	readout_duration(70, b, sizeof b);
	ck_assert_str_eq(b, "1m10s");
	readout_duration(7500, b, sizeof b);
	ck_assert_str_eq(b, "2h05m");
	readout_duration(-3, b, sizeof b);
	ck_assert_str_eq(b, "0 s");
	readout_duration(NAN, b, sizeof b);
	ck_assert_str_eq(b, "0 s");
}
END_TEST

START_TEST(route_lines)
{
	struct route_keys rk[1];
	struct readout x;
	char b[400];

	memset(&x, 0, sizeof x);
	memset(rk, 0, sizeof rk);
	x.routes = rk;
	x.nroutes = 1;
	rk[0].counting = true;
	rk[0].progress = -1;
	readout_route_text(&x, 0, 100, b, sizeof b);
	ck_assert_str_eq(b, "count queued");
	rk[0].progress = 0.385;
	readout_route_text(&x, 0, 100, b, sizeof b);
	ck_assert_str_eq(b, "counting 38%");
	rk[0].counting = false;
	rk[0].known = true;
	rk[0].count = 1234;
	rk[0].at = 58;
	x.walk_next = 170;
	readout_route_text(&x, 0, 100, b, sizeof b);
	ck_assert_str_eq(b, "1234 keys, counted 42 s ago, next in 1m10s");
	rk[0].counting = true;
	rk[0].progress = 0.5;
	x.walk_next = 0;
	readout_route_text(&x, 0, 100, b, sizeof b);
	ck_assert_str_eq(b, "1234 keys, counting 50%");
	rk[0].counting = false;
	rk[0].over = true;
	rk[0].count = READOUT_COUNT_LIMIT + 1;
	readout_route_text(&x, 0, 100, b, sizeof b);
	ck_assert_str_eq(b, ">1000001 keys, counted 42 s ago");
	snprintf(rk[0].error, sizeof rk[0].error, "SCAN failed: NOPERM");
	x.walk_next = 102;
	readout_route_text(&x, 0, 100, b, sizeof b);
	ck_assert_str_eq(b, ">1000001 keys, count failed: SCAN failed: NOPERM, "
	    "next in 2 s");
}
END_TEST

START_TEST(staleness)
{
	struct readout x;
	double age = -1;

	memset(&x, 0, sizeof x);
	ck_assert(!readout_stale(&x, 2, 100, &age));	/* nothing to dim */
	x.valid = true;
	x.at = 99;
	ck_assert(!readout_stale(&x, 2, 100, &age));
	ck_assert(fabs(age - 1) < 1e-9);
	ck_assert(!readout_stale(&x, 2, 99 + 2 * 2 + 1, &age));
	ck_assert(readout_stale(&x, 2, 111, &age));
	ck_assert(fabs(age - 12) < 1e-9);
}
END_TEST

START_TEST(info_fields)
{
	static const char info[] = "# Memory\r\nused_memory:1048576\r\n"
	    "maxmemory:0\r\nmaxmemory_policy:allkeys-lru\r\n";
	long long v = -1;
	char b[32];

	ck_assert(info_field(info, sizeof info - 1, "maxmemory", &v));
	ck_assert_int_eq(v, 0);
	ck_assert(info_field(info, sizeof info - 1, "used_memory", &v));
	ck_assert_int_eq(v, 1048576);
	ck_assert(!info_field(info, sizeof info - 1, "maxmemory_p", &v));
	ck_assert(info_text(info, sizeof info - 1, "maxmemory_policy", b,
	    sizeof b));
	ck_assert_str_eq(b, "allkeys-lru");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("readout");
	TCase *tc = tcase_create("readout");

	tcase_add_test(tc, rate_first_sample_is_unknown);
	tcase_add_test(tc, rate_between_two_samples);
	tcase_add_test(tc, rate_counter_down_resets);
	tcase_add_test(tc, rate_same_instant_changes_nothing);
	tcase_add_test(tc, pace_keeps_scan_under_budget);
	tcase_add_test(tc, walk_interval_grows_with_the_walk);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, sums_say_partial);
	tcase_add_test(tc, route_lines);
	tcase_add_test(tc, staleness);
	tcase_add_test(tc, info_fields);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
