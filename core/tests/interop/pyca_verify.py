"""pyca/cryptography's X.509 verifier and CRL reader on coffer's output.

Run by core/tests/cert_interop.rs:

  python3 pyca_verify.py --now NOW --root ROOT --untrusted INT... \
      [--server LEAF --dns NAME --ip ADDR] [--client LEAF] \
      [--crl CRL --crl-issuer CA --revoked CERT --not-revoked CERT --crl-number N]

Files are PEM. Each check prints one line saying what pyca did; the first
check that does not go as expected prints why on stderr and exits 1.
Accepting is checked together with refusing (a wrong name, a missing
intermediate, a client certificate offered as a server, a CRL checked
against the wrong key), so a verifier that accepted everything would fail.
"""

import argparse
import datetime
import ipaddress
import sys

from cryptography import x509
from cryptography.x509.oid import SignatureAlgorithmOID
from cryptography.x509.verification import (DNSName, IPAddress, PolicyBuilder, Store,
                                            VerificationError)


SIGNATURES = {
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ecdsa-with-SHA256",
    SignatureAlgorithmOID.RSA_WITH_SHA256: "sha256WithRSAEncryption",
    SignatureAlgorithmOID.RSASSA_PSS: "RSASSA-PSS",
}


def signature(x):
    """The name of the algorithm `x` (a certificate or CRL) is signed with."""
    return SIGNATURES.get(x.signature_algorithm_oid, x.signature_algorithm_oid.dotted_string)


def load(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def fail(why):
    print(why, file=sys.stderr)
    sys.exit(1)


def refused(what, verify):
    try:
        verify()
    except VerificationError:
        return True
    fail(f"pyca accepted {what}")


def check_server(policy, leaf, untrusted, root, dns, ip):
    print(f"server: signed with {signature(leaf)}")
    for subject, shown in ((DNSName(dns), f"DNS {dns}"), (IPAddress(ipaddress.ip_address(ip)), f"IP {ip}")):
        try:
            chain = policy.build_server_verifier(subject).verify(leaf, untrusted)
        except VerificationError as e:
            fail(f"pyca refused the server certificate for {shown}: {e}")
        if chain[0] != leaf or chain[-1] != root:
            fail(f"pyca built an unexpected chain: {[c.subject.rfc4514_string() for c in chain]}")
        print(f"server: chain of {len(chain)} for {shown}")
    other = "other." + dns
    refused(other, lambda: policy.build_server_verifier(DNSName(other)).verify(leaf, untrusted))
    print(f"server: {other} refused")
    if untrusted:
        missing = untrusted[1:]
        refused("a chain without its first intermediate",
                lambda: policy.build_server_verifier(DNSName(dns)).verify(leaf, missing))
        print("server: without the first intermediate refused")


def check_client(policy, leaf, untrusted, root):
    try:
        verified = policy.build_client_verifier().verify(leaf, untrusted)
    except VerificationError as e:
        fail(f"pyca refused the client certificate: {e}")
    if verified.chain[0] != leaf or verified.chain[-1] != root:
        fail("pyca built an unexpected client chain")
    names = ",".join(n.value for n in verified.subjects or [] if isinstance(n, x509.DNSName))
    print(f"client: chain of {len(verified.chain)}, names {names}")
    dns = next((n.value for n in verified.subjects or [] if isinstance(n, x509.DNSName)), "agent.test")
    refused("a client-only certificate as a server",
            lambda: policy.build_server_verifier(DNSName(dns)).verify(leaf, untrusted))
    print("client: as a server refused")


def check_crl(args, root, now):
    with open(args.crl, "rb") as f:
        crl = x509.load_pem_x509_crl(f.read())
    issuer = load(args.crl_issuer)
    if crl.issuer != issuer.subject:
        fail(f"CRL issuer {crl.issuer.rfc4514_string()} is not {issuer.subject.rfc4514_string()}")
    if not crl.is_signature_valid(issuer.public_key()):
        fail("pyca: the CRL's signature is not valid under its issuer's key")
    if crl.is_signature_valid(root.public_key()):
        fail("pyca: the CRL's signature is valid under the root's key too")
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    if number != args.crl_number:
        fail(f"CRL number {number}, expected {args.crl_number}")
    if not crl.last_update_utc <= now < crl.next_update_utc:
        fail(f"CRL window {crl.last_update_utc} .. {crl.next_update_utc} does not hold {now}")
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    if aki.key_identifier != ski.digest:
        fail("the CRL's authorityKeyIdentifier is not its issuer's subjectKeyIdentifier")
    revoked, kept = load(args.revoked), load(args.not_revoked)
    if crl.get_revoked_certificate_by_serial_number(revoked.serial_number) is None:
        fail(f"serial {revoked.serial_number:x} is not on the CRL")
    if crl.get_revoked_certificate_by_serial_number(kept.serial_number) is not None:
        fail(f"serial {kept.serial_number:x} is on the CRL")
    print(f"crl: signed with {signature(crl)}")
    print(f"crl: signature valid, number {number}, {len(crl)} revoked, "
          f"serial {revoked.serial_number:x} revoked, {kept.serial_number:x} not")
    print("crl: signature under the root's key refused")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--now", type=int, required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--untrusted", action="append", default=[])
    p.add_argument("--server")
    p.add_argument("--dns")
    p.add_argument("--ip")
    p.add_argument("--client")
    p.add_argument("--crl")
    p.add_argument("--crl-issuer")
    p.add_argument("--revoked")
    p.add_argument("--not-revoked")
    p.add_argument("--crl-number", type=int)
    args = p.parse_args()
    now = datetime.datetime.fromtimestamp(args.now, datetime.timezone.utc)
    root = load(args.root)
    untrusted = [load(u) for u in args.untrusted]
    policy = PolicyBuilder().store(Store([root])).time(now)
    if args.server:
        check_server(policy, load(args.server), untrusted, root, args.dns, args.ip)
    if args.client:
        check_client(policy, load(args.client), untrusted, root)
    if args.crl:
        check_crl(args, root, now)


if __name__ == "__main__":
    main()
