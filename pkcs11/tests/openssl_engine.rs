//! OpenSSL 3 using a P-256 key that lives in the coffer token, through the
//! module: a CSR signed by `openssl req` and a TLS server (`openssl
//! s_server`) that an `openssl s_client` verifies, the private key never
//! leaving the token (generated there, sensitive and non-extractable).
//!
//! OpenSSL reaches PKCS#11 through libp11's engine (Debian's
//! `libengine-pkcs11-openssl`): the OpenSSL 3 *provider*
//! (`pkcs11-provider`) is not packaged for Debian 12, the base of this
//! machine. The engine signs with `CKM_ECDSA` over the hash OpenSSL made.
//! Needs `pkcs11-tool` (opensc) and the engine; without them the test
//! prints one SKIPPED line, except under `CI=true`, where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::USER_PIN;
use common::tool::{Tool, str_of};

/// Where Debian's libengine-pkcs11-openssl puts the engine.
const ENGINE: &str = "/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so";

/// The engine, or None after one SKIPPED line (a failure under CI).
fn engine_present() -> bool {
    if Path::new(ENGINE).is_file() {
        return true;
    }
    let fix = "apt-get install libengine-pkcs11-openssl";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("OpenSSL's pkcs11 engine ({ENGINE}) is missing and CI=true requires this test: {fix}");
    }
    println!("SKIPPED: OpenSSL through the module: {ENGINE} not found ({fix})");
    false
}

/// `openssl` with an OpenSSL config that loads the engine with the module.
fn openssl(t: &Tool, args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(&t.dir.0)
        .env("OPENSSL_CONF", t.path("openssl.cnf"))
        .env(coffer_pkcs11::CONFIG_ENV, &t.conf)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"))
}

use common::tool::expect_ok as ok;

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn openssl_signs_a_csr_and_serves_tls_with_a_key_held_in_the_token() {
    let test = "openssl_signs_a_csr_and_serves_tls_with_a_key_held_in_the_token";
    if !engine_present() {
        return;
    }
    let Some(t) = Tool::new(test) else { return };
    let pin = std::str::from_utf8(USER_PIN).unwrap();
    t.ok(&[
        "--login",
        "--pin",
        pin,
        "--keypairgen",
        "--key-type",
        "EC:prime256v1",
        "--id",
        "01",
        "--label",
        "tls",
    ]);
    let public = t.path("token-pub.der");
    t.ok(&[
        "--read-object",
        "--login",
        "--pin",
        pin,
        "--type",
        "pubkey",
        "--id",
        "01",
        "--output-file",
        str_of(&public),
    ]);
    let token_key =
        ok("openssl pkey", &openssl(&t, &["pkey", "-pubin", "-inform", "DER", "-in", str_of(&public)]));

    std::fs::write(
        t.path("openssl.cnf"),
        format!(
            "openssl_conf = openssl_init\n[openssl_init]\nengines = engine_section\n\
             [engine_section]\npkcs11 = pkcs11_section\n\
             [pkcs11_section]\nengine_id = pkcs11\ndynamic_path = {ENGINE}\nMODULE_PATH = {}\ninit = 0\n\
             [req]\ndistinguished_name = dn\n[dn]\n",
            t.module.display()
        ),
    )
    .unwrap();
    let key = format!("pkcs11:id=%01;type=private;pin-value={pin}");
    let engine_key = ["-engine", "pkcs11", "-keyform", "engine", "-key", key.as_str()];

    // A CSR signed in the token: OpenSSL verifies it, and its key is the token's.
    let mut req = vec!["req", "-new", "-subj", "/CN=agent-7/O=Acme", "-out", "agent.csr"];
    req.extend(engine_key);
    ok("openssl req -new", &openssl(&t, &req));
    let verified = openssl(&t, &["req", "-verify", "-noout", "-in", "agent.csr"]);
    assert!(String::from_utf8_lossy(&verified.stderr).contains("verify OK"), "{verified:?}");
    ok("openssl req -verify", &verified);
    let csr_key = ok("openssl req -pubkey", &openssl(&t, &["req", "-in", "agent.csr", "-noout", "-pubkey"]));
    assert_eq!(csr_key, token_key, "the CSR carries the token's key");

    // A TLS server whose handshake signatures are made in the token.
    let mut cert = vec!["req", "-new", "-x509", "-days", "1", "-subj", "/CN=localhost"];
    cert.extend(["-addext", "subjectAltName=DNS:localhost", "-out", "server.pem"]);
    cert.extend(engine_key);
    ok("openssl req -x509", &openssl(&t, &cert));
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let accept = format!("127.0.0.1:{port}");
    let server = Command::new("openssl")
        .args(["s_server", "-cert", "server.pem", "-accept", accept.as_str(), "-www"])
        .args(engine_key)
        .current_dir(&t.dir.0)
        .env("OPENSSL_CONF", t.path("openssl.cnf"))
        .env(coffer_pkcs11::CONFIG_ENV, &t.conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start openssl s_server: {e}"));
    let _server = Server(server);
    let start = Instant::now();
    while TcpStream::connect(&accept).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "s_server did not start listening");
        std::thread::sleep(Duration::from_millis(100));
    }
    let client = Command::new("openssl")
        .args(["s_client", "-connect", accept.as_str(), "-CAfile", "server.pem", "-verify_return_error"])
        .args(["-verify_hostname", "localhost", "-tls1_3"])
        .current_dir(&t.dir.0)
        .env("OPENSSL_CONF", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl s_client: {e}"));
    let stdout = String::from_utf8_lossy(&client.stdout);
    assert!(
        stdout.contains("Verify return code: 0 (ok)") && stdout.contains("Peer signature type: ECDSA"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&client.stderr)
    );
}
