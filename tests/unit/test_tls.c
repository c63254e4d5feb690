/* test_tls.c: the TLS context of rediss:// -- files that cannot be used
 * are named by their runbook field, SNI and the name checked follow
 * server_name or the host (an IP: no SNI, an IP check), verify: false
 * checks nothing, a shared context lives until its last user, and the
 * OpenSSL reasons of a plaintext peer are told apart. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tap.h"
#include "tls.h"

static struct tls_ctx *
ctx_of(char *ca, char *cert, char *key, bool verify, char **cause)
{
	struct rb_tls t;

	memset(&t, 0, sizeof t);
	t.on = true;
	t.verify = verify;
	t.ca_file = ca;
	t.cert_file = cert;
	t.key_file = key;
	return tls_ctx_new(&t, "redis.tls", cause);
}

START_TEST(missing_ca_file_named)
{
	char *cause = NULL, ca[] = "/nonexistent/ca.pem";

	ck_assert_ptr_null(ctx_of(ca, NULL, NULL, true, &cause));
	ck_assert_str_eq(cause, "redis.tls.ca_file: cannot read "
	    "/nonexistent/ca.pem: No such file or directory");
	free(cause);
}
END_TEST

START_TEST(garbage_files_named)
{
	char path[] = "/tmp/test_tls.XXXXXX", *cause = NULL;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "not a certificate\n", 18), 18);
	close(fd);
	ck_assert_ptr_null(ctx_of(path, NULL, NULL, true, &cause));
	ck_assert_msg(strncmp(cause, "redis.tls.ca_file: cannot use ", 30) == 0,
	    "%s", cause);
	free(cause);
	cause = NULL;
	ck_assert_ptr_null(ctx_of(NULL, path, path, false, &cause));
	ck_assert_msg(strncmp(cause, "redis.tls.cert_file: cannot use ", 32) ==
	    0, "%s", cause);
	free(cause);
	unlink(path);
}
END_TEST

START_TEST(sni_and_name)
{
	char *cause = NULL, msg[256];
	struct tls_ctx *c = ctx_of(NULL, NULL, NULL, true, &cause);
	SSL *ssl;

	if (c == NULL) {	/* no system CAs here: named, not silent */
		ck_assert_ptr_nonnull(cause);
		free(cause);
		return;
	}
	ck_assert(tls_ctx_verifies(c));
	ssl = tls_ssl_new(c, "cache.example", msg, sizeof msg);
	ck_assert_ptr_nonnull(ssl);
	ck_assert_str_eq(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name),
	    "cache.example");
	ck_assert_str_eq(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0),
	    "cache.example");
	SSL_free(ssl);
	/* An IP literal: checked as an address, no SNI (RFC 6066). */
	ssl = tls_ssl_new(c, "127.0.0.1", msg, sizeof msg);
	ck_assert_ptr_nonnull(ssl);
	ck_assert_ptr_null(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
	ck_assert_ptr_null(X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl),
	    0));
	SSL_free(ssl);
	tls_ctx_free(c);
}
END_TEST

START_TEST(server_name_wins)
{
	struct rb_tls t;
	char *cause = NULL, msg[256], name[] = "redis.internal";
	struct tls_ctx *c;
	SSL *ssl;

	memset(&t, 0, sizeof t);
	t.on = true;
	t.verify = false;
	t.server_name = name;
	c = tls_ctx_new(&t, "redis.tls", &cause);
	ck_assert_ptr_nonnull(c);
	ck_assert(!tls_ctx_verifies(c));
	ssl = tls_ssl_new(c, "10.0.0.5", msg, sizeof msg);
	ck_assert_ptr_nonnull(ssl);
	ck_assert_str_eq(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name),
	    "redis.internal");
	/* verify: false: nothing is checked. */
	ck_assert_int_eq(SSL_get_verify_mode(ssl), SSL_VERIFY_NONE);
	SSL_free(ssl);
	/* Shared: the second user still has it after the first frees it. */
	ck_assert_ptr_eq(tls_ctx_ref(c), c);
	tls_ctx_free(c);
	ssl = tls_ssl_new(c, "10.0.0.5", msg, sizeof msg);
	ck_assert_ptr_nonnull(ssl);
	SSL_free(ssl);
	tls_ctx_free(c);
	ck_assert_ptr_null(tls_ctx_ref(NULL));
}
END_TEST

START_TEST(plaintext_peer_reasons)
{
	char msg[256];

	ck_assert(tls_err_not_tls(ERR_PACK(ERR_LIB_SSL, 0,
	    SSL_R_WRONG_VERSION_NUMBER)));
	ck_assert(tls_err_not_tls(ERR_PACK(ERR_LIB_SSL, 0,
	    SSL_R_PACKET_LENGTH_TOO_LONG)));
	ck_assert(!tls_err_not_tls(ERR_PACK(ERR_LIB_SSL, 0,
	    SSL_R_CERTIFICATE_VERIFY_FAILED)));
	ck_assert(!tls_err_not_tls(0));
	ck_assert(!tls_err_not_tls(SSL_ERROR_SSL));
	tls_explain(NULL, ERR_PACK(ERR_LIB_SSL, 0, SSL_R_WRONG_VERSION_NUMBER),
	    NULL, msg, sizeof msg);
	ck_assert_str_eq(msg, "this port does not speak TLS (wrong version "
	    "number)");
	tls_explain(NULL, 0, NULL, msg, sizeof msg);
	ck_assert_str_eq(msg, "TLS: connection closed during the handshake");
	tls_explain(NULL, 0, "Connection reset by peer", msg, sizeof msg);
	ck_assert_str_eq(msg, "TLS: Connection reset by peer");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");

	tcase_add_test(tc, missing_ca_file_named);
	tcase_add_test(tc, garbage_files_named);
	tcase_add_test(tc, sni_and_name);
	tcase_add_test(tc, server_name_wins);
	tcase_add_test(tc, plaintext_peer_reasons);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
