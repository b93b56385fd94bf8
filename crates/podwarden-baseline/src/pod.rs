//! A read-only view of one pod (or pod template) inside an object: its metadata, spec,
//! containers (init, regular, ephemeral) and their effective security settings.

use crate::finding::{ContainerKind, ContainerRef};
use crate::manifest::{PodLocation, get, get_str};
use serde_json::Value;

/// One container of the pod.
pub(crate) struct Container<'a> {
    pub kind: ContainerKind,
    pub index: usize,
    pub name: &'a str,
    pub value: &'a Value,
    /// JSON pointer of the container object.
    pub path: String,
}

impl<'a> Container<'a> {
    pub fn reference(&self) -> ContainerRef {
        ContainerRef {
            name: self.name.to_string(),
            kind: self.kind,
            index: self.index,
        }
    }

    /// The container's own securityContext.
    pub fn security_context(&self) -> Option<&'a Value> {
        get(self.value, "securityContext")
    }

    /// A field of the container's securityContext.
    pub fn sc(&self, key: &str) -> Option<&'a Value> {
        self.security_context().and_then(|sc| get(sc, key))
    }

    pub fn sc_bool(&self, key: &str) -> Option<bool> {
        self.sc(key).and_then(Value::as_bool)
    }

    /// `securityContext.capabilities.<list>` entries that are strings (with their index).
    pub fn capabilities(&self, list: &str) -> Vec<(usize, &'a str)> {
        self.sc("capabilities")
            .and_then(|c| get(c, list))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.as_str().map(|s| (i, s)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Pointer to a field under this container, e.g. `sub("securityContext/privileged")`.
    pub fn sub(&self, rest: &str) -> String {
        format!("{}/{}", self.path, rest)
    }
}

/// The pod as the checks see it.
pub(crate) struct Pod<'a> {
    pub metadata: Option<&'a Value>,
    pub spec: &'a Value,
    /// Pointers of the pod metadata and spec inside the document.
    pub location: PodLocation,
    pub containers: Vec<Container<'a>>,
}

impl<'a> Pod<'a> {
    /// Builds the view of the pod at `location` (relative to the object) of the object at
    /// pointer `prefix` in `doc` (empty for a top-level object, `/items/N` in a List).
    pub fn new(doc: &'a Value, prefix: &str, location: &PodLocation) -> Option<Pod<'a>> {
        let location = PodLocation {
            metadata: format!("{prefix}{}", location.metadata),
            spec: format!("{prefix}{}", location.spec),
        };
        let spec = doc.pointer(&location.spec).filter(|v| v.is_object())?;
        let metadata = doc.pointer(&location.metadata).filter(|v| v.is_object());
        let mut containers = Vec::new();
        for kind in [
            ContainerKind::Init,
            ContainerKind::Regular,
            ContainerKind::Ephemeral,
        ] {
            let Some(list) = get(spec, kind.field()).and_then(Value::as_array) else {
                continue;
            };
            for (index, value) in list.iter().enumerate() {
                if !value.is_object() {
                    continue;
                }
                containers.push(Container {
                    kind,
                    index,
                    name: get_str(value, "name").unwrap_or(""),
                    value,
                    path: format!("{}/{}/{}", location.spec, kind.field(), index),
                });
            }
        }
        Some(Pod {
            metadata,
            spec,
            location,
            containers,
        })
    }

    /// `spec.securityContext`.
    pub fn security_context(&self) -> Option<&'a Value> {
        get(self.spec, "securityContext")
    }

    /// A field of the pod's securityContext.
    pub fn sc(&self, key: &str) -> Option<&'a Value> {
        self.security_context().and_then(|sc| get(sc, key))
    }

    /// A container's effective setting: its own securityContext, else the pod's.
    pub fn effective(&self, container: &Container<'a>, key: &str) -> Option<&'a Value> {
        container.sc(key).or_else(|| self.sc(key))
    }

    pub fn spec_bool(&self, key: &str) -> Option<bool> {
        get(self.spec, key).and_then(Value::as_bool)
    }

    /// Pointer to a field under the pod spec, e.g. `spec_path("securityContext/runAsUser")`.
    pub fn spec_path(&self, rest: &str) -> String {
        format!("{}/{}", self.location.spec, rest)
    }

    pub fn annotations(&self) -> impl Iterator<Item = (&'a str, &'a Value)> {
        self.metadata
            .and_then(|m| get(m, "annotations"))
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.iter().map(|(k, v)| (k.as_str(), v)))
    }

    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.metadata
            .and_then(|m| get(m, "annotations"))
            .and_then(|a| get_str(a, key))
    }

    /// `spec.os.name == windows`.
    pub fn is_windows(&self) -> bool {
        get(self.spec, "os").and_then(|os| get_str(os, "name")) == Some("windows")
    }

    /// `spec.hostUsers == false` (a user-namespaced pod).
    pub fn in_user_namespace(&self) -> bool {
        self.spec_bool("hostUsers") == Some(false)
    }

    /// The pod spec's volumes that are objects, with their index.
    pub fn volumes(&self) -> Vec<(usize, &'a Value)> {
        get(self.spec, "volumes")
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_object())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Quotes like Go's `%q` for the messages (names and values are quoted JSON strings).
pub(crate) fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
}

/// `"a", "b"` — upstream's `joinQuote`.
pub(crate) fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| quote(s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}
