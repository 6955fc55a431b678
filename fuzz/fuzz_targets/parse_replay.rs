#![no_main]
//! Parsing every statement with sqlparser and replaying the schema, plus view
//! normalisation: never panics.
use libfuzzer_sys::fuzz_target;
use migguard::{ParsedFile, Replay};

fuzz_target!(|data: &[u8]| {
    let file = ParsedFile::parse(data);
    for s in &file.stmts {
        assert!(s.span.end <= file.text.len());
    }
    let replay = Replay::run([("m.up.sql", &file)]);
    for view in replay.schema.views.values() {
        let _ = migguard::first_view_difference(&view.query, &view.query);
    }
});
