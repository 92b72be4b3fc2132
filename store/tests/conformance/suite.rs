//! The behaviour every `RecordStore` backend must show, on one connection.
//! Each check starts from keys no other check uses, so the order is free.

use coffer_store::{MAX_KEY_LEN, MAX_SCAN, MAX_VALUE_LEN, RecordStore, StoreError};

/// Runs every single-connection check against `store`, which must be
/// empty.
pub fn conformance(store: &mut dyn RecordStore) {
    an_empty_store_has_no_records(store);
    put_get_overwrite_and_delete_round_trip(store);
    binary_keys_and_values_with_zero_bytes_round_trip(store);
    an_empty_value_is_stored_as_empty(store);
    key_and_value_limits_are_enforced_exactly(store);
    a_value_of_exactly_the_maximum_length_round_trips(store);
    scan_honours_prefix_after_and_limit(store);
    scan_under_prefixes_ending_in_0xff_stops_at_the_prefix(store);
    a_transaction_reads_its_own_writes(store);
    a_dropped_transaction_is_rolled_back(store);
}

fn all(store: &mut dyn RecordStore) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut tx = store.begin().unwrap();
    tx.scan(b"", None, MAX_SCAN).unwrap()
}

fn an_empty_store_has_no_records(store: &mut dyn RecordStore) {
    assert_eq!(all(store), Vec::<(Vec<u8>, Vec<u8>)>::new(), "a fresh store must be empty");
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get(b"absent").unwrap(), None);
    tx.commit().unwrap();
}

fn put_get_overwrite_and_delete_round_trip(store: &mut dyn RecordStore) {
    let mut tx = store.begin().unwrap();
    tx.put(b"rt/one", b"1").unwrap();
    tx.put(b"rt/two", b"2").unwrap();
    tx.commit().unwrap();

    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get(b"rt/one").unwrap(), Some(b"1".to_vec()));
    assert_eq!(tx.get(b"rt/two").unwrap(), Some(b"2".to_vec()));
    tx.put(b"rt/one", b"one, overwritten").unwrap();
    tx.delete(b"rt/two").unwrap();
    tx.delete(b"rt/never-written").unwrap(); // deleting an absent key is fine
    tx.commit().unwrap();

    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get(b"rt/one").unwrap(), Some(b"one, overwritten".to_vec()));
    assert_eq!(tx.get(b"rt/two").unwrap(), None);
    assert_eq!(tx.get(b"rt/never-written").unwrap(), None);
    assert_eq!(tx.scan(b"rt/", None, 10).unwrap(), vec![(b"rt/one".to_vec(), b"one, overwritten".to_vec())]);
    tx.delete(b"rt/one").unwrap();
    tx.commit().unwrap();
}

fn binary_keys_and_values_with_zero_bytes_round_trip(store: &mut dyn RecordStore) {
    let keys: [&[u8]; 5] = [&[0x00], &[0x00, 0x00], &[0x00, 0x01], &[0x01, 0x00, 0xff], &[0x01, 0x00]];
    let mut tx = store.begin().unwrap();
    for (i, k) in keys.iter().enumerate() {
        tx.put(k, &[0x00, i as u8, 0x00, 0xff]).unwrap();
    }
    tx.commit().unwrap();

    let mut tx = store.begin().unwrap();
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(tx.get(k).unwrap(), Some(vec![0x00, i as u8, 0x00, 0xff]), "key {k:02x?}");
    }
    // Byte order, with a shorter key before its extensions.
    let got: Vec<Vec<u8>> = tx.scan(&[0x00], None, 10).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(got, vec![vec![0x00], vec![0x00, 0x00], vec![0x00, 0x01]]);
    let got: Vec<Vec<u8>> = tx.scan(&[0x01, 0x00], None, 10).unwrap().into_iter().map(|(k, _)| k).collect();
    assert_eq!(got, vec![vec![0x01, 0x00], vec![0x01, 0x00, 0xff]]);
    for k in keys {
        tx.delete(k).unwrap();
    }
    tx.commit().unwrap();
}

fn an_empty_value_is_stored_as_empty(store: &mut dyn RecordStore) {
    let mut tx = store.begin().unwrap();
    tx.put(b"empty-value", b"").unwrap();
    tx.commit().unwrap();
    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get(b"empty-value").unwrap(), Some(Vec::new()));
    assert_eq!(tx.scan(b"empty-value", None, 1).unwrap(), vec![(b"empty-value".to_vec(), Vec::new())]);
    tx.delete(b"empty-value").unwrap();
    tx.commit().unwrap();
}

fn key_and_value_limits_are_enforced_exactly(store: &mut dyn RecordStore) {
    let longest = vec![b'k'; MAX_KEY_LEN];
    let too_long = vec![b'k'; MAX_KEY_LEN + 1];
    let too_big = vec![0u8; MAX_VALUE_LEN + 1];

    let mut tx = store.begin().unwrap();
    assert_eq!(tx.put(b"", b"v"), Err(StoreError::TooLarge), "an empty key is refused");
    assert_eq!(tx.get(b""), Err(StoreError::TooLarge));
    assert_eq!(tx.delete(b""), Err(StoreError::TooLarge));
    assert_eq!(
        tx.put(&too_long, b"v"),
        Err(StoreError::TooLarge),
        "a key of MAX_KEY_LEN + 1 bytes is refused"
    );
    assert_eq!(tx.get(&too_long), Err(StoreError::TooLarge));
    assert_eq!(tx.delete(&too_long), Err(StoreError::TooLarge));
    assert_eq!(
        tx.put(b"limits/v", &too_big),
        Err(StoreError::TooLarge),
        "a value of MAX_VALUE_LEN + 1 bytes is refused"
    );
    assert_eq!(
        tx.scan(b"", None, MAX_SCAN + 1),
        Err(StoreError::TooLarge),
        "a scan limit over MAX_SCAN is refused"
    );
    // A refused argument does not spoil the transaction.
    tx.put(&longest, b"longest key").unwrap();
    tx.commit().unwrap();

    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get(&longest).unwrap(), Some(b"longest key".to_vec()));
    assert_eq!(tx.get(b"limits/v").unwrap(), None);
    tx.delete(&longest).unwrap();
    tx.commit().unwrap();
}

fn a_value_of_exactly_the_maximum_length_round_trips(store: &mut dyn RecordStore) {
    let value: Vec<u8> = (0..MAX_VALUE_LEN).map(|i| (i % 251) as u8).collect();
    let mut tx = store.begin().unwrap();
    tx.put(b"max-value", &value).unwrap();
    tx.commit().unwrap();
    let mut tx = store.begin().unwrap();
    let got = tx.get(b"max-value").unwrap().unwrap();
    assert!(got == value, "the {MAX_VALUE_LEN}-byte value came back changed ({} bytes)", got.len());
    tx.delete(b"max-value").unwrap();
    tx.commit().unwrap();
}

fn keys(rows: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<Vec<u8>> {
    rows.into_iter().map(|(k, _)| k).collect()
}

fn scan_honours_prefix_after_and_limit(store: &mut dyn RecordStore) {
    let mut tx = store.begin().unwrap();
    for k in ["s/a/1", "s/a/2", "s/a/3", "s/a0", "s/a", "s/b", "s/", "s"] {
        tx.put(k.as_bytes(), format!("value of {k}").as_bytes()).unwrap();
    }
    tx.commit().unwrap();

    let v = |s: &str| s.as_bytes().to_vec();
    let mut tx = store.begin().unwrap();
    let rows = tx.scan(b"s/a/", None, 100).unwrap();
    assert_eq!(
        rows,
        vec![
            (v("s/a/1"), v("value of s/a/1")),
            (v("s/a/2"), v("value of s/a/2")),
            (v("s/a/3"), v("value of s/a/3"))
        ],
        "a prefix scan returns exactly the keys under it, in order, with their values"
    );
    assert_eq!(keys(tx.scan(b"s/a/", None, 2).unwrap()), vec![v("s/a/1"), v("s/a/2")], "limit");
    assert_eq!(keys(tx.scan(b"s/a/", None, 0).unwrap()), Vec::<Vec<u8>>::new(), "limit 0");
    assert_eq!(
        keys(tx.scan(b"s/a/", Some(b"s/a/1"), 100).unwrap()),
        vec![v("s/a/2"), v("s/a/3")],
        "after is exclusive"
    );
    assert_eq!(
        keys(tx.scan(b"s/a/", Some(b"s/a/15"), 1).unwrap()),
        vec![v("s/a/2")],
        "after an absent key, with a limit"
    );
    assert_eq!(
        keys(tx.scan(b"s/a/", Some(b"s/a/3"), 100).unwrap()),
        Vec::<Vec<u8>>::new(),
        "after the last key"
    );
    assert_eq!(
        keys(tx.scan(b"s/a/", Some(b"r"), 100).unwrap()),
        vec![v("s/a/1"), v("s/a/2"), v("s/a/3")],
        "after a key below the prefix"
    );
    assert_eq!(
        keys(tx.scan(b"s/a/", Some(b"t"), 100).unwrap()),
        Vec::<Vec<u8>>::new(),
        "after a key above the prefix"
    );
    assert_eq!(
        keys(tx.scan(b"s/a", None, 100).unwrap()),
        vec![v("s/a"), v("s/a/1"), v("s/a/2"), v("s/a/3"), v("s/a0")],
        "the prefix itself is a key under it"
    );
    assert_eq!(
        keys(tx.scan(b"s", Some(b""), 100).unwrap()),
        keys(tx.scan(b"s", None, 100).unwrap()),
        "an empty `after` excludes nothing"
    );
    assert_eq!(
        keys(tx.scan(b"", Some(b""), 100).unwrap()),
        vec![v("s"), v("s/"), v("s/a"), v("s/a/1"), v("s/a/2"), v("s/a/3"), v("s/a0"), v("s/b")],
        "the empty prefix with the empty `after` is the whole store"
    );
    assert_eq!(keys(tx.scan(b"s/c", None, 100).unwrap()), Vec::<Vec<u8>>::new(), "a prefix with no keys");
    for k in ["s/a/1", "s/a/2", "s/a/3", "s/a0", "s/a", "s/b", "s/", "s"] {
        tx.delete(k.as_bytes()).unwrap();
    }
    tx.commit().unwrap();
}

fn scan_under_prefixes_ending_in_0xff_stops_at_the_prefix(store: &mut dyn RecordStore) {
    let stored: [&[u8]; 9] = [
        &[0xfe],
        &[0xfe, 0xff],
        &[0xfe, 0xff, 0x00],
        &[0xff],
        &[0xff, 0x00],
        &[0xff, 0xfe, 0xff],
        &[0xff, 0xff],
        &[0xff, 0xff, 0x01],
        &[0x7f, 0xff, 0xff],
    ];
    let mut tx = store.begin().unwrap();
    for k in stored {
        tx.put(k, k).unwrap();
    }
    tx.commit().unwrap();

    let mut tx = store.begin().unwrap();
    let to_vecs = |ks: &[&[u8]]| ks.iter().map(|k| k.to_vec()).collect::<Vec<_>>();
    assert_eq!(
        keys(tx.scan(&[0xfe, 0xff], None, 100).unwrap()),
        to_vecs(&[&[0xfe, 0xff], &[0xfe, 0xff, 0x00]]),
        "prefix fe ff must not reach ff"
    );
    assert_eq!(
        keys(tx.scan(&[0xff], None, 100).unwrap()),
        to_vecs(&[&[0xff], &[0xff, 0x00], &[0xff, 0xfe, 0xff], &[0xff, 0xff], &[0xff, 0xff, 0x01]]),
        "prefix ff has no upper bound and still returns only keys under it"
    );
    assert_eq!(
        keys(tx.scan(&[0xff, 0xff], None, 100).unwrap()),
        to_vecs(&[&[0xff, 0xff], &[0xff, 0xff, 0x01]])
    );
    assert_eq!(
        keys(tx.scan(&[0xff], Some(&[0xff, 0x00]), 2).unwrap()),
        to_vecs(&[&[0xff, 0xfe, 0xff], &[0xff, 0xff]])
    );
    assert_eq!(keys(tx.scan(&[0x7f], None, 100).unwrap()), to_vecs(&[&[0x7f, 0xff, 0xff]]));
    assert_eq!(
        tx.scan(&[0xff], None, 1).unwrap(),
        vec![(vec![0xff], vec![0xff])],
        "values come with their keys"
    );
    for k in stored {
        tx.delete(k).unwrap();
    }
    tx.commit().unwrap();
}

fn a_transaction_reads_its_own_writes(store: &mut dyn RecordStore) {
    let mut tx = store.begin().unwrap();
    tx.put(b"own/kept", b"committed").unwrap();
    tx.put(b"own/deleted", b"committed").unwrap();
    tx.commit().unwrap();

    let mut tx = store.begin().unwrap();
    tx.put(b"own/new", b"uncommitted").unwrap();
    tx.put(b"own/kept", b"overwritten").unwrap();
    tx.delete(b"own/deleted").unwrap();
    assert_eq!(tx.get(b"own/new").unwrap(), Some(b"uncommitted".to_vec()));
    assert_eq!(tx.get(b"own/kept").unwrap(), Some(b"overwritten".to_vec()));
    assert_eq!(tx.get(b"own/deleted").unwrap(), None);
    assert_eq!(
        tx.scan(b"own/", None, 10).unwrap(),
        vec![(b"own/kept".to_vec(), b"overwritten".to_vec()), (b"own/new".to_vec(), b"uncommitted".to_vec())],
        "a scan sees the transaction's own puts and not its deletes"
    );
    tx.delete(b"own/kept").unwrap();
    tx.delete(b"own/new").unwrap();
    tx.commit().unwrap();
    assert_eq!(all(store), Vec::<(Vec<u8>, Vec<u8>)>::new());
}

fn a_dropped_transaction_is_rolled_back(store: &mut dyn RecordStore) {
    let mut tx = store.begin().unwrap();
    tx.put(b"rb/kept", b"committed").unwrap();
    tx.commit().unwrap();

    let mut tx = store.begin().unwrap();
    tx.put(b"rb/new", b"never").unwrap();
    tx.put(b"rb/kept", b"never").unwrap();
    drop(tx);
    let mut tx = store.begin().unwrap();
    tx.delete(b"rb/kept").unwrap();
    drop(tx);

    let mut tx = store.begin().unwrap();
    assert_eq!(tx.get(b"rb/new").unwrap(), None, "a put of a dropped transaction is gone");
    assert_eq!(
        tx.get(b"rb/kept").unwrap(),
        Some(b"committed".to_vec()),
        "an overwrite and a delete of dropped transactions are gone"
    );
    tx.delete(b"rb/kept").unwrap();
    tx.commit().unwrap();
}
