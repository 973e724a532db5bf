//! The site-wide budget of request-body bytes held in memory
//! (`server.max_buffered_bodies`): a body takes its bytes from it as they
//! arrive and gives them back when its request is done; past the budget a
//! new part is refused (503), so uploads can never take the host's memory.

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes of request bodies the site may hold at once.
pub struct BodyBudget {
    bytes: std::sync::Arc<Semaphore>,
}

/// Bytes taken from the budget, given back when dropped.
pub struct HeldBytes(Option<OwnedSemaphorePermit>);

impl BodyBudget {
    /// A budget of `total` bytes.
    pub fn new(total: u64) -> Self {
        let total = usize::try_from(total)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        Self {
            bytes: std::sync::Arc::new(Semaphore::new(total)),
        }
    }

    /// The default: a quarter of this machine's memory (1 GiB where it
    /// cannot be read).
    pub fn default_total() -> u64 {
        crate::heap::machine_memory().map_or(1 << 30, |total| total / 4)
    }

    /// Nothing held yet.
    pub fn none() -> HeldBytes {
        HeldBytes(None)
    }

    /// Takes `count` more bytes into `held`; false when the budget has not
    /// that many left.
    pub fn take(&self, held: &mut HeldBytes, count: usize) -> bool {
        let Ok(count) = u32::try_from(count) else {
            return false;
        };
        match self.bytes.clone().try_acquire_many_owned(count) {
            Ok(more) => {
                match &mut held.0 {
                    Some(permit) => permit.merge(more),
                    None => held.0 = Some(more),
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Bytes not held right now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_taken_up_to_the_budget_and_given_back_when_dropped() {
        let budget = BodyBudget::new(100);
        let mut first = BodyBudget::none();
        assert!(budget.take(&mut first, 60));
        assert!(budget.take(&mut first, 30));
        let mut second = BodyBudget::none();
        assert!(!budget.take(&mut second, 20), "only 10 left");
        assert!(budget.take(&mut second, 10));
        assert_eq!(budget.available(), 0);
        drop(first);
        assert_eq!(budget.available(), 90);
        assert!(BodyBudget::default_total() >= 1 << 20);
    }
}
