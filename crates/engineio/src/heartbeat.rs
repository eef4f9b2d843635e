//! The server's heartbeat (v4): ping every `pingInterval`, close after `pingTimeout` without a
//! pong. Other traffic does not reset either timer, as in Node.

use std::sync::Arc;

use crate::packet::Frame;
use crate::socket::{CloseReason, Phase, Socket};

/// Starts the heartbeat of a new session. Its task is aborted when the session closes.
pub(crate) fn start<D: Default + Send + Sync + 'static>(socket: &Arc<Socket<D>>) {
    let task = tokio::spawn(run(Arc::clone(socket)));
    socket.lock().heartbeat = Some(task.abort_handle());
}

async fn run<D: Default + Send + Sync + 'static>(socket: Arc<Socket<D>>) {
    let interval = socket.engine.config.ping_interval;
    let timeout = socket.engine.config.ping_timeout;
    loop {
        tokio::time::sleep(interval).await;
        {
            let mut st = socket.lock();
            if st.phase != Phase::Open {
                return;
            }
            st.awaiting_pong = true;
        }
        // Created before the ping goes out, so a pong that beats us here still counts.
        let pong = socket.pong.notified();
        socket.push_control(Frame::ping());
        if tokio::time::timeout(timeout, pong).await.is_err() {
            socket.finish(CloseReason::PingTimeout);
            return;
        }
    }
}
