//! Running a function over items on every core (parsing SQL and Go files).

use crate::error::{Error, Result};

/// `f` applied to every item, the work split across the available cores;
/// results in the input's order. A worker that panics (a bug in a parser)
/// makes the whole call an error: no result is silently lost.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Result<Vec<R>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            let part = h.join().map_err(|panic| {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                Error::Internal(format!("a parsing thread panicked: {why}"))
            })?;
            out.extend(part);
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_input_order() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            super::map(&items, |i| i * 2).unwrap(),
            (0..100).map(|i| i * 2).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_panicking_worker_is_an_error_not_lost_results() {
        let items: Vec<u32> = (0..16).collect();
        let err = super::map(&items, |i| {
            if *i == 7 {
                panic!("boom at {i}");
            }
            *i
        })
        .unwrap_err();
        assert!(err.to_string().contains("boom at 7"), "{err}");
    }
}
