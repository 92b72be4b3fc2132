// coffer.hpp: a header-only C++17 wrapper over the coffer C API (coffer.h).
//
// - Every handle is a move-only RAII object (std::unique_ptr with the
//   matching coffer_*_free), so each object has exactly one owner.
// - Every failure throws coffer::error, which carries the coffer_status.
// - Functions taking bytes have pointer+size and std::vector<uint8_t>
//   overloads, and std::span<const uint8_t> overloads when built as C++20.
// - Secrets (plaintexts, private keys) come back as coffer::secret_bytes,
//   a vector whose allocator zeroes memory before releasing it.
//
// Thread safety follows the C types: key pairs, certificates and CSRs may
// be shared between threads for reading; a keystore may be used from
// several threads (coffer locks it), and several keystores may share one
// store; a sealer or opener is used by one thread at a time.
#ifndef COFFER_HPP
#define COFFER_HPP

#include <coffer.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if __cplusplus >= 202002L
#include <span>
#define COFFER_HPP_HAS_SPAN 1
#endif

namespace coffer {

/// A failed coffer call: what() names the call and the status message.
class error : public std::runtime_error {
public:
    error(coffer_status status, const char *call)
        : std::runtime_error(std::string(call) + ": " + coffer_status_message(status)), status_(status) {}
    /// The exact status the C function returned.
    coffer_status status() const noexcept { return status_; }

private:
    coffer_status status_;
};

/// Throws coffer::error unless `status` is COFFER_OK.
inline void check(coffer_status status, const char *call) {
    if (status != COFFER_OK) throw error(status, call);
}

/// An allocator that zeroes memory before freeing it.
template <class T>
struct zeroizing_allocator {
    using value_type = T;
    zeroizing_allocator() noexcept = default;
    template <class U>
    zeroizing_allocator(const zeroizing_allocator<U> &) noexcept {}
    T *allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
    void deallocate(T *p, std::size_t n) noexcept {
        volatile unsigned char *v = reinterpret_cast<volatile unsigned char *>(p);
        for (std::size_t i = 0; i < n * sizeof(T); i++) v[i] = 0;
        std::allocator<T>().deallocate(p, n);
    }
    template <class U>
    bool operator==(const zeroizing_allocator<U> &) const noexcept { return true; }
    template <class U>
    bool operator!=(const zeroizing_allocator<U> &) const noexcept { return false; }
};

/// Public bytes: envelopes, certificates, public keys, signatures.
using bytes = std::vector<std::uint8_t>;
/// Secret bytes, zeroed when released: plaintexts, private keys, unwrapped keys.
using secret_bytes = std::vector<std::uint8_t, zeroizing_allocator<std::uint8_t>>;

namespace detail {

/// Takes a coffer_bytes from a call, copies it out, and frees (zeroes) it.
struct owned_bytes {
    coffer_bytes raw{nullptr, 0};
    owned_bytes() = default;
    owned_bytes(const owned_bytes &) = delete;
    owned_bytes &operator=(const owned_bytes &) = delete;
    ~owned_bytes() { coffer_bytes_free(&raw); }
    template <class V>
    V take() const {
        return raw.len == 0 ? V() : V(raw.data, raw.data + raw.len);
    }
};

template <class T, void (*Free)(T *)>
struct deleter {
    void operator()(T *p) const noexcept { Free(p); }
};

template <class T, void (*Free)(T *)>
using handle = std::unique_ptr<T, deleter<T, Free>>;

inline const std::uint8_t *text(std::string_view s) { return reinterpret_cast<const std::uint8_t *>(s.data()); }

/// Calls a caller-buffer function twice: once for the size, once to fill.
template <class V, class F>
V sized_call(F f, const char *call) {
    std::size_t len = 0;
    coffer_status s = f(nullptr, &len);
    if (s != COFFER_ERR_BUFFER_TOO_SMALL) check(s, call);
    V out(len);
    check(f(out.data(), &len), call);
    out.resize(len);
    return out;
}

}  // namespace detail

/// Encryption context: key/value pairs bound to an envelope.
using context = std::vector<std::pair<std::string, std::string>>;

namespace detail {
inline std::vector<coffer_kv> kv(const context &ctx) {
    std::vector<coffer_kv> out;
    out.reserve(ctx.size());
    for (const auto &p : ctx) {
        out.push_back({text(p.first), p.first.size(), text(p.second), p.second.size()});
    }
    return out;
}
}  // namespace detail

/// Someone to seal for; holds its key id and key bytes.
class recipient {
public:
    /// An AES-256 key-encryption key (32 bytes).
    static recipient kek(std::string key_id, std::uint32_t version, bytes kek) {
        return recipient(COFFER_KEY_KEK, std::move(key_id), version, std::move(kek));
    }
    /// An RSA public key, SPKI DER.
    static recipient rsa(std::string key_id, std::uint32_t version, bytes spki_der) {
        return recipient(COFFER_KEY_RSA, std::move(key_id), version, std::move(spki_der));
    }
    /// A P-256 public key, SPKI DER.
    static recipient p256(std::string key_id, std::uint32_t version, bytes spki_der) {
        return recipient(COFFER_KEY_P256, std::move(key_id), version, std::move(spki_der));
    }
    /// The C view; valid while this object lives.
    coffer_recipient c() const {
        return {kind_, detail::text(key_id_), key_id_.size(), version_, key_.data(), key_.size()};
    }

private:
    recipient(coffer_key_kind kind, std::string key_id, std::uint32_t version, bytes key)
        : kind_(kind), key_id_(std::move(key_id)), version_(version), key_(std::move(key)) {}
    coffer_key_kind kind_;
    std::string key_id_;
    std::uint32_t version_;
    bytes key_;
};

/// A key that may open an envelope; holds a copy of the secret, zeroed on destruction.
class unlock_key {
public:
    /// An AES-256 key-encryption key (32 bytes).
    static unlock_key kek(std::string key_id, std::uint32_t version, secret_bytes kek) {
        return unlock_key(COFFER_KEY_KEK, std::move(key_id), version, std::move(kek));
    }
    /// An RSA private key, PKCS#8 DER.
    static unlock_key rsa(std::string key_id, std::uint32_t version, secret_bytes pkcs8_der) {
        return unlock_key(COFFER_KEY_RSA, std::move(key_id), version, std::move(pkcs8_der));
    }
    /// A P-256 private key, PKCS#8 DER.
    static unlock_key p256(std::string key_id, std::uint32_t version, secret_bytes pkcs8_der) {
        return unlock_key(COFFER_KEY_P256, std::move(key_id), version, std::move(pkcs8_der));
    }
    /// The C view; valid while this object lives.
    coffer_unlock_key c() const {
        return {kind_, detail::text(key_id_), key_id_.size(), version_, key_.data(), key_.size()};
    }

private:
    unlock_key(coffer_key_kind kind, std::string key_id, std::uint32_t version, secret_bytes key)
        : kind_(kind), key_id_(std::move(key_id)), version_(version), key_(std::move(key)) {}
    coffer_key_kind kind_;
    std::string key_id_;
    std::uint32_t version_;
    secret_bytes key_;
};

namespace detail {
template <class T, class C>
std::vector<C> views(const std::vector<T> &items) {
    std::vector<C> out;
    out.reserve(items.size());
    for (const auto &i : items) out.push_back(i.c());
    return out;
}
}  // namespace detail

/// Library version string.
inline std::string version() { return coffer_version(); }

/// The crypto provider the library was built with: "RustCrypto" or "aws-lc".
inline std::string provider() { return coffer_provider(); }

// ---- envelopes ----------------------------------------------------------

/// Seals `plaintext` for `to`, bound to `ctx`.
inline bytes seal(const std::vector<recipient> &to, const context &ctx, const std::uint8_t *plaintext,
                  std::size_t len) {
    auto r = detail::views<recipient, coffer_recipient>(to);
    auto kv = detail::kv(ctx);
    detail::owned_bytes out;
    check(coffer_envelope_seal(r.data(), r.size(), kv.data(), kv.size(), plaintext, len, &out.raw),
          "coffer_envelope_seal");
    return out.take<bytes>();
}
inline bytes seal(const std::vector<recipient> &to, const context &ctx, const bytes &plaintext) {
    return seal(to, ctx, plaintext.data(), plaintext.size());
}

/// Opens an envelope with any of `keys`; COFFER_ERR_DECRYPT for any failure.
inline secret_bytes open(const std::vector<unlock_key> &keys, const context &ctx, const std::uint8_t *sealed,
                         std::size_t len) {
    auto k = detail::views<unlock_key, coffer_unlock_key>(keys);
    auto kv = detail::kv(ctx);
    detail::owned_bytes out;
    check(coffer_envelope_open(k.data(), k.size(), kv.data(), kv.size(), sealed, len, &out.raw),
          "coffer_envelope_open");
    return out.take<secret_bytes>();
}
inline secret_bytes open(const std::vector<unlock_key> &keys, const context &ctx, const bytes &sealed) {
    return open(keys, ctx, sealed.data(), sealed.size());
}

/// Rewraps: `old` unlocks, `next` replaces it; only the header changes.
inline bytes rewrap(const std::uint8_t *sealed, std::size_t len, const unlock_key &old, const recipient &next) {
    auto o = old.c();
    auto n = next.c();
    detail::owned_bytes out;
    check(coffer_envelope_rewrap(sealed, len, &o, &n, &out.raw), "coffer_envelope_rewrap");
    return out.take<bytes>();
}
inline bytes rewrap(const bytes &sealed, const unlock_key &old, const recipient &next) {
    return rewrap(sealed.data(), sealed.size(), old, next);
}

// ---- key wrapping --------------------------------------------------------

/// AES-KW (RFC 3394) wrap.
inline bytes kw_wrap(const std::uint8_t *kek, std::size_t kek_len, const std::uint8_t *key, std::size_t key_len) {
    return detail::sized_call<bytes>(
        [&](std::uint8_t *o, std::size_t *l) { return coffer_kw_wrap(kek, kek_len, key, key_len, o, l); },
        "coffer_kw_wrap");
}
inline bytes kw_wrap(const bytes &kek, const secret_bytes &key) {
    return kw_wrap(kek.data(), kek.size(), key.data(), key.size());
}
/// AES-KW (RFC 3394) unwrap.
inline secret_bytes kw_unwrap(const std::uint8_t *kek, std::size_t kek_len, const std::uint8_t *wrapped,
                              std::size_t wrapped_len) {
    // The unwrapped length is known up front: wrapped_len - 8.
    secret_bytes out(wrapped_len >= 8 ? wrapped_len - 8 : 0);
    std::size_t len = out.size();
    check(coffer_kw_unwrap(kek, kek_len, wrapped, wrapped_len, out.data(), &len), "coffer_kw_unwrap");
    out.resize(len);
    return out;
}
inline secret_bytes kw_unwrap(const bytes &kek, const bytes &wrapped) {
    return kw_unwrap(kek.data(), kek.size(), wrapped.data(), wrapped.size());
}
/// AES-KWP (RFC 5649) wrap.
inline bytes kwp_wrap(const std::uint8_t *kek, std::size_t kek_len, const std::uint8_t *key, std::size_t key_len) {
    return detail::sized_call<bytes>(
        [&](std::uint8_t *o, std::size_t *l) { return coffer_kwp_wrap(kek, kek_len, key, key_len, o, l); },
        "coffer_kwp_wrap");
}
inline bytes kwp_wrap(const bytes &kek, const secret_bytes &key) {
    return kwp_wrap(kek.data(), kek.size(), key.data(), key.size());
}
/// AES-KWP (RFC 5649) unwrap.
inline secret_bytes kwp_unwrap(const std::uint8_t *kek, std::size_t kek_len, const std::uint8_t *wrapped,
                               std::size_t wrapped_len) {
    secret_bytes out(wrapped_len >= 8 ? wrapped_len - 8 : 0);
    std::size_t len = out.size();
    check(coffer_kwp_unwrap(kek, kek_len, wrapped, wrapped_len, out.data(), &len), "coffer_kwp_unwrap");
    out.resize(len);
    return out;
}
inline secret_bytes kwp_unwrap(const bytes &kek, const bytes &wrapped) {
    return kwp_unwrap(kek.data(), kek.size(), wrapped.data(), wrapped.size());
}

#ifdef COFFER_HPP_HAS_SPAN
inline bytes seal(const std::vector<recipient> &to, const context &ctx, std::span<const std::uint8_t> plaintext) {
    return seal(to, ctx, plaintext.data(), plaintext.size());
}
inline secret_bytes open(const std::vector<unlock_key> &keys, const context &ctx,
                         std::span<const std::uint8_t> sealed) {
    return open(keys, ctx, sealed.data(), sealed.size());
}
inline bytes rewrap(std::span<const std::uint8_t> sealed, const unlock_key &old, const recipient &next) {
    return rewrap(sealed.data(), sealed.size(), old, next);
}
inline bytes kw_wrap(std::span<const std::uint8_t> kek, std::span<const std::uint8_t> key) {
    return kw_wrap(kek.data(), kek.size(), key.data(), key.size());
}
inline secret_bytes kw_unwrap(std::span<const std::uint8_t> kek, std::span<const std::uint8_t> wrapped) {
    return kw_unwrap(kek.data(), kek.size(), wrapped.data(), wrapped.size());
}
inline bytes kwp_wrap(std::span<const std::uint8_t> kek, std::span<const std::uint8_t> key) {
    return kwp_wrap(kek.data(), kek.size(), key.data(), key.size());
}
inline secret_bytes kwp_unwrap(std::span<const std::uint8_t> kek, std::span<const std::uint8_t> wrapped) {
    return kwp_unwrap(kek.data(), kek.size(), wrapped.data(), wrapped.size());
}
#endif

// ---- streaming -----------------------------------------------------------

/// Seals a payload chunk by chunk; header() is written first.
class sealer {
public:
    /// chunk_size 0 means COFFER_ENVELOPE_DEFAULT_CHUNK_SIZE.
    sealer(const std::vector<recipient> &to, const context &ctx, std::uint32_t chunk_size = 0) {
        auto r = detail::views<recipient, coffer_recipient>(to);
        auto kv = detail::kv(ctx);
        detail::owned_bytes header;
        coffer_sealer *raw = nullptr;
        check(coffer_sealer_new(r.data(), r.size(), kv.data(), kv.size(), chunk_size, &raw, &header.raw),
              "coffer_sealer_new");
        h_.reset(raw);
        header_ = header.take<bytes>();
    }
    const bytes &header() const noexcept { return header_; }
    std::size_t chunk_size() const {
        std::size_t n = 0;
        check(coffer_sealer_chunk_size(h_.get(), &n), "coffer_sealer_chunk_size");
        return n;
    }
    /// Seals one chunk: exactly chunk_size() bytes unless `last`.
    bytes seal_chunk(const std::uint8_t *chunk, std::size_t len, bool last) {
        bytes out(len + COFFER_ENVELOPE_TAG_LEN);
        std::size_t n = out.size();
        check(coffer_sealer_seal_chunk(h_.get(), chunk, len, last, out.data(), &n), "coffer_sealer_seal_chunk");
        out.resize(n);
        return out;
    }
    bytes seal_chunk(const bytes &chunk, bool last) { return seal_chunk(chunk.data(), chunk.size(), last); }

private:
    detail::handle<coffer_sealer, coffer_sealer_free> h_;
    bytes header_;
};

/// Opens a payload chunk by chunk after its header.
class opener {
public:
    opener(const std::vector<unlock_key> &keys, const context &ctx, const bytes &header) {
        auto k = detail::views<unlock_key, coffer_unlock_key>(keys);
        auto kv = detail::kv(ctx);
        coffer_opener *raw = nullptr;
        check(coffer_opener_new(k.data(), k.size(), kv.data(), kv.size(), header.data(), header.size(), &raw),
              "coffer_opener_new");
        h_.reset(raw);
    }
    /// Length of an envelope's header, from its first COFFER_ENVELOPE_PREFIX_LEN bytes.
    static std::size_t header_len(const std::uint8_t *prefix, std::size_t len) {
        std::size_t n = 0;
        check(coffer_envelope_header_len(prefix, len, &n), "coffer_envelope_header_len");
        return n;
    }
    std::size_t sealed_chunk_size() const {
        std::size_t n = 0;
        check(coffer_opener_sealed_chunk_size(h_.get(), &n), "coffer_opener_sealed_chunk_size");
        return n;
    }
    secret_bytes open_chunk(const std::uint8_t *chunk, std::size_t len, bool last) {
        secret_bytes out(len);
        std::size_t n = out.size();
        check(coffer_opener_open_chunk(h_.get(), chunk, len, last, out.data(), &n), "coffer_opener_open_chunk");
        out.resize(n);
        return out;
    }
    secret_bytes open_chunk(const bytes &chunk, bool last) { return open_chunk(chunk.data(), chunk.size(), last); }
    /// Throws COFFER_ERR_DECRYPT if the payload ended early.
    void finish() { check(coffer_opener_finish(h_.get()), "coffer_opener_finish"); }

private:
    detail::handle<coffer_opener, coffer_opener_free> h_;
};

// ---- key pairs and certificates -----------------------------------------

/// A private key (RSA or P-256).
class keypair {
public:
    static keypair generate(coffer_key_algorithm alg) {
        coffer_keypair *raw = nullptr;
        check(coffer_keypair_generate(alg, &raw), "coffer_keypair_generate");
        return keypair(raw);
    }
    static keypair from_pkcs8_der(const std::uint8_t *der, std::size_t len) {
        coffer_keypair *raw = nullptr;
        check(coffer_keypair_from_pkcs8_der(der, len, &raw), "coffer_keypair_from_pkcs8_der");
        return keypair(raw);
    }
    static keypair from_pkcs8_der(const secret_bytes &der) { return from_pkcs8_der(der.data(), der.size()); }
    static keypair from_pkcs8_pem(std::string_view pem) {
        coffer_keypair *raw = nullptr;
        check(coffer_keypair_from_pkcs8_pem(detail::text(pem), pem.size(), &raw), "coffer_keypair_from_pkcs8_pem");
        return keypair(raw);
    }
    secret_bytes pkcs8_der() const {
        detail::owned_bytes out;
        check(coffer_keypair_to_pkcs8_der(get(), &out.raw), "coffer_keypair_to_pkcs8_der");
        return out.take<secret_bytes>();
    }
    secret_bytes pkcs8_pem() const {
        detail::owned_bytes out;
        check(coffer_keypair_to_pkcs8_pem(get(), &out.raw), "coffer_keypair_to_pkcs8_pem");
        return out.take<secret_bytes>();
    }
    bytes public_key_der() const {
        detail::owned_bytes out;
        check(coffer_keypair_public_key_der(get(), &out.raw), "coffer_keypair_public_key_der");
        return out.take<bytes>();
    }
    std::string public_key_pem() const {
        detail::owned_bytes out;
        check(coffer_keypair_public_key_pem(get(), &out.raw), "coffer_keypair_public_key_pem");
        return out.take<std::string>();
    }
    coffer_key_algorithm algorithm() const {
        std::uint32_t a = 0;
        check(coffer_keypair_algorithm(get(), &a), "coffer_keypair_algorithm");
        return static_cast<coffer_key_algorithm>(a);
    }
    /// Signs `msg` under `scheme` (ECDSA signatures are DER).
    bytes sign(coffer_signature_scheme scheme, const bytes &msg) const {
        detail::owned_bytes out;
        check(coffer_keypair_sign(get(), scheme, msg.data(), msg.size(), &out.raw), "coffer_keypair_sign");
        return out.take<bytes>();
    }
    /// Throws COFFER_ERR_VERIFY if `sig` is not this key's signature of `msg` under `scheme`.
    void verify(coffer_signature_scheme scheme, const bytes &msg, const bytes &sig) const {
        check(coffer_keypair_verify(get(), scheme, msg.data(), msg.size(), sig.data(), sig.size()),
              "coffer_keypair_verify");
    }
    const coffer_keypair *get() const noexcept { return h_.get(); }

private:
    explicit keypair(coffer_keypair *raw) : h_(raw) {}
    detail::handle<coffer_keypair, coffer_keypair_free> h_;
};

/// Throws COFFER_ERR_VERIFY unless `sig` is a signature of `msg` under
/// `scheme` by the public key `spki_der` (SubjectPublicKeyInfo DER).
inline void public_key_verify_der(const bytes &spki_der, coffer_signature_scheme scheme, const bytes &msg,
                                  const bytes &sig) {
    check(coffer_public_key_verify_der(spki_der.data(), spki_der.size(), scheme, msg.data(), msg.size(), sig.data(),
                                       sig.size()),
          "coffer_public_key_verify_der");
}

/// As public_key_verify_der, with the key as a `PUBLIC KEY` PEM block.
inline void public_key_verify_pem(std::string_view pem, coffer_signature_scheme scheme, const bytes &msg,
                                  const bytes &sig) {
    check(coffer_public_key_verify_pem(detail::text(pem), pem.size(), scheme, msg.data(), msg.size(), sig.data(),
                                       sig.size()),
          "coffer_public_key_verify_pem");
}

/// The webhook signature header `t=<timestamp>,v1=<hex>` of `body` under a shared secret.
inline std::string webhook_sign(const secret_bytes &secret, std::uint64_t timestamp, std::string_view body) {
    detail::owned_bytes out;
    check(coffer_webhook_sign(secret.data(), secret.size(), timestamp, detail::text(body), body.size(), &out.raw),
          "coffer_webhook_sign");
    return out.take<std::string>();
}

/// Throws COFFER_ERR_VERIFY unless `header` signs `body` under `secret` within
/// `tolerance_secs` of `now` (COFFER_ERR_MALFORMED for a header that does not parse).
inline void webhook_verify(const secret_bytes &secret, std::string_view body, std::string_view header,
                           std::uint64_t now, std::uint64_t tolerance_secs = COFFER_WEBHOOK_DEFAULT_TOLERANCE_SECS) {
    check(coffer_webhook_verify(secret.data(), secret.size(), detail::text(body), body.size(), detail::text(header),
                                header.size(), now, tolerance_secs),
          "coffer_webhook_verify");
}

/// A subject alternative name.
struct san {
    coffer_san_kind kind;
    std::string value;
};

namespace detail {
inline std::vector<coffer_san> sans(const std::vector<san> &names) {
    std::vector<coffer_san> out;
    out.reserve(names.size());
    for (const auto &n : names) out.push_back({n.kind, text(n.value), n.value.size()});
    return out;
}
}  // namespace detail

class keystore;

/// A PKCS#10 certificate signing request.
class csr {
public:
    csr(const keypair &key, std::string_view subject, const std::vector<san> &names = {}) {
        auto s = detail::sans(names);
        coffer_csr *raw = nullptr;
        check(coffer_csr_new(key.get(), detail::text(subject), subject.size(), s.data(), s.size(), &raw),
              "coffer_csr_new");
        h_.reset(raw);
    }
    static csr from_pem(std::string_view pem) {
        coffer_csr *raw = nullptr;
        check(coffer_csr_from_pem(detail::text(pem), pem.size(), &raw), "coffer_csr_from_pem");
        return csr(raw);
    }
    std::string pem() const {
        detail::owned_bytes out;
        check(coffer_csr_to_pem(get(), &out.raw), "coffer_csr_to_pem");
        return out.take<std::string>();
    }
    bytes der() const {
        detail::owned_bytes out;
        check(coffer_csr_to_der(get(), &out.raw), "coffer_csr_to_der");
        return out.take<bytes>();
    }
    const coffer_csr *get() const noexcept { return h_.get(); }

private:
    friend class keystore;  // certificate_request()
    explicit csr(coffer_csr *raw) : h_(raw) {}
    detail::handle<coffer_csr, coffer_csr_free> h_;
};

/// An X.509 certificate.
class certificate {
public:
    /// A self-signed CA; path_len -1 means no limit.
    static certificate self_signed_ca(const keypair &key, std::string_view subject, std::uint32_t days,
                                      std::int32_t path_len) {
        coffer_certificate *raw = nullptr;
        check(coffer_certificate_self_signed_ca(key.get(), detail::text(subject), subject.size(), days, path_len,
                                                &raw),
              "coffer_certificate_self_signed_ca");
        return certificate(raw);
    }
    /// Issues a leaf from a CSR under this CA.
    certificate issue(const keypair &ca_key, const csr &request, coffer_leaf_usage usage, std::uint32_t days,
                      const std::vector<san> &names = {}) const {
        auto s = detail::sans(names);
        coffer_certificate *raw = nullptr;
        check(coffer_certificate_issue(get(), ca_key.get(), request.get(), usage, days, s.data(), s.size(), &raw),
              "coffer_certificate_issue");
        return certificate(raw);
    }
    static certificate from_pem(std::string_view pem) {
        coffer_certificate *raw = nullptr;
        check(coffer_certificate_from_pem(detail::text(pem), pem.size(), &raw), "coffer_certificate_from_pem");
        return certificate(raw);
    }
    static certificate from_der(const bytes &der) {
        coffer_certificate *raw = nullptr;
        check(coffer_certificate_from_der(der.data(), der.size(), &raw), "coffer_certificate_from_der");
        return certificate(raw);
    }
    /// Throws unless this certificate was issued by `ca` and both are valid now.
    void verify(const certificate &ca) const {
        check(coffer_certificate_verify(get(), ca.get()), "coffer_certificate_verify");
    }
    std::string pem() const {
        detail::owned_bytes out;
        check(coffer_certificate_to_pem(get(), &out.raw), "coffer_certificate_to_pem");
        return out.take<std::string>();
    }
    bytes der() const {
        detail::owned_bytes out;
        check(coffer_certificate_to_der(get(), &out.raw), "coffer_certificate_to_der");
        return out.take<bytes>();
    }
    std::string subject() const {
        detail::owned_bytes out;
        check(coffer_certificate_subject(get(), &out.raw), "coffer_certificate_subject");
        return out.take<std::string>();
    }
    bytes public_key_der() const {
        detail::owned_bytes out;
        check(coffer_certificate_public_key_der(get(), &out.raw), "coffer_certificate_public_key_der");
        return out.take<bytes>();
    }
    /// Throws COFFER_ERR_VERIFY unless `sig` is a signature of `msg` under
    /// `scheme` by this certificate's key (the signature only, not the chain).
    void verify_signature(coffer_signature_scheme scheme, const bytes &msg, const bytes &sig) const {
        check(coffer_certificate_verify_signature(get(), scheme, msg.data(), msg.size(), sig.data(), sig.size()),
              "coffer_certificate_verify_signature");
    }
    const coffer_certificate *get() const noexcept { return h_.get(); }

private:
    friend class keystore;  // ca_certificate(), issue_certificate()
    explicit certificate(coffer_certificate *raw) : h_(raw) {}
    detail::handle<coffer_certificate, coffer_certificate_free> h_;
};

// ---- the software HSM ----------------------------------------------------

namespace detail {
/// The C `scheme` argument: the scheme given, or the key's default.
inline std::uint32_t scheme(std::optional<coffer_signature_scheme> s) {
    return s ? static_cast<std::uint32_t>(*s) : COFFER_SIG_KEY_DEFAULT;
}
}  // namespace detail

/// A session number of one keystore.
using session = std::uint64_t;
/// A key handle number of one token.
using key_handle = std::uint64_t;

/// Attributes of a key to generate.
struct key_attributes {
    std::string label;
    std::string key_id;
    std::uint32_t usage;
    bool extractable = false;
    bool active = true;
};

/// The HSM state in a record store: a SQLite file, or a database named by a
/// postgres:// URL. Every call that changes it has committed the change
/// durably when it returns; other keystore objects, in this process or in
/// others, may have the same store open at once and see each other's
/// changes. Sessions belong to the object that logged in.
class keystore {
public:
    /// A new store at `path` (a SQLite file that must not exist yet, or the
    /// URL of a database without a keystore) with `slots` empty slots.
    static keystore create(std::string_view path, coffer_keystore_secret kind, const secret_bytes &secret,
                           std::uint32_t slots) {
        coffer_keystore *raw = nullptr;
        check(coffer_keystore_create(detail::text(path), path.size(), kind, secret.data(), secret.size(), slots,
                                     &raw),
              "coffer_keystore_create");
        return keystore(raw);
    }
    /// Opens the store at `path`; a store whose generation is below a
    /// nonzero `min_generation` throws COFFER_ERR_KEYSTORE_ROLLBACK.
    static keystore open(std::string_view path, coffer_keystore_secret kind, const secret_bytes &secret,
                         std::uint64_t min_generation = 0) {
        coffer_keystore *raw = nullptr;
        check(coffer_keystore_open(detail::text(path), path.size(), kind, secret.data(), secret.size(),
                                   min_generation, &raw),
              "coffer_keystore_open");
        return keystore(raw);
    }
    /// The store's generation now: every committed change raises it by one.
    std::uint64_t generation() {
        std::uint64_t g = 0;
        check(coffer_keystore_generation(get(), &g), "coffer_keystore_generation");
        return g;
    }
    /// Kept for compatibility: nothing to write; returns generation().
    std::uint64_t save() {
        std::uint64_t counter = 0;
        check(coffer_keystore_save(get(), &counter), "coffer_keystore_save");
        return counter;
    }
    /// Keeps the generation in the file at `path` from now on; throws
    /// COFFER_ERR_KEYSTORE_ROLLBACK if the file knows a higher one.
    void set_generation_file(std::string_view path) {
        check(coffer_keystore_set_generation_file(get(), detail::text(path), path.size()),
              "coffer_keystore_set_generation_file");
    }
    /// Writes a version-1 snapshot to the new file `path` (tenant-sealed key
    /// material opened with the security officer session `so`'s grants, as
    /// version 1 has no tenant keys); returns its counter.
    std::uint64_t export_v1(std::uint64_t so, std::string_view path) {
        std::uint64_t counter = 0;
        check(coffer_keystore_export_v1(get(), so, detail::text(path), path.size(), &counter),
              "coffer_keystore_export_v1");
        return counter;
    }
    void init_token(std::uint32_t slot, std::string_view label, std::string_view so_pin) {
        check(coffer_keystore_init_token(get(), slot, detail::text(label), label.size(), detail::text(so_pin),
                                         so_pin.size()),
              "coffer_keystore_init_token");
    }
    /// Logs the security officer in on `slot`; throws COFFER_ERR_PIN_INCORRECT,
    /// then COFFER_ERR_PIN_LOCKED after 5 failures.
    session login_so(std::uint32_t slot, std::string_view pin) {
        session s = 0;
        check(coffer_keystore_login_so(get(), slot, detail::text(pin), pin.size(), &s), "coffer_keystore_login_so");
        return s;
    }
    /// Logs in the user or auditor credential `user` with its own PIN. A user
    /// session acts in `tenant`, one of the credential's tenants (empty: its
    /// only one); an auditor gives no tenant. A wrong PIN and an unknown user
    /// both throw COFFER_ERR_PIN_INCORRECT (then COFFER_ERR_PIN_LOCKED after 5
    /// failures of that credential); a tenant it is not bound to throws
    /// COFFER_ERR_TENANT_NOT_ALLOWED.
    session login_user(std::uint32_t slot, std::string_view user, std::string_view pin,
                       std::string_view tenant = {}) {
        session s = 0;
        const std::uint8_t *t = tenant.empty() ? nullptr : detail::text(tenant);
        check(coffer_keystore_login_user(get(), slot, detail::text(user), user.size(), detail::text(pin), pin.size(),
                                         t, tenant.size(), &s),
              "coffer_keystore_login_user");
        return s;
    }
    /// Changes the PIN of the session's own credential (any role); a wrong
    /// `old_pin` throws COFFER_ERR_PIN_INCORRECT and counts as a failed login.
    void pin_change(session s, std::string_view old_pin, std::string_view new_pin) {
        check(coffer_keystore_pin_change(get(), s, detail::text(old_pin), old_pin.size(), detail::text(new_pin),
                                         new_pin.size()),
              "coffer_keystore_pin_change");
    }
    /// Creates the tenant `name` (security officer); throws
    /// COFFER_ERR_ALREADY_EXISTS if it exists.
    void tenant_create(session so, std::string_view name) {
        check(coffer_keystore_tenant_create(get(), so, detail::text(name), name.size()),
              "coffer_keystore_tenant_create");
    }
    /// Creates the credential `name` with its own `pin` (security officer):
    /// COFFER_ROLE_USER bound to `tenants` (1 to 16 existing tenants, else
    /// COFFER_ERR_NOT_FOUND), or COFFER_ROLE_AUDITOR with no tenants. Throws
    /// COFFER_ERR_ALREADY_EXISTS if the name is taken.
    void user_create(session so, std::string_view name, coffer_role role, const std::vector<std::string> &tenants,
                     std::string_view pin) {
        std::string list;  // the C call takes "acme,globex"
        for (const auto &t : tenants) {
            if (!list.empty()) list += ',';
            list += t;
        }
        const std::uint8_t *l = tenants.empty() ? nullptr : detail::text(list);
        check(coffer_keystore_user_create(get(), so, detail::text(name), name.size(), role, l,
                                          tenants.empty() ? 0 : list.size(), detail::text(pin), pin.size()),
              "coffer_keystore_user_create");
    }
    /// Removes the credential `name` (security officer): it can no longer log
    /// in. Throws COFFER_ERR_NOT_FOUND for an unknown name.
    void user_remove(session so, std::string_view name) {
        check(coffer_keystore_user_remove(get(), so, detail::text(name), name.size()), "coffer_keystore_user_remove");
    }
    /// Unblocks the credential `name` (security officer): gives it `new_pin`
    /// and clears its failure count.
    void pin_unblock(session so, std::string_view name, std::string_view new_pin) {
        check(coffer_keystore_pin_unblock(get(), so, detail::text(name), name.size(), detail::text(new_pin),
                                          new_pin.size()),
              "coffer_keystore_pin_unblock");
    }
    /// The token's tenants as JSON, by name:
    /// `[{"name":"acme","created":1795632073}, ...]`. Security officer or
    /// auditor session; a user session throws COFFER_ERR_ROLE_NOT_ALLOWED.
    std::string tenants_json(session s) {
        detail::owned_bytes out;
        check(coffer_keystore_tenants_json(get(), s, &out.raw), "coffer_keystore_tenants_json");
        return out.take<std::string>();
    }
    /// The token's credentials (not the security officer) as JSON, by name:
    /// `[{"name":"alice","role":"user","tenants":["acme"],"failures":0,"locked":false,"created":...}, ...]`.
    /// Security officer or auditor session, as tenants_json().
    std::string users_json(session s) {
        detail::owned_bytes out;
        check(coffer_keystore_users_json(get(), s, &out.raw), "coffer_keystore_users_json");
        return out.take<std::string>();
    }
    /// Re-keys the store under a new passphrase or master key (security
    /// officer), in one transaction. This object goes on with the new secret;
    /// other objects open on the store throw COFFER_ERR_KEYSTORE_AUTH until
    /// reopened with it, and the old secret opens nothing.
    void passphrase_change(session so, coffer_keystore_secret kind, const secret_bytes &secret) {
        check(coffer_keystore_passphrase_change(get(), so, kind, secret.data(), secret.size()),
              "coffer_keystore_passphrase_change");
    }
    void logout(session s) { check(coffer_keystore_logout(get(), s), "coffer_keystore_logout"); }
    key_handle generate(session s, coffer_key_type type, const key_attributes &a) {
        coffer_key_attributes c{detail::text(a.label), a.label.size(), detail::text(a.key_id), a.key_id.size(),
                                a.usage, a.extractable, a.active};
        key_handle h = 0;
        check(coffer_keystore_generate(get(), s, type, &c, &h), "coffer_keystore_generate");
        return h;
    }
    key_handle find(session s, std::string_view key_id) {
        key_handle h = 0;
        check(coffer_keystore_find(get(), s, detail::text(key_id), key_id.size(), &h), "coffer_keystore_find");
        return h;
    }
    bytes seal_envelope(session s, key_handle h, const context &ctx, const bytes &plaintext) {
        auto kv = detail::kv(ctx);
        detail::owned_bytes out;
        check(coffer_keystore_seal_envelope(get(), s, h, kv.data(), kv.size(), plaintext.data(), plaintext.size(),
                                            &out.raw),
              "coffer_keystore_seal_envelope");
        return out.take<bytes>();
    }
    secret_bytes open_envelope(session s, key_handle h, const context &ctx, const bytes &sealed) {
        auto kv = detail::kv(ctx);
        detail::owned_bytes out;
        check(coffer_keystore_open_envelope(get(), s, h, kv.data(), kv.size(), sealed.data(), sealed.size(),
                                            &out.raw),
              "coffer_keystore_open_envelope");
        return out.take<secret_bytes>();
    }
    bytes rewrap_envelope(session s, key_handle h, const bytes &sealed) {
        detail::owned_bytes out;
        check(coffer_keystore_rewrap_envelope(get(), s, h, sealed.data(), sealed.size(), &out.raw),
              "coffer_keystore_rewrap_envelope");
        return out.take<bytes>();
    }
    bytes sign(session s, key_handle h, const bytes &msg) {
        detail::owned_bytes out;
        check(coffer_keystore_sign(get(), s, h, msg.data(), msg.size(), &out.raw), "coffer_keystore_sign");
        return out.take<bytes>();
    }
    /// Throws COFFER_ERR_VERIFY if the signature does not verify.
    void verify(session s, key_handle h, const bytes &msg, const bytes &sig) {
        check(coffer_keystore_verify(get(), s, h, msg.data(), msg.size(), sig.data(), sig.size()),
              "coffer_keystore_verify");
    }
    /// The HMAC-SHA-256 tag of `msg` under the HMAC key `h`.
    bytes hmac_sign(session s, key_handle h, const bytes &msg) {
        detail::owned_bytes out;
        check(coffer_keystore_hmac_sign(get(), s, h, msg.data(), msg.size(), &out.raw), "coffer_keystore_hmac_sign");
        return out.take<bytes>();
    }
    /// Throws COFFER_ERR_VERIFY if `tag` is not the HMAC of `msg` under any version of `h`.
    void hmac_verify(session s, key_handle h, const bytes &msg, const bytes &tag) {
        check(coffer_keystore_hmac_verify(get(), s, h, msg.data(), msg.size(), tag.data(), tag.size()),
              "coffer_keystore_hmac_verify");
    }
    /// The webhook signature header `t=<timestamp>,v1=<hex>` of `body` under the HMAC key `h`.
    std::string webhook_sign(session s, key_handle h, std::uint64_t timestamp, std::string_view body) {
        detail::owned_bytes out;
        check(coffer_keystore_webhook_sign(get(), s, h, timestamp, detail::text(body), body.size(), &out.raw),
              "coffer_keystore_webhook_sign");
        return out.take<std::string>();
    }
    /// Throws COFFER_ERR_VERIFY unless `header` signs `body` under `h` within `tolerance_secs` of `now`.
    void webhook_verify(session s, key_handle h, std::string_view body, std::string_view header, std::uint64_t now,
                        std::uint64_t tolerance_secs = COFFER_WEBHOOK_DEFAULT_TOLERANCE_SECS) {
        check(coffer_keystore_webhook_verify(get(), s, h, detail::text(body), body.size(), detail::text(header),
                                             header.size(), now, tolerance_secs),
              "coffer_keystore_webhook_verify");
    }
    bytes public_key_der(session s, key_handle h) {
        detail::owned_bytes out;
        check(coffer_keystore_public_key_der(get(), s, h, &out.raw), "coffer_keystore_public_key_der");
        return out.take<bytes>();
    }
    /// A self-signed CA certificate for the P-256 or RSA key `h`, signed in
    /// the keystore (the key never leaves it; an audit record names the
    /// certificate); path_len -1 means no limit. Without a `scheme`, the
    /// key's default (COFFER_SIG_KEY_DEFAULT).
    certificate ca_certificate(session s, key_handle h, std::string_view subject, std::uint32_t days,
                               std::int32_t path_len, std::optional<coffer_signature_scheme> scheme = {}) {
        coffer_certificate *raw = nullptr;
        check(coffer_keystore_ca_certificate(get(), s, h, detail::scheme(scheme), detail::text(subject),
                                             subject.size(), days, path_len, &raw),
              "coffer_keystore_ca_certificate");
        return certificate(raw);
    }
    /// A PKCS#10 request for the key `h` itself, signed in the keystore (an
    /// intermediate CA whose key stays here, to be certified elsewhere).
    csr certificate_request(session s, key_handle h, std::string_view subject, const std::vector<san> &names = {},
                            std::optional<coffer_signature_scheme> scheme = {}) {
        auto n = detail::sans(names);
        coffer_csr *raw = nullptr;
        check(coffer_keystore_certificate_request(get(), s, h, detail::scheme(scheme), detail::text(subject),
                                                  subject.size(), n.data(), n.size(), &raw),
              "coffer_keystore_certificate_request");
        return csr(raw);
    }
    /// Issues a leaf from `request` under `ca`, signed in the keystore by the
    /// CA's key `h`; throws COFFER_ERR_KEY_MISMATCH if `h` is not the key `ca`
    /// certifies.
    certificate issue_certificate(session s, key_handle h, const certificate &ca, const csr &request,
                                  coffer_leaf_usage usage, std::uint32_t days, const std::vector<san> &names = {},
                                  std::optional<coffer_signature_scheme> scheme = {}) {
        auto n = detail::sans(names);
        coffer_certificate *raw = nullptr;
        check(coffer_keystore_issue_certificate(get(), s, h, detail::scheme(scheme), ca.get(), request.get(), usage,
                                                days, n.data(), n.size(), &raw),
              "coffer_keystore_issue_certificate");
        return certificate(raw);
    }
    std::uint32_t rotate(session s, key_handle h) {
        std::uint32_t v = 0;
        check(coffer_keystore_rotate(get(), s, h, &v), "coffer_keystore_rotate");
        return v;
    }
    void destroy(session s, key_handle h) { check(coffer_keystore_destroy(get(), s, h), "coffer_keystore_destroy"); }
    std::size_t shred_tenant(session so, std::string_view tenant) {
        std::size_t n = 0;
        check(coffer_keystore_shred_tenant(get(), so, detail::text(tenant), tenant.size(), &n),
              "coffer_keystore_shred_tenant");
        return n;
    }
    void audit_verify(session auditor) {
        check(coffer_keystore_audit_verify(get(), auditor), "coffer_keystore_audit_verify");
    }
    const coffer_keystore *get() const noexcept { return h_.get(); }

private:
    explicit keystore(coffer_keystore *raw) : h_(raw) {}
    detail::handle<coffer_keystore, coffer_keystore_free> h_;
};

}  // namespace coffer

#endif  // COFFER_HPP
