//! RFC 6902 JSON Patch between two JSON values: what the admission webhook returns.
//!
//! The patch is minimal where it matters for admission: new object members are `add`ed, changed
//! scalars are `replace`d, elements inserted into an array (anywhere, e.g. the agent at the
//! front of `initContainers` or the end of `containers`) are `add`ed at their index, and arrays
//! of equal length are compared element by element. Anything else replaces the array whole.

use serde::Serialize;
use serde_json::Value;

/// One JSON Patch operation (`add`, `remove` or `replace`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchOperation {
    pub op: &'static str,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// Escapes a member name for a JSON pointer (`~` → `~0`, `/` → `~1`).
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The operations that turn `old` into `new`, in the order they must be applied.
pub fn diff(old: &Value, new: &Value) -> Vec<PatchOperation> {
    let mut ops = Vec::new();
    diff_at(old, new, "", &mut ops);
    ops
}

fn diff_at(old: &Value, new: &Value, path: &str, ops: &mut Vec<PatchOperation>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(old_map), Value::Object(new_map)) => {
            for (key, old_value) in old_map {
                let member = format!("{path}/{}", escape_token(key));
                match new_map.get(key) {
                    Some(new_value) => diff_at(old_value, new_value, &member, ops),
                    None => ops.push(PatchOperation {
                        op: "remove",
                        path: member,
                        value: None,
                    }),
                }
            }
            for (key, new_value) in new_map {
                if !old_map.contains_key(key) {
                    ops.push(PatchOperation {
                        op: "add",
                        path: format!("{path}/{}", escape_token(key)),
                        value: Some(new_value.clone()),
                    });
                }
            }
        }
        (Value::Array(old_items), Value::Array(new_items)) => {
            diff_arrays(old_items, new_items, path, ops)
        }
        _ => ops.push(PatchOperation {
            op: "replace",
            path: path.to_string(),
            value: Some(new.clone()),
        }),
    }
}

fn diff_arrays(old: &[Value], new: &[Value], path: &str, ops: &mut Vec<PatchOperation>) {
    if old.len() == new.len() {
        for (index, (o, n)) in old.iter().zip(new).enumerate() {
            diff_at(o, n, &format!("{path}/{index}"), ops);
        }
        return;
    }
    let prefix = old.iter().zip(new).take_while(|(o, n)| o == n).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(o, n)| o == n)
        .count();
    if new.len() > old.len() && prefix + suffix == old.len() {
        let inserted = new.len() - old.len();
        for (offset, value) in new[prefix..prefix + inserted].iter().enumerate() {
            ops.push(PatchOperation {
                op: "add",
                path: format!("{path}/{}", prefix + offset),
                value: Some(value.clone()),
            });
        }
        return;
    }
    ops.push(PatchOperation {
        op: "replace",
        path: path.to_string(),
        value: Some(Value::Array(new.to_vec())),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(old: Value, new: Value, expected: Value) {
        let ops = serde_json::to_value(diff(&old, &new)).unwrap_or(Value::Null);
        assert_eq!(ops, expected, "diff of {old} → {new}");
    }

    #[test]
    fn diffs() {
        check(json!({"a": 1}), json!({"a": 1}), json!([]));
        check(
            json!({"a": 1, "b": 2}),
            json!({"a": 3, "c": 4}),
            json!([
                {"op": "replace", "path": "/a", "value": 3},
                {"op": "remove", "path": "/b"},
                {"op": "add", "path": "/c", "value": 4}
            ]),
        );
        check(
            json!({"metadata": {}}),
            json!({"metadata": {"annotations": {"a/b~c": "x"}}}),
            json!([{"op": "add", "path": "/metadata/annotations", "value": {"a/b~c": "x"}}]),
        );
        check(
            json!({"metadata": {"annotations": {}}}),
            json!({"metadata": {"annotations": {"a/b~c": "x"}}}),
            json!([{"op": "add", "path": "/metadata/annotations/a~1b~0c", "value": "x"}]),
        );
        // Appended, prepended and inserted elements.
        check(
            json!({"c": [1, 2]}),
            json!({"c": [1, 2, 3]}),
            json!([{"op": "add", "path": "/c/2", "value": 3}]),
        );
        check(
            json!({"c": [1, 2]}),
            json!({"c": [0, 1, 2]}),
            json!([{"op": "add", "path": "/c/0", "value": 0}]),
        );
        check(
            json!({"c": [1, 2]}),
            json!({"c": [1, 7, 8, 2]}),
            json!([
                {"op": "add", "path": "/c/1", "value": 7},
                {"op": "add", "path": "/c/2", "value": 8}
            ]),
        );
        // Equal lengths compare element-wise; other changes replace the array.
        check(
            json!({"c": [{"x": 1}, {"x": 2}]}),
            json!({"c": [{"x": 1}, {"x": 5}]}),
            json!([{"op": "replace", "path": "/c/1/x", "value": 5}]),
        );
        check(
            json!({"c": [1, 2, 3]}),
            json!({"c": [3]}),
            json!([{"op": "replace", "path": "/c", "value": [3]}]),
        );
        check(
            json!({"c": [1, 2]}),
            json!({"c": [9, 8, 7]}),
            json!([{"op": "replace", "path": "/c", "value": [9, 8, 7]}]),
        );
        check(
            json!(1),
            json!("x"),
            json!([{"op": "replace", "path": "", "value": "x"}]),
        );
    }
}
