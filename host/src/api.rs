//! The control API's JSON shapes, shared by the server (`http::admin`) and
//! its command-line client (`terrarium app ...`). Pure: no I/O.

use serde::{Deserialize, Serialize};

pub use crate::last_minute::LastMinuteSummary;

/// One mount as `GET /mounts` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MountInfo {
    /// Its name (`name`, or the path's last segment).
    pub name: String,
    /// Its mount point ("/" or "/api").
    pub path: String,
    /// The host names it serves (`host`, `hosts`); empty for the default
    /// site, which serves every host no mount claims.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// "app" or "static".
    pub kind: String,
    /// "enabled" or "disabled".
    pub state: String,
    /// Requests it has answered.
    pub requests: u64,
    /// Of those, answered with a 5xx status.
    pub errors: u64,
    /// What it answered in the last minute: requests, errors, rate, p50/p99.
    #[serde(default)]
    pub last_minute: LastMinuteSummary,
    /// An app mount's own fields (absent for static mounts).
    #[serde(flatten)]
    pub app: Option<AppInfo>,
}

/// The fields only app mounts have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppInfo {
    /// "pooled" or "request".
    pub isolation: String,
    /// The most instances it may have alive at once (`instances`).
    pub instances: u32,
    /// Instances kept ready even when idle (`min_instances`).
    #[serde(default)]
    pub min_instances: u32,
    /// How long an instance may go without a request before it is given
    /// back (`idle`), in milliseconds.
    #[serde(default)]
    pub idle_ms: u64,
    /// Instances alive right now, idle or busy.
    pub live_instances: usize,
    /// Of those, waiting for a request.
    #[serde(default)]
    pub ready: usize,
    /// Of those, running a request (or starting, or shutting down).
    #[serde(default)]
    pub busy: usize,
    /// Instances made because a request found none ready.
    #[serde(default)]
    pub cold_starts: u64,
    /// Of those, spares of its shared interpreter, made ahead of need: only
    /// the app's import was left to do (`snapshot = "shared"`).
    #[serde(default)]
    pub spare_starts: u64,
    /// Instances given back after `idle` without a request.
    #[serde(default)]
    pub retired_idle: u64,
    /// Idle instances retired to make room in the site's full budget.
    #[serde(default)]
    pub retired_for_room: u64,
    /// The build hash of the version serving.
    pub version: String,
    /// The interface the serving version speaks: "native", "wsgi" or "asgi".
    pub interface: String,
    /// What its instances start from (`snapshot`): "app" (a snapshot of
    /// its own) or "shared" (an interpreter shared with other apps).
    #[serde(default)]
    pub snapshot: String,
    /// The error of the last reload, when it failed.
    pub last_error: Option<String>,
    /// The names of the variables in its `env` (never their values).
    #[serde(default)]
    pub env: Vec<String>,
    /// Its data folder (`data`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataInfo>,
    /// The quota of each instance's private `/tmp` (`tmp`), in bytes, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmp_quota: Option<u64>,
    /// What it may connect to (`outbound`), and its connections.
    #[serde(default)]
    pub outbound: OutboundInfo,
}

/// An app's outbound grants as `GET /mounts` shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundInfo {
    /// The destinations it may connect to, as `outbound` lists them
    /// (canonical: "api.example.com:443", "[::1]:5432").
    pub allow: Vec<String>,
    /// The most sockets it may have open at once (`outbound_connections`).
    pub connections: u32,
    /// `outbound_connect_timeout`, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Sockets its instances have open now.
    pub open: usize,
    /// Lookups and connections refused since the server started.
    pub refused: u64,
}

/// An app's data folder as `GET /mounts` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataInfo {
    /// The folder on the host.
    pub folder: String,
    /// Where the app sees it.
    pub at: String,
    /// The most it may hold (`data_quota`), in bytes.
    pub quota: u64,
    /// What it holds as counted, in bytes (space freed since it was last
    /// measured may still be counted).
    pub used: u64,
}

/// `GET /mounts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MountList {
    /// Every mount, in config file order.
    pub mounts: Vec<MountInfo>,
    /// The site's budget of live instances, shared by all its apps.
    #[serde(default)]
    pub budget: BudgetInfo,
}

/// The site's budget of live instances as `GET /mounts` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetInfo {
    /// The most instances alive at once, over all apps (`server.max_instances`
    /// or its default, at most what the apps could use).
    pub max_instances: usize,
    /// Instances alive now.
    pub in_use: usize,
    /// Idle instances retired so far to make room for another app's.
    pub retired_for_room: u64,
}

/// `POST /mounts/{name}/reload`, when the new version serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reloaded {
    /// The mount, now on its new version.
    #[serde(flatten)]
    pub mount: MountInfo,
    /// Always true.
    pub reloaded: bool,
    /// How long building and warming the new version took.
    pub duration_ms: u64,
}

/// `GET /mounts/{name}`: what serves under a name, and a change of it that
/// is not live yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MountStatus {
    /// The mount serving under this name; none while it is first built.
    pub mount: Option<MountInfo>,
    /// A change put and not live yet: being built, or failed.
    pub change: Option<ChangeInfo>,
}

/// A change of a mount that is not live yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeInfo {
    /// "building" or "failed".
    pub state: String,
    /// The build's step, while it builds ("installing requirements").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// How long it has been building, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// Why it failed (the build's output, secrets masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `PUT /mounts/{name}` (202: "building") and `DELETE /mounts/{name}`
/// (200: "removed").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountChanged {
    /// The mount's name.
    pub name: String,
    /// "building" or "removed".
    pub state: String,
}

/// `POST /config/reload`: what the site's file changed since it was last
/// applied. Added and changed mounts are building when this is answered
/// (`GET /mounts/{name}` follows each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigReloaded {
    /// Mounts added, by name.
    pub added: Vec<String>,
    /// Mounts whose keys changed.
    pub changed: Vec<String>,
    /// Mounts removed.
    pub removed: Vec<String>,
    /// How many mounts were left as they were.
    pub unchanged: usize,
    /// Tables that changed but apply only at a restart ("[server]").
    pub need_restart: Vec<String>,
}

/// Any refusal: `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app_mount() -> MountInfo {
        MountInfo {
            name: "blog".into(),
            path: "/blog".into(),
            hosts: vec!["blog.example.com".into()],
            kind: "app".into(),
            state: "enabled".into(),
            requests: 3,
            errors: 1,
            last_minute: LastMinuteSummary::default(),
            app: Some(AppInfo {
                isolation: "pooled".into(),
                instances: 2,
                min_instances: 0,
                idle_ms: 300_000,
                live_instances: 2,
                ready: 1,
                busy: 1,
                cold_starts: 2,
                spare_starts: 0,
                retired_idle: 0,
                retired_for_room: 0,
                version: "abc".into(),
                interface: "wsgi".into(),
                snapshot: "app".into(),
                last_error: None,
                env: vec!["TITLE".into()],
                data: Some(DataInfo {
                    folder: "/srv/site/var/blog".into(),
                    at: "/data".into(),
                    quota: 1 << 30,
                    used: 4096,
                }),
                tmp_quota: None,
                outbound: OutboundInfo {
                    allow: vec!["localhost:6379".into()],
                    connections: 32,
                    connect_timeout_ms: 10_000,
                    open: 1,
                    refused: 0,
                },
            }),
        }
    }

    #[test]
    fn app_fields_are_flat_and_absent_for_static_mounts() {
        let static_mount = MountInfo {
            kind: "static".into(),
            app: None,
            ..app_mount()
        };
        let list = MountList {
            mounts: vec![app_mount(), static_mount],
            budget: BudgetInfo {
                max_instances: 8,
                in_use: 2,
                retired_for_room: 0,
            },
        };
        let json = serde_json::to_value(&list).unwrap();
        assert_eq!(json["mounts"][0]["version"], "abc");
        assert_eq!(json["mounts"][0]["hosts"][0], "blog.example.com");
        assert_eq!(json["mounts"][0]["last_error"], serde_json::Value::Null);
        assert_eq!(json["mounts"][0]["data"]["at"], "/data");
        assert_eq!(json["mounts"][0]["ready"], 1);
        assert_eq!(json["budget"]["max_instances"], 8);
        assert!(
            json["mounts"][0].get("tmp_quota").is_none(),
            "absent when not granted"
        );
        assert!(json["mounts"][1].get("version").is_none());
        let back: MountList = serde_json::from_value(json).unwrap();
        assert_eq!(back, list);
    }

    #[test]
    fn a_reload_answer_is_the_mount_plus_its_timing() {
        let reloaded = Reloaded {
            mount: app_mount(),
            reloaded: true,
            duration_ms: 12,
        };
        let json = serde_json::to_value(&reloaded).unwrap();
        assert_eq!(
            (&json["name"], &json["version"], &json["duration_ms"]),
            (&"blog".into(), &"abc".into(), &12.into())
        );
        assert_eq!(serde_json::from_value::<Reloaded>(json).unwrap(), reloaded);
    }
}
