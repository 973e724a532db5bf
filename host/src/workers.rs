//! Worker threads and their shares of each app's instances.
//!
//! The public listener is served by `server.workers` threads, each running an
//! event loop of its own (thread per core): a request is parsed, dispatched
//! into a guest and answered on one thread, with no hand-offs between cores.
//! Each app's instances are split into shards, one per worker (fewer when an
//! app has fewer instances than there are workers, and then workers share
//! one); a worker takes instances only from its own shard. The HTTP server numbers its threads with [`enter`]; the pools
//! read the number with [`current`].

use std::cell::Cell;

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

/// Marks the calling thread as worker `index` (threads not marked are 0).
pub fn enter(index: usize) {
    CURRENT.set(index);
}

/// The number of the worker running on this thread (0 if none was entered).
pub fn current() -> usize {
    CURRENT.get()
}

/// How `instances` are split between `workers`: one shard per worker (at most
/// one per instance), sizes differing by at most one, largest first.
pub fn shard_sizes(instances: u32, workers: usize) -> Vec<u32> {
    let shards = (workers.max(1) as u32).min(instances.max(1));
    (0..shards)
        .map(|index| instances / shards + u32::from(index < instances % shards))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_split_evenly_between_workers() {
        let cases: &[(u32, usize, &[u32])] = &[
            (4, 1, &[4]),
            (4, 2, &[2, 2]),
            (5, 2, &[3, 2]),
            (4, 3, &[2, 1, 1]),
            (2, 8, &[1, 1]),
            (1, 2, &[1]),
            (7, 7, &[1; 7]),
            (4, 0, &[4]),
        ];
        for &(instances, workers, expected) in cases {
            let sizes = shard_sizes(instances, workers);
            assert_eq!(sizes, expected, "{instances} instances, {workers} workers");
            assert_eq!(sizes.iter().sum::<u32>(), instances);
        }
    }

    #[test]
    fn each_thread_has_its_own_worker_number() {
        assert_eq!(current(), 0);
        enter(3);
        assert_eq!(current(), 3);
        std::thread::spawn(|| assert_eq!(current(), 0)).join().unwrap();
        enter(0);
    }
}
