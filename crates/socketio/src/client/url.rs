//! The server URL a client is given: `http://host[:port][/namespace][?query]`. The path names
//! the namespace (as in `io("http://host/chat")`); the query goes to every Engine.IO request.

use smol_str::SmolStr;

use super::error::ClientError;
use crate::MAIN_NAMESPACE;

/// A checked server URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerUrl {
    /// The URL as given, for the Engine.IO client (which reads the host, port and query, and
    /// not the path).
    pub(crate) url: String,
    /// `scheme://host:port`, what socket.io-client's Manager cache is keyed by (with the path
    /// option).
    pub(crate) origin: String,
    /// The namespace named by the path, `/` when there is none.
    pub(crate) namespace: SmolStr,
}

impl ServerUrl {
    pub(crate) fn parse(url: &str) -> Result<ServerUrl, ClientError> {
        let uri: http::Uri = url
            .parse()
            .map_err(|_| ClientError::invalid_url(format!("cannot parse {url:?}")))?;
        let scheme = match uri.scheme_str() {
            Some(s @ ("http" | "ws")) => s,
            // The Engine.IO client has no TLS yet: refusing here beats a reconnection loop
            // that can never succeed.
            Some("https" | "wss") => {
                return Err(ClientError::invalid_url(format!(
                    "{url:?}: TLS (https, wss) is not supported yet"
                )));
            }
            _ => {
                return Err(ClientError::invalid_url(format!(
                    "{url:?}: the scheme must be http or ws"
                )));
            }
        };
        let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
            return Err(ClientError::invalid_url(format!("{url:?} has no host")));
        };
        let port = uri.port_u16().unwrap_or(80);
        let path = uri.path();
        let namespace = if path.is_empty() || path == MAIN_NAMESPACE {
            SmolStr::new_static(MAIN_NAMESPACE)
        } else {
            SmolStr::new(path)
        };
        if namespace.contains(',') {
            return Err(ClientError::invalid_url(format!(
                "{url:?}: a namespace cannot contain ','"
            )));
        }
        Ok(ServerUrl {
            url: url.to_owned(),
            origin: format!("{scheme}://{host}:{port}"),
            namespace,
        })
    }
}

/// A namespace as the application wrote it, with the leading `/` the protocol needs.
pub(crate) fn namespace(nsp: &str) -> SmolStr {
    if nsp.starts_with('/') {
        SmolStr::new(nsp)
    } else {
        SmolStr::new(format!("/{nsp}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_names_the_namespace() {
        let u =
            ServerUrl::parse("http://127.0.0.1:3000/chat?x=1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.namespace, "/chat");
        assert_eq!(u.origin, "http://127.0.0.1:3000");
        assert_eq!(u.url, "http://127.0.0.1:3000/chat?x=1");
        for main in [
            "http://localhost",
            "http://localhost/",
            "ws://localhost:80/?a=b",
        ] {
            let u = ServerUrl::parse(main).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(u.namespace, "/", "{main}");
            assert_eq!(u.origin.rsplit(':').next(), Some("80"));
        }
    }

    #[test]
    fn unusable_urls_are_refused() {
        for bad in [
            "",
            "localhost:3000",
            "ftp://host/",
            "https://host/",
            "http:///x",
            "http://h/a,b",
        ] {
            let e = ServerUrl::parse(bad).err();
            assert!(e.is_some_and(|e| e.is_invalid_url()), "{bad:?}");
        }
    }

    #[test]
    fn namespaces_get_a_leading_slash() {
        assert_eq!(namespace("chat"), "/chat");
        assert_eq!(namespace("/chat"), "/chat");
        assert_eq!(namespace("/"), "/");
    }
}
