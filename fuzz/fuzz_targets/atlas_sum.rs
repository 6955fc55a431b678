#![no_main]
//! Reading and diagnosing an atlas.sum: never panics; every line a drift
//! points at exists; a file that is exactly what Atlas writes has no drift.
use libfuzzer_sys::fuzz_target;
use migguard::{diagnose, HashFile, ParsedSum};

fuzz_target!(|data: &[u8]| {
    let parsed = ParsedSum::parse(data);
    let lines = data.split(|b| *b == b'\n').count();
    let expected = HashFile::compute([("1_a.sql", b"A;".as_slice()), ("2_b.sql", data)]);
    for d in diagnose(&expected, Some(data), &Default::default()) {
        if let Some(l) = d.line {
            assert!(l.number <= lines.max(1) && l.span.end <= data.len());
        }
    }
    let _ = parsed.entries_sum();
    let exact = expected.marshal();
    assert!(diagnose(&expected, Some(exact.as_bytes()), &Default::default()).is_empty());
});
