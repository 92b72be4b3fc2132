//! The envelope header parser must never panic and must agree with itself:
//! whatever it accepts re-parses to the same recipients and context.
#![no_main]

use coffer_core::envelope::{HeaderRef, PREFIX_LEN, header_len};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(prefix) = data.get(..PREFIX_LEN) {
        let _ = header_len(prefix);
    }
    if let Ok(h) = HeaderRef::parse(data) {
        let n = h.recipients().count();
        assert_eq!(n, h.recipient_count(), "every counted recipient must be readable");
        let again = HeaderRef::parse(h.as_bytes()).expect("a parsed header re-parses on its own bytes");
        assert_eq!(again.context(), h.context());
        assert!(again.recipients().eq(h.recipients()));
    }
});
