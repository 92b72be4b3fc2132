//! The golden files, their facts, and loading them into coffer.

use super::*;

pub(crate) fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/token_states")
}

pub(crate) fn writer() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/independent/write_token_states.py")
}

pub(crate) fn golden(name: &str) -> Vec<u8> {
    let path = data_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub(crate) fn facts() -> &'static Value {
    static FACTS: OnceLock<Value> = OnceLock::new();
    FACTS.get_or_init(|| serde_json::from_slice(&golden("facts.json")).unwrap())
}

pub(crate) fn file_facts(name: &str) -> &'static Value {
    let f = &facts()["files"][name];
    assert!(f.is_object(), "facts.json has no entry for {name}");
    f
}

fn from_hex(s: &str) -> Vec<u8> {
    assert_eq!(s.len() % 2, 0, "odd-length hex {s}");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn hex(v: &Value) -> Vec<u8> {
    from_hex(v.as_str().unwrap_or_else(|| panic!("not a hex string: {v}")))
}

pub(crate) fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

pub(crate) fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

pub(crate) fn master() -> MasterKey {
    MasterKey::from_bytes(hex(&facts()["master_key"]).try_into().unwrap())
}

pub(crate) fn wrap_input() -> Vec<u8> {
    hex(&facts()["wrap_input"])
}

pub(crate) fn mac_message() -> Vec<u8> {
    hex(&facts()["mac_message"])
}

// ------------------------------------------------------------ loading

pub(crate) fn storage_with(sealed: &[u8]) -> MemoryStorage {
    let mut storage = MemoryStorage::new();
    storage.write(sealed).unwrap();
    storage
}

pub(crate) fn load_hsm(sealed: &[u8]) -> Result<Hsm, Error> {
    Hsm::load(&mut storage_with(sealed), &KeySource::MasterKey(&master()), None, Box::new(FixedClock))
}

pub(crate) fn load_device_as<const K: usize, const L: usize>(
    sealed: &[u8],
) -> Result<DeviceToken<FixedClock, K, L>, Error> {
    let mut scratch = vec![0u8; DeviceToken::<FixedClock, K, L>::SEALED_MAX_LEN];
    DeviceToken::load(&mut storage_with(sealed), &master(), None, FixedClock, &mut scratch)
}

pub(crate) fn load_device(sealed: &[u8]) -> Result<Device, Error> {
    load_device_as::<KEYS, LOG>(sealed)
}

/// Loads `sealed` with the loader of file `name`, keeping only the error.
pub(crate) fn load_error(name: &str, sealed: &[u8]) -> Option<Error> {
    if name == CFDS_FILE { load_device(sealed).err() } else { load_hsm(sealed).err() }
}

/// The plaintext state of golden file `name`, opened by coffer.
pub(crate) fn state(name: &str) -> Vec<u8> {
    let (state, counter) = keystore::open(&KeySource::MasterKey(&master()), &golden(name), None).unwrap();
    assert_eq!(counter, num(&file_facts(name)["keystore_counter"]), "{name}: keystore counter");
    state.to_vec()
}

/// `state` sealed again under the golden master key.
pub(crate) fn reseal(state: &[u8]) -> Vec<u8> {
    keystore::seal(&mut OsRng, &KeySource::MasterKey(&master()), 1, state).unwrap()
}

/// The `(offset, length)` of `name` in the state of `f`, if it has one.
pub(crate) fn region(f: &Value, name: &str) -> Option<(usize, usize)> {
    f["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| text(&r[0]) == name)
        .map(|r| (num(&r[1]) as usize, num(&r[2]) as usize))
}

/// `state` with region `name` of `f` replaced by `bytes` (same length).
pub(crate) fn with_region(f: &Value, state: &[u8], name: &str, bytes: &[u8]) -> Vec<u8> {
    let (at, len) = region(f, name).unwrap_or_else(|| panic!("no region {name}"));
    assert_eq!(len, bytes.len(), "{name}");
    let mut s = state.to_vec();
    s[at..at + len].copy_from_slice(bytes);
    s
}

pub(crate) fn be(value: u64, len: usize) -> Vec<u8> {
    value.to_be_bytes()[8 - len..].to_vec()
}

// ------------------------------------------------------------ reading the facts

pub(crate) fn key_type(name: &str) -> KeyType {
    match name {
        "aes256" => KeyType::Aes256,
        "hmac_sha256" => KeyType::HmacSha256,
        "p256" => KeyType::P256,
        "rsa2048" => KeyType::Rsa2048,
        "rsa3072" => KeyType::Rsa3072,
        "rsa4096" => KeyType::Rsa4096,
        "certificate" => KeyType::Certificate,
        other => panic!("unknown key type {other}"),
    }
}

pub(crate) fn key_state(name: &str) -> KeyState {
    match name {
        "pre_active" => KeyState::PreActive,
        "active" => KeyState::Active,
        "deactivated" => KeyState::Deactivated,
        "destroyed" => KeyState::Destroyed,
        other => panic!("unknown key state {other}"),
    }
}

/// The usage of §3.1 bits.
pub(crate) fn usage(bits: u64) -> Usage {
    const BITS: [Usage; 7] = [
        Usage::ENCRYPT,
        Usage::DECRYPT,
        Usage::WRAP,
        Usage::UNWRAP,
        Usage::SIGN,
        Usage::VERIFY,
        Usage::DERIVE,
    ];
    assert!(bits < 0x80, "usage {bits:#x} has bit 7");
    BITS.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).fold(Usage::NONE, |all, (_, u)| all | *u)
}

pub(crate) fn pin_of(p: &Value) -> &[u8] {
    text(&p["pin"]).as_bytes()
}

pub(crate) fn locked(p: &Value, max_failures: u64) -> bool {
    num(&p["failures"]) >= max_failures
}

/// A login with the golden PIN where the stored hash no longer matches it:
/// the failure that reaches `max_failures` (or one past it) is `PinLocked`.
pub(crate) fn wrong_pin_outcome(p: &Value, max_failures: u64) -> Error {
    if num(&p["failures"]) + 1 >= max_failures { Error::PinLocked } else { Error::PinIncorrect }
}

/// The tenants of a slot's keys, in name order.
pub(crate) fn tenants(token: &Value) -> Vec<String> {
    let set: BTreeSet<String> =
        token["keys"].as_array().unwrap().iter().map(|k| text(&k["tenant"]).to_owned()).collect();
    set.into_iter().collect()
}

pub(crate) fn handle(key: &Value) -> Handle {
    Handle::from_raw(num(&key["handle"]))
}

pub(crate) fn expired(key: &Value) -> bool {
    let at = num(&key["expires_at"]);
    at != 0 && at <= NOW
}

pub(crate) fn device_type(name: &str) -> DeviceKeyType {
    match name {
        "aes256" => DeviceKeyType::Aes256,
        "hmac_sha256" => DeviceKeyType::HmacSha256,
        "p256" => DeviceKeyType::P256,
        other => panic!("no device key type {other}"),
    }
}

pub(crate) fn device_key<'a>(f: &'a Value, key_id: &str) -> &'a Value {
    f["keys"].as_array().unwrap().iter().find(|k| text(&k["key_id"]) == key_id).unwrap()
}

pub(crate) fn role_of(kind: &str) -> Role {
    if kind.contains("so_pin") {
        Role::SecurityOfficer
    } else if kind.contains("user_pin") {
        Role::User
    } else {
        Role::Auditor
    }
}

pub(crate) fn pin_facts(holder: &Value, role: Role) -> &Value {
    match role {
        Role::SecurityOfficer => &holder["so_pin"],
        Role::User => &holder["user_pin"],
        _ => &holder["auditor_pin"],
    }
}
