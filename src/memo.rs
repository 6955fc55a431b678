//! A map computed on demand: each key's value is made once, on first use,
//! and shared after (the keyed counterpart of `OnceCell`). The lazy views of
//! a check (file contents, parsed SQL, parsed Go) keep their results in one.

use std::cell::RefCell;
use std::hash::Hash;

use rustc_hash::FxHashMap;

/// Keys are paths and blob ids, hashed with Fx: no one chooses them to
/// collide, and SipHash cost more than the lookups themselves.
pub struct Memo<K, V> {
    map: RefCell<FxHashMap<K, V>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo {
            map: RefCell::new(FxHashMap::default()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    /// The value of `key`, made by `make` the first time. `make` may use the
    /// memo itself (nothing is borrowed while it runs); an error is returned
    /// and nothing is kept.
    pub fn get_or_try<E>(&self, key: K, make: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        if let Some(hit) = self.get(&key) {
            return Ok(hit);
        }
        let value = make()?;
        self.map.borrow_mut().insert(key, value.clone());
        Ok(value)
    }

    /// The value of `key`, made by `make` the first time.
    pub fn get_or(&self, key: K, make: impl FnOnce() -> V) -> V {
        if let Some(hit) = self.get(&key) {
            return hit;
        }
        let value = make();
        self.map.borrow_mut().insert(key, value.clone());
        value
    }

    pub fn get(&self, key: &K) -> Option<V> {
        self.map.borrow().get(key).cloned()
    }

    pub fn contains(&self, key: &K) -> bool {
        self.map.borrow().contains_key(key)
    }

    pub fn insert(&self, key: K, value: V) {
        self.map.borrow_mut().insert(key, value);
    }

    /// Every entry, cloned (for summaries).
    pub fn entries(&self) -> Vec<(K, V)>
    where
        K: Clone,
    {
        self.map
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_each_value_once_and_keeps_no_error() {
        let memo: Memo<u32, String> = Memo::default();
        let mut made = 0;
        let v = memo.get_or_try(1, || {
            made += 1;
            Ok::<_, ()>("one".to_string())
        });
        assert_eq!(v, Ok("one".into()));
        let again = memo.get_or_try(1, || {
            made += 1;
            Ok::<_, ()>("other".to_string())
        });
        assert_eq!(again, Ok("one".into()));
        assert_eq!(made, 1);
        assert_eq!(memo.get_or_try(2, || Err::<String, _>("bad")), Err("bad"));
        assert!(!memo.contains(&2));
    }
}
