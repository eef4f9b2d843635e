//! Timers for many sessions at the cost of one: deadlines that all share a few fixed delays,
//! kept in first-in first-out order and served by a single task.
//!
//! A server needs the same timers for every session (the next ping, the pong's deadline, the
//! Socket.IO connect timeout). One tokio task and timer per session costs memory and CPU at
//! every handshake; here a timer is an entry pushed at the back of a queue. Every entry of a
//! lane has the same delay, so entries pushed later are due later: the queue stays ordered
//! without sorting, the front is always the next one due, and pushing or taking one is O(1).
//!
//! The task starts with the first entry and ends when every [`TimerLease`] is gone (no
//! session needs a timer any more) or when the queue is [stopped](TimerQueue::stop). Entries
//! are not removed when their session no longer needs them: the callback checks, when an
//! entry comes due, whether it still applies (a weak reference and a generation number do).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;

/// How many due entries are handled before the task yields to others.
const BATCH: usize = 512;

type Fire<T> = Box<dyn Fn(usize, T) + Send + Sync>;

/// Deadlines of many sessions, served by one task (see the module's documentation).
///
/// `T` is what comes back when an entry is due, typically a weak reference to the session
/// and a generation number.
pub struct TimerQueue<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for TimerQueue<T> {
    fn clone(&self) -> Self {
        TimerQueue {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> std::fmt::Debug for TimerQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerQueue")
            .field("delays", &self.inner.delays)
            .finish_non_exhaustive()
    }
}

struct Inner<T> {
    /// The delay of each lane.
    delays: Vec<Duration>,
    state: Mutex<State<T>>,
    /// Wakes the task when a lane that was empty gets an entry, which may be due before the
    /// one the task sleeps for.
    wake: Notify,
    fire: Fire<T>,
}

struct State<T> {
    lanes: Vec<VecDeque<(Instant, T)>>,
    /// How many leases are alive.
    leases: usize,
    task: Option<AbortHandle>,
    stopped: bool,
}

impl<T> State<T> {
    fn next_due(&self) -> Option<Instant> {
        self.lanes
            .iter()
            .filter_map(|lane| lane.front().map(|(at, _)| *at))
            .min()
    }

    fn end_task(&mut self) {
        for lane in &mut self.lanes {
            lane.clear();
            lane.shrink_to_fit();
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // The state is a queue of entries: a panic while it is held leaves it usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A session's claim on a [`TimerQueue`]: while any lease is alive the queue's task runs;
/// once the last one is dropped, the pending entries are discarded and the task ends.
pub struct TimerLease<T> {
    inner: Arc<Inner<T>>,
}

impl<T> std::fmt::Debug for TimerLease<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimerLease").finish_non_exhaustive()
    }
}

impl<T> Drop for TimerLease<T> {
    fn drop(&mut self) {
        let mut st = self.inner.lock();
        st.leases = st.leases.saturating_sub(1);
        if st.leases == 0 {
            st.end_task();
        }
    }
}

impl<T: Send + 'static> TimerQueue<T> {
    /// A queue with one lane per delay; `fire(lane, item)` is called on the queue's task
    /// when an entry is due. It must not block.
    pub fn new(delays: Vec<Duration>, fire: impl Fn(usize, T) + Send + Sync + 'static) -> Self {
        let lanes = delays.iter().map(|_| VecDeque::new()).collect();
        TimerQueue {
            inner: Arc::new(Inner {
                delays,
                state: Mutex::new(State {
                    lanes,
                    leases: 0,
                    task: None,
                    stopped: false,
                }),
                wake: Notify::new(),
                fire: Box::new(fire),
            }),
        }
    }

    /// A lease, to be held while its holder may still schedule entries.
    pub fn lease(&self) -> TimerLease<T> {
        self.inner.lock().leases += 1;
        TimerLease {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Schedules `item` to come back after the delay of `lane`. Does nothing once the queue
    /// is stopped, when no lease is alive, or for a lane that does not exist. Must be called
    /// within a tokio runtime (the queue's task is started here).
    pub fn schedule(&self, lane: usize, item: T) {
        let mut st = self.inner.lock();
        if st.stopped || st.leases == 0 {
            return;
        }
        let Some(delay) = self.inner.delays.get(lane).copied() else {
            return;
        };
        let at = Instant::now() + delay;
        let Some(entries) = st.lanes.get_mut(lane) else {
            return;
        };
        let was_empty = entries.is_empty();
        entries.push_back((at, item));
        if st.task.is_none() {
            let task = tokio::spawn(run(Arc::clone(&self.inner)));
            st.task = Some(task.abort_handle());
        } else if was_empty {
            drop(st);
            self.inner.wake.notify_one();
        }
    }

    /// Discards every pending entry and ends the task; later entries are ignored.
    pub fn stop(&self) {
        let mut st = self.inner.lock();
        st.stopped = true;
        st.end_task();
    }

    /// How many entries are pending, live or not.
    pub fn pending(&self) -> usize {
        self.inner.lock().lanes.iter().map(VecDeque::len).sum()
    }
}

/// The queue's task: sleeps until the next entry is due and hands due entries to the
/// callback, oldest first.
async fn run<T: Send + 'static>(inner: Arc<Inner<T>>) {
    let mut due: Vec<(usize, T)> = Vec::new();
    loop {
        let next = {
            let mut st = inner.lock();
            let now = Instant::now();
            for (lane, entries) in st.lanes.iter_mut().enumerate() {
                while due.len() < BATCH && entries.front().is_some_and(|(at, _)| *at <= now) {
                    if let Some((_, item)) = entries.pop_front() {
                        due.push((lane, item));
                    }
                }
            }
            if due.is_empty() {
                match st.next_due() {
                    Some(at) => Some(at),
                    None => {
                        st.task = None;
                        return;
                    }
                }
            } else {
                None
            }
        };
        match next {
            Some(at) => {
                let wake = inner.wake.notified();
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = wake => {}
                }
            }
            None => {
                let batch = due.len();
                for (lane, item) in due.drain(..) {
                    (inner.fire)(lane, item);
                }
                if batch == BATCH {
                    tokio::task::yield_now().await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    async fn no_task_beyond(before: usize) {
        let metrics = tokio::runtime::Handle::current().metrics();
        // The watchdog only bounds a failing run.
        let mut waited = 0;
        while metrics.num_alive_tasks() > before {
            assert!(waited < 2000, "the queue's task still runs");
            tokio::time::sleep(Duration::from_millis(5)).await;
            waited += 1;
        }
    }

    #[tokio::test]
    async fn an_entry_of_a_shorter_lane_fires_first_and_in_order() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let queue = TimerQueue::new(
            vec![Duration::from_secs(60), Duration::from_millis(1)],
            move |lane, item: u32| {
                let _ = tx.send((lane, item));
            },
        );
        let _lease = queue.lease();
        queue.schedule(0, 1);
        queue.schedule(1, 2);
        queue.schedule(1, 3);
        assert_eq!(rx.recv().await, Some((1, 2)));
        assert_eq!(rx.recv().await, Some((1, 3)));
        assert_eq!(queue.pending(), 1);
        queue.stop();
    }

    #[tokio::test]
    async fn the_task_ends_with_the_last_lease_and_restarts_with_the_next() {
        let before = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let queue = TimerQueue::new(vec![Duration::from_millis(1)], move |_, item: u32| {
            let _ = tx.send(item);
        });
        // Without a lease nothing is scheduled.
        queue.schedule(0, 0);
        assert_eq!(queue.pending(), 0);
        let a = queue.lease();
        let b = queue.lease();
        queue.schedule(0, 1);
        assert_eq!(rx.recv().await, Some(1));
        queue.schedule(0, 2);
        assert_eq!(rx.recv().await, Some(2));
        // Far entries are discarded with the last lease, and the task ends.
        let queue_far = TimerQueue::new(vec![Duration::from_secs(60)], |_, _: u32| {});
        let far = queue_far.lease();
        queue_far.schedule(0, 3);
        drop((a, b, far));
        assert_eq!(queue_far.pending(), 0);
        no_task_beyond(before).await;
        let c = queue.lease();
        queue.schedule(0, 4);
        assert_eq!(rx.recv().await, Some(4));
        drop(c);
        no_task_beyond(before).await;
    }

    #[tokio::test]
    async fn a_stopped_queue_schedules_nothing_and_leaves_no_task() {
        let before = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        let queue = TimerQueue::new(vec![Duration::from_secs(60)], |_, _: u32| {});
        let _lease = queue.lease();
        queue.schedule(0, 1);
        assert_eq!(queue.pending(), 1);
        queue.stop();
        queue.schedule(0, 2);
        assert_eq!(queue.pending(), 0);
        no_task_beyond(before).await;
    }
}
