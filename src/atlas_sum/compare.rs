//! Comparing two lists of `atlas.sum` records: what `diagnose` (the file
//! against the directory) and the `sum-history` rule (the change against its
//! base) both ask. Records are `(name, hash)`.

/// The records that are out of order: each one whose position in the other
/// list (`position`) is before that of a record listed earlier, with the
/// name of the latest record it comes after. Records the other list lacks
/// are skipped.
pub fn moved<'a>(
    records: impl IntoIterator<Item = &'a str>,
    position: impl Fn(&str) -> Option<usize>,
) -> Vec<(&'a str, &'a str)> {
    let mut out = Vec::new();
    let mut latest: Option<(&str, usize)> = None;
    for name in records {
        let Some(pos) = position(name) else {
            continue;
        };
        match latest {
            Some((prev, at)) if at > pos => out.push((name, prev)),
            _ => latest = Some((name, pos)),
        }
    }
    out
}

/// How many of `records` have another hash in the other list
/// (`other_hash`): the knock-on of one edit, since each record's hash
/// covers every earlier file.
pub fn rehashed<'a>(
    records: impl IntoIterator<Item = (&'a str, &'a str)>,
    other_hash: impl Fn(&str) -> Option<&'a str>,
) -> usize {
    records
        .into_iter()
        .filter(|(name, hash)| other_hash(name).is_some_and(|h| h != *hash))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_records_name_the_record_they_follow() {
        let order = ["a", "b", "c", "d"];
        let pos = |n: &str| order.iter().position(|o| *o == n);
        assert_eq!(moved(["a", "c", "b", "d"], pos), vec![("b", "c")]);
        assert!(moved(["a", "x", "b"], pos).is_empty());
    }

    #[test]
    fn rehashed_counts_records_whose_hash_changed() {
        let other = [("a", "1"), ("b", "2"), ("c", "9")];
        let hash = |n: &str| other.iter().find(|(o, _)| *o == n).map(|(_, h)| *h);
        assert_eq!(
            rehashed([("a", "1"), ("b", "3"), ("c", "4"), ("z", "0")], hash),
            2
        );
    }
}
