//! Open files: the process raises its own limit to the hard limit at start
//! (the common soft limit of 1,024 is far below what a server needs), and a
//! `max_connections` the limit cannot hold is refused before listening.

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
                rlimit::Resource::NOFILE.get().map_or(u64::MAX, |(soft, _)| soft)
            }
        }
    }
    #[cfg(not(unix))]
    u64::MAX
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
