// Tests of coffer.hpp: RAII ownership, exceptions carrying the exact
// status, vector (and, as C++20, span) overloads, and every wrapped area.
//
// Usage: test_cpp <scratch directory>
#include "coffer.hpp"

#include <cstdio>
#include <filesystem>
#include <string>
#include <type_traits>

static unsigned long checks, failures;

#define EXPECT(cond)                                                            \
    do {                                                                        \
        checks++;                                                               \
        if (!(cond)) {                                                          \
            failures++;                                                         \
            std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
        }                                                                       \
    } while (0)

// `expr` must throw coffer::error with exactly `expected_status`.
#define EXPECT_THROWS(expr, expected_status)                                                                   \
    do {                                                                                              \
        checks++;                                                                                     \
        try {                                                                                         \
            (void)(expr);                                                                             \
            failures++;                                                                               \
            std::fprintf(stderr, "%s:%d: %s did not throw\n", __FILE__, __LINE__, #expr);             \
        } catch (const coffer::error &e) {                                                            \
            if (e.status() != (expected_status)) {                                                             \
                failures++;                                                                           \
                std::fprintf(stderr, "%s:%d: %s threw %u (%s)\n", __FILE__, __LINE__, #expr,          \
                             (unsigned)e.status(), e.what());                                         \
            }                                                                                         \
        }                                                                                             \
    } while (0)

static coffer::bytes to_bytes(const std::string &s) { return coffer::bytes(s.begin(), s.end()); }
static bool same(const coffer::secret_bytes &a, const std::string &b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

static void test_ownership() {
    static_assert(!std::is_copy_constructible_v<coffer::keypair>, "unique ownership");
    static_assert(std::is_move_constructible_v<coffer::keypair>, "movable");
    static_assert(!std::is_copy_constructible_v<coffer::keystore>, "unique ownership");
    static_assert(!std::is_copy_constructible_v<coffer::sealer>, "unique ownership");
    auto a = coffer::keypair::generate(COFFER_ALG_P256);
    const coffer_keypair *raw = a.get();
    coffer::keypair b = std::move(a);
    EXPECT(b.get() == raw);
    EXPECT(b.algorithm() == COFFER_ALG_P256);
    EXPECT(coffer::version() == "0.1.0");
    EXPECT(coffer::provider() == "RustCrypto");
}

static void test_envelopes() {
    coffer::bytes kek(32, 7), kek2(32, 9);
    auto op = coffer::keypair::generate(COFFER_ALG_P256);
    coffer::context ctx{{"tenant", "acme"}};
    std::vector<coffer::recipient> to{coffer::recipient::kek("kek", 1, kek),
                                      coffer::recipient::p256("op", 1, op.public_key_der())};
    auto env = coffer::seal(to, ctx, to_bytes("hello from C++"));
    auto pt = coffer::open({coffer::unlock_key::kek("kek", 1, coffer::secret_bytes(kek.begin(), kek.end()))}, ctx,
                           env);
    EXPECT(same(pt, "hello from C++"));
    pt = coffer::open({coffer::unlock_key::p256("op", 1, op.pkcs8_der())}, ctx, env.data(), env.size());
    EXPECT(same(pt, "hello from C++"));
    EXPECT_THROWS(coffer::open({coffer::unlock_key::kek("kek", 1, coffer::secret_bytes(32, 1))}, ctx, env),
                  COFFER_ERR_DECRYPT);
    EXPECT_THROWS(coffer::open({coffer::unlock_key::p256("op", 1, op.pkcs8_der())}, {{"tenant", "globex"}}, env),
                  COFFER_ERR_DECRYPT);
    EXPECT_THROWS(coffer::seal({}, ctx, to_bytes("x")), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_THROWS(coffer::seal({coffer::recipient::kek("kek", 1, coffer::bytes(5, 0))}, ctx, to_bytes("x")),
                  COFFER_ERR_INVALID_KEY);

    auto old = coffer::unlock_key::kek("kek", 1, coffer::secret_bytes(kek.begin(), kek.end()));
    auto rewrapped = coffer::rewrap(env, old, coffer::recipient::kek("kek", 2, kek2));
    pt = coffer::open({coffer::unlock_key::kek("kek", 2, coffer::secret_bytes(kek2.begin(), kek2.end()))}, ctx,
                      rewrapped);
    EXPECT(same(pt, "hello from C++"));
    EXPECT_THROWS(coffer::open({old}, ctx, rewrapped), COFFER_ERR_DECRYPT);

    // Streaming: 600 bytes in 256-byte chunks.
    std::string text(600, 'z');
    coffer::sealer s(to, ctx, 256);
    EXPECT(s.chunk_size() == 256);
    coffer::bytes streamed = s.header();
    for (std::size_t off = 0; off < text.size(); off += 256) {
        std::size_t n = std::min<std::size_t>(256, text.size() - off);
        auto c = s.seal_chunk(reinterpret_cast<const std::uint8_t *>(text.data()) + off, n, off + n == text.size());
        streamed.insert(streamed.end(), c.begin(), c.end());
    }
    EXPECT_THROWS(s.seal_chunk(to_bytes("x"), true), COFFER_ERR_STREAM_FINISHED);
    EXPECT(same(coffer::open({old}, ctx, streamed), text));
    std::size_t hlen = coffer::opener::header_len(streamed.data(), COFFER_ENVELOPE_PREFIX_LEN);
    coffer::opener o({old}, ctx, coffer::bytes(streamed.begin(), streamed.begin() + hlen));
    std::size_t sc = o.sealed_chunk_size();
    std::string got;
    for (std::size_t pos = hlen; pos < streamed.size(); pos += sc) {
        std::size_t n = std::min(sc, streamed.size() - pos);
        auto p = o.open_chunk(streamed.data() + pos, n, pos + n == streamed.size());
        got.append(p.begin(), p.end());
    }
    o.finish();
    EXPECT(got == text);
    EXPECT_THROWS(o.finish(), COFFER_ERR_STREAM_FINISHED);
    EXPECT_THROWS(coffer::opener({coffer::unlock_key::kek("kek", 1, coffer::secret_bytes(32, 3))}, ctx,
                                 coffer::bytes(streamed.begin(), streamed.begin() + hlen)),
                  COFFER_ERR_DECRYPT);
}

static void test_key_wrap() {
    coffer::bytes kek(32, 0x42);
    coffer::secret_bytes key(32, 0x17);
    auto wrapped = coffer::kw_wrap(kek, key);
    EXPECT(wrapped.size() == 40);
    EXPECT(coffer::kw_unwrap(kek, wrapped) == key);
    wrapped[0] ^= 1;
    EXPECT_THROWS(coffer::kw_unwrap(kek, wrapped), COFFER_ERR_DECRYPT);
    coffer::secret_bytes odd(5, 0x01);
    auto padded = coffer::kwp_wrap(kek, odd);
    EXPECT(padded.size() == 16);
    EXPECT(coffer::kwp_unwrap(kek, padded) == odd);
    EXPECT_THROWS(coffer::kw_wrap(kek, odd), COFFER_ERR_INVALID_LENGTH);
    EXPECT_THROWS(coffer::kwp_wrap(coffer::bytes(3, 0), odd), COFFER_ERR_INVALID_KEY);
}

static void test_certificates() {
    auto ca_key = coffer::keypair::generate(COFFER_ALG_P256);
    auto ca = coffer::certificate::self_signed_ca(ca_key, "CN=Cpp CA", 365, 0);
    auto agent = coffer::keypair::generate(COFFER_ALG_P256);
    coffer::csr req(agent, "CN=agent,O=Acme", {{COFFER_SAN_DNS, "agent.acme.test"}});
    auto reparsed = coffer::csr::from_pem(req.pem());
    EXPECT(reparsed.der() == req.der());
    auto leaf = ca.issue(ca_key, reparsed, COFFER_LEAF_CLIENT, 30);
    leaf.verify(ca);
    EXPECT(leaf.subject() == "CN=agent,O=Acme");
    EXPECT(leaf.public_key_der() == agent.public_key_der());
    EXPECT(coffer::certificate::from_pem(leaf.pem()).der() == leaf.der());
    EXPECT(coffer::certificate::from_der(leaf.der()).subject() == leaf.subject());
    auto other = coffer::certificate::self_signed_ca(agent, "CN=Other", 30, -1);
    EXPECT_THROWS(leaf.verify(other), COFFER_ERR_ISSUER_MISMATCH);
    EXPECT_THROWS(leaf.issue(agent, req, COFFER_LEAF_CLIENT, 30), COFFER_ERR_NOT_A_CA);
    EXPECT_THROWS(coffer::certificate::self_signed_ca(ca_key, "", 30, 0), COFFER_ERR_INVALID_SUBJECT);
    auto pem = agent.pkcs8_pem();
    auto back = coffer::keypair::from_pkcs8_pem(std::string(pem.begin(), pem.end()));
    EXPECT(back.public_key_der() == agent.public_key_der());
    EXPECT(coffer::keypair::from_pkcs8_der(agent.pkcs8_der()).public_key_pem() == agent.public_key_pem());
    EXPECT_THROWS(coffer::keypair::from_pkcs8_pem("nope"), COFFER_ERR_INVALID_KEY);

    // Signatures outside the keystore: by the key pair, its public key, its certificate.
    auto sig = agent.sign(COFFER_SIG_ECDSA_P256_SHA256, to_bytes("release"));
    agent.verify(COFFER_SIG_ECDSA_P256_SHA256, to_bytes("release"), sig);
    coffer::public_key_verify_der(agent.public_key_der(), COFFER_SIG_ECDSA_P256_SHA256, to_bytes("release"), sig);
    coffer::public_key_verify_pem(agent.public_key_pem(), COFFER_SIG_ECDSA_P256_SHA256, to_bytes("release"), sig);
    leaf.verify_signature(COFFER_SIG_ECDSA_P256_SHA256, to_bytes("release"), sig);
    EXPECT_THROWS(agent.verify(COFFER_SIG_ECDSA_P256_SHA256, to_bytes("releasE"), sig), COFFER_ERR_VERIFY);
    EXPECT_THROWS(ca.verify_signature(COFFER_SIG_ECDSA_P256_SHA256, to_bytes("release"), sig), COFFER_ERR_VERIFY);
    EXPECT_THROWS(agent.sign(COFFER_SIG_RSA_PSS_SHA256, to_bytes("release")), COFFER_ERR_INVALID_ARGUMENT);

    // Webhook signatures with a shared secret.
    coffer::secret_bytes secret(32, 0x42);
    auto header = coffer::webhook_sign(secret, 1700000000, "{\"paid\":true}");
    EXPECT(header.rfind("t=1700000000,v1=", 0) == 0 && header.size() == 16 + 64);
    coffer::webhook_verify(secret, "{\"paid\":true}", header, 1700000060);
    EXPECT_THROWS(coffer::webhook_verify(secret, "{\"paid\":false}", header, 1700000060), COFFER_ERR_VERIFY);
    EXPECT_THROWS(coffer::webhook_verify(secret, "{\"paid\":true}", header, 1700003600), COFFER_ERR_VERIFY);
    EXPECT_THROWS(coffer::webhook_verify(secret, "{}", "t=1", 1700000000), COFFER_ERR_MALFORMED);
}

// Removes a SQLite store with its write-ahead log and shared-memory index.
static void remove_store(const std::string &path) {
    for (const char *suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

// Copies a SQLite store with its log and index (only while no handle has it open).
static void copy_store(const std::string &from, const std::string &to) {
    for (const char *suffix : {"", "-wal", "-shm"}) {
        if (std::filesystem::exists(from + suffix)) {
            std::filesystem::copy_file(from + suffix, to + suffix, std::filesystem::copy_options::overwrite_existing);
        } else {
            std::filesystem::remove(to + suffix);
        }
    }
}

static void test_keystore(const std::string &dir) {
    std::string path = dir + "/cpp.coffer-store";
    std::string backup = dir + "/cpp.backup", gen = dir + "/cpp.generation", v1 = dir + "/cpp.v1";
    remove_store(path);
    remove_store(backup);
    for (const std::string &p : {gen, gen + ".lock", v1}) std::filesystem::remove(p);
    coffer::secret_bytes pass{'p', 'a', 's', 's'};
    std::uint64_t last = 0;
    {
        auto ks = coffer::keystore::create(path, COFFER_KEYSTORE_PASSPHRASE, pass, 1);
        EXPECT(ks.generation() == 1);
        ks.init_token(0, "cpp", "so-pin-0001");
        EXPECT(ks.generation() == 2);
        auto so = ks.login_so(0, "so-pin-0001");
        EXPECT_THROWS(ks.login_so(0, "wrong-pin-01"), COFFER_ERR_PIN_INCORRECT);
        ks.tenant_create(so, "acme");
        ks.tenant_create(so, "globex");
        ks.user_create(so, "user", COFFER_ROLE_USER, {"acme", "globex"}, "user-pin-01");
        ks.user_create(so, "auditor", COFFER_ROLE_AUDITOR, {}, "audit-pin-01");
        EXPECT(ks.generation() == 8); // each login, refusal and creation is one change
        EXPECT_THROWS(ks.tenant_create(so, "acme"), COFFER_ERR_ALREADY_EXISTS);
        EXPECT_THROWS(ks.user_create(so, "bob", COFFER_ROLE_USER, {"acme", "umbrella"}, "bob-pin-01"),
                      COFFER_ERR_NOT_FOUND);
        EXPECT_THROWS(ks.user_create(so, "user", COFFER_ROLE_USER, {"acme"}, "user-pin-01"), COFFER_ERR_ALREADY_EXISTS);
        auto user = ks.login_user(0, "user", "user-pin-01", "acme");
        auto in_globex = ks.login_user(0, "user", "user-pin-01", "globex");
        EXPECT_THROWS(ks.login_user(0, "user", "wrong-pin-01", "acme"), COFFER_ERR_PIN_INCORRECT);
        EXPECT_THROWS(ks.login_user(0, "nobody", "user-pin-01", "acme"), COFFER_ERR_PIN_INCORRECT);
        EXPECT_THROWS(ks.login_user(0, "user", "user-pin-01", "initech"), COFFER_ERR_TENANT_NOT_ALLOWED);
        EXPECT_THROWS(ks.login_user(0, "user", "user-pin-01"), COFFER_ERR_INVALID_ARGUMENT); // two tenants: name one
        EXPECT_THROWS(ks.tenant_create(user, "initech"), COFFER_ERR_ROLE_NOT_ALLOWED);
        auto kek = ks.generate(user, COFFER_KEY_TYPE_AES256,
                               {"data", "acme-kek",
                                COFFER_USAGE_ENCRYPT | COFFER_USAGE_DECRYPT | COFFER_USAGE_WRAP | COFFER_USAGE_UNWRAP});
        auto signer = ks.generate(user, COFFER_KEY_TYPE_P256, {"sig", "acme-sig", COFFER_USAGE_SIGN | COFFER_USAGE_VERIFY});
        EXPECT(ks.find(user, "acme-kek") == kek);
        EXPECT_THROWS(ks.find(in_globex, "acme-kek"), COFFER_ERR_NOT_FOUND);
        coffer::context ctx{{"tenant", "acme"}};
        auto env = ks.seal_envelope(user, kek, ctx, to_bytes("row 1"));
        EXPECT(same(ks.open_envelope(user, kek, ctx, env), "row 1"));
        EXPECT_THROWS(ks.open_envelope(in_globex, kek, ctx, env), COFFER_ERR_TENANT_NOT_ALLOWED);
        EXPECT(ks.rotate(user, kek) == 2);
        auto moved = ks.rewrap_envelope(user, kek, env);
        EXPECT(same(ks.open_envelope(user, kek, ctx, moved), "row 1"));
        auto sig = ks.sign(user, signer, to_bytes("msg"));
        ks.verify(user, signer, to_bytes("msg"), sig);
        EXPECT_THROWS(ks.verify(user, signer, to_bytes("msh"), sig), COFFER_ERR_VERIFY);
        EXPECT(ks.public_key_der(user, signer).size() == 91);
        auto mac = ks.generate(user, COFFER_KEY_TYPE_HMAC_SHA256, {"hooks", "acme-hooks", COFFER_USAGE_SIGN | COFFER_USAGE_VERIFY});
        auto tag = ks.hmac_sign(user, mac, to_bytes("msg"));
        EXPECT(tag.size() == COFFER_HMAC_TAG_LEN);
        ks.hmac_verify(user, mac, to_bytes("msg"), tag);
        EXPECT_THROWS(ks.hmac_verify(user, mac, to_bytes("msh"), tag), COFFER_ERR_VERIFY);
        auto hook = ks.webhook_sign(user, mac, 1700000000, "{}");
        ks.webhook_verify(user, mac, "{}", hook, 1700000100);
        EXPECT_THROWS(ks.webhook_verify(user, mac, "{}", hook, 1700001000), COFFER_ERR_VERIFY);

        // A CA whose key never leaves the keystore: it certifies itself,
        // issues from a request, and requests a certificate for itself.
        auto root = ks.ca_certificate(user, signer, "CN=Stored Root", 365, 1);
        root.verify(root);
        EXPECT(root.public_key_der() == ks.public_key_der(user, signer));
        auto agent = coffer::keypair::generate(COFFER_ALG_P256);
        coffer::csr agent_req(agent, "CN=agent,O=Acme", {{COFFER_SAN_DNS, "agent.acme.test"}});
        auto issued = ks.issue_certificate(user, signer, root, agent_req, COFFER_LEAF_CLIENT, 30);
        issued.verify(root);
        EXPECT(issued.public_key_der() == agent.public_key_der());
        auto not_the_ca = ks.generate(user, COFFER_KEY_TYPE_P256, {"other", "acme-other", COFFER_USAGE_SIGN});
        EXPECT_THROWS(ks.issue_certificate(user, not_the_ca, root, agent_req, COFFER_LEAF_CLIENT, 30),
                      COFFER_ERR_KEY_MISMATCH);
        EXPECT_THROWS(ks.ca_certificate(user, signer, "CN=x", 30, 0, COFFER_SIG_RSA_PSS_SHA256),
                      COFFER_ERR_INVALID_ARGUMENT);
        auto own_req =
            ks.certificate_request(user, signer, "CN=Stored Intermediate", {{COFFER_SAN_DNS, "ca.acme.test"}});
        auto offline_key = coffer::keypair::generate(COFFER_ALG_P256);
        auto offline = coffer::certificate::self_signed_ca(offline_key, "CN=Offline Root", 365, 1);
        EXPECT(offline.issue(offline_key, own_req, COFFER_LEAF_SERVER, 30).public_key_der() ==
               ks.public_key_der(user, signer));

        ks.destroy(user, signer);
        EXPECT_THROWS(ks.sign(user, signer, to_bytes("msg")), COFFER_ERR_KEY_STATE);
        EXPECT(ks.shred_tenant(so, "globex") == 0);
        EXPECT_THROWS(ks.shred_tenant(so, "nobody"), COFFER_ERR_NOT_FOUND);

        // Lockout per credential, unblocked by the security officer.
        for (int i = 0; i < 4; i++) {
            EXPECT_THROWS(ks.login_user(0, "auditor", "bad-pin-0000"), COFFER_ERR_PIN_INCORRECT);
        }
        EXPECT_THROWS(ks.login_user(0, "auditor", "bad-pin-0000"), COFFER_ERR_PIN_LOCKED);
        EXPECT_THROWS(ks.login_user(0, "auditor", "audit-pin-01"), COFFER_ERR_PIN_LOCKED);
        EXPECT(ks.users_json(so).find("\"name\":\"auditor\",\"role\":\"auditor\",\"tenants\":[],"
                                      "\"failures\":5,\"locked\":true") != std::string::npos);
        EXPECT_THROWS(ks.pin_unblock(user, "auditor", "audit-pin-02"), COFFER_ERR_ROLE_NOT_ALLOWED);
        EXPECT_THROWS(ks.pin_unblock(so, "nobody", "audit-pin-02"), COFFER_ERR_NOT_FOUND);
        ks.pin_unblock(so, "auditor", "audit-pin-02");
        auto auditor = ks.login_user(0, "auditor", "audit-pin-02");
        ks.audit_verify(auditor);

        // Listing: the security officer and the auditor, not a user.
        std::string users = ks.users_json(so);
        EXPECT(users.find("{\"name\":\"user\",\"role\":\"user\",\"tenants\":[\"acme\",\"globex\"],") !=
               std::string::npos);
        EXPECT(users.find("\"name\":\"auditor\",\"role\":\"auditor\",\"tenants\":[],\"failures\":0,\"locked\":false") !=
               std::string::npos);
        EXPECT(ks.users_json(auditor) == users);
        std::string tenants = ks.tenants_json(auditor);
        EXPECT(tenants.rfind("[{\"name\":\"acme\",\"created\":", 0) == 0);
        EXPECT(tenants.find("},{\"name\":\"globex\",\"created\":") != std::string::npos);
        EXPECT_THROWS(ks.users_json(user), COFFER_ERR_ROLE_NOT_ALLOWED);
        EXPECT_THROWS(ks.tenants_json(user), COFFER_ERR_ROLE_NOT_ALLOWED);

        // Removing a credential: it no longer logs in.
        ks.user_create(so, "temp", COFFER_ROLE_USER, {"acme"}, "temp-pin-01");
        ks.logout(ks.login_user(0, "temp", "temp-pin-01")); // its only tenant
        ks.user_remove(so, "temp");
        EXPECT_THROWS(ks.login_user(0, "temp", "temp-pin-01"), COFFER_ERR_PIN_INCORRECT);
        EXPECT_THROWS(ks.user_remove(so, "temp"), COFFER_ERR_NOT_FOUND);
        EXPECT(ks.users_json(so).find("\"temp\"") == std::string::npos);

        // Changing one's own PIN: the new one logs in, the old one no longer does.
        EXPECT_THROWS(ks.pin_change(user, "wrong-pin-01", "user-pin-02"), COFFER_ERR_PIN_INCORRECT);
        EXPECT_THROWS(ks.pin_change(user, "user-pin-01", "123"), COFFER_ERR_PIN_POLICY);
        ks.pin_change(user, "user-pin-01", "user-pin-02");
        EXPECT_THROWS(ks.login_user(0, "user", "user-pin-01", "acme"), COFFER_ERR_PIN_INCORRECT);
        ks.logout(ks.login_user(0, "user", "user-pin-02", "acme"));
        ks.logout(auditor);
        EXPECT_THROWS(ks.audit_verify(auditor), COFFER_ERR_NOT_LOGGED_IN);

        // A second object on the same store while the first is open: it sees
        // the first's keys, the first sees its changes, one generation for both.
        auto other = coffer::keystore::open(path, COFFER_KEYSTORE_PASSPHRASE, pass, ks.generation());
        auto user2 = other.login_user(0, "user", "user-pin-02", "acme");
        EXPECT(other.find(user2, "acme-kek") == kek);
        auto made = other.generate(user2, COFFER_KEY_TYPE_AES256, {"second", "acme-second", COFFER_USAGE_ENCRYPT});
        EXPECT(ks.find(user, "acme-second") == made);
        EXPECT(ks.generation() == other.generation());

        // Nothing to save: save() is the generation.
        auto exporter = ks.login_so(0, "so-pin-0001");
        last = ks.save();
        EXPECT(last == ks.generation() && last > 8);
        EXPECT(ks.export_v1(exporter, v1) == 1);
        EXPECT(ks.generation() == last + 1); // the export is audited
        EXPECT_THROWS(ks.export_v1(exporter, v1), COFFER_ERR_KEYSTORE_EXISTS);
        ks.set_generation_file(gen);
        last = ks.generation();
    }
    EXPECT_THROWS(coffer::keystore::create(path, COFFER_KEYSTORE_PASSPHRASE, pass, 1), COFFER_ERR_KEYSTORE_EXISTS);
    EXPECT_THROWS(coffer::keystore::open(path, COFFER_KEYSTORE_PASSPHRASE, coffer::secret_bytes{'n', 'o'}),
                  COFFER_ERR_KEYSTORE_AUTH);
    EXPECT_THROWS(coffer::keystore::open(path, COFFER_KEYSTORE_PASSPHRASE, pass, last + 1),
                  COFFER_ERR_KEYSTORE_ROLLBACK);

    // Back up, change, restore: the generation file refuses the old store
    // (which is still sealed under the old passphrase).
    copy_store(path, backup);
    {
        auto ks = coffer::keystore::open(path, COFFER_KEYSTORE_PASSPHRASE, pass, last);
        ks.set_generation_file(gen);
        auto user = ks.login_user(0, "user", "user-pin-02", "acme");
        EXPECT(ks.find(user, "acme-kek") != 0);
        EXPECT(ks.generation() > last);

        // Re-keying under a new passphrase: this object goes on, the old
        // passphrase opens nothing, the new one does.
        coffer::secret_bytes new_pass{'n', 'e', 'w', ' ', 'p', 'a', 's', 's'};
        EXPECT_THROWS(ks.passphrase_change(user, COFFER_KEYSTORE_PASSPHRASE, new_pass), COFFER_ERR_ROLE_NOT_ALLOWED);
        auto so = ks.login_so(0, "so-pin-0001");
        EXPECT_THROWS(ks.passphrase_change(so, COFFER_KEYSTORE_PASSPHRASE, coffer::secret_bytes{}),
                      COFFER_ERR_INVALID_LENGTH);
        ks.passphrase_change(so, COFFER_KEYSTORE_PASSPHRASE, new_pass);
        EXPECT(ks.find(user, "acme-kek") != 0);
        EXPECT_THROWS(coffer::keystore::open(path, COFFER_KEYSTORE_PASSPHRASE, pass), COFFER_ERR_KEYSTORE_AUTH);
        EXPECT(coffer::keystore::open(path, COFFER_KEYSTORE_PASSPHRASE, new_pass).generation() == ks.generation());
    }
    copy_store(backup, path);
    {
        auto ks = coffer::keystore::open(path, COFFER_KEYSTORE_PASSPHRASE, pass);
        EXPECT(ks.generation() == last);
        EXPECT_THROWS(ks.set_generation_file(gen), COFFER_ERR_KEYSTORE_ROLLBACK);
    }

    // The store's errors carry their messages.
    std::string no_space = coffer::error(COFFER_ERR_STORE_NO_SPACE, "call").what();
    EXPECT(no_space.find("no space left on device") != std::string::npos);
    EXPECT_THROWS(coffer::keystore::open(dir, COFFER_KEYSTORE_PASSPHRASE, pass), COFFER_ERR_INVALID_ARGUMENT);
    EXPECT_THROWS(coffer::keystore::open(dir + "/no-such-dir/x", COFFER_KEYSTORE_PASSPHRASE, pass),
                  COFFER_ERR_KEYSTORE_MISSING);
    EXPECT_THROWS(coffer::keystore::create(dir + "/no-such-dir/x", COFFER_KEYSTORE_PASSPHRASE, pass, 1),
                  COFFER_ERR_STORE_UNAVAILABLE);
    EXPECT_THROWS(coffer::keystore::open(v1, COFFER_KEYSTORE_PASSPHRASE, pass), COFFER_ERR_STORE_CORRUPT);

    remove_store(path);
    remove_store(backup);
    for (const std::string &p : {gen, gen + ".lock", v1}) std::filesystem::remove(p);
}

#ifdef COFFER_HPP_HAS_SPAN
static void test_span() {
    coffer::bytes kek(32, 5);
    std::uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    auto wrapped = coffer::kw_wrap(std::span<const std::uint8_t>(kek), std::span<const std::uint8_t>(key));
    auto back = coffer::kw_unwrap(std::span<const std::uint8_t>(kek), std::span<const std::uint8_t>(wrapped));
    EXPECT(back.size() == 16 && std::equal(back.begin(), back.end(), key));
    std::vector<coffer::recipient> to{coffer::recipient::kek("k", 1, kek)};
    auto env = coffer::seal(to, {}, std::span<const std::uint8_t>(key));
    auto pt = coffer::open({coffer::unlock_key::kek("k", 1, coffer::secret_bytes(kek.begin(), kek.end()))}, {},
                           std::span<const std::uint8_t>(env));
    EXPECT(pt.size() == 16);
    std::printf("std::span overloads: tested\n");
}
#endif

int main(int argc, char **argv) {
    std::string dir = argc > 1 ? argv[1] : ".";
    try {
        test_ownership();
        test_envelopes();
        test_key_wrap();
        test_certificates();
        test_keystore(dir);
#ifdef COFFER_HPP_HAS_SPAN
        test_span();
#endif
    } catch (const coffer::error &e) {
        failures++;
        std::fprintf(stderr, "unexpected coffer::error %u: %s\n", (unsigned)e.status(), e.what());
    }
    std::printf("test_cpp: %lu checks, %lu failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
