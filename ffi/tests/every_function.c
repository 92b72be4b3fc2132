/*
 * Every function of coffer.h, called at least once on its success path,
 * for memory checkers: tests/tests/c_consumers.rs runs it under
 *   valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible
 * with no suppressions, and checks that every function the header declares
 * is called here. It is kept cheap to run under valgrind (a master-key
 * keystore, one RSA-2048 key); the exhaustive checks of each function's
 * results and error codes are test_coffer.c and ffi/tests/status_table.rs.
 *
 * Usage: every_function <scratch directory>
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static const char *scratch_dir;

static void scratch_path(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", scratch_dir, name);
}

static void library_and_bytes(void) {
    EXPECT_TRUE(coffer_version() != NULL);
    EXPECT_TRUE(coffer_abi_version() == COFFER_ABI_VERSION);
    EXPECT_TRUE(coffer_provider() != NULL);
    EXPECT_TRUE(strlen(coffer_status_message(COFFER_ERR_MALFORMED)) > 0);
    coffer_bytes empty = {NULL, 0};
    coffer_bytes_free(&empty);
    coffer_bytes_free(NULL);
}

static void key_wrapping(void) {
    uint8_t wrapped[48], plain[48];
    size_t wlen = sizeof wrapped, plen = sizeof plain;
    EXPECT_OK(coffer_kw_wrap(KEK1, 32, KEK2, 32, wrapped, &wlen));
    EXPECT_OK(coffer_kw_unwrap(KEK1, 32, wrapped, wlen, plain, &plen));
    EXPECT_BYTES(plain, plen, KEK2, 32);
    wlen = sizeof wrapped;
    plen = sizeof plain;
    EXPECT_OK(coffer_kwp_wrap(KEK1, 32, U8("seven b"), 7, wrapped, &wlen));
    EXPECT_OK(coffer_kwp_unwrap(KEK1, 32, wrapped, wlen, plain, &plen));
    EXPECT_BYTES(plain, plen, "seven b", 7);
}

static void signatures(coffer_keypair *rsa, coffer_keypair *p256) {
    const uint8_t *msg = U8("release 1.2");
    coffer_bytes sig = {NULL, 0}, spki = {NULL, 0}, pem = {NULL, 0};
    EXPECT_OK(coffer_keypair_sign(p256, COFFER_SIG_ECDSA_P256_SHA256, msg, 11, &sig));
    EXPECT_OK(coffer_keypair_verify(p256, COFFER_SIG_ECDSA_P256_SHA256, msg, 11, sig.data, sig.len));
    EXPECT_OK(coffer_keypair_public_key_der(p256, &spki));
    EXPECT_OK(coffer_public_key_verify_der(spki.data, spki.len, COFFER_SIG_ECDSA_P256_SHA256, msg, 11, sig.data,
                                           sig.len));
    coffer_bytes_free(&sig);
    EXPECT_OK(coffer_keypair_sign(rsa, COFFER_SIG_RSA_PSS_SHA256, msg, 11, &sig));
    EXPECT_OK(coffer_keypair_public_key_pem(rsa, &pem));
    EXPECT_OK(coffer_public_key_verify_pem(pem.data, pem.len, COFFER_SIG_RSA_PSS_SHA256, msg, 11, sig.data, sig.len));
    coffer_bytes_free(&sig);
    EXPECT_OK(coffer_keypair_sign(rsa, COFFER_SIG_RSA_PKCS1_SHA256, msg, 11, &sig));
    EXPECT_OK(coffer_keypair_verify(rsa, COFFER_SIG_RSA_PKCS1_SHA256, msg, 11, sig.data, sig.len));
    EXPECT_STATUS(coffer_keypair_verify(rsa, COFFER_SIG_RSA_PSS_SHA256, msg, 11, sig.data, sig.len), COFFER_ERR_VERIFY);
    coffer_bytes_free(&sig);
    coffer_bytes_free(&spki);
    coffer_bytes_free(&pem);
}

static void keypairs(coffer_keypair **rsa_out, coffer_keypair **p256_out) {
    coffer_keypair *rsa = NULL, *p256 = NULL, *back = NULL;
    uint32_t alg = 0;
    EXPECT_OK(coffer_keypair_generate(COFFER_ALG_RSA_2048, &rsa));
    EXPECT_OK(coffer_keypair_generate(COFFER_ALG_P256, &p256));
    EXPECT_OK(coffer_keypair_algorithm(rsa, &alg));
    EXPECT_TRUE(alg == COFFER_ALG_RSA_2048);

    coffer_bytes der = {NULL, 0}, pem = {NULL, 0}, enc = {NULL, 0};
    EXPECT_OK(coffer_keypair_to_pkcs8_der(p256, &der));
    EXPECT_OK(coffer_keypair_from_pkcs8_der(der.data, der.len, &back));
    coffer_keypair_free(back);
    EXPECT_OK(coffer_keypair_to_pkcs8_pem(p256, &pem));
    EXPECT_OK(coffer_keypair_from_pkcs8_pem(pem.data, pem.len, &back));
    coffer_keypair_free(back);
    EXPECT_OK(coffer_keypair_to_encrypted_pkcs8_pem(p256, U8("pass"), 4, &enc));
    EXPECT_OK(coffer_keypair_from_encrypted_pkcs8_pem(enc.data, enc.len, U8("pass"), 4, &back));
    coffer_keypair_free(back);
    coffer_bytes_free(&enc);
    EXPECT_OK(coffer_keypair_to_encrypted_pkcs8_der(p256, U8("pass"), 4, &enc));
    EXPECT_OK(coffer_keypair_from_encrypted_pkcs8_der(enc.data, enc.len, U8("pass"), 4, &back));
    coffer_keypair_free(back);
    coffer_bytes_free(&enc);
    coffer_bytes_free(&der);
    coffer_bytes_free(&pem);
    coffer_keypair_free(NULL);
    *rsa_out = rsa;
    *p256_out = p256;
}

static void certificates(coffer_keypair *ca_key, coffer_keypair *agent) {
    coffer_certificate *ca = NULL, *leaf = NULL, *copy = NULL;
    coffer_csr *csr = NULL, *csr_copy = NULL;
    coffer_san san = {COFFER_SAN_DNS, U8("agent.acme.test"), 15};
    coffer_bytes der = {NULL, 0}, pem = {NULL, 0}, subject = {NULL, 0}, spki = {NULL, 0}, sig = {NULL, 0};
    EXPECT_OK(coffer_certificate_self_signed_ca(ca_key, U8("CN=Every CA"), 11, 365, 0, &ca));
    EXPECT_OK(coffer_csr_new(agent, U8("CN=agent"), 8, &san, 1, &csr));
    EXPECT_OK(coffer_csr_to_der(csr, &der));
    EXPECT_OK(coffer_csr_from_der(der.data, der.len, &csr_copy));
    coffer_csr_free(csr_copy);
    EXPECT_OK(coffer_csr_to_pem(csr, &pem));
    EXPECT_OK(coffer_csr_from_pem(pem.data, pem.len, &csr_copy));
    coffer_csr_free(csr_copy);
    coffer_bytes_free(&der);
    coffer_bytes_free(&pem);
    EXPECT_OK(coffer_certificate_issue(ca, ca_key, csr, COFFER_LEAF_SERVER_AND_CLIENT, 30, NULL, 0, &leaf));
    EXPECT_OK(coffer_certificate_verify(leaf, ca));
    EXPECT_OK(coffer_certificate_to_der(leaf, &der));
    EXPECT_OK(coffer_certificate_from_der(der.data, der.len, &copy));
    coffer_certificate_free(copy);
    EXPECT_OK(coffer_certificate_to_pem(leaf, &pem));
    EXPECT_OK(coffer_certificate_from_pem(pem.data, pem.len, &copy));
    coffer_certificate_free(copy);
    EXPECT_OK(coffer_certificate_subject(leaf, &subject));
    EXPECT_BYTES(subject.data, subject.len, "CN=agent", 8);
    EXPECT_OK(coffer_certificate_public_key_der(leaf, &spki));
    EXPECT_OK(coffer_keypair_sign(agent, COFFER_SIG_ECDSA_P256_SHA256, U8("hello"), 5, &sig));
    EXPECT_OK(coffer_certificate_verify_signature(leaf, COFFER_SIG_ECDSA_P256_SHA256, U8("hello"), 5, sig.data,
                                                  sig.len));
    coffer_bytes_free(&der);
    coffer_bytes_free(&pem);
    coffer_bytes_free(&subject);
    coffer_bytes_free(&spki);
    coffer_bytes_free(&sig);
    coffer_csr_free(csr);
    coffer_certificate_free(leaf);
    coffer_certificate_free(ca);
}

static void paths(coffer_keypair *root_key) {
    coffer_keypair *issuing_key = NULL, *agent = NULL;
    coffer_certificate *root = NULL, *issuing = NULL, *leaf = NULL;
    coffer_csr *issuing_csr = NULL, *leaf_csr = NULL;
    coffer_crl *crl = NULL, *copy = NULL;
    coffer_san name = {COFFER_SAN_DNS, U8("agent.acme.test"), 15};
    coffer_bytes root_pem = {NULL, 0}, issuing_pem = {NULL, 0}, serial = {NULL, 0}, der = {NULL, 0},
                 pem = {NULL, 0};
    EXPECT_OK(coffer_keypair_generate(COFFER_ALG_P256, &issuing_key));
    EXPECT_OK(coffer_keypair_generate(COFFER_ALG_P256, &agent));
    EXPECT_OK(coffer_certificate_self_signed_ca(root_key, U8("CN=Path Root"), 12, 365, 1, &root));
    EXPECT_OK(coffer_csr_new(issuing_key, U8("CN=Issuing CA"), 13, NULL, 0, &issuing_csr));
    EXPECT_OK(coffer_certificate_issue_intermediate(root, root_key, issuing_csr, 30, -1, &issuing));
    EXPECT_OK(coffer_csr_new(agent, U8("CN=agent"), 8, &name, 1, &leaf_csr));
    EXPECT_OK(coffer_certificate_issue(issuing, issuing_key, leaf_csr, COFFER_LEAF_SERVER, 10, NULL, 0, &leaf));

    EXPECT_OK(coffer_certificate_serial(leaf, &serial));
    coffer_revocation revoked = {serial.data, serial.len, 1700000000};
    EXPECT_OK(coffer_crl_issue(issuing, issuing_key, 1, 0, UINT64_C(4102444800), &revoked, 1, &crl));
    bool listed = false;
    EXPECT_OK(coffer_crl_lists(crl, leaf, &listed));
    EXPECT_TRUE(listed);
    EXPECT_OK(coffer_crl_verify_signature(crl, issuing));
    EXPECT_OK(coffer_crl_to_der(crl, &der));
    EXPECT_OK(coffer_crl_from_der(der.data, der.len, &copy));
    coffer_crl_free(copy);
    EXPECT_OK(coffer_crl_to_pem(crl, &pem));
    EXPECT_OK(coffer_crl_from_pem(pem.data, pem.len, &copy));
    coffer_crl_free(copy);
    coffer_crl_free(NULL);

    EXPECT_OK(coffer_certificate_to_pem(root, &root_pem));
    EXPECT_OK(coffer_certificate_to_pem(issuing, &issuing_pem));
    size_t chain_len = 0, key_len = 3;
    uint8_t key[COFFER_SPKI_MAX_LEN];
    EXPECT_STATUS(coffer_certificate_verify_path(leaf, root_pem.data, root_pem.len, issuing_pem.data,
                                                 issuing_pem.len, NULL, 0, COFFER_PURPOSE_SERVER, &name, 0,
                                                 &chain_len, key, &key_len),
                  COFFER_ERR_BUFFER_TOO_SMALL);
    EXPECT_TRUE(key_len == 91 && chain_len == 0);
    EXPECT_OK(coffer_certificate_verify_path(leaf, root_pem.data, root_pem.len, issuing_pem.data, issuing_pem.len,
                                             NULL, 0, COFFER_PURPOSE_SERVER, &name, 0, &chain_len, key, &key_len));
    EXPECT_TRUE(chain_len == 3 && key_len == 91);
    const coffer_crl *lists[1] = {crl};
    EXPECT_STATUS(coffer_certificate_verify_path(leaf, root_pem.data, root_pem.len, issuing_pem.data,
                                                 issuing_pem.len, lists, 1, COFFER_PURPOSE_ANY, NULL, 0, &chain_len,
                                                 NULL, NULL),
                  COFFER_ERR_REVOKED);

    coffer_bytes_free(&root_pem);
    coffer_bytes_free(&issuing_pem);
    coffer_bytes_free(&serial);
    coffer_bytes_free(&der);
    coffer_bytes_free(&pem);
    coffer_crl_free(crl);
    coffer_csr_free(leaf_csr);
    coffer_csr_free(issuing_csr);
    coffer_certificate_free(leaf);
    coffer_certificate_free(issuing);
    coffer_certificate_free(root);
    coffer_keypair_free(agent);
    coffer_keypair_free(issuing_key);
}

static void envelopes(void) {
    coffer_recipient to[2] = {{COFFER_KEY_KEK, U8("a"), 1, 1, KEK1, 32}, {COFFER_KEY_KEK, U8("b"), 1, 1, KEK2, 32}};
    coffer_unlock_key a = {COFFER_KEY_KEK, U8("a"), 1, 1, KEK1, 32};
    coffer_unlock_key b = {COFFER_KEY_KEK, U8("b"), 1, 1, KEK2, 32};
    coffer_recipient c = {COFFER_KEY_KEK, U8("c"), 1, 1, KEK2, 32};
    coffer_kv ctx[1] = {{U8("tenant"), 6, U8("acme"), 4}};
    coffer_bytes env = {NULL, 0}, pt = {NULL, 0}, changed = {NULL, 0};
    EXPECT_OK(coffer_envelope_seal(to, 2, ctx, 1, U8("payload"), 7, &env));
    EXPECT_OK(coffer_envelope_open(&b, 1, ctx, 1, env.data, env.len, &pt));
    EXPECT_BYTES(pt.data, pt.len, "payload", 7);
    coffer_bytes_free(&pt);

    uint8_t buf[1024];
    size_t len = sizeof buf, header_len = 0;
    EXPECT_OK(coffer_envelope_seal_into(to, 1, ctx, 1, U8("payload"), 7, buf, &len));
    EXPECT_OK(coffer_envelope_header_len(buf, COFFER_ENVELOPE_PREFIX_LEN, &header_len));
    size_t sealed_len = len;
    uint8_t plain[1024];
    len = sizeof plain;
    EXPECT_OK(coffer_envelope_open_into(&a, 1, ctx, 1, buf, sealed_len, plain, &len));
    EXPECT_BYTES(plain, len, "payload", 7);

    EXPECT_OK(coffer_envelope_rewrap(env.data, env.len, &a, &c, &changed));
    coffer_bytes_free(&changed);
    EXPECT_OK(coffer_envelope_add_recipient(env.data, env.len, &a, &c, &changed));
    coffer_bytes_free(&changed);
    EXPECT_OK(coffer_envelope_remove_recipient(env.data, env.len, COFFER_KEY_KEK, U8("b"), 1, 1, &changed));
    coffer_bytes_free(&changed);
    coffer_bytes_free(&env);
}

static void streaming(void) {
    coffer_recipient to = {COFFER_KEY_KEK, U8("s"), 1, 1, KEK1, 32};
    coffer_unlock_key key = {COFFER_KEY_KEK, U8("s"), 1, 1, KEK1, 32};
    coffer_sealer *sealer = NULL;
    coffer_opener *opener = NULL;
    coffer_bytes header = {NULL, 0};
    size_t chunk_size = 0, sealed_chunk = 0;
    uint8_t chunk[300], sealed[320], plain[320];
    memset(chunk, 'x', sizeof chunk);
    EXPECT_OK(coffer_sealer_new(&to, 1, NULL, 0, 256, &sealer, &header));
    EXPECT_OK(coffer_sealer_chunk_size(sealer, &chunk_size));
    EXPECT_TRUE(chunk_size == 256);
    size_t slen = sizeof sealed;
    EXPECT_OK(coffer_sealer_seal_chunk(sealer, chunk, 10, true, sealed, &slen));
    coffer_sealer_free(sealer);
    EXPECT_OK(coffer_opener_new(&key, 1, NULL, 0, header.data, header.len, &opener));
    EXPECT_OK(coffer_opener_sealed_chunk_size(opener, &sealed_chunk));
    EXPECT_TRUE(sealed_chunk == 256 + COFFER_ENVELOPE_TAG_LEN);
    size_t plen = sizeof plain;
    EXPECT_OK(coffer_opener_open_chunk(opener, sealed, slen, true, plain, &plen));
    EXPECT_BYTES(plain, plen, chunk, 10);
    EXPECT_OK(coffer_opener_finish(opener));
    coffer_opener_free(opener);
    coffer_bytes_free(&header);
}

static void webhooks(void) {
    const uint8_t *secret = U8("whsec: a shared webhook secret");
    coffer_bytes header = {NULL, 0};
    EXPECT_OK(coffer_webhook_sign(secret, 30, 1700000000, U8("{}"), 2, &header));
    EXPECT_OK(coffer_webhook_verify(secret, 30, U8("{}"), 2, header.data, header.len, 1700000100,
                                    COFFER_WEBHOOK_DEFAULT_TOLERANCE_SECS));
    coffer_bytes_free(&header);
}

static void keystore(void) {
    char path[512], gen[512], v1[512];
    scratch_path(path, sizeof path, "every.coffer-store");
    scratch_path(gen, sizeof gen, "every.generation");
    scratch_path(v1, sizeof v1, "every.v1");
    const char *leftovers[] = {"every.coffer-store", "every.coffer-store-wal", "every.coffer-store-shm",
                               "every.generation", "every.generation.lock", "every.v1"};
    for (size_t i = 0; i < sizeof leftovers / sizeof leftovers[0]; i++) {
        char p[512];
        scratch_path(p, sizeof p, leftovers[i]);
        unlink(p);
    }
    const char *so_pin = "so-pin-0001", *pin = "user-pin-01", *audit_pin = "audit-pin-01";
    coffer_keystore *ks = NULL;
    uint64_t so = 0, user = 0, auditor = 0, g = 0, counter = 0;
    EXPECT_OK(coffer_keystore_create(U8(path), strlen(path), COFFER_KEYSTORE_MASTER_KEY, KEK1, 32, 1, &ks));
    EXPECT_OK(coffer_keystore_set_generation_file(ks, U8(gen), strlen(gen)));
    EXPECT_OK(coffer_keystore_init_token(ks, 0, U8("every"), 5, U8(so_pin), strlen(so_pin)));
    EXPECT_OK(coffer_keystore_login_so(ks, 0, U8(so_pin), strlen(so_pin), &so));
    EXPECT_OK(coffer_keystore_tenant_create(ks, so, U8("acme"), 4));
    EXPECT_OK(coffer_keystore_user_create(ks, so, U8("alice"), 5, COFFER_ROLE_USER, U8("acme"), 4, U8(pin),
                                          strlen(pin)));
    EXPECT_OK(coffer_keystore_user_create(ks, so, U8("audit"), 5, COFFER_ROLE_AUDITOR, NULL, 0, U8(audit_pin),
                                          strlen(audit_pin)));
    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("alice"), 5, U8(pin), strlen(pin), U8("acme"), 4, &user));
    EXPECT_OK(coffer_keystore_pin_change(ks, user, U8(pin), strlen(pin), U8("user-pin-02"), 11));
    EXPECT_OK(coffer_keystore_pin_unblock(ks, so, U8("alice"), 5, U8(pin), strlen(pin)));

    coffer_bytes json = {NULL, 0};
    EXPECT_OK(coffer_keystore_tenants_json(ks, so, &json));
    coffer_bytes_free(&json);
    EXPECT_OK(coffer_keystore_users_json(ks, so, &json));
    coffer_bytes_free(&json);

    uint32_t all = COFFER_USAGE_ENCRYPT | COFFER_USAGE_DECRYPT | COFFER_USAGE_WRAP | COFFER_USAGE_UNWRAP |
                   COFFER_USAGE_SIGN | COFFER_USAGE_VERIFY;
    coffer_key_attributes kek_attrs = {U8("kek"), 3, U8("kek"), 3, all, false, true};
    coffer_key_attributes mac_attrs = {U8("mac"), 3, U8("mac"), 3, all, true, true};
    coffer_key_attributes sig_attrs = {U8("sig"), 3, U8("sig"), 3, all, false, true};
    coffer_key_attributes imported_attrs = {U8("imported"), 8, U8("imported"), 8, all, false, true};
    uint64_t kek = 0, mac = 0, sig_key = 0, found = 0, imported = 0;
    uint32_t version = 0;
    EXPECT_OK(coffer_keystore_generate(ks, user, COFFER_KEY_TYPE_AES256, &kek_attrs, &kek));
    EXPECT_OK(coffer_keystore_generate(ks, user, COFFER_KEY_TYPE_HMAC_SHA256, &mac_attrs, &mac));
    EXPECT_OK(coffer_keystore_generate(ks, user, COFFER_KEY_TYPE_P256, &sig_attrs, &sig_key));
    EXPECT_OK(coffer_keystore_find(ks, user, U8("kek"), 3, &found));
    EXPECT_TRUE(found == kek);

    coffer_kv ctx[1] = {{U8("tenant"), 6, U8("acme"), 4}};
    coffer_bytes env = {NULL, 0}, pt = {NULL, 0}, moved = {NULL, 0};
    EXPECT_OK(coffer_keystore_seal_envelope(ks, user, kek, ctx, 1, U8("row"), 3, &env));
    EXPECT_OK(coffer_keystore_rotate(ks, user, kek, &version));
    EXPECT_OK(coffer_keystore_rewrap_envelope(ks, user, kek, env.data, env.len, &moved));
    EXPECT_OK(coffer_keystore_open_envelope(ks, user, kek, ctx, 1, moved.data, moved.len, &pt));
    EXPECT_BYTES(pt.data, pt.len, "row", 3);
    coffer_bytes_free(&env);
    coffer_bytes_free(&moved);
    coffer_bytes_free(&pt);

    coffer_bytes sig = {NULL, 0}, spki = {NULL, 0}, tag = {NULL, 0}, hook = {NULL, 0};
    EXPECT_OK(coffer_keystore_sign(ks, user, sig_key, U8("msg"), 3, &sig));
    EXPECT_OK(coffer_keystore_verify(ks, user, sig_key, U8("msg"), 3, sig.data, sig.len));
    EXPECT_OK(coffer_keystore_public_key_der(ks, user, sig_key, &spki));
    EXPECT_OK(coffer_public_key_verify_der(spki.data, spki.len, COFFER_SIG_ECDSA_P256_SHA256, U8("msg"), 3, sig.data,
                                           sig.len));
    EXPECT_OK(coffer_keystore_hmac_sign(ks, user, mac, U8("msg"), 3, &tag));
    EXPECT_OK(coffer_keystore_hmac_verify(ks, user, mac, U8("msg"), 3, tag.data, tag.len));
    EXPECT_OK(coffer_keystore_webhook_sign(ks, user, mac, 1700000000, U8("{}"), 2, &hook));
    EXPECT_OK(coffer_keystore_webhook_verify(ks, user, mac, U8("{}"), 2, hook.data, hook.len, 1700000010, 300));
    coffer_bytes_free(&sig);
    coffer_bytes_free(&spki);
    coffer_bytes_free(&tag);
    coffer_bytes_free(&hook);

    coffer_certificate *ca = NULL, *leaf = NULL, *intermediate = NULL;
    coffer_csr *request = NULL;
    coffer_crl *crl = NULL;
    coffer_san san = {COFFER_SAN_DNS, U8("ca.acme.test"), 12};
    EXPECT_OK(coffer_keystore_ca_certificate(ks, user, sig_key, COFFER_SIG_KEY_DEFAULT, U8("CN=Stored CA"), 12, 365, 1,
                                             &ca));
    EXPECT_OK(coffer_keystore_certificate_request(ks, user, sig_key, COFFER_SIG_ECDSA_P256_SHA256, U8("CN=stored"),
                                                  9, &san, 1, &request));
    EXPECT_OK(coffer_keystore_issue_certificate(ks, user, sig_key, COFFER_SIG_KEY_DEFAULT, ca, request,
                                                COFFER_LEAF_SERVER, 30, NULL, 0, &leaf));
    EXPECT_OK(coffer_certificate_verify(leaf, ca));
    EXPECT_OK(coffer_keystore_issue_intermediate(ks, user, sig_key, COFFER_SIG_KEY_DEFAULT, ca, request, 30, -1,
                                                 &intermediate));
    coffer_bytes leaf_serial = {NULL, 0};
    EXPECT_OK(coffer_certificate_serial(leaf, &leaf_serial));
    coffer_revocation revoked = {leaf_serial.data, leaf_serial.len, 1700000000};
    EXPECT_OK(coffer_keystore_issue_crl(ks, user, sig_key, COFFER_SIG_KEY_DEFAULT, ca, 1, 0, UINT64_C(4102444800),
                                        &revoked, 1, &crl));
    EXPECT_OK(coffer_crl_verify_signature(crl, ca));
    coffer_bytes_free(&leaf_serial);
    coffer_crl_free(crl);
    coffer_certificate_free(intermediate);
    coffer_certificate_free(leaf);
    coffer_csr_free(request);
    coffer_certificate_free(ca);

    coffer_bytes wrapped = {NULL, 0}, material = {NULL, 0}, exported = {NULL, 0};
    EXPECT_OK(coffer_keystore_wrap_key(ks, user, kek, KEK2, 32, &wrapped));
    EXPECT_OK(coffer_keystore_unwrap_key(ks, user, kek, wrapped.data, wrapped.len, &material));
    EXPECT_BYTES(material.data, material.len, KEK2, 32);
    EXPECT_OK(coffer_keystore_import_wrapped(ks, user, kek, COFFER_KEY_TYPE_AES256, &imported_attrs, wrapped.data,
                                             wrapped.len, &imported));
    EXPECT_OK(coffer_keystore_export_wrapped(ks, user, kek, mac, &exported));
    coffer_bytes_free(&wrapped);
    coffer_bytes_free(&material);
    coffer_bytes_free(&exported);
    EXPECT_OK(coffer_keystore_destroy(ks, user, imported));

    EXPECT_OK(coffer_keystore_login_user(ks, 0, U8("audit"), 5, U8(audit_pin), strlen(audit_pin), NULL, 0,
                                         &auditor));
    EXPECT_OK(coffer_keystore_audit_verify(ks, auditor));
    EXPECT_OK(coffer_keystore_generation(ks, &g));
    EXPECT_OK(coffer_keystore_save(ks, &counter));
    EXPECT_TRUE(counter == g);
    EXPECT_OK(coffer_keystore_export_v1(ks, so, U8(v1), strlen(v1), &counter));
    EXPECT_OK(coffer_keystore_user_remove(ks, so, U8("audit"), 5));
    EXPECT_OK(coffer_keystore_shred_tenant(ks, so, U8("acme"), 4, NULL));
    EXPECT_OK(coffer_keystore_passphrase_change(ks, so, COFFER_KEYSTORE_MASTER_KEY, KEK2, 32));
    EXPECT_OK(coffer_keystore_logout(ks, user));
    EXPECT_OK(coffer_keystore_logout(ks, so));
    coffer_keystore_free(ks);
    ks = NULL;
    EXPECT_OK(coffer_keystore_open(U8(path), strlen(path), COFFER_KEYSTORE_MASTER_KEY, KEK2, 32, g, &ks));
    coffer_keystore_free(ks);
    coffer_keystore_free(NULL);
}

int main(int argc, char **argv) {
    scratch_dir = argc > 1 ? argv[1] : ".";
    coffer_keypair *rsa = NULL, *p256 = NULL;
    library_and_bytes();
    key_wrapping();
    keypairs(&rsa, &p256);
    signatures(rsa, p256);
    certificates(rsa, p256);
    paths(rsa);
    envelopes();
    streaming();
    webhooks();
    keystore();
    coffer_keypair_free(rsa);
    coffer_keypair_free(p256);
    return check_summary("every_function");
}
