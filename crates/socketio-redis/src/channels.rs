//! The channel names of one namespace, as `@socket.io/redis-adapter` names them.

/// The channels of a namespace for the classic adapter, with prefix `key`:
/// `<key>#<nsp>#` (broadcasts), `<key>#<nsp>#<room>#` (broadcasts to one room),
/// `<key>-request#<nsp>#`, `<key>-response#<nsp>#` and `<key>-response#<nsp>#<uid>#`.
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    /// `<key>#<nsp>#`.
    pub(crate) broadcast: String,
    /// The pattern matching every broadcast channel of the namespace.
    pub(crate) pattern: String,
    /// `<key>-request#<nsp>#`.
    pub(crate) request: String,
    /// `<key>-response#<nsp>#`.
    pub(crate) response: String,
    /// `<key>-response#<nsp>#<uid>#`.
    pub(crate) specific_response: String,
}

impl Channels {
    pub(crate) fn new(key: &str, nsp: &str, uid: &str) -> Channels {
        let broadcast = format!("{key}#{nsp}#");
        let response = format!("{key}-response#{nsp}#");
        Channels {
            pattern: format!("{}*", glob_escape(&broadcast)),
            specific_response: format!("{response}{uid}#"),
            request: format!("{key}-request#{nsp}#"),
            response,
            broadcast,
        }
    }

    /// The channel of a broadcast to exactly one room.
    pub(crate) fn room(&self, room: &str) -> String {
        format!("{}{room}#", self.broadcast)
    }

    /// The room of a broadcast channel: `Some("")` for the namespace channel, `None` for a
    /// channel of another namespace.
    pub(crate) fn room_of<'a>(&self, channel: &'a str) -> Option<&'a str> {
        let rest = channel.strip_prefix(self.broadcast.as_str())?;
        if rest.is_empty() {
            return Some("");
        }
        rest.strip_suffix('#')
    }

    /// Where an answer to the server `uid` goes.
    pub(crate) fn response_to(&self, uid: &str) -> String {
        format!("{}{uid}#", self.response)
    }
}

/// `text` with Redis glob characters escaped, so that a namespace or key containing `*`, `?`,
/// `[` or `\` matches itself only.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_node_adapter() {
        let c = Channels::new("socket.io", "/", "abc123");
        assert_eq!(c.broadcast, "socket.io#/#");
        assert_eq!(c.pattern, "socket.io#/#*");
        assert_eq!(c.request, "socket.io-request#/#");
        assert_eq!(c.response, "socket.io-response#/#");
        assert_eq!(c.specific_response, "socket.io-response#/#abc123#");
        assert_eq!(c.room("r1"), "socket.io#/#r1#");
        assert_eq!(c.room_of("socket.io#/#r1#"), Some("r1"));
        assert_eq!(c.room_of("socket.io#/#"), Some(""));
        assert_eq!(c.room_of("socket.io#/chat#"), None);
        assert_eq!(Channels::new("k*", "/", "u").pattern, "k\\*#/#*");
    }
}
