//! The subscriber connection: one Redis pub/sub connection per adapter factory, shared by
//! every namespace, and the task that reads it.
//!
//! What should be subscribed lives in a registry (channel or pattern → route), changed
//! synchronously by the adapters; the task applies each change to the connection in order.
//! When the connection drops (Redis restarted, network cut, a keep-alive PING unanswered) the
//! task reconnects with a growing delay and subscribes to the whole registry again, so a
//! Redis restart only loses what was published while nobody was subscribed. Errors go to
//! `tracing`; nothing here panics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{PubSub, PubSubSink};
use tokio::sync::{mpsc, oneshot, watch};

/// First delay before a reconnection attempt; doubled after each failure.
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest delay between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often an idle connection is checked with a PING.
const PING_INTERVAL: Duration = Duration::from_secs(5);
/// How long a PING (or a subscription) may take before the connection is deemed dead.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// Channels per SUBSCRIBE when subscribing again after a reconnection.
const RESUBSCRIBE_CHUNK: usize = 500;

/// What a message is, by the subscription it came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteKind {
    /// A broadcast: the namespace channel or a room channel.
    Broadcast,
    /// A request from another server.
    Request,
    /// A response to one of this server's requests.
    Response,
}

/// Receives the messages of its subscriptions.
pub(crate) trait MessageHandler: Send + Sync {
    /// Handles one message; runs on the subscriber task, so it must not block.
    fn on_message(&self, kind: RouteKind, channel: &str, payload: &[u8]);
}

/// Where the messages of one subscription go.
#[derive(Clone)]
pub(crate) struct Route {
    pub(crate) handler: Weak<dyn MessageHandler>,
    pub(crate) kind: RouteKind,
}

#[derive(Default)]
struct Registry {
    channels: HashMap<String, Route>,
    patterns: HashMap<String, Route>,
}

enum Command {
    Subscribe(Vec<String>),
    Unsubscribe(Vec<String>),
    PSubscribe(Vec<String>),
    PUnsubscribe(Vec<String>),
    /// Answered once every earlier change is active on Redis.
    Barrier(oneshot::Sender<()>),
}

/// The handle the adapters use: changes to the subscriptions, and the connection state.
#[derive(Clone)]
pub(crate) struct Subscriber {
    registry: Arc<Mutex<Registry>>,
    commands: mpsc::UnboundedSender<Command>,
    /// Counts successful (re)subscriptions: 1 after the first connection.
    generation: watch::Receiver<u64>,
}

fn lock(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(|e| e.into_inner())
}

impl Subscriber {
    /// Opens the connection (failing if Redis cannot be reached now) and starts the task.
    pub(crate) async fn connect(client: redis::Client) -> redis::RedisResult<Subscriber> {
        let first = client.get_async_pubsub().await?;
        let registry = Arc::new(Mutex::new(Registry::default()));
        let (commands, rx) = mpsc::unbounded_channel();
        let (generation_tx, generation) = watch::channel(0);
        tokio::spawn(run(
            client,
            Arc::clone(&registry),
            rx,
            Some(first),
            generation_tx,
        ));
        Ok(Subscriber {
            registry,
            commands,
            generation,
        })
    }

    /// Subscribes to channels.
    pub(crate) fn subscribe(&self, channels: Vec<(String, Route)>) {
        let names = {
            let mut registry = lock(&self.registry);
            channels
                .into_iter()
                .map(|(name, route)| {
                    registry.channels.insert(name.clone(), route);
                    name
                })
                .collect()
        };
        let _ = self.commands.send(Command::Subscribe(names));
    }

    /// Unsubscribes from channels.
    pub(crate) fn unsubscribe(&self, channels: Vec<String>) {
        {
            let mut registry = lock(&self.registry);
            for name in &channels {
                registry.channels.remove(name);
            }
        }
        let _ = self.commands.send(Command::Unsubscribe(channels));
    }

    /// Subscribes to patterns.
    pub(crate) fn psubscribe(&self, patterns: Vec<(String, Route)>) {
        let names = {
            let mut registry = lock(&self.registry);
            patterns
                .into_iter()
                .map(|(name, route)| {
                    registry.patterns.insert(name.clone(), route);
                    name
                })
                .collect()
        };
        let _ = self.commands.send(Command::PSubscribe(names));
    }

    /// Unsubscribes from patterns.
    pub(crate) fn punsubscribe(&self, patterns: Vec<String>) {
        {
            let mut registry = lock(&self.registry);
            for name in &patterns {
                registry.patterns.remove(name);
            }
        }
        let _ = self.commands.send(Command::PUnsubscribe(patterns));
    }

    /// Resolves once every change asked for so far is active on Redis (after a reconnection
    /// if one is under way).
    pub(crate) async fn ready(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Barrier(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// How many channels (not patterns) are subscribed.
    pub(crate) fn channel_count(&self) -> usize {
        lock(&self.registry).channels.len()
    }

    /// A watch of the number of successful (re)subscriptions.
    pub(crate) fn generation(&self) -> watch::Receiver<u64> {
        self.generation.clone()
    }
}

/// The task: connect, subscribe to the registry, read messages and apply changes until the
/// connection drops, then again.
async fn run(
    client: redis::Client,
    registry: Arc<Mutex<Registry>>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut first: Option<PubSub>,
    generation: watch::Sender<u64>,
) {
    let mut backoff = MIN_BACKOFF;
    let mut barriers = Vec::new();
    loop {
        if commands.is_closed() {
            return;
        }
        let pubsub = match first.take() {
            Some(p) => Ok(p),
            None => client.get_async_pubsub().await,
        };
        let pubsub = match pubsub {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "redis subscriber: cannot connect");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        // Changes queued until now are in the registry already; barriers are answered once
        // the registry is subscribed.
        while let Ok(command) = commands.try_recv() {
            if let Command::Barrier(tx) = command {
                barriers.push(tx);
            }
        }
        if let Err(e) = resubscribe(&mut sink, &registry).await {
            tracing::warn!(error = %e, retry_in = ?backoff, "redis subscriber: cannot subscribe");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            continue;
        }
        for tx in barriers.drain(..) {
            let _ = tx.send(());
        }
        backoff = MIN_BACKOFF;
        generation.send_modify(|g| *g += 1);
        tracing::debug!(
            generation = *generation.borrow(),
            "redis subscriber: subscribed"
        );
        let mut ping = tokio::time::interval(PING_INTERVAL);
        ping.tick().await;
        loop {
            tokio::select! {
                msg = stream.next() => match msg {
                    Some(msg) => dispatch(&registry, &msg),
                    None => {
                        tracing::warn!("redis subscriber: connection lost, reconnecting");
                        break;
                    }
                },
                command = commands.recv() => match command {
                    Some(Command::Barrier(tx)) => {
                        let _ = tx.send(());
                    }
                    Some(command) => {
                        if let Err(e) = apply(&mut sink, command).await {
                            tracing::warn!(error = %e, "redis subscriber: subscription failed, reconnecting");
                            break;
                        }
                    }
                    None => return,
                },
                _ = ping.tick() => {
                    let pong = tokio::time::timeout(COMMAND_TIMEOUT, sink.ping::<redis::Value>()).await;
                    if !matches!(pong, Ok(Ok(_))) {
                        tracing::warn!("redis subscriber: PING unanswered, reconnecting");
                        break;
                    }
                }
            }
        }
    }
}

async fn resubscribe(sink: &mut PubSubSink, registry: &Mutex<Registry>) -> redis::RedisResult<()> {
    let (channels, patterns): (Vec<String>, Vec<String>) = {
        let registry = lock(registry);
        (
            registry.channels.keys().cloned().collect(),
            registry.patterns.keys().cloned().collect(),
        )
    };
    for chunk in channels.chunks(RESUBSCRIBE_CHUNK) {
        apply(sink, Command::Subscribe(chunk.to_vec())).await?;
    }
    for chunk in patterns.chunks(RESUBSCRIBE_CHUNK) {
        apply(sink, Command::PSubscribe(chunk.to_vec())).await?;
    }
    Ok(())
}

async fn apply(sink: &mut PubSubSink, command: Command) -> redis::RedisResult<()> {
    let result = match command {
        Command::Subscribe(names) if !names.is_empty() => {
            tokio::time::timeout(COMMAND_TIMEOUT, sink.subscribe(names)).await
        }
        Command::Unsubscribe(names) if !names.is_empty() => {
            tokio::time::timeout(COMMAND_TIMEOUT, sink.unsubscribe(names)).await
        }
        Command::PSubscribe(names) if !names.is_empty() => {
            tokio::time::timeout(COMMAND_TIMEOUT, sink.psubscribe(names)).await
        }
        Command::PUnsubscribe(names) if !names.is_empty() => {
            tokio::time::timeout(COMMAND_TIMEOUT, sink.punsubscribe(names)).await
        }
        Command::Barrier(tx) => {
            let _ = tx.send(());
            return Ok(());
        }
        _ => return Ok(()),
    };
    result.unwrap_or_else(|_| {
        Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "subscription timed out",
        )))
    })
}

fn dispatch(registry: &Mutex<Registry>, msg: &redis::Msg) {
    let channel = msg.get_channel_name();
    let route = {
        let registry = lock(registry);
        match msg.get_pattern::<Option<String>>() {
            Ok(Some(pattern)) => registry.patterns.get(&pattern).cloned(),
            _ => registry.channels.get(channel).cloned(),
        }
    };
    let Some(route) = route else {
        tracing::trace!(
            channel,
            "redis subscriber: message on a channel no longer wanted"
        );
        return;
    };
    if let Some(handler) = route.handler.upgrade() {
        handler.on_message(route.kind, channel, msg.get_payload_bytes());
    }
}
