"""Certificate chains and CRLs made by pyca/cryptography, for coffer to read.

Run by core/tests/cert_interop.rs as `python3 pyca_chains.py OUT_DIR NOW`:
writes PEM files into OUT_DIR, for NOW seconds since the Unix epoch, and
prints `pyca-chains: N files` when done. For each key type `p256` and `rsa`
(RSA-2048), every signature SHA-256 unless the name says otherwise:

  {alg}-root.crt          self-signed root, CA, no path length limit
  {alg}-int.crt           root -> int (pathLen 0)                      depth 3
  {alg}-int-server.crt    int -> leaf, serverAuth, DNS/IP names
  {alg}-int-client.crt    int -> leaf, clientAuth
  {alg}-int1.crt          root -> int1 (pathLen 1)                     depth 4
  {alg}-int2.crt          int1 -> int2 (pathLen 0)
  {alg}-server.crt        int2 -> leaf, serverAuth, DNS/IP names
  {alg}-client.crt        int2 -> leaf, clientAuth
  {alg}-sibling.crt       int2 -> leaf, serverAuth + clientAuth
  {alg}-len0.crt          root -> len0 (pathLen 0)
  {alg}-below-len0.crt    len0 -> another CA: breaks len0's pathLen
  {alg}-deep.crt          below-len0 -> leaf, serverAuth
  {alg}-stale.crt         root -> stale CA, expired yesterday
  {alg}-stale-leaf.crt    stale -> leaf, serverAuth, valid now
  {alg}-sha384-leaf.crt   int -> leaf, signed with SHA-384
  {alg}-int2.crl          int2's CRL, current, revoking {alg}-server
  {alg}-int2-stale.crl    int2's CRL, empty, nextUpdate yesterday
  {alg}-int2-sha384.crl   int2's CRL revoking {alg}-server, SHA-384
"""

import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
SERVER_NAMES = [
    x509.DNSName("api.fleet.test"),
    x509.DNSName("*.agents.fleet.test"),
    x509.IPAddress(ipaddress.ip_address("10.1.2.3")),
]


def new_key(alg):
    if alg == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fleet"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class Issuer:
    """A CA: its key and certificate."""

    def __init__(self, key, cert):
        self.key, self.cert = key, cert


def build(subject, key, issuer, not_before, not_after, extensions, digest):
    """A certificate for `key` signed by `issuer` (None: self-signed)."""
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(issuer.cert.subject if issuer else subject)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before)
         .not_valid_after(not_after))
    for ext, critical in extensions:
        b = b.add_extension(ext, critical=critical)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    signer = issuer.key if issuer else key
    b = b.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    return b.sign(signer, digest)


def ca(alg, cn, issuer, path_len, now, expired=False):
    key = new_key(alg)
    not_before, not_after = (now - 60 * DAY, now - DAY) if expired else (now - DAY, now + 365 * DAY)
    exts = [
        (x509.BasicConstraints(ca=True, path_length=path_len), True),
        (x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                       crl_sign=True, encipher_only=False, decipher_only=False), True),
    ]
    return Issuer(key, build(name(cn), key, issuer, not_before, not_after, exts, hashes.SHA256()))


def leaf(alg, cn, issuer, now, ekus, sans, digest=None):
    key = new_key(alg)
    exts = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.KeyUsage(digital_signature=True, content_commitment=False,
                       key_encipherment=(alg == "rsa"), data_encipherment=False,
                       key_agreement=False, key_cert_sign=False, crl_sign=False,
                       encipher_only=False, decipher_only=False), True),
        (x509.ExtendedKeyUsage(ekus), False),
        (x509.SubjectAlternativeName(sans), False),
    ]
    return build(name(cn), key, issuer, now - DAY, now + 30 * DAY, exts, digest or hashes.SHA256())


def crl(issuer, now, revoked, this_update, next_update, digest, extra=()):
    b = (x509.CertificateRevocationListBuilder()
         .issuer_name(issuer.cert.subject)
         .last_update(this_update)
         .next_update(next_update)
         .add_extension(x509.CRLNumber(42), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                        critical=False))
    for ext in extra:
        b = b.add_extension(ext, critical=True)
    for cert in revoked:
        b = b.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(now - HOUR / 6)
            .build())
    return b.sign(issuer.key, digest)


def main():
    out, now = sys.argv[1], datetime.datetime.fromtimestamp(int(sys.argv[2]), datetime.timezone.utc)
    server, client = [ExtendedKeyUsageOID.SERVER_AUTH], [ExtendedKeyUsageOID.CLIENT_AUTH]
    agent = [x509.DNSName("agent-7.fleet.test")]
    files = {}
    for alg in ("p256", "rsa"):
        root = ca(alg, f"{alg} Root", None, None, now)
        short = ca(alg, f"{alg} Issuing CA", root, 0, now)
        int1 = ca(alg, f"{alg} Policy CA", root, 1, now)
        int2 = ca(alg, f"{alg} Agents CA", int1, 0, now)
        len0 = ca(alg, f"{alg} Len0 CA", root, 0, now)
        below = ca(alg, f"{alg} Below Len0 CA", len0, None, now)
        stale = ca(alg, f"{alg} Stale CA", root, 0, now, expired=True)
        server_leaf = leaf(alg, "api.fleet.test", int2, now, server, SERVER_NAMES)
        certs = {
            "root": root.cert, "int": short.cert, "int1": int1.cert, "int2": int2.cert,
            "len0": len0.cert, "below-len0": below.cert, "stale": stale.cert,
            "int-server": leaf(alg, "api.fleet.test", short, now, server, SERVER_NAMES),
            "int-client": leaf(alg, "agent-7", short, now, client, agent),
            "server": server_leaf,
            "client": leaf(alg, "agent-7", int2, now, client, agent),
            "sibling": leaf(alg, "agent-8", int2, now, server + client,
                            [x509.DNSName("agent-8.fleet.test")]),
            "deep": leaf(alg, "api.fleet.test", below, now, server, SERVER_NAMES),
            "stale-leaf": leaf(alg, "api.fleet.test", stale, now, server, SERVER_NAMES),
            "sha384-leaf": leaf(alg, "api.fleet.test", short, now, server, SERVER_NAMES,
                                hashes.SHA384()),
        }
        for n, c in certs.items():
            files[f"{alg}-{n}.crt"] = c.public_bytes(serialization.Encoding.PEM)
        crls = {
            "int2": crl(int2, now, [server_leaf], now - HOUR,
                        now + 7 * DAY, hashes.SHA256()),
            "int2-stale": crl(int2, now, [], now - 8 * DAY, now - DAY, hashes.SHA256()),
            "int2-sha384": crl(int2, now, [server_leaf], now - HOUR,
                               now + 7 * DAY, hashes.SHA384()),
            # Critical extensions coffer does not process: an unknown one, and
            # an issuingDistributionPoint narrowing the list's scope.
            "int2-unknown-critical": crl(int2, now, [], now - HOUR, now + 7 * DAY, hashes.SHA256(),
                                         [x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4.5"),
                                                                     b"\x05\x00")]),
            "int2-idp": crl(int2, now, [], now - HOUR, now + 7 * DAY, hashes.SHA256(),
                            [x509.IssuingDistributionPoint(None, None, False, True, None, False, False)]),
        }
        for n, c in crls.items():
            files[f"{alg}-{n}.crl"] = c.public_bytes(serialization.Encoding.PEM)
    for n, pem in files.items():
        with open(os.path.join(out, n), "wb") as f:
            f.write(pem)
    print(f"pyca-chains: {len(files)} files")


if __name__ == "__main__":
    main()
