//! [`Map`]: the object of a [`Value`], in insertion order.
//!
//! Socket.IO objects are small (a few keys), so a vector of entries beats a hash map on both
//! memory and speed, and it keeps the order the peer sent, which JavaScript preserves too.

use std::collections::HashMap;

use super::Value;

/// Above this many entries, duplicate keys in received objects are found with a hash map instead
/// of pairwise comparison, so a huge object cannot cost quadratic time.
const LINEAR_DEDUP_LIMIT: usize = 16;

/// A JSON object: string keys to [`Value`]s, in insertion order.
///
/// Lookups scan the entries, which is the fastest choice for the small objects that make up
/// Socket.IO payloads; build large lookup tables with a `HashMap` instead. Equality ignores the
/// order of the keys, like a deep comparison of JavaScript objects.
#[derive(Debug, Clone, Default)]
pub struct Map {
    entries: Vec<(String, Value)>,
}

impl Map {
    /// An empty map.
    pub fn new() -> Self {
        Map::default()
    }

    /// An empty map with room for `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Map {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value under `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`. An existing key keeps its position and its old value is returned;
    /// a new key goes last.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        let key = key.into();
        match self.get_mut(&key) {
            Some(slot) => Some(std::mem::replace(slot, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// Removes `key`, keeping the order of the other entries.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }

    /// The entries in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// The entries in order, values mutable.
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (&String, &mut Value)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &String> {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The values in order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The values in order, mutably.
    pub fn values_mut(&mut self) -> impl ExactSizeIterator<Item = &mut Value> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Builds a map from entries as a peer sent them. A repeated key keeps its first position
    /// and its last value, as `JSON.parse` does.
    pub(crate) fn from_received(entries: Vec<(String, Value)>) -> Map {
        if entries.len() <= LINEAR_DEDUP_LIMIT {
            // Keys sent once each (the usual case): the entries are the map as they are.
            let unique = entries
                .iter()
                .enumerate()
                .all(|(i, (key, _))| entries.iter().take(i).all(|(before, _)| before != key));
            if unique {
                return Map { entries };
            }
            let mut map = Map::with_capacity(entries.len());
            for (k, v) in entries {
                map.insert(k, v);
            }
            return map;
        }
        // For each entry, the index of the first entry with the same key. The hash map borrows
        // the keys, so it is dropped before the entries are moved.
        let first_of: Vec<usize> = {
            let mut seen: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
            entries
                .iter()
                .enumerate()
                .map(|(i, (k, _))| *seen.entry(k.as_str()).or_insert(i))
                .collect()
        };
        let mut out: Vec<(String, Value)> = Vec::with_capacity(entries.len());
        // Where the entry first seen at index i landed in `out`.
        let mut slot_of: Vec<usize> = vec![0; entries.len()];
        for ((i, (k, v)), first) in entries.into_iter().enumerate().zip(first_of) {
            if first == i {
                if let Some(s) = slot_of.get_mut(i) {
                    *s = out.len();
                }
                out.push((k, v));
            } else if let Some(entry) = slot_of.get(first).and_then(|&s| out.get_mut(s)) {
                // `first < i`, so its slot is already filled.
                entry.1 = v;
            }
        }
        Map { entries: out }
    }
}

impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        // Keys are unique, so equal lengths plus every entry found in the other map is equality.
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut map = Map::new();
        map.extend(iter);
        map
    }
}

impl<K: Into<String>> Extend<(K, Value)> for Map {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl IntoIterator for Map {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Value)>,
        fn(&'a (String, Value)) -> (&'a String, &'a Value),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_keeps_first_position_and_replaces_value() {
        let mut m = Map::new();
        m.insert("b", Value::from(1));
        m.insert("a", Value::from(2));
        assert_eq!(m.insert("b", Value::from(3)), Some(Value::from(1)));
        let keys: Vec<_> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(m.get("b"), Some(&Value::from(3)));
    }

    #[test]
    fn received_duplicates_keep_first_position_and_last_value_in_large_objects() {
        let mut entries: Vec<(String, Value)> =
            (0..40).map(|i| (format!("k{i}"), Value::from(i))).collect();
        entries.push(("k3".to_owned(), Value::from("last")));
        entries.push(("k0".to_owned(), Value::from("zero")));
        let m = Map::from_received(entries);
        assert_eq!(m.len(), 40);
        assert_eq!(m.keys().next().map(String::as_str), Some("k0"));
        assert_eq!(m.get("k0"), Some(&Value::from("zero")));
        assert_eq!(m.get("k3"), Some(&Value::from("last")));
        assert_eq!(m.keys().nth(3).map(String::as_str), Some("k3"));
    }

    #[test]
    fn received_small_objects_keep_their_order_and_their_duplicates_the_last_value() {
        let entries = |pairs: &[(&str, i32)]| -> Vec<(String, Value)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                .collect()
        };
        let m = Map::from_received(entries(&[("b", 1), ("a", 2), ("c", 3)]));
        let keys: Vec<_> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["b", "a", "c"]);
        let m = Map::from_received(entries(&[("b", 1), ("a", 2), ("b", 3)]));
        let keys: Vec<_> = m.keys().map(String::as_str).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(m.get("b"), Some(&Value::from(3)));
    }

    #[test]
    fn equality_ignores_key_order() {
        let a: Map = [("x", Value::from(1)), ("y", Value::from(2))]
            .into_iter()
            .collect();
        let b: Map = [("y", Value::from(2)), ("x", Value::from(1))]
            .into_iter()
            .collect();
        assert_eq!(a, b);
    }
}
