//! Cross-origin resource sharing, answering as the npm `cors` package does for engine.io:
//! `Access-Control-Allow-*` headers on every response of the server, and preflights answered
//! with 204.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, header};

/// Which origins are allowed.
#[derive(Clone)]
pub enum Origin {
    /// Any origin: `Access-Control-Allow-Origin: *`.
    Any,
    /// Reflect the request's origin, whatever it is.
    Mirror,
    /// Only these origins (compared exactly); the request's origin is reflected when listed.
    List(Vec<String>),
    /// A predicate on the request's origin.
    Predicate(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Any => f.write_str("Any"),
            Origin::Mirror => f.write_str("Mirror"),
            Origin::List(l) => f.debug_tuple("List").field(l).finish(),
            Origin::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

/// CORS options. The defaults are those of the npm `cors` package.
///
/// ```
/// use engineio::{Cors, Origin};
/// let cors = Cors::new(Origin::List(vec!["https://app.example".into()])).credentials(true);
/// # let _ = cors;
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    origin: Origin,
    credentials: bool,
    methods: String,
    allowed_headers: Option<String>,
    exposed_headers: Option<String>,
    max_age: Option<u64>,
}

impl Cors {
    /// CORS for these origins, with the npm `cors` defaults for everything else (methods
    /// `GET,HEAD,PUT,PATCH,POST,DELETE`, allowed headers reflected from the preflight, no
    /// credentials).
    pub fn new(origin: Origin) -> Self {
        Cors {
            origin,
            credentials: false,
            methods: "GET,HEAD,PUT,PATCH,POST,DELETE".to_owned(),
            allowed_headers: None,
            exposed_headers: None,
            max_age: None,
        }
    }

    /// Sends `Access-Control-Allow-Credentials: true`.
    #[must_use]
    pub fn credentials(mut self, allow: bool) -> Self {
        self.credentials = allow;
        self
    }

    /// The allowed methods of a preflight.
    #[must_use]
    pub fn methods(mut self, methods: &[&str]) -> Self {
        self.methods = methods.join(",");
        self
    }

    /// The allowed headers of a preflight (default: those the preflight asks for).
    #[must_use]
    pub fn allowed_headers(mut self, headers: &[&str]) -> Self {
        self.allowed_headers = Some(headers.join(","));
        self
    }

    /// `Access-Control-Expose-Headers`.
    #[must_use]
    pub fn exposed_headers(mut self, headers: &[&str]) -> Self {
        self.exposed_headers = Some(headers.join(","));
        self
    }

    /// `Access-Control-Max-Age` of a preflight, in seconds.
    #[must_use]
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }

    /// Adds the headers of an actual (non-preflight) response.
    pub(crate) fn apply(&self, request: &HeaderMap, out: &mut HeaderMap) {
        self.apply_origin(request, out);
        if self.credentials {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Some(v) = self
            .exposed_headers
            .as_deref()
            .and_then(|e| HeaderValue::from_str(e).ok())
        {
            out.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
        }
    }

    /// Adds the headers of a preflight response.
    pub(crate) fn apply_preflight(&self, request: &HeaderMap, out: &mut HeaderMap) {
        self.apply_origin(request, out);
        if self.credentials {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if let Ok(v) = HeaderValue::from_str(&self.methods) {
            out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
        }
        match &self.allowed_headers {
            Some(list) => {
                if let Ok(v) = HeaderValue::from_str(list) {
                    out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
                }
            }
            None => {
                if let Some(asked) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                    out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
                    out.append(
                        header::VARY,
                        HeaderValue::from_static("Access-Control-Request-Headers"),
                    );
                }
            }
        }
        if let Some(max_age) = self.max_age {
            out.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(max_age));
        }
        out.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    }

    fn apply_origin(&self, request: &HeaderMap, out: &mut HeaderMap) {
        let origin = request.get(header::ORIGIN);
        let reflected = match (&self.origin, origin) {
            (Origin::Any, _) => {
                out.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
                return;
            }
            (Origin::Mirror, Some(o)) => Some(o.clone()),
            (Origin::List(list), Some(o)) => o
                .to_str()
                .ok()
                .filter(|o| list.iter().any(|allowed| allowed == o))
                .map(|_| o.clone()),
            (Origin::Predicate(allow), Some(o)) => {
                o.to_str().ok().filter(|o| allow(o)).map(|_| o.clone())
            }
            (_, None) => None,
        };
        if let Some(v) = reflected {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        out.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}
