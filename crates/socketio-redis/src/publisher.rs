//! The publishing side: a multiplexed connection that reconnects by itself
//! (`ConnectionManager`), and a task that sends queued messages in order, as pipelines, so that
//! broadcasts leave in the order they were made without a round trip each.

use std::time::Duration;

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::mpsc;

/// Messages sent in one pipeline at most.
const BATCH: usize = 256;

/// A queued PUBLISH.
type Message = (String, Bytes);

/// Publishes messages and runs the few commands the adapters need (`PUBSUB NUMSUB`).
#[derive(Clone)]
pub(crate) struct Publisher {
    queue: mpsc::UnboundedSender<Message>,
    conn: ConnectionManager,
}

impl Publisher {
    /// Connects (failing if Redis cannot be reached now) and starts the publishing task.
    pub(crate) async fn connect(client: redis::Client) -> redis::RedisResult<Publisher> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(5)));
        let conn = ConnectionManager::new_with_config(client, config).await?;
        let (queue, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(conn.clone(), rx));
        Ok(Publisher { queue, conn })
    }

    /// Queues a PUBLISH; messages leave in the order queued.
    pub(crate) fn publish(&self, channel: String, payload: Bytes) {
        let _ = self.queue.send((channel, payload));
    }

    /// How many connections are subscribed to `channel` (`PUBSUB NUMSUB`).
    pub(crate) async fn numsub(&self, channel: &str) -> redis::RedisResult<usize> {
        let mut conn = self.conn.clone();
        let (_, count): (redis::Value, usize) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channel)
            .query_async(&mut conn)
            .await?;
        Ok(count)
    }
}

async fn run(mut conn: ConnectionManager, mut queue: mpsc::UnboundedReceiver<Message>) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        for (channel, payload) in &batch {
            pipe.cmd("PUBLISH").arg(channel).arg(&payload[..]).ignore();
        }
        let mut attempt = 1;
        loop {
            match pipe.query_async::<()>(&mut conn).await {
                Ok(()) => break,
                // The first command after Redis restarted fails on the dead connection; the
                // manager reconnects when it sees that, and the next attempt waits for it.
                Err(e) if attempt < ATTEMPTS && is_connection_error(&e) => {
                    tracing::debug!(error = %e, attempt, "redis publisher: retrying after a connection error");
                    attempt += 1;
                }
                Err(e) => {
                    // Redis is out of reach: drop this batch and what queued up meanwhile,
                    // so that memory stays bounded while it is down (pub/sub is at most once).
                    let mut dropped = batch.len();
                    while queue.try_recv().is_ok() {
                        dropped += 1;
                    }
                    tracing::warn!(error = %e, dropped, "redis publisher: publish failed, messages dropped");
                    break;
                }
            }
        }
        batch.clear();
    }
}

/// Attempts at publishing one batch.
const ATTEMPTS: u32 = 3;

fn is_connection_error(e: &redis::RedisError) -> bool {
    e.is_connection_dropped() || e.is_io_error() || e.is_connection_refusal() || e.is_timeout()
}
