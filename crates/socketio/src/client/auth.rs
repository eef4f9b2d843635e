//! The `auth` of a socket: the credentials its CONNECT packet carries, either a fixed object or
//! an asynchronous function evaluated at every (re)connection; and the CONNECT payload itself,
//! which adds the connection-state-recovery fields (PROTOCOL-FACTS §7).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

use crate::{Map, Value, to_value};

type AuthFuture = Pin<Box<dyn Future<Output = Option<Map>> + Send>>;

/// The credentials of a socket.
#[derive(Clone, Default)]
pub(crate) enum Auth {
    /// No payload: the server sees `{}`.
    #[default]
    None,
    /// The same object at every connection.
    Static(Map),
    /// Called at every connection; what it resolves to is sent.
    Dynamic(Arc<dyn Fn() -> AuthFuture + Send + Sync>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Static(m) => f.debug_tuple("Static").field(m).finish(),
            Auth::Dynamic(_) => f.write_str("Dynamic(..)"),
        }
    }
}

impl Auth {
    /// A fixed object. The CONNECT payload must be an object; anything else is logged and
    /// sent as no payload (the server would close the whole connection for it).
    pub(crate) fn fixed<T: Serialize + ?Sized>(auth: &T) -> Auth {
        object_of(to_value(auth)).map_or(Auth::None, Auth::Static)
    }

    /// A function evaluated at every connection.
    pub(crate) fn dynamic<F, Fut, T>(f: F) -> Auth
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + Send + 'static,
        T: Serialize,
    {
        Auth::Dynamic(Arc::new(move || {
            let fut = f();
            Box::pin(async move { object_of(to_value(&fut.await)) })
        }))
    }
}

/// The object of an auth value; `None` (with a log line) for anything else.
fn object_of(value: Result<Value, serde_json::Error>) -> Option<Map> {
    match value {
        Ok(Value::Object(map)) => Some(map),
        Ok(Value::Null) => None,
        Ok(other) => {
            tracing::warn!(auth = ?other, "socket.io client: auth must be an object; sending none");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "socket.io client: auth could not be serialized; sending none");
            None
        }
    }
}

/// The CONNECT payload: without a private id, the auth object as it is; with one (after a
/// connection with recovery on), `{pid, offset}` with the auth merged over it, auth keys
/// winning, as socket.io-client's `Object.assign({pid, offset}, auth)`. A missing offset is
/// left out, as `JSON.stringify` drops `undefined`.
pub(crate) fn connect_payload(
    pid: Option<&str>,
    offset: Option<&str>,
    auth: Option<Map>,
) -> Option<Map> {
    let Some(pid) = pid else {
        return auth;
    };
    let mut payload = Map::with_capacity(2 + auth.as_ref().map_or(0, Map::len));
    payload.insert("pid", Value::from(pid));
    if let Some(offset) = offset {
        payload.insert("offset", Value::from(offset));
    }
    for (key, value) in auth.into_iter().flatten() {
        payload.insert(key, value);
    }
    Some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(json: serde_json::Value) -> Map {
        match to_value(&json) {
            Ok(Value::Object(m)) => m,
            other => panic!("not an object: {other:?}"),
        }
    }

    fn json(m: &Option<Map>) -> String {
        let value = m.clone().map(Value::Object);
        serde_json::to_string(&value).unwrap_or_default()
    }

    #[test]
    fn without_a_private_id_the_payload_is_the_auth() {
        assert_eq!(connect_payload(None, Some("x"), None), None);
        let auth = map(serde_json::json!({"token": "t"}));
        assert_eq!(
            json(&connect_payload(None, None, Some(auth))),
            r#"{"token":"t"}"#
        );
    }

    #[test]
    fn recovery_fields_come_first_and_auth_keys_win() {
        let p = connect_payload(Some("P"), Some("O"), None);
        assert_eq!(json(&p), r#"{"pid":"P","offset":"O"}"#);
        let p = connect_payload(Some("P"), None, None);
        assert_eq!(json(&p), r#"{"pid":"P"}"#);
        let auth = map(serde_json::json!({"token": "t", "offset": "mine"}));
        let p = connect_payload(Some("P"), Some("O"), Some(auth));
        assert_eq!(json(&p), r#"{"pid":"P","offset":"mine","token":"t"}"#);
    }

    #[test]
    fn only_objects_are_sent_as_auth() {
        assert!(matches!(
            Auth::fixed(&serde_json::json!({"a": 1})),
            Auth::Static(_)
        ));
        assert!(matches!(Auth::fixed(&serde_json::json!([1])), Auth::None));
        assert!(matches!(Auth::fixed(&()), Auth::None));
    }
}
