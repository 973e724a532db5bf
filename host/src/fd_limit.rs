//! Open files: the process raises its own limit to the hard limit at start
//! (the common soft limit of 1,024 is far below what a server needs), and a
//! `max_connections` the limit cannot hold is refused before listening.
//! The kernel's table of descriptors is then grown once, at start, to what
//! the site will use, rather than while it serves (see [`presize_table`]).

/// Descriptors kept free for everything but client connections: listening
/// sockets, the control API's connections, log and session files, Redis.
pub const RESERVED: u64 = 64 + 256;

/// Raises the soft limit on open files as far as the hard limit allows;
/// returns the limit now in force (`u64::MAX` where there is none to read).
pub fn raise() -> u64 {
    #[cfg(unix)]
    {
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => limit,
            Err(error) => {
                tracing::warn!("cannot raise the open-file limit: {error}");
                current()
            }
        }
    }
    #[cfg(not(unix))]
    u64::MAX
}

/// The open-file limit in force (`u64::MAX` where there is none to read).
pub fn current() -> u64 {
    #[cfg(unix)]
    return rlimit::Resource::NOFILE.get().map_or(u64::MAX, |(soft, _)| soft);
    #[cfg(not(unix))]
    u64::MAX
}

/// The open files left for sandboxes once `max_connections` and
/// [`RESERVED`] are set aside, of `limit`.
pub fn left_for_instances(limit: u64, max_connections: usize) -> u64 {
    limit.saturating_sub(max_connections as u64 + RESERVED)
}

/// The most descriptors [`presize_table`] makes room for: 512 KiB of the
/// kernel's memory. A site that needs more grows the table as it goes.
pub const PRESIZED: u64 = 1 << 16;

/// Grows the process's table of descriptors to hold `limit` of them (at
/// most [`PRESIZED`]), so it is never grown while requests are served.
///
/// Every instance holds a descriptor for each folder it sees (eight or so),
/// so a site of a thousand apps opens thousands. Each time the table fills,
/// the kernel doubles it, and in a process with threads it first waits for
/// an RCU grace period: the request that opened the descriptor stalled
/// 16-24 ms, measured (`perf` on the worker, in `synchronize_rcu` under
/// `expand_files`). A descriptor duplicated at the table's far end makes
/// it that large now; the table never shrinks.
pub fn presize_table(limit: u64) {
    #[cfg(unix)]
    {
        let Ok(highest) = rustix::fd::RawFd::try_from(limit.min(PRESIZED).saturating_sub(1)) else {
            return;
        };
        let grown = std::fs::File::open("/dev/null")
            .and_then(|null| Ok(rustix::io::fcntl_dupfd_cloexec(&null, highest)?));
        if let Err(error) = grown {
            tracing::debug!("cannot grow the descriptor table to {highest}: {error}");
        }
    }
    #[cfg(not(unix))]
    let _ = limit;
}

/// Whether `max_connections` fits in `limit` open files, with [`RESERVED`]
/// kept for the rest; otherwise what to change.
pub fn check(max_connections: usize, limit: u64) -> Result<(), String> {
    let needed = max_connections as u64 + RESERVED;
    if needed > limit {
        return Err(format!(
            "server.max_connections: {max_connections} connections need {needed} open files, but this \
             process may open only {limit} (its hard limit); lower max_connections to {} or raise the \
             limit (ulimit -n, LimitNOFILE= under systemd)",
            limit.saturating_sub(RESERVED)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn the_descriptor_table_is_grown_to_the_limit() {
        let size = || {
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            let size = status
                .lines()
                .find_map(|line| line.strip_prefix("FDSize:"))
                .unwrap();
            size.trim().parse::<u64>().unwrap()
        };
        let limit = raise().min(PRESIZED);
        presize_table(limit);
        assert!(size() >= limit, "FDSize {} after growing to {limit}", size());
    }

    #[test]
    fn the_limit_is_raised_and_connections_must_fit_in_it() {
        let limit = raise();
        assert!(limit >= 256, "{limit}");
        assert!(check(10, 10 + RESERVED).is_ok());
        let refused = check(1_000, 1_024).unwrap_err();
        assert!(
            refused.contains("1000 connections need 1320 open files")
                && refused.contains("only 1024")
                && refused.contains("lower max_connections to 704"),
            "{refused}"
        );
    }
}
