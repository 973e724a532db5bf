//! Per-mount request counters and latency histograms, rendered as
//! Prometheus text, and the last minute of them for the dashboard. Pure:
//! lock-free counters (the last minute behind a per-mount lock), no I/O.

use std::{
    fmt::Write,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use crate::last_minute::{LastMinute, LastMinuteSummary};

/// Upper bounds of the latency buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

/// What one mount has served.
#[derive(Debug, Default)]
pub struct MountStats {
    requests: AtomicU64,
    errors: AtomicU64,
    latency_micros: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    last_minute: LastMinute,
}

impl MountStats {
    /// Counts one request answered at `now` after `elapsed`.
    pub fn record(&self, status: u16, elapsed: Duration, now: Instant) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if status >= 500 {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        self.latency_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        let seconds = elapsed.as_secs_f64();
        if let Some(bucket) = LATENCY_BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.last_minute.record(now, status, elapsed);
    }

    /// What it answered in the minute before `now`.
    pub fn last_minute(&self, now: Instant) -> LastMinuteSummary {
        self.last_minute.summary(now)
    }

    /// Requests answered.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Requests answered with a 5xx status.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Appends this mount's series to a Prometheus text exposition.
    pub fn render(&self, mount: &str, out: &mut String) {
        let label = format!("mount=\"{}\"", mount.replace('\\', "\\\\").replace('"', "\\\""));
        let _ = writeln!(out, "terrarium_requests_total{{{label}}} {}", self.requests());
        let _ = writeln!(out, "terrarium_errors_total{{{label}}} {}", self.errors());
        let mut cumulative = 0;
        for (bound, count) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "terrarium_request_duration_seconds_bucket{{{label},le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "terrarium_request_duration_seconds_bucket{{{label},le=\"+Inf\"}} {}",
            self.requests()
        );
        let sum = self.latency_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "terrarium_request_duration_seconds_sum{{{label}}} {sum}");
        let _ = writeln!(
            out,
            "terrarium_request_duration_seconds_count{{{label}}} {}",
            self.requests()
        );
    }
}

/// The HELP and TYPE lines that head the exposition.
pub const METRICS_HEADER: &str = "\
# HELP terrarium_requests_total Requests answered, per mount.
# TYPE terrarium_requests_total counter
# HELP terrarium_errors_total Requests answered with a 5xx status, per mount.
# TYPE terrarium_errors_total counter
# HELP terrarium_request_duration_seconds Time to answer a request, per mount.
# TYPE terrarium_request_duration_seconds histogram
# HELP terrarium_instances_live Sandboxed instances alive, per app mount.
# TYPE terrarium_instances_live gauge
# HELP terrarium_instances_ready Instances alive and waiting for a request, per app mount.
# TYPE terrarium_instances_ready gauge
# HELP terrarium_instances_busy Instances alive and running a request (or starting, or shutting down), per app mount.
# TYPE terrarium_instances_busy gauge
# HELP terrarium_cold_starts_total Instances made because a request found none ready, per app mount.
# TYPE terrarium_cold_starts_total counter
# HELP terrarium_instances_retired_total Instances given back: after `idle` without a request (reason=idle), or to make room in the site's full budget for another app's (reason=room), per app mount.
# TYPE terrarium_instances_retired_total counter
# HELP terrarium_instance_budget The most instances alive at once, over all apps.
# TYPE terrarium_instance_budget gauge
# HELP terrarium_instance_budget_in_use Instances alive now, over all apps.
# TYPE terrarium_instance_budget_in_use gauge
# HELP terrarium_outbound_open Outbound sockets open, per app mount.
# TYPE terrarium_outbound_open gauge
# HELP terrarium_outbound_refused_total Outbound lookups and connections refused (not in `outbound`, or past `outbound_connections`), per app mount.
# TYPE terrarium_outbound_refused_total counter
# HELP terrarium_cookies_dropped_total Set-Cookie headers dropped for leaving the app's mount (another path, another mount's session cookie), per app mount.
# TYPE terrarium_cookies_dropped_total counter
# HELP terrarium_host_requests_total Requests routed by the host they named, per host a mount claims (`host`, `hosts`).
# TYPE terrarium_host_requests_total counter
# HELP terrarium_unknown_host_total Requests for a host that no mount serves.
# TYPE terrarium_unknown_host_total counter
# HELP terrarium_tls_certificate_expiry_timestamp_seconds When each [[tls]] certificate expires (Unix time).
# TYPE terrarium_tls_certificate_expiry_timestamp_seconds gauge
# HELP terrarium_log_dropped_total The app's log records dropped for going past its log_rate, per app mount.
# TYPE terrarium_log_dropped_total counter
# HELP terrarium_mount_enabled 1 when the mount is switched on.
# TYPE terrarium_mount_enabled gauge
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_cumulative_buckets() {
        let stats = MountStats::default();
        let now = Instant::now();
        stats.record(200, Duration::from_micros(500), now);
        stats.record(503, Duration::from_millis(20), now);
        stats.record(200, Duration::from_secs(60), now);
        assert_eq!((stats.requests(), stats.errors()), (3, 1));
        let mut out = String::new();
        stats.render("api", &mut out);
        assert!(
            out.contains("terrarium_requests_total{mount=\"api\"} 3\n"),
            "{out}"
        );
        assert!(out.contains("terrarium_errors_total{mount=\"api\"} 1\n"));
        assert!(out.contains("bucket{mount=\"api\",le=\"0.001\"} 1\n"));
        assert!(out.contains("bucket{mount=\"api\",le=\"0.025\"} 2\n"));
        assert!(out.contains("bucket{mount=\"api\",le=\"30\"} 2\n"));
        assert!(out.contains("bucket{mount=\"api\",le=\"+Inf\"} 3\n"));
        assert!(out.contains("terrarium_request_duration_seconds_count{mount=\"api\"} 3\n"));
    }
}
