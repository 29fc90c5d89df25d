/*
 * openssl_leak - real OpenSSL 3 objects (libcrypto): an X509 with a
 * leaked reference, and X509, EVP_PKEY and BIO objects that are released
 * properly.  Run with REFSCOPE_HOOKS=openssl (the built-in profile:
 * counts kept from the *_new / *_up_ref / *_free calls seen, OpenSSL's
 * reference counts being private); tests/integration/test_refcount.py
 * does.
 *
 *  - make_leak() creates an empty certificate with X509_new (one
 *    384-byte X509 block; its fields take 12 more blocks, 400 bytes),
 *    remember_cert() takes an extra reference with X509_up_ref and never
 *    drops it, make_leak() frees its own with X509_free.
 *  - keep_cert() keeps a certificate in the global `kept` (reachable).
 *  - make_leak_ex() does the same with X509_new_ex, the constructor
 *    OpenSSL's own tools call (`openssl req -x509`).
 *  - make_balanced() creates an EVP_PKEY, a memory BIO and an X509, takes
 *    one more reference on each (EVP_PKEY_up_ref, BIO_up_ref,
 *    X509_up_ref) and frees each twice: freed.
 *  - read_cert() reads a certificate from PEM text and frees it: OpenSSL
 *    builds it from its ASN.1 template, through no constructor a profile
 *    can name.  Its X509_free is no "decref of untracked object" (every
 *    program that read a certificate got that false error).
 *
 * refscope must report:
 *  - summary.leaked_refs: 2 objects, 2 refs, 768 bytes, 2 blocks; two
 *    "leaked_ref" findings, type "X509", refcount 1, pointers 0, refs 1,
 *    unbalanced: one incref (count 1) whose stack names remember_cert;
 *    allocation stacks through make_leak and make_leak_ex.
 *  - summary.indirect: 800 bytes in 24 blocks (the certificates' fields).
 *  - no cycle, no rc_error, no leaked block; the kept certificate is
 *    reachable (a --show-reachable run lists it as an "X509" of 384 bytes
 *    allocated through keep_cert).
 */
#include "sample_util.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* A self-signed P-256 certificate for CN=refscope. */
static const char cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBfDCCASOgAwIBAgIUYk0aBwvLzCquQpF3egc6x43OkL8wCgYIKoZIzj0EAwIw\n"
    "EzERMA8GA1UEAwwIcmVmc2NvcGUwIBcNMjYxMjA3MTMyMjI4WhgPMjEyNjExMTMx\n"
    "MzIyMjhaMBMxETAPBgNVBAMMCHJlZnNjb3BlMFkwEwYHKoZIzj0CAQYIKoZIzj0D\n"
    "AQcDQgAE4sx2+cFoCrwbVYPQau/BqAoZtbcW+I9khpeVPtjfszP9RLLoLqK16Uss\n"
    "lNHSNFv+mRRQqT9vreoBbVTx/kAp4KNTMFEwHQYDVR0OBBYEFE8OJMo9U8m4sD2A\n"
    "34GVZI3kDXQnMB8GA1UdIwQYMBaAFE8OJMo9U8m4sD2A34GVZI3kDXQnMA8GA1Ud\n"
    "EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgUiTnoqqYUMMlLOEeiovHtt0V\n"
    "mE7iD3nwyJVWId77wG0CIA1ZE+Mf0EItFVhw1d55wUffTvTks8KQCQRN29cdDvMm\n"
    "-----END CERTIFICATE-----\n";

static X509 *kept;

SAMPLE_NOINLINE static void remember_cert(X509 *cert)
{
    X509_up_ref(cert);
}

SAMPLE_NOINLINE static void make_leak(void)
{
    X509 *cert = X509_new();
    sample_check(cert != NULL, "X509_new");
    remember_cert(cert);
    X509_free(cert);
}

SAMPLE_NOINLINE static void make_leak_ex(void)
{
    X509 *cert = X509_new_ex(NULL, NULL);
    sample_check(cert != NULL, "X509_new_ex");
    remember_cert(cert);
    X509_free(cert);
}

SAMPLE_NOINLINE static void read_cert(void)
{
    BIO *bio = BIO_new_mem_buf(cert_pem, -1);
    sample_check(bio != NULL, "BIO_new_mem_buf");
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    sample_check(cert != NULL, "PEM_read_bio_X509");
    X509_free(cert);
    BIO_free(bio);
}

SAMPLE_NOINLINE static void keep_cert(void)
{
    kept = X509_new();
}

SAMPLE_NOINLINE static void make_balanced(void)
{
    EVP_PKEY *key = EVP_PKEY_new();
    EVP_PKEY_up_ref(key);
    EVP_PKEY_free(key);
    EVP_PKEY_free(key);
    BIO *bio = BIO_new(BIO_s_mem());
    BIO_up_ref(bio);
    sample_check(BIO_puts(bio, "refscope") == 8, "BIO_puts");
    BIO_free(bio);
    BIO_free(bio);
    X509 *cert = X509_new();
    X509_up_ref(cert);
    X509_free(cert);
    X509_free(cert);
}

int main(void)
{
    make_leak();
    make_leak_ex();
    keep_cert();
    make_balanced();
    read_cert();
    sample_scrub_stack();
    sample_say("openssl_leak: an X509 with a leaked reference, objects released\n");
    return 0;
}
