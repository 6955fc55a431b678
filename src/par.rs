//! Running a function over items on every core (parsing SQL and Go files).

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};

/// `f` applied to every item, the work shared by the available cores (each
/// takes the next item when it is done with one, so a few large files do not
/// leave a core idle); results in the input's order. A worker that panics (a
/// bug in a parser) makes the whole call an error: no result is silently
/// lost.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Result<Vec<R>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
        .min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, f(item)));
        }
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
        // This thread works too: one thread fewer to start, and one heap
        // fewer for the allocator to fill.
        let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        // Every worker is joined before any error is returned.
        let theirs: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        let mut slots: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
        for part in std::iter::once(mine).chain(theirs) {
            for (i, r) in part.map_err(|p| panicked("a parsing thread", p))? {
                slots[i] = Some(r);
            }
        }
        Ok(slots.into_iter().flatten().collect())
    })
}

/// The error for a thread (`what`) that panicked, with its message.
pub fn panicked(what: &str, panic: Box<dyn std::any::Any + Send>) -> Error {
    let why = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    Error::Internal(format!("{what} panicked: {why}"))
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
    fn a_panic_in_any_part_is_an_error() {
        let items: Vec<u32> = (0..16).collect();
        for bad in [0, 15] {
            let err = super::map(&items, |i| {
                if *i == bad {
                    panic!("boom at {i}");
                }
                *i
            })
            .unwrap_err();
            assert!(err.to_string().contains(&format!("boom at {bad}")), "{err}");
        }
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
