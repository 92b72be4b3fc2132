//! Scenario 6 of `coffer demo`: an agent PKI whose CA keys never leave the
//! keystore (issue 15): a root and an issuing intermediate, 100 agents
//! certified from their requests, one revoked, and the audit trail of it all.

use coffer_core::cert::{
    self, CaParams, Certificate, Crl, CrlParams, ExpectedName, IntermediateParams, KeyAlgorithm, KeyPair,
    LeafParams, LeafUsage, PathOptions, Purpose, Revocation, San, Validity,
};
use coffer_core::rng::OsRng;
use coffer_hsm::audit::{AuditEvent, SignedObject};
use coffer_hsm::{Error as HsmError, Hsm, KeyType, Usage};

use super::{StepResult, Table, attrs, login_auditor, login_user, s};

const AGENTS: usize = 100;
const REVOKED: usize = 42;

/// What the later steps need from the earlier ones.
struct Pki {
    root: Certificate,
    issuing: Certificate,
    agents: Vec<Certificate>,
    crl: Option<Crl>,
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

pub(super) fn agent_pki(t: &mut Table, hsm: &mut Hsm) -> Result<(), String> {
    let tenant = "server";
    let session = login_user(hsm, tenant)?;
    let sign = Usage::SIGN | Usage::VERIFY;
    let root_key =
        hsm.generate(&mut OsRng, session, KeyType::P256, attrs(tenant, "agents-root", sign)).map_err(s)?;
    let issuing_key =
        hsm.generate(&mut OsRng, session, KeyType::P256, attrs(tenant, "agents-issuing", sign)).map_err(s)?;
    let validity = Validity::days_from_now(3650).map_err(s)?;
    let mut pki = None;
    t.step("6 agent PKI", "keystore-held root and intermediate CA keys; intermediate from a CSR", || {
        let params = CaParams { subject: "CN=Demo Agents Root,O=Coffer Demo", validity, path_len: Some(1) };
        let root = hsm.ca_certificate(&mut OsRng, session, root_key, None, &params).map_err(s)?;
        let request = hsm
            .certificate_request(
                &mut OsRng,
                session,
                issuing_key,
                None,
                "CN=Demo Agents Issuing CA,O=Coffer Demo",
                &[],
            )
            .map_err(s)?;
        let terms =
            IntermediateParams { validity: Validity::days_from_now(1825).map_err(s)?, path_len: None };
        let issuing = hsm
            .issue_intermediate(&mut OsRng, session, root_key, None, &root, &request, &terms)
            .map_err(s)?;
        for key in [root_key, issuing_key] {
            super::expect_err(hsm.export_wrapped(session, key, key), HsmError::NotExtractable)?;
        }
        let limit = issuing.ca_path_len().flatten().map_or("none".into(), |n| n.to_string());
        pki = Some(Pki { root, issuing, agents: Vec::new(), crl: None });
        Ok(format!("both keys non-extractable; intermediate path length {limit}"))
    });
    let mut pki = pki.ok_or("no CAs")?;
    t.step(
        "6 agent PKI",
        &format!("{AGENTS} agents: P-256 key and CSR each, certified by the intermediate"),
        || {
            let terms = LeafParams {
                validity: Validity::days_from_now(90).map_err(s)?,
                usage: LeafUsage::Client,
                sans: &[],
                key_usage: None,
            };
            for n in 0..AGENTS {
                let key = KeyPair::generate(&mut OsRng, KeyAlgorithm::P256).map_err(s)?;
                let names = [San::Dns(format!("agent-{n}.fleet.demo.test"))];
                let request =
                    cert::csr(&mut OsRng, &key, &format!("CN=agent-{n},O=Coffer Demo"), &names).map_err(s)?;
                let leaf = hsm
                    .issue_certificate(&mut OsRng, session, issuing_key, None, &pki.issuing, &request, &terms)
                    .map_err(s)?;
                pki.agents.push(leaf);
            }
            Ok(format!("{} certificates, each with its own serial", pki.agents.len()))
        },
    );
    t.step(
        "6 agent PKI",
        &format!("agent-{REVOKED} revoked on the intermediate's CRL; every path checked"),
        || {
            let revoked = pki.agents.get(REVOKED).ok_or("no such agent")?;
            let at = now();
            let entry = [Revocation { serial: revoked.serial(), revoked_at: at }];
            let params = CrlParams {
                number: 1,
                this_update: at,
                next_update: at.saturating_add(7 * 86_400),
                revoked: &entry,
            };
            let crl =
                hsm.issue_crl(&mut OsRng, session, issuing_key, None, &pki.issuing, &params).map_err(s)?;
            let crls = [crl];
            let anchors = [pki.root.clone()];
            let untrusted = [pki.issuing.clone()];
            let check = |n: usize, leaf: &Certificate| {
                let name = format!("agent-{n}.fleet.demo.test");
                let options = PathOptions {
                    now: at,
                    purpose: Some(Purpose::ClientAuth),
                    name: Some(ExpectedName::Dns(&name)),
                    crls: &crls,
                };
                cert::verify_path(leaf, &untrusted, &anchors, &options)
            };
            let mut accepted: usize = 0;
            for (n, leaf) in pki.agents.iter().enumerate() {
                match (n == REVOKED, check(n, leaf)) {
                    (false, Ok(path)) if path.chain().len() == 3 => accepted = accepted.saturating_add(1),
                    (true, Err(coffer_core::Error::Revoked)) => {}
                    (_, other) => return Err(format!("agent-{n}: {other:?}")),
                }
            }
            let [crl] = crls;
            pki.crl = Some(crl);
            Ok(format!(
                "{accepted} agents pass root <- intermediate <- agent; agent-{REVOKED} refused: revoked"
            ))
        },
    );
    t.step("6 agent PKI", "auditor finds every issuance and the revocation in the log", || {
        audited(hsm, &pki)
    });
    hsm.logout(session).map_err(s)?;
    Ok(())
}

/// The auditor's view: one CertificateSigned record per certificate, the
/// intermediate's request, and the CRL naming the revoked serial.
fn audited(hsm: &mut Hsm, pki: &Pki) -> StepResult {
    let auditor = login_auditor(hsm)?;
    hsm.audit_verify(auditor).map_err(s)?;
    let records = hsm.audit_records(auditor).map_err(s)?;
    hsm.logout(auditor).map_err(s)?;
    let signed: Vec<_> = records
        .iter()
        .filter_map(|r| match &r.event {
            AuditEvent::CertificateSigned { key, object, serial, names, .. }
                if key.key_id.starts_with("agents-") =>
            {
                Some((*object, serial.clone(), names.clone()))
            }
            _ => None,
        })
        .collect();
    let certificates: Vec<&[u8]> = signed
        .iter()
        .filter(|(o, _, _)| *o == SignedObject::Certificate)
        .map(|(_, serial, _)| serial.as_slice())
        .collect();
    let mut expected = vec![pki.root.serial(), pki.issuing.serial()];
    expected.extend(pki.agents.iter().map(Certificate::serial));
    if certificates != expected {
        return Err(format!("{} certificate records, expected {}", certificates.len(), expected.len()));
    }
    let revoked = pki.agents.get(REVOKED).ok_or("no such agent")?;
    let listed =
        format!("serial:{}", revoked.serial().iter().map(|b| format!("{b:02x}")).collect::<String>());
    let crl_records: Vec<_> = signed.iter().filter(|(o, _, _)| *o == SignedObject::RevocationList).collect();
    match crl_records.as_slice() {
        [(_, _, names)] if names == &[listed] && pki.crl.is_some() => {}
        other => return Err(format!("revocation records: {other:?}")),
    }
    Ok(format!(
        "{} issuance records (root, intermediate, {AGENTS} agents) and the CRL; chain verifies",
        certificates.len()
    ))
}
