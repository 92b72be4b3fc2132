"""Certificates move both ways between coffer and pyca/cryptography, and both path validators agree.

Chains coffer issues (CA -> intermediate -> leaf, P-256 and RSA) verify in cryptography's
X.509 path validator; requests and chains cryptography makes are issued and verified by
coffer; expired leaves, wrong roots and tampered signatures are refused by both.
"""

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

import coffer

UTC = datetime.timezone.utc
HOST = "agent-7.acme.test"
DAY = datetime.timedelta(days=1)


def now():
    return datetime.datetime.now(UTC)


def theirs(cert):
    """coffer's certificate as a cryptography certificate (through PEM)."""
    return x509.load_pem_x509_certificate(cert.to_pem().encode())


def spki(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def server_verifier(roots, at=None, host=HOST):
    store = Store([theirs(r) if isinstance(r, coffer.Certificate) else r for r in roots])
    return PolicyBuilder().store(store).time(at or now()).build_server_verifier(x509.DNSName(host))


class Pki:
    """A root, an intermediate under it and a server leaf under that, all made by coffer."""

    def __init__(self, algorithm):
        self.root_key = coffer.KeyPair.generate(algorithm)
        self.root = coffer.self_signed_ca(self.root_key, "CN=Acme Root CA,O=Acme", days=3650, path_len=1)
        self.issuing_key = coffer.KeyPair.generate(algorithm)
        request = coffer.csr(self.issuing_key, "CN=Acme Issuing CA,O=Acme")
        self.issuing = coffer.issue_intermediate(self.root, self.root_key, request, days=1000)
        self.leaf_key = coffer.KeyPair.generate(algorithm)
        self.leaf = coffer.issue_leaf(
            self.issuing, self.issuing_key, "CN=agent-7,O=Acme", self.leaf_key.public_key(),
            sans=[f"dns:{HOST}", "ip:10.0.0.7"], usage="both", days=90,
        )


@pytest.fixture(scope="module", params=["p256", "rsa2048"])
def pki(request):
    return Pki(request.param)


@pytest.fixture(scope="module")
def p256_pki():
    return Pki("p256")


# --- coffer writes, cryptography reads and verifies ---------------------------------------


def test_a_chain_coffer_issues_verifies_in_cryptographys_server_validator(pki):
    chain = server_verifier([pki.root]).verify(theirs(pki.leaf), [theirs(pki.issuing)])
    assert [c.subject.rfc4514_string() for c in chain] == [
        "CN=agent-7,O=Acme", "CN=Acme Issuing CA,O=Acme", "CN=Acme Root CA,O=Acme"
    ]


def test_the_same_chain_verifies_in_coffer_with_purpose_and_name(pki):
    path = coffer.verify_chain(pki.leaf, [pki.issuing], [pki.root], purpose="server", dns_name=HOST)
    assert path == [pki.leaf, pki.issuing, pki.root]
    assert coffer.verify_chain(pki.leaf, [pki.issuing], pki.root, purpose="client", ip_address="10.0.0.7")


def test_a_client_leaf_coffer_issues_verifies_in_cryptographys_client_validator(p256_pki):
    client = coffer.issue_leaf(p256_pki.issuing, p256_pki.issuing_key, "CN=worker-3", coffer.KeyPair.generate(),
                               sans=["dns:worker-3.acme.test"], usage="client", days=30)
    verifier = PolicyBuilder().store(Store([theirs(p256_pki.root)])).time(now()).build_client_verifier()
    verified = verifier.verify(theirs(client), [theirs(p256_pki.issuing)])
    assert [c.subject.rfc4514_string() for c in verified.chain][0] == "CN=worker-3"
    with pytest.raises(VerificationError):
        server_verifier([p256_pki.root], host="worker-3.acme.test").verify(theirs(client), [theirs(p256_pki.issuing)])
    with pytest.raises(coffer.VerifyError):
        coffer.verify_chain(client, [p256_pki.issuing], [p256_pki.root], purpose="server")


def test_every_field_coffer_reports_is_what_cryptography_reads(pki):
    for ours in (pki.root, pki.issuing, pki.leaf):
        them = theirs(ours)
        assert ours.serial == them.serial_number
        assert ours.not_before == them.not_valid_before_utc
        assert ours.not_after == them.not_valid_after_utc
        assert spki(them.public_key()) == ours.public_key().to_der()
        assert ours.to_der() == them.public_bytes(serialization.Encoding.DER)
        bc = them.extensions.get_extension_for_class(x509.BasicConstraints).value
        assert (bc.ca, bc.path_length) == (ours.is_ca, ours.path_len)
    san = theirs(pki.leaf).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [HOST]
    assert pki.leaf.sans == [f"dns:{HOST}", "ip:10.0.0.7"]
    assert pki.leaf.issuer == pki.issuing.subject == "CN=Acme Issuing CA,O=Acme"
    assert (pki.root.path_len, pki.issuing.path_len, pki.leaf.is_ca) == (1, 0, False)


def test_keys_coffer_writes_load_in_cryptography_plain_and_encrypted(pki):
    key = pki.leaf_key
    plain = serialization.load_pem_private_key(key.to_pem().encode(), password=None)
    from_der = serialization.load_der_private_key(bytes(key.to_der()), password=None)
    encrypted = serialization.load_pem_private_key(key.to_pem(passphrase="correct horse").encode(),
                                                   password=b"correct horse")
    encrypted_der = serialization.load_der_private_key(bytes(key.to_der(passphrase=b"pw")), password=b"pw")
    for k in (plain, from_der, encrypted, encrypted_der):
        assert spki(k.public_key()) == key.public_key().to_der()
    assert serialization.load_pem_public_key(key.public_key().to_pem().encode())


def test_keys_cryptography_writes_load_in_coffer_plain_and_encrypted(crypto_p256, crypto_rsa):
    for k in (crypto_p256, crypto_rsa):
        pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
        locked = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.BestAvailableEncryption(b"hunter22"))
        locked_der = k.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.BestAvailableEncryption(b"hunter22"))
        for ours in (coffer.KeyPair.from_pem(pem), coffer.KeyPair.from_pem(locked, passphrase=b"hunter22"),
                     coffer.KeyPair.from_der(locked_der, passphrase="hunter22")):
            assert ours.public_key().to_der() == spki(k.public_key())
        with pytest.raises(coffer.DecryptError):
            coffer.KeyPair.from_pem(locked, passphrase=b"hunter23")


def test_key_pairs_convert_to_and_from_the_signing_key_classes():
    p256 = coffer.P256PrivateKey.generate()
    pair = coffer.KeyPair.from_private_key(p256)
    assert pair.algorithm == "p256" and pair.public_key() == p256.public_key()
    assert pair.private_key().public_key() == p256.public_key()
    rsa_key = coffer.RsaPrivateKey.generate(2048)
    pair = coffer.KeyPair.from_private_key(rsa_key)
    assert pair.algorithm == "rsa2048" and pair.private_key().public_key() == rsa_key.public_key()
    # The signing key classes sign certificates directly, too.
    ca = coffer.self_signed_ca(rsa_key, "CN=RSA Root", scheme="pss")
    assert ca.public_key() == rsa_key.public_key()
    server_verifier([ca]).verify(
        theirs(coffer.issue_leaf(ca, rsa_key, "CN=a", p256, sans=[f"dns:{HOST}"], scheme="pss")), []
    )


# --- requests both ways --------------------------------------------------------------------


def test_a_csr_coffer_makes_is_accepted_by_cryptography(pki):
    request = coffer.csr(pki.leaf_key, "CN=agent-9,O=Acme", sans=["dns:agent-9.acme.test", "ip:10.0.0.9"])
    them = x509.load_pem_x509_csr(request.to_pem().encode())
    assert them.is_signature_valid
    assert them.subject.rfc4514_string() == "CN=agent-9,O=Acme"
    names = them.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["agent-9.acme.test"]
    assert spki(them.public_key()) == pki.leaf_key.public_key().to_der()
    assert x509.load_der_x509_csr(request.to_der()).is_signature_valid


@pytest.mark.parametrize("kind", ["p256", "rsa"])
def test_a_csr_cryptography_makes_is_issued_by_coffer_and_the_cert_verifies_in_cryptography(
        kind, p256_pki, crypto_p256, crypto_rsa):
    key = crypto_p256 if kind == "p256" else crypto_rsa
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "agent-11")]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("agent-11.acme.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    ours = coffer.Csr.from_pem(request.public_bytes(serialization.Encoding.PEM))
    ours.verify()
    assert ours.sans == ["dns:agent-11.acme.test"] and ours.subject == "CN=agent-11"
    leaf = coffer.issue_from_csr(p256_pki.issuing, p256_pki.issuing_key, ours, days=30)
    assert leaf.public_key().to_der() == spki(key.public_key())
    server_verifier([p256_pki.root], host="agent-11.acme.test").verify(theirs(leaf), [theirs(p256_pki.issuing)])


# --- cryptography writes, coffer reads and verifies --------------------------------------


def crypto_cert(subject, key, issuer_name, issuer_key, *, ca, path_len=None, sans=(), start=None, end=None):
    start = start or now() - DAY
    end = end or now() + 30 * DAY
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False), critical=True)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def crypto_chain(crypto_rsa):
    root_key, issuing_key, leaf_key = crypto_rsa, ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    root = crypto_cert("Their Root", root_key, "Their Root", root_key, ca=True, path_len=1)
    issuing = crypto_cert("Their Issuing CA", issuing_key, "Their Root", root_key, ca=True, path_len=0)
    leaf = crypto_cert("svc", leaf_key, "Their Issuing CA", issuing_key, ca=False, sans=["svc.their.test"])
    return root_key, root, issuing_key, issuing, leaf


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def test_a_chain_cryptography_makes_is_accepted_by_coffers_verifier(crypto_chain):
    _, root, _, issuing, leaf = crypto_chain
    server_verifier([root], host="svc.their.test").verify(leaf, [issuing])  # the chain is sound
    ours = [coffer.Certificate.from_pem(pem(c)) for c in (leaf, issuing, root)]
    path = coffer.verify_chain(ours[0], [ours[1]], [ours[2]], purpose="server", dns_name="svc.their.test")
    assert [c.subject for c in path] == ["CN=svc", "CN=Their Issuing CA", "CN=Their Root"]
    assert ours[0].serial == leaf.serial_number and ours[0].sans == ["dns:svc.their.test"]
    assert coffer.Certificate.all_from_pem(pem(leaf) + pem(issuing)) == ours[:2]
    assert coffer.Certificate.from_der(leaf.public_bytes(serialization.Encoding.DER)) == ours[0]


def test_coffer_issues_under_a_ca_cryptography_made_and_cryptography_verifies_it(crypto_chain):
    _, root, issuing_key, issuing, _ = crypto_chain
    ca_key = coffer.KeyPair.from_pem(issuing_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    ca = coffer.Certificate.from_pem(pem(issuing))
    leaf = coffer.issue_leaf(ca, ca_key, "CN=svc-2", coffer.KeyPair.generate(), sans=["dns:svc-2.their.test"],
                             days=10)
    server_verifier([root], host="svc-2.their.test").verify(theirs(leaf), [issuing])
    coffer.verify_chain(leaf, [ca], [coffer.Certificate.from_pem(pem(root))], dns_name="svc-2.their.test")


# --- refusals: both validators say no ----------------------------------------------------


def test_an_expired_leaf_is_refused_by_both(p256_pki):
    later = now() + 120 * DAY  # the leaf lives 90 days, its CAs longer
    with pytest.raises(coffer.VerifyError, match="expired"):
        coffer.verify_chain(p256_pki.leaf, [p256_pki.issuing], [p256_pki.root], at=later)
    with pytest.raises(coffer.VerifyError, match="expired"):
        coffer.verify_chain(p256_pki.leaf, [p256_pki.issuing], [p256_pki.root], at=int(later.timestamp()))
    with pytest.raises(VerificationError):
        server_verifier([p256_pki.root], at=later).verify(theirs(p256_pki.leaf), [theirs(p256_pki.issuing)])
    # And one that expired yesterday, checked now (under a CA valid since last month).
    ca_key = coffer.KeyPair.generate()
    ca = coffer.self_signed_ca(ca_key, "CN=Older Root", not_before=now() - 30 * DAY, days=3650)
    old = coffer.issue_leaf(ca, ca_key, "CN=old", coffer.KeyPair.generate(), sans=[f"dns:{HOST}"],
                            not_before=now() - 10 * DAY, not_after=now() - DAY)
    assert old.not_after < now()
    with pytest.raises(coffer.VerifyError, match="expired"):
        coffer.verify_chain(old, [], [ca])
    with pytest.raises(VerificationError):
        server_verifier([ca]).verify(theirs(old), [])
    coffer.verify_chain(old, [], [ca], at=now() - 5 * DAY)
    server_verifier([ca], at=now() - 5 * DAY).verify(theirs(old), [])


def test_a_leaf_checked_before_it_starts_is_refused(p256_pki):
    with pytest.raises(coffer.VerifyError):
        coffer.verify_chain(p256_pki.leaf, [p256_pki.issuing], [p256_pki.root], at=now() - 2 * DAY)


def test_a_wrong_root_is_refused_by_both(p256_pki):
    # Same name, different key: only the signature tells them apart.
    impostor = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Acme Root CA,O=Acme", path_len=1)
    other = coffer.self_signed_ca(coffer.KeyPair.generate(), "CN=Other Root")
    for root in (impostor, other):
        with pytest.raises(coffer.VerifyError):
            coffer.verify_chain(p256_pki.leaf, [p256_pki.issuing], [root])
        with pytest.raises(VerificationError):
            server_verifier([root]).verify(theirs(p256_pki.leaf), [theirs(p256_pki.issuing)])
    with pytest.raises(coffer.VerifyError):
        coffer.verify_chain(p256_pki.leaf, [], [p256_pki.root])  # the intermediate left out


def test_a_tampered_signature_is_refused_by_both(pki):
    der = bytearray(pki.leaf.to_der())
    der[-1] ^= 0x01  # the last byte of the signature value
    tampered = coffer.Certificate.from_der(bytes(der))
    with pytest.raises(coffer.VerifyError):
        coffer.verify_chain(tampered, [pki.issuing], [pki.root])
    with pytest.raises(VerificationError):
        server_verifier([pki.root]).verify(x509.load_der_x509_certificate(bytes(der)), [theirs(pki.issuing)])


def test_a_tampered_body_is_refused_by_both(p256_pki):
    der = bytearray(p256_pki.leaf.to_der())
    at = der.find(HOST.encode())
    der[at] = ord("b")  # "bgent-7.acme.test": the signed name changed
    tampered = coffer.Certificate.from_der(bytes(der))
    with pytest.raises(coffer.VerifyError):
        coffer.verify_chain(tampered, [p256_pki.issuing], [p256_pki.root])
    with pytest.raises(VerificationError):
        server_verifier([p256_pki.root], host="bgent-7.acme.test").verify(
            x509.load_der_x509_certificate(bytes(der)), [theirs(p256_pki.issuing)])


def test_names_purposes_and_revocation_are_checked(p256_pki):
    leaf, chain = p256_pki.leaf, ([p256_pki.issuing], [p256_pki.root])
    with pytest.raises(coffer.VerifyError, match="not for this name"):
        coffer.verify_chain(leaf, *chain, dns_name="agent-8.acme.test")
    with pytest.raises(coffer.VerifyError):
        coffer.verify_chain(leaf, *chain, ip_address="10.0.0.8")
    crl = coffer.issue_crl(p256_pki.issuing, p256_pki.issuing_key, [leaf], number=1)
    with pytest.raises(coffer.VerifyError, match="revoked"):
        coffer.verify_chain(leaf, *chain, crls=[crl])
    fresh = coffer.issue_crl(p256_pki.issuing, p256_pki.issuing_key, [12345], number=2)
    assert coffer.verify_chain(leaf, *chain, crls=[fresh])[0] == leaf
    # cryptography reads the list coffer wrote.
    them = x509.load_pem_x509_crl(crl.to_pem().encode())
    assert them.is_signature_valid(theirs(p256_pki.issuing).public_key())
    assert them.get_revoked_certificate_by_serial_number(leaf.serial) is not None
    assert them.next_update_utc == crl.next_update
    assert coffer.Crl.from_der(them.public_bytes(serialization.Encoding.DER)) == crl
    with pytest.raises(coffer.VerifyError):
        crl.verify(p256_pki.root)


def test_a_crl_cryptography_makes_is_applied_by_coffer(crypto_chain):
    root_key, root, issuing_key, issuing, leaf = crypto_chain
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuing.subject)
        .last_update(now() - DAY)
        .next_update(now() + DAY)
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(leaf.serial_number).revocation_date(now() - DAY).build())
        .sign(issuing_key, hashes.SHA256())
    )
    ours = coffer.Crl.from_pem(crl.public_bytes(serialization.Encoding.PEM))
    assert [serial for serial, _ in ours.revoked] == [leaf.serial_number]
    with pytest.raises(coffer.VerifyError, match="revoked"):
        coffer.verify_chain(coffer.Certificate.from_pem(pem(leaf)), [coffer.Certificate.from_pem(pem(issuing))],
                            [coffer.Certificate.from_pem(pem(root))], crls=[ours])


def test_issuing_rules_are_cores(p256_pki):
    with pytest.raises(coffer.InvalidInput):  # a leaf never outlives its issuer
        coffer.issue_leaf(p256_pki.issuing, p256_pki.issuing_key, "CN=x", coffer.KeyPair.generate(),
                          sans=[f"dns:{HOST}"], days=5000)
    with pytest.raises(coffer.InvalidInput):  # a server names its host
        coffer.issue_leaf(p256_pki.issuing, p256_pki.issuing_key, "CN=x", coffer.KeyPair.generate())
    with pytest.raises(coffer.InvalidKey):  # the CA key must be the CA certificate's
        coffer.issue_leaf(p256_pki.issuing, p256_pki.root_key, "CN=x", coffer.KeyPair.generate(),
                          sans=[f"dns:{HOST}"])
    with pytest.raises(coffer.VerifyError):  # path length 0: no intermediate below
        coffer.issue_intermediate(p256_pki.issuing, p256_pki.issuing_key, coffer.csr(coffer.KeyPair.generate(), "CN=y"))
    with pytest.raises(coffer.InvalidInput):  # keyEncipherment is for RSA keys
        coffer.issue_leaf(p256_pki.issuing, p256_pki.issuing_key, "CN=x", coffer.KeyPair.generate(),
                          sans=[f"dns:{HOST}"], key_usage="digitalSignature,keyEncipherment")
    leaf = coffer.issue_leaf(p256_pki.issuing, p256_pki.issuing_key, "CN=x", coffer.KeyPair.generate(),
                             sans=[f"dns:{HOST}"], key_usage="digitalSignature,contentCommitment")
    assert leaf.key_usage == "digitalSignature,contentCommitment"
    ku = theirs(leaf).extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment and not ku.key_agreement


def test_rsa_pss_chains_verify_in_cryptography():
    key = coffer.KeyPair.generate("rsa2048")
    ca = coffer.self_signed_ca(key, "CN=PSS Root", scheme="pss")
    leaf = coffer.issue_leaf(ca, key, "CN=pss", coffer.KeyPair.generate(), sans=[f"dns:{HOST}"], scheme="pss")
    assert isinstance(theirs(leaf).signature_algorithm_parameters, padding.PSS)
    server_verifier([ca]).verify(theirs(leaf), [])
    coffer.verify_chain(leaf, [], [ca], dns_name=HOST)
    assert isinstance(theirs(ca).public_key(), rsa.RSAPublicKey)


def test_eight_threads_issue_and_verify_under_one_shared_ca_key(p256_pki):
    from concurrent.futures import ThreadPoolExecutor

    rsa_ca_key = coffer.KeyPair.generate("rsa2048")
    rsa_ca = coffer.self_signed_ca(rsa_ca_key, "CN=Shared RSA Root")

    def work(i):
        ca, ca_key = (rsa_ca, rsa_ca_key) if i % 2 else (p256_pki.issuing, p256_pki.issuing_key)
        leaf = coffer.issue_leaf(ca, ca_key, f"CN=t{i}", coffer.KeyPair.generate(), sans=[f"dns:t{i}.acme.test"],
                                 days=30)
        roots = [rsa_ca] if i % 2 else [p256_pki.root]
        intermediates = [] if i % 2 else [p256_pki.issuing]
        return coffer.verify_chain(leaf, intermediates, roots, dns_name=f"t{i}.acme.test")[0].subject

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(work, range(32))) == [f"CN=t{i}" for i in range(32)]
