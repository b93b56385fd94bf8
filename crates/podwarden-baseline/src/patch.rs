//! RFC 6902 JSON Patch: applying operations to a `serde_json::Value`, and building the minimal
//! operations that set a field or extend a list (creating missing parents).

use crate::finding::PatchOp;
use crate::manifest::escape_pointer;
use serde_json::{Map, Value};

/// A patch that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot apply JSON patch {op} at {path:?}: {reason}")]
pub struct PatchError {
    pub op: &'static str,
    pub path: String,
    pub reason: String,
}

/// Splits a JSON pointer into unescaped tokens.
pub fn pointer_tokens(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest = pointer
        .strip_prefix('/')
        .ok_or_else(|| format!("JSON pointer {pointer:?} must start with '/'"))?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn array_index(token: &str, len: usize, allow_end: bool) -> Option<usize> {
    if allow_end && token == "-" {
        return Some(len);
    }
    if token.len() > 1 && token.starts_with('0') {
        return None;
    }
    let i: usize = token.parse().ok()?;
    let limit = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    (i <= limit && (allow_end || len > 0)).then_some(i)
}

/// Applies operations in order to a copy of `doc`.
pub fn apply(doc: &Value, ops: &[PatchOp]) -> Result<Value, PatchError> {
    let mut out = doc.clone();
    for op in ops {
        apply_one(&mut out, op)?;
    }
    Ok(out)
}

fn apply_one(doc: &mut Value, op: &PatchOp) -> Result<(), PatchError> {
    let (name, path) = match op {
        PatchOp::Add { path, .. } => ("add", path),
        PatchOp::Remove { path } => ("remove", path),
        PatchOp::Replace { path, .. } => ("replace", path),
        PatchOp::Test { path, .. } => ("test", path),
    };
    let fail = |reason: String| PatchError {
        op: name,
        path: path.clone(),
        reason,
    };
    let mut tokens = pointer_tokens(path).map_err(fail)?;
    if let PatchOp::Test { value, .. } = op {
        let found = doc
            .pointer(path)
            .ok_or_else(|| fail("no such path".into()))?;
        return if found == value {
            Ok(())
        } else {
            Err(fail(format!("value is {found}, expected {value}")))
        };
    }
    let Some(last) = tokens.pop() else {
        return match op {
            PatchOp::Add { value, .. } | PatchOp::Replace { value, .. } => {
                *doc = value.clone();
                Ok(())
            }
            _ => Err(fail("cannot remove the whole document".into())),
        };
    };
    let mut parent = &mut *doc;
    for token in &tokens {
        parent = match parent {
            Value::Object(map) => map
                .get_mut(token)
                .ok_or_else(|| fail(format!("no member {token:?}")))?,
            Value::Array(items) => {
                let len = items.len();
                let i = array_index(token, len, false)
                    .ok_or_else(|| fail(format!("bad index {token:?}")))?;
                &mut items[i]
            }
            _ => return Err(fail(format!("{token:?} is under a scalar"))),
        };
    }
    match (op, parent) {
        (PatchOp::Add { value, .. }, Value::Object(map)) => {
            map.insert(last, value.clone());
        }
        (PatchOp::Add { value, .. }, Value::Array(items)) => {
            let i = array_index(&last, items.len(), true)
                .ok_or_else(|| fail(format!("bad index {last:?}")))?;
            items.insert(i, value.clone());
        }
        (PatchOp::Remove { .. }, Value::Object(map)) => {
            map.remove(&last)
                .ok_or_else(|| fail(format!("no member {last:?}")))?;
        }
        (PatchOp::Remove { .. }, Value::Array(items)) => {
            let i = array_index(&last, items.len(), false)
                .ok_or_else(|| fail(format!("bad index {last:?}")))?;
            items.remove(i);
        }
        (PatchOp::Replace { value, .. }, Value::Object(map)) => {
            let slot = map
                .get_mut(&last)
                .ok_or_else(|| fail(format!("no member {last:?}")))?;
            *slot = value.clone();
        }
        (PatchOp::Replace { value, .. }, Value::Array(items)) => {
            let i = array_index(&last, items.len(), false)
                .ok_or_else(|| fail(format!("bad index {last:?}")))?;
            items[i] = value.clone();
        }
        _ => return Err(fail("parent is not an object or array".into())),
    }
    Ok(())
}

/// The minimal operations that make `base/keys...` equal `value`, creating missing (or null)
/// parents as objects; `at` is the value found at pointer `base`. `None` when a parent exists
/// but is not an object, or when nothing needs to change.
pub fn set(at: &Value, base: &str, keys: &[&str], value: Value) -> Option<Vec<PatchOp>> {
    let mut current = Some(at).filter(|v| v.is_object())?;
    let mut path = base.to_string();
    for (i, key) in keys.iter().enumerate() {
        let here = format!("{path}/{}", escape_pointer(key));
        let is_last = i + 1 == keys.len();
        match current.get(*key) {
            Some(existing) if is_last => {
                return (existing != &value).then(|| vec![PatchOp::Replace { path: here, value }]);
            }
            Some(next) if next.is_object() => {
                current = next;
                path = here;
            }
            Some(Value::Null) => {
                return Some(vec![PatchOp::Replace {
                    path: here,
                    value: nest(&keys[i + 1..], value),
                }]);
            }
            Some(_) => return None,
            None => {
                return Some(vec![PatchOp::Add {
                    path: here,
                    value: nest(&keys[i + 1..], value),
                }]);
            }
        }
    }
    None
}

/// Operations that append `item` to the list at `base/keys...` (`at` is the value at `base`),
/// creating the list when missing.
pub fn append(at: &Value, base: &str, keys: &[&str], item: Value) -> Option<Vec<PatchOp>> {
    let existing = keys
        .iter()
        .try_fold(at, |v, k| v.get(*k).filter(|x| !x.is_null()));
    match existing {
        Some(Value::Array(_)) => {
            let pointer = keys.iter().fold(base.to_string(), |p, k| {
                format!("{p}/{}", escape_pointer(k))
            });
            Some(vec![PatchOp::Add {
                path: format!("{pointer}/-"),
                value: item,
            }])
        }
        None => set(at, base, keys, Value::Array(vec![item])),
        Some(_) => None,
    }
}

/// Operations that remove the given indices from the list at `list`, last first.
pub fn remove_items(list: &str, mut indices: Vec<usize>) -> Vec<PatchOp> {
    indices.sort_unstable();
    indices.dedup();
    indices
        .into_iter()
        .rev()
        .map(|i| PatchOp::Remove {
            path: format!("{list}/{i}"),
        })
        .collect()
}

fn nest(keys: &[&str], value: Value) -> Value {
    keys.iter().rev().fold(value, |inner, key| {
        let mut map = Map::new();
        map.insert((*key).to_string(), inner);
        Value::Object(map)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_builds_minimal_operations() {
        let doc = json!({"spec": {"c": {"sc": null}, "d": {"x": 1}, "e": 3}});
        let cases: Vec<(&[&str], Option<Vec<PatchOp>>)> = vec![
            (
                &["c", "sc", "a"],
                Some(vec![PatchOp::Replace {
                    path: "/spec/c/sc".into(),
                    value: json!({"a": true}),
                }]),
            ),
            (
                &["d", "y"],
                Some(vec![PatchOp::Add {
                    path: "/spec/d/y".into(),
                    value: json!(true),
                }]),
            ),
            (
                &["d", "x"],
                Some(vec![PatchOp::Replace {
                    path: "/spec/d/x".into(),
                    value: json!(true),
                }]),
            ),
            (&["e", "z"], None),
            (
                &["n", "m"],
                Some(vec![PatchOp::Add {
                    path: "/spec/n".into(),
                    value: json!({"m": true}),
                }]),
            ),
        ];
        for (keys, expected) in cases {
            let got = set(&doc["spec"], "/spec", keys, json!(true));
            assert_eq!(got, expected, "keys {keys:?}");
            if let Some(ops) = got {
                let patched = apply(&doc, &ops).expect("applies");
                let pointer = format!("/spec/{}", keys.join("/"));
                assert_eq!(patched.pointer(&pointer), Some(&json!(true)));
            }
        }
    }

    #[test]
    fn apply_follows_rfc6902() {
        let doc = json!({"a": [1, 2, 3], "b": {"c~/d": 1}});
        let ops = vec![
            PatchOp::Remove {
                path: "/a/1".into(),
            },
            PatchOp::Add {
                path: "/a/-".into(),
                value: json!(4),
            },
            PatchOp::Replace {
                path: "/b/c~0~1d".into(),
                value: json!(2),
            },
            PatchOp::Test {
                path: "/a/0".into(),
                value: json!(1),
            },
        ];
        assert_eq!(
            apply(&doc, &ops).expect("applies"),
            json!({"a": [1, 3, 4], "b": {"c~/d": 2}})
        );
        assert!(
            apply(
                &doc,
                &[PatchOp::Remove {
                    path: "/a/9".into()
                }]
            )
            .is_err()
        );
        assert!(
            apply(
                &doc,
                &[PatchOp::Test {
                    path: "/a/0".into(),
                    value: json!(5)
                }]
            )
            .is_err()
        );
    }
}
