#![no_main]
//! The ent Go reader: a schema package of one fuzzed file plus a fixed mixin
//! package; resolution never panics or loops.
use libfuzzer_sys::fuzz_target;
use migguard::{Package, World};

const MIXINS: &str = "package entutils\nimport (\"entgo.io/ent\"; \"entgo.io/ent/schema/field\"; \"entgo.io/ent/schema/mixin\")\ntype TimeMixin struct{ mixin.Schema }\nfunc (TimeMixin) Fields() []ent.Field { return []ent.Field{field.Time(\"deleted_at\")} }\nfunc (TimeMixin) Mixin() []ent.Mixin { return []ent.Mixin{TimeMixin{}} }\n";

fuzz_target!(|data: &[u8]| {
    let Ok(schema) = Package::parse("s", vec![("s/a.go".to_string(), data.to_vec())]) else {
        return;
    };
    let Ok(mixins) = Package::parse("pkg/entutils", vec![("pkg/entutils/m.go".to_string(), MIXINS.as_bytes().to_vec())]) else {
        return;
    };
    let world = World::new(vec![schema, mixins]);
    for s in world.schemas() {
        assert!(s.place.span.end <= data.len() * 3 + 1);
    }
    let _ = world.index_keys();
    let _ = world.mixins_providing("deleted_at");
});
