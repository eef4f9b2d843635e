//! [`io`]: socket.io-client's `io(url)`, which shares one Manager (one connection) between the
//! sockets of all the namespaces of a server unless told otherwise (`forceNew`, `multiplex`).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use super::builder::SocketBuilder;
use super::error::ClientError;
use super::manager::{Manager, ManagerHandle, lock};
use super::options::ManagerOptions;
use super::url::ServerUrl;

/// The Managers `io` shares, by `scheme://host:port` + path. Weak, so that a Manager nobody
/// uses any more is closed and dropped as usual.
static MANAGERS: LazyLock<Mutex<HashMap<String, Weak<ManagerHandle>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// A socket for the namespace named by the URL's path (`/` when there is none), on the server
/// at `url`: `http://host[:port][/namespace][?query]`.
///
/// Like socket.io-client's `io(url, options)`, sockets of different namespaces of the same
/// server share one Manager, hence one connection; a new Manager is made when `options` say
/// [`force_new`](ManagerOptions::force_new) or `multiplex(false)`, or when the shared one
/// already has a socket for that namespace. `options` only apply to a new Manager.
///
/// Must be called within a tokio runtime.
///
/// ```no_run
/// use socketio::client::{io, ManagerOptions};
///
/// # fn run() -> Result<(), socketio::client::ClientError> {
/// let main = io("http://127.0.0.1:3000", ManagerOptions::default())?.build();
/// let admin = io("http://127.0.0.1:3000/admin", ManagerOptions::default())?.build();
/// // One connection for both.
/// # Ok(()) }
/// ```
pub fn io(url: &str, options: ManagerOptions) -> Result<SocketBuilder, ClientError> {
    let parsed = ServerUrl::parse(url)?;
    let namespace = parsed.namespace.clone();
    if options.force_new || !options.multiplex {
        return Ok(Manager::new(url, options)?.socket(&namespace));
    }
    let key = format!("{}{}", parsed.origin, options.path);
    let mut managers = lock(&MANAGERS);
    managers.retain(|_, m| m.strong_count() > 0);
    let cached = managers.get(&key).and_then(Weak::upgrade);
    let manager = match cached {
        Some(handle) if !lock(&handle.shared.sockets).contains_key(&namespace) => {
            Manager::from_handle(handle)
        }
        // Its socket for this namespace exists already: a second one needs its own connection.
        Some(_) => Manager::new(url, options)?,
        None => {
            let manager = Manager::new(url, options)?;
            managers.insert(key, Arc::downgrade(&manager.handle));
            manager
        }
    };
    drop(managers);
    Ok(manager.socket(&namespace))
}
