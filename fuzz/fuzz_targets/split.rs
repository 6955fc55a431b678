#![no_main]
//! The statement splitter: never panics, spans are in bounds, ordered, on
//! character boundaries, and never overlap.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let pieces = migguard::split_sql(&text);
    let mut last = 0;
    for p in pieces {
        assert!(p.span.start >= last && p.span.start <= p.span.end && p.span.end <= text.len());
        assert!(text.is_char_boundary(p.span.start) && text.is_char_boundary(p.span.end));
        assert!(p.comments_start <= p.span.start);
        last = p.span.end;
    }
});
