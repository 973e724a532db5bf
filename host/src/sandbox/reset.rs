//! How an instance's memory is made fresh for the next instance in its slot
//! of the pooling allocator, chosen once per engine from what the host's
//! memory is like.
//!
//! The fast way scans the slot with Linux's `PAGEMAP_SCAN` and copies back
//! only the pages the instance dirtied, keeping them resident. That scan
//! sees only pages that are present: a dirty page that was swapped out
//! (to a disk, zram or zswap) would be neither reset nor dropped, and the
//! next instance could read it. So where swap may be in use, or the scan is
//! not available, slots are decommitted instead (`madvise`), which drops
//! every page, swapped or not.

use std::fmt;

/// The way slots are reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryReset {
    /// Copy back only the dirty pages found by `PAGEMAP_SCAN`, keep them resident.
    Scan,
    /// Drop every page of the slot; the next instance faults them back in.
    Decommit,
}

/// What the host's memory is like, as far as the choice goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostMemory {
    /// Swap devices in use (`/proc/swaps`), zram included.
    pub swap_devices: Vec<String>,
    /// Whether zswap is switched on (`/sys/module/zswap/parameters/enabled`).
    pub zswap: bool,
    /// Whether the kernel has `PAGEMAP_SCAN` (Linux 6.7 and later).
    pub scan_available: bool,
}

impl HostMemory {
    /// Reads this machine's swap devices and zswap setting; `scan_available`
    /// comes from the engine.
    pub fn read(scan_available: bool) -> Self {
        let swaps = std::fs::read_to_string("/proc/swaps").unwrap_or_default();
        let zswap = std::fs::read_to_string("/sys/module/zswap/parameters/enabled").unwrap_or_default();
        Self::parse(&swaps, &zswap, scan_available)
    }

    /// From the text of `/proc/swaps` and of zswap's `enabled` parameter.
    pub fn parse(proc_swaps: &str, zswap_enabled: &str, scan_available: bool) -> Self {
        Self {
            // The first line is the header: "Filename Type Size Used Priority".
            swap_devices: proc_swaps
                .lines()
                .skip(1)
                .filter_map(|line| line.split_whitespace().next())
                .map(str::to_owned)
                .collect(),
            zswap: matches!(zswap_enabled.trim(), "Y" | "y" | "1"),
            scan_available,
        }
    }
}

/// The strategy chosen, and why when it is not the fast one (said once in
/// the log at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetChoice {
    /// How slots are reset.
    pub reset: MemoryReset,
    /// Why the slower way was taken, if it was.
    pub reason: Option<String>,
}

impl MemoryReset {
    /// The way to reset slots on this machine (see [`Self::choose`]).
    pub fn on_this_host(decommit_always: bool, fresh_per_request: bool) -> ResetChoice {
        Self::choose(
            decommit_always,
            fresh_per_request,
            &HostMemory::read(super::engine::memory_scan_available()),
        )
    }

    /// The way to reset slots on `host`; `decommit_always` when the operator
    /// asked for it (`server.memory_reset = "decommit"`), `fresh_per_request`
    /// when some app runs a fresh instance per request. Only those gain from
    /// the scan: pooled instances are freed rarely (scaled down, replaced),
    /// and then their memory should go back to the OS rather than stay
    /// resident in a slot.
    pub fn choose(decommit_always: bool, fresh_per_request: bool, host: &HostMemory) -> ResetChoice {
        let reason = if decommit_always {
            Some("server.memory_reset = \"decommit\"".to_owned())
        } else if !fresh_per_request {
            Some("no app runs in request isolation (freed instances give their memory back)".to_owned())
        } else if !host.swap_devices.is_empty() {
            Some(format!("swap is in use ({})", host.swap_devices.join(", ")))
        } else if host.zswap {
            Some("zswap is enabled".to_owned())
        } else if !host.scan_available {
            Some("this kernel has no PAGEMAP_SCAN (Linux 6.7 and later)".to_owned())
        } else {
            None
        };
        ResetChoice {
            reset: if reason.is_some() {
                Self::Decommit
            } else {
                Self::Scan
            },
            reason,
        }
    }
}

impl fmt::Display for MemoryReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Scan => "scan (dirty pages copied back, kept resident)",
            Self::Decommit => "decommit (every page dropped)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_SWAP: &str = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
    const SWAP: &str = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
                        /dev/zram0                              partition\t8388604\t\t0\t\t100\n\
                        /swapfile                               file\t\t2097148\t\t0\t\t-2\n";

    /// A host, what is chosen on it, and why.
    struct Case {
        what: &'static str,
        proc_swaps: &'static str,
        zswap: &'static str,
        scan_available: bool,
        decommit_always: bool,
        fresh_per_request: bool,
        reset: MemoryReset,
        reason: Option<&'static str>,
    }

    const HOST_WITHOUT_SWAP: Case = Case {
        what: "no swap",
        proc_swaps: NO_SWAP,
        zswap: "N\n",
        scan_available: true,
        decommit_always: false,
        fresh_per_request: true,
        reset: MemoryReset::Scan,
        reason: None,
    };

    #[test]
    fn the_reset_is_scanned_only_on_a_host_without_swap_that_has_the_scan() {
        let cases = [
            HOST_WITHOUT_SWAP,
            Case {
                what: "no /proc or /sys at all",
                proc_swaps: "",
                zswap: "",
                ..HOST_WITHOUT_SWAP
            },
            Case {
                what: "zram and a swap file",
                proc_swaps: SWAP,
                reset: MemoryReset::Decommit,
                reason: Some("swap is in use (/dev/zram0, /swapfile)"),
                ..HOST_WITHOUT_SWAP
            },
            Case {
                what: "zswap on",
                zswap: "Y\n",
                reset: MemoryReset::Decommit,
                reason: Some("zswap is enabled"),
                ..HOST_WITHOUT_SWAP
            },
            Case {
                what: "an old kernel",
                scan_available: false,
                reset: MemoryReset::Decommit,
                reason: Some("this kernel has no PAGEMAP_SCAN (Linux 6.7 and later)"),
                ..HOST_WITHOUT_SWAP
            },
            Case {
                what: "only pooled apps",
                fresh_per_request: false,
                reset: MemoryReset::Decommit,
                reason: Some("no app runs in request isolation (freed instances give their memory back)"),
                ..HOST_WITHOUT_SWAP
            },
            Case {
                what: "asked for",
                decommit_always: true,
                reset: MemoryReset::Decommit,
                reason: Some("server.memory_reset = \"decommit\""),
                ..HOST_WITHOUT_SWAP
            },
        ];
        for case in cases {
            let host = HostMemory::parse(case.proc_swaps, case.zswap, case.scan_available);
            let choice = MemoryReset::choose(case.decommit_always, case.fresh_per_request, &host);
            assert_eq!(choice.reset, case.reset, "{}", case.what);
            assert_eq!(choice.reason.as_deref(), case.reason, "{}", case.what);
        }
    }
}
