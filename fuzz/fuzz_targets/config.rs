#![no_main]
//! The config loaders (.migguard.yaml and atlas.hcl): never panic; errors
//! name a line.
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let names = migguard::known_names();
    if let Err(e) = migguard::Config::parse(Path::new(".migguard.yaml"), &text, &names) {
        assert!(e.to_string().starts_with(".migguard.yaml:"));
    }
    let _ = migguard::AtlasHcl::parse(Path::new("atlas.hcl"), &text);
});
