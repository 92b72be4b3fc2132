//! `coffer audit show|verify` (auditor PIN).

use serde_json::json;

use crate::fail::Result;
use crate::store::Store;

pub fn show(store: &mut Store, json_out: bool) -> Result<()> {
    let a = store.auditor()?;
    let records = store.hsm.audit_records(a)?;
    if json_out {
        let v: Vec<_> = records
            .iter()
            .map(|r| json!({"seq": r.seq, "time": r.time, "event": format!("{:?}", r.event), "mac": hex::encode(r.mac)}))
            .collect();
        println!("{}", serde_json::Value::Array(v));
    } else {
        for r in &records {
            println!("#{:<6} {} {:?}", r.seq, r.time, r.event);
        }
    }
    Ok(())
}

pub fn verify(store: &mut Store) -> Result<()> {
    let a = store.auditor()?;
    let verified = store.hsm.audit_verify(a);
    let (count, _) = store.hsm.audit_head(a)?;
    verified?;
    println!("audit log OK: {count} records, HMAC chain intact");
    Ok(())
}
