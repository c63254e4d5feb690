/* tls.c: see tls.h.
 *
 * What a failure means is gathered while it happens: the verify callback
 * keeps the first certificate problem (which certificate, its names, its
 * dates) and the client certificate callback notes that the server asked
 * for one; both live in a small note hung on the SSL (ex_data), which
 * tls_explain() reads once the connection has failed. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "textesc.h"
#include "tls.h"
#include "xmalloc.h"

struct tls_ctx {
	unsigned	 refs;		/* connections sharing it */
	SSL_CTX		*ctx;
	bool		 verify;
	bool		 has_cert;	/* a client certificate is loaded */
	char		*server_name;	/* or NULL: the host */
};

/* What one connection learnt while failing. */
struct tls_note {
	bool		 asked;		/* the server asked for a client cert */
	bool		 has_cert;
	int		 verr;		/* first X509_V_ERR_*, or 0 */
	int		 vdepth;
	char		 vnames[160];	/* the names of the certificate */
	char		 vdate[64];	/* its notAfter (or notBefore) */
	char		 expected[256];	/* the name checked */
};

static int note_index = -1;

static void
note_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

static struct tls_note *
note_of(const SSL *ssl)
{
	return ssl != NULL && note_index >= 0 ? SSL_get_ex_data(ssl,
	    note_index) : NULL;
}

/* "a.example, 127.0.0.1" from the subjectAltName, else "CN=..". */
static void
cert_names(X509 *x, char *buf, size_t len)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char one[INET6_ADDRSTRLEN + 1];
		const unsigned char *d;
		int n;

		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			n = ASN1_STRING_length(g->d.dNSName);
			snprintf(one, sizeof one, "%.*s", n > 40 ? 40 : n, d);
		} else if (g->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(g->d.iPAddress);
			n = ASN1_STRING_length(g->d.iPAddress);
			if (n != 4 && n != 16)
				continue;
			inet_ntop(n == 4 ? AF_INET : AF_INET6, d, one,
			    sizeof one);
		} else
			continue;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
			    used > 0 ? ", " : "", one);
	}
	GENERAL_NAMES_free(gens);
	if (buf[0] == '\0')
		X509_NAME_oneline(X509_get_subject_name(x), buf, (int)len);
}

static void
asn1_time(const ASN1_TIME *t, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	buf[0] = '\0';
	if (b == NULL)
		return;
	if (ASN1_TIME_print(b, t) == 1 && (n = BIO_get_mem_data(b, &p)) > 0)
		snprintf(buf, len, "%.*s", (int)n, p);
	BIO_free(b);
}

/* Keeps the first problem found; OpenSSL's verdict stands. */
static int
verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_note *n = note_of(ssl);
	X509 *x = X509_STORE_CTX_get_current_cert(xs);
	int err = X509_STORE_CTX_get_error(xs);

	if (ok || n == NULL || n->verr != 0)
		return ok;
	n->verr = err;
	n->vdepth = X509_STORE_CTX_get_error_depth(xs);
	if (x != NULL) {
		cert_names(x, n->vnames, sizeof n->vnames);
		if (err == X509_V_ERR_CERT_HAS_EXPIRED)
			asn1_time(X509_get0_notAfter(x), n->vdate,
			    sizeof n->vdate);
		else if (err == X509_V_ERR_CERT_NOT_YET_VALID)
			asn1_time(X509_get0_notBefore(x), n->vdate,
			    sizeof n->vdate);
	}
	return ok;
}

/* Called only when the server asks and no certificate is loaded. */
static int
client_cert_cb(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
	struct tls_note *n = note_of(ssl);

	(void)x509;
	(void)pkey;
	if (n != NULL)
		n->asked = true;
	return 0;	/* none: go on without one */
}

/* The text of the newest OpenSSL error, cleared. */
static const char *
ssl_errtext(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, len, "%s", r != NULL ? r : "unknown OpenSSL error");
	ERR_clear_error();
	return buf;
}

/* Loads one file of field, or sets *cause.  what: "ca_file" etc. */
static bool
load_file(SSL_CTX *ctx, const char *field, const char *what,
    const char *path, char **cause)
{
	char e[160];
	FILE *f;
	int ok;

	/* Unreadable first: errno says why better than OpenSSL does. */
	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s.%s: cannot read %s: %s", field, what, path,
		    strerror(errno));
		return false;
	}
	fclose(f);
	if (strcmp(what, "ca_file") == 0)
		ok = SSL_CTX_load_verify_locations(ctx, path, NULL);
	else if (strcmp(what, "cert_file") == 0)
		ok = SSL_CTX_use_certificate_chain_file(ctx, path);
	else
		ok = SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM);
	if (ok != 1 && ERR_GET_REASON(ERR_peek_last_error()) ==
	    X509_R_KEY_VALUES_MISMATCH) {
		ERR_clear_error();
		xasprintf(cause, "%s.%s: %s is not the key of the certificate "
		    "(cert_file)", field, what, path);
		return false;
	}
	if (ok != 1) {
		xasprintf(cause, "%s.%s: cannot use %s: %s", field, what, path,
		    ssl_errtext(e, sizeof e));
		return false;
	}
	return true;
}

struct tls_ctx *
tls_ctx_new(const struct rb_tls *t, const char *field, char **cause)
{
	struct tls_ctx *c;
	char e[160];

	*cause = NULL;
	if (note_index < 0 && (note_index = SSL_get_ex_new_index(0, NULL, NULL,
	    NULL, note_free)) < 0)
		fatal("cannot register TLS connection data");
	c = xcalloc(1, sizeof *c);
	c->refs = 1;
	c->verify = t->verify;
	if ((c->ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		fatal("cannot make a TLS context: %s", ssl_errtext(e,
		    sizeof e));
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(c->ctx, SSL_MODE_RELEASE_BUFFERS);
	if (t->ca_file != NULL) {
		if (!load_file(c->ctx, field, "ca_file", t->ca_file, cause))
			goto fail;
	} else if (t->verify && SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		xasprintf(cause, "%s: the system's trusted CAs cannot be "
		    "loaded (%s); set ca_file", field, ssl_errtext(e, sizeof e));
		goto fail;
	}
	if (t->cert_file != NULL) {
		if (!load_file(c->ctx, field, "cert_file", t->cert_file, cause) ||
		    !load_file(c->ctx, field, "key_file", t->key_file, cause))
			goto fail;
		if (SSL_CTX_check_private_key(c->ctx) != 1) {
			xasprintf(cause, "%s.key_file: %s is not the key of the "
			    "certificate (cert_file)", field, t->key_file);
			goto fail;
		}
		c->has_cert = true;
	} else
		SSL_CTX_set_client_cert_cb(c->ctx, client_cert_cb);
	SSL_CTX_set_verify(c->ctx, t->verify ? SSL_VERIFY_PEER :
	    SSL_VERIFY_NONE, verify_cb);
	if (t->server_name != NULL)
		c->server_name = xstrdup(t->server_name);
	return c;
fail:
	ERR_clear_error();
	tls_ctx_free(c);
	return NULL;
}

struct tls_ctx *
tls_ctx_ref(struct tls_ctx *c)
{
	if (c != NULL)
		c->refs++;
	return c;
}

void
tls_ctx_free(struct tls_ctx *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	SSL_CTX_free(c->ctx);
	free(c->server_name);
	free(c);
}

bool
tls_ctx_verifies(const struct tls_ctx *c)
{
	return c->verify;
}

SSL *
tls_ssl_new(struct tls_ctx *c, const char *host, char *msg, size_t len)
{
	const char *name = c->server_name != NULL ? c->server_name : host;
	unsigned char addr[16];
	struct tls_note *n;
	bool ip;
	SSL *ssl;

	ip = inet_pton(AF_INET, name, addr) == 1 ||
	    inet_pton(AF_INET6, name, addr) == 1;
	if ((ssl = SSL_new(c->ctx)) == NULL) {
		char e[160];

		snprintf(msg, len, "TLS: %s", ssl_errtext(e, sizeof e));
		return NULL;
	}
	n = xcalloc(1, sizeof *n);
	n->has_cert = c->has_cert;
	snprintf(n->expected, sizeof n->expected, "%s", name);
	SSL_set_ex_data(ssl, note_index, n);
	/* SNI takes host names only (RFC 6066, 3). */
	if (!ip && SSL_set_tlsext_host_name(ssl, name) != 1)
		goto fail;
	if (c->verify) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

		if (ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name) != 1 :
		    SSL_set1_host(ssl, name) != 1)
			goto fail;
		X509_VERIFY_PARAM_set_hostflags(vp,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	}
	return ssl;
fail:
	snprintf(msg, len, "TLS: cannot check the name %s", name);
	ERR_clear_error();
	SSL_free(ssl);
	return NULL;
}

bool
tls_heard(const SSL *ssl)
{
	switch (SSL_get_state(ssl)) {
	case TLS_ST_BEFORE:
	case TLS_ST_CW_CLNT_HELLO:
	case TLS_ST_CR_SRVR_HELLO:	/* waiting for the ServerHello */
		return false;
	default:
		return true;
	}
}

bool
tls_err_not_tls(unsigned long err)
{
	if (err == 0 || ERR_GET_LIB(err) != ERR_LIB_SSL)
		return false;
	switch (ERR_GET_REASON(err)) {
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_UNKNOWN_PROTOCOL:
	case SSL_R_HTTP_REQUEST:
	case SSL_R_RECORD_LENGTH_MISMATCH:
		return true;
	default:
		return false;
	}
}

static const char *
cert_problem(const struct tls_note *n, char *msg, size_t len)
{
	const char *why = X509_verify_cert_error_string(n->verr);
	char *names = esc_str(n->vnames, 0), *exp = esc_str(n->expected, 0);

	switch (n->verr) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		snprintf(msg, len, "TLS: the certificate has expired (%s%s%s)",
		    names, n->vdate[0] ? ", not after " : "", n->vdate);
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		snprintf(msg, len, "TLS: the certificate is not valid yet (%s%s"
		    "%s)", names, n->vdate[0] ? ", not before " : "", n->vdate);
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		snprintf(msg, len, "TLS: the certificate is for another name "
		    "(%s): expected %s", names, exp);
		break;
	default:
		snprintf(msg, len, "TLS: certificate not trusted (%s: %s)",
		    why, names);
		break;
	}
	free(names);
	free(exp);
	return msg;
}

const char *
tls_explain(SSL *ssl, unsigned long err, const char *sys, char *msg,
    size_t len)
{
	const struct tls_note *n = note_of(ssl);
	int reason = err != 0 && ERR_GET_LIB(err) == ERR_LIB_SSL ?
	    ERR_GET_REASON(err) : 0;
	const char *r;
	char code[128];

	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, NULL);
	if ((r = err != 0 ? ERR_reason_error_string(err) : NULL) == NULL &&
	    err != 0) {
		ERR_error_string_n(err, code, sizeof code);
		r = code;
	}
	if (r == NULL)
		r = sys != NULL ? sys : "connection closed during the handshake";
	if (n != NULL && n->verr != 0)
		return cert_problem(n, msg, len);
	if (tls_err_not_tls(err)) {
		snprintf(msg, len, "this port does not speak TLS (%s)", r);
		return msg;
	}
	if (n != NULL && !n->has_cert && (n->asked ||
	    reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED)) {
		snprintf(msg, len, "TLS: the server wants a client certificate "
		    "(tls.cert_file/key_file): %s", r);
		return msg;
	}
	if (n != NULL && n->has_cert && (reason ==
	    SSL_R_TLSV1_ALERT_UNKNOWN_CA || reason ==
	    SSL_R_SSLV3_ALERT_BAD_CERTIFICATE || reason ==
	    SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN || reason ==
	    SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED)) {
		snprintf(msg, len, "TLS: the server refused the client "
		    "certificate (%s)", r);
		return msg;
	}
	snprintf(msg, len, "TLS: %s", r);
	return msg;
}

SSL *
tls_probe_ssl(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);	/* the SSL keeps it while it lives */
	ERR_clear_error();
	return ssl;
}
