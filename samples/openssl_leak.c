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
 *  - make_balanced() creates an EVP_PKEY, a memory BIO and an X509, takes
 *    one more reference on each (EVP_PKEY_up_ref, BIO_up_ref,
 *    X509_up_ref) and frees each twice: freed.
 *
 * refscope must report:
 *  - summary.leaked_refs: 1 object, 1 ref, 384 bytes, 1 block; one
 *    "leaked_ref" finding, type "X509", refcount 1, pointers 0, refs 1,
 *    unbalanced: one incref (count 1) whose stack names remember_cert;
 *    allocation stack through make_leak.
 *  - summary.indirect: 400 bytes in 12 blocks (the certificate's fields).
 *  - no cycle, no rc_error, no leaked block; the kept certificate is
 *    reachable (a --show-reachable run lists it as an "X509" of 384 bytes
 *    allocated through keep_cert).
 */
#include "sample_util.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

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
    keep_cert();
    make_balanced();
    sample_scrub_stack();
    sample_say("openssl_leak: an X509 with a leaked reference, objects released\n");
    return 0;
}
