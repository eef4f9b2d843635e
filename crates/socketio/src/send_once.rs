//! [`SendOnce`]: the "answered already" flag of an acknowledgement, shared by the clones of the
//! event that asked for it, without an allocation for the usual event that is never cloned.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

/// Nobody answered through this flag, and it was never cloned.
const OPEN: u8 = 0;
/// Answered through this flag before it was cloned.
const TAKEN: u8 = 1;
/// Cloned: the flag shared with the clones decides.
const SHARED: u8 = 2;

/// Lets exactly one of a flag and its clones win [`take`](SendOnce::take). The shared flag is
/// made by the first clone, so an event with one listener allocates nothing for it.
pub(crate) struct SendOnce {
    state: AtomicU8,
    shared: OnceLock<Arc<AtomicBool>>,
}

impl SendOnce {
    pub(crate) fn new() -> Self {
        SendOnce {
            state: AtomicU8::new(OPEN),
            shared: OnceLock::new(),
        }
    }

    /// Whether this call is the first of the flag and all its clones.
    pub(crate) fn take(&self) -> bool {
        match self
            .state
            .compare_exchange(OPEN, TAKEN, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(TAKEN) => false,
            // SHARED: set before `clone` returned, together with `shared`.
            Err(_) => self
                .shared
                .get()
                .is_some_and(|shared| !shared.swap(true, Ordering::AcqRel)),
        }
    }
}

impl Clone for SendOnce {
    fn clone(&self) -> Self {
        let shared = Arc::clone(self.shared.get_or_init(|| Arc::new(AtomicBool::new(false))));
        // From here on this flag asks the shared one. If it was taken first (even by a call
        // racing with this clone), the shared flag says so before the clone exists.
        if let Err(TAKEN) =
            self.state
                .compare_exchange(OPEN, SHARED, Ordering::AcqRel, Ordering::Acquire)
        {
            shared.store(true, Ordering::Release);
        }
        SendOnce {
            state: AtomicU8::new(SHARED),
            shared: OnceLock::from(shared),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_take_wins() {
        let flag = SendOnce::new();
        assert!(flag.take());
        assert!(!flag.take());
    }

    #[test]
    fn a_flag_and_its_clones_are_taken_once_in_all() {
        let flag = SendOnce::new();
        let a = flag.clone();
        let b = a.clone();
        assert!(b.take());
        assert!(!flag.take());
        assert!(!a.take());
        assert!(!b.take());
    }

    #[test]
    fn a_clone_of_a_taken_flag_is_taken() {
        let flag = SendOnce::new();
        assert!(flag.take());
        let clone = flag.clone();
        assert!(!clone.take());
        assert!(!flag.take());
    }

    #[test]
    fn racing_takes_and_clones_let_exactly_one_win() {
        for _ in 0..200 {
            let flag = Arc::new(SendOnce::new());
            let wins = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let threads: Vec<_> = (0..4)
                .map(|i| {
                    let flag = Arc::clone(&flag);
                    let wins = Arc::clone(&wins);
                    std::thread::spawn(move || {
                        // Half the threads take through a fresh clone, half through the flag.
                        let won = if i % 2 == 0 {
                            flag.clone().take()
                        } else {
                            flag.take()
                        };
                        if won {
                            wins.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().expect("no panic");
            }
            assert_eq!(wins.load(Ordering::SeqCst), 1);
        }
    }
}
