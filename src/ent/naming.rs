//! ent's naming: the table name of a schema type (snake case, plural as
//! ent's inflection rules make it).

/// ent's default table name, exactly as `entc/gen` computes it
/// (`Type.Table`): `snake(rules.Pluralize(name))`, with the default ruleset
/// of `github.com/go-openapi/inflect` applied to the type name as written
/// (its suffix rules are case-sensitive: `DeliveryStatus` stays singular,
/// `SequenceNumbers` is already plural, `DocumentData` ends in `ta`).
pub fn default_table_name(name: &str) -> String {
    snake(&pluralize(name))
}

/// ent's `snake` (`entc/gen/func.go`).
pub(super) fn snake(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut j = 0usize;
    for i in 0..b.len() {
        let r = b[i] as char;
        if i > 0 && i < b.len() - 1 && r.is_ascii_uppercase() {
            let prev = b[i - 1] as char;
            let next = b[i + 1] as char;
            if prev.is_ascii_lowercase()
                || (j != i - 1 && next.is_ascii_lowercase() && prev.is_ascii_alphabetic())
            {
                j = i;
                out.push('_');
            }
        }
        out.push(r.to_ascii_lowercase());
    }
    out
}

/// go-openapi/inflect's default plural rules, in the order
/// `NewDefaultRuleset` adds them (a later rule wins): (suffix, replacement,
/// exact). Irregulars add both of their plural rules.
pub(super) const PLURALS: &[(&str, &str, bool)] = &[
    ("s", "s", false),
    ("testis", "testes", false),
    ("axis", "axes", false),
    ("octopus", "octopi", false),
    ("virus", "viri", false),
    ("octopi", "octopi", false),
    ("viri", "viri", false),
    ("alias", "aliases", false),
    ("status", "statuses", false),
    ("bus", "buses", false),
    ("buffalo", "buffaloes", false),
    ("tomato", "tomatoes", false),
    ("tum", "ta", false),
    ("ium", "ia", false),
    ("ta", "ta", false),
    ("ia", "ia", false),
    ("sis", "ses", false),
    ("lf", "lves", false),
    ("rf", "rves", false),
    ("afe", "aves", false),
    ("bfe", "bves", false),
    ("cfe", "cves", false),
    ("dfe", "dves", false),
    ("efe", "eves", false),
    ("gfe", "gves", false),
    ("hfe", "hves", false),
    ("ife", "ives", false),
    ("jfe", "jves", false),
    ("kfe", "kves", false),
    ("lfe", "lves", false),
    ("mfe", "mves", false),
    ("nfe", "nves", false),
    ("ofe", "oves", false),
    ("pfe", "pves", false),
    ("qfe", "qves", false),
    ("rfe", "rves", false),
    ("sfe", "sves", false),
    ("tfe", "tves", false),
    ("ufe", "uves", false),
    ("vfe", "vves", false),
    ("wfe", "wves", false),
    ("xfe", "xves", false),
    ("yfe", "yves", false),
    ("zfe", "zves", false),
    ("hive", "hives", false),
    ("quy", "quies", false),
    ("by", "bies", false),
    ("cy", "cies", false),
    ("dy", "dies", false),
    ("fy", "fies", false),
    ("gy", "gies", false),
    ("hy", "hies", false),
    ("jy", "jies", false),
    ("ky", "kies", false),
    ("ly", "lies", false),
    ("my", "mies", false),
    ("ny", "nies", false),
    ("py", "pies", false),
    ("qy", "qies", false),
    ("ry", "ries", false),
    ("sy", "sies", false),
    ("ty", "ties", false),
    ("vy", "vies", false),
    ("wy", "wies", false),
    ("xy", "xies", false),
    ("zy", "zies", false),
    ("x", "xes", false),
    ("ch", "ches", false),
    ("ss", "sses", false),
    ("sh", "shes", false),
    ("matrix", "matrices", false),
    ("vertix", "vertices", false),
    ("indix", "indices", false),
    ("matrex", "matrices", false),
    ("vertex", "vertices", false),
    ("index", "indices", false),
    ("mouse", "mice", false),
    ("louse", "lice", false),
    ("mice", "mice", false),
    ("lice", "lice", false),
    ("ox", "oxen", true),
    ("oxen", "oxen", true),
    ("quiz", "quizzes", true),
    ("person", "people", false),
    ("people", "people", false),
    ("man", "men", false),
    ("men", "men", false),
    ("child", "children", false),
    ("children", "children", false),
    ("sex", "sexes", false),
    ("sexes", "sexes", false),
    ("move", "moves", false),
    ("moves", "moves", false),
    ("zombie", "zombies", false),
    ("zombies", "zombies", false),
];

pub(super) const UNCOUNTABLE: &[&str] = &[
    "equipment",
    "information",
    "rice",
    "money",
    "species",
    "series",
    "fish",
    "sheep",
    "jeans",
    "police",
];

/// go-openapi/inflect's `Ruleset.Pluralize` with the default rules.
pub(super) fn pluralize(word: &str) -> String {
    if word.is_empty() {
        return String::new();
    }
    let last = word.rsplit(' ').next().unwrap_or(word).to_lowercase();
    if UNCOUNTABLE.contains(&last.as_str()) {
        return word.to_string();
    }
    for (suffix, replacement, exact) in PLURALS.iter().rev() {
        if *exact {
            if word == *suffix {
                return replacement.to_string();
            }
        } else if let Some(stem) = word.strip_suffix(suffix) {
            return format!("{stem}{replacement}");
        }
    }
    format!("{word}s")
}
