//! `terrarium app ...`: a client of the control API, printing readable answers.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::AppAction;
use crate::api::{ErrorBody, MountChanged, MountInfo, MountList, MountStatus, Reloaded};

/// How often `app add` asks whether the build has finished.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// Runs one `terrarium app` command against the control API at `admin`.
pub fn run(action: &AppAction, admin: &str, token: Option<&str>) -> anyhow::Result<()> {
    match action {
        AppAction::List => {
            let list: MountList = ask(admin, "GET", "/mounts", token, None)?;
            print_table(&list.mounts);
        }
        AppAction::Enable { name } | AppAction::Disable { name } => {
            let verb = if matches!(action, AppAction::Enable { .. }) {
                "enable"
            } else {
                "disable"
            };
            let mount: MountInfo = ask(admin, "POST", &format!("/mounts/{name}/{verb}"), token, None)?;
            println!("{} ({}): {}", mount.name, mount.path, mount.state);
        }
        AppAction::Reload { name } => {
            let reloaded: Reloaded = ask(admin, "POST", &format!("/mounts/{name}/reload"), token, None)?;
            let mount = &reloaded.mount;
            let version = mount.app.as_ref().map_or("?", |app| app.version.as_str());
            println!(
                "{} ({}): reloaded in {} ms, version {}, {}",
                mount.name,
                mount.path,
                reloaded.duration_ms,
                short(version),
                mount.state,
            );
        }
        AppAction::Add {
            name,
            path,
            app,
            keys,
        } => {
            let keys = mount_keys(path, app, keys)?;
            let body = serde_json::to_vec(&keys)?;
            let _: MountChanged = ask(admin, "PUT", &format!("/mounts/{name}"), token, Some(&body))?;
            wait_until_live(admin, name, token)?;
        }
        AppAction::Remove { name } => {
            let _: MountChanged = ask(admin, "DELETE", &format!("/mounts/{name}"), token, None)?;
            println!("{name}: removed");
        }
    }
    Ok(())
}

/// A mount's keys from `app add`'s arguments: each value read as TOML
/// (`2`, `true`, `["/"]`, `{TITLE = "x"}`), or else taken as a string.
fn mount_keys(path: &str, app: &str, pairs: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut keys = Map::new();
    keys.insert("path".into(), path.into());
    keys.insert("app".into(), app.into());
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("{pair:?}: expected KEY=VALUE, such as instances=2");
        };
        let value = match toml::from_str::<toml::Table>(&format!("value = {value}")) {
            Ok(mut table) => serde_json::to_value(table.remove("value"))?,
            Err(_) => Value::String(value.to_owned()),
        };
        keys.insert(key.trim().to_owned(), value);
    }
    Ok(keys)
}

/// Waits until the change of mount `name` is live (printing each step of
/// its build) or has failed (an error holding the build's output).
fn wait_until_live(admin: &str, name: &str, token: Option<&str>) -> anyhow::Result<()> {
    let mut last_step = String::new();
    loop {
        let status: MountStatus = ask(admin, "GET", &format!("/mounts/{name}"), token, None)?;
        match (status.change, status.mount) {
            (Some(change), _) if change.state == "failed" => {
                bail!("{name}: not applied: {}", change.error.unwrap_or_default())
            }
            (Some(change), _) => {
                let step = change.step.unwrap_or_default();
                if step != last_step {
                    println!("{name}: {step}");
                    last_step = step;
                }
            }
            (None, Some(mount)) => {
                println!("{} ({}): live, {}", mount.name, mount.path, mount.state);
                return Ok(());
            }
            (None, None) => bail!("{name}: the server forgot this mount"),
        }
        std::thread::sleep(POLL_EVERY);
    }
}

/// One request; the answer as `T`, or the API's error as an error.
fn ask<T: DeserializeOwned>(
    admin: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> anyhow::Result<T> {
    let (status, answer) = call(admin, method, path, token, body.unwrap_or_default())?;
    let body = answer;
    let unexpected = || format!("the control API at {admin} answered {status} with: {body}");
    if !(200..300).contains(&status) {
        let error = serde_json::from_str::<ErrorBody>(&body).with_context(unexpected)?;
        bail!("{} (HTTP {status})", error.error);
    }
    serde_json::from_str(&body).with_context(unexpected)
}

fn short(version: &str) -> &str {
    &version[..version.len().min(12)]
}

fn print_table(mounts: &[MountInfo]) {
    let header = [
        "NAME",
        "HOSTS",
        "PATH",
        "KIND",
        "INTERFACE",
        "STATE",
        "ISOLATION",
        "INSTANCES",
        "REQUESTS",
        "ERRORS",
        "VERSION",
    ];
    let mut rows = vec![header.map(str::to_owned).to_vec()];
    for mount in mounts {
        let app = mount.app.as_ref();
        let or_dash = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
        rows.push(vec![
            mount.name.clone(),
            if mount.hosts.is_empty() {
                "*".to_owned()
            } else {
                mount.hosts.join(",")
            },
            mount.path.clone(),
            mount.kind.clone(),
            or_dash(app.map(|app| app.interface.clone())),
            mount.state.clone(),
            or_dash(app.map(|app| app.isolation.clone())),
            or_dash(app.map(|app| format!("{}/{}", app.live_instances, app.instances))),
            mount.requests.to_string(),
            mount.errors.to_string(),
            or_dash(app.map(|app| short(&app.version).to_owned())),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|col| rows.iter().map(|row| row[col].len()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}

/// One HTTP/1.1 request over a blocking socket; returns (status, body).
fn call(
    admin: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(admin).with_context(|| {
        format!("cannot reach the control API at {admin} (is `terrarium serve` running?)")
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(600)))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {admin}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("the control API sent a malformed answer")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("the control API sent no status")?;
    Ok((status, body.to_owned()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn app_add_reads_each_value_as_toml_or_else_as_text() {
        let pairs: Vec<String> = [
            "instances=2",
            "isolation=request",
            "warm_up=[\"/\"]",
            "env={TITLE=\"Shop\"}",
            "enabled=false",
            "maintenance=down.html",
        ]
        .map(str::to_owned)
        .to_vec();
        let keys = mount_keys("/shop", "apps/shop", &pairs).unwrap();
        assert_eq!(
            Value::Object(keys),
            json!({
                "path": "/shop",
                "app": "apps/shop",
                "instances": 2,
                "isolation": "request",
                "warm_up": ["/"],
                "env": {"TITLE": "Shop"},
                "enabled": false,
                "maintenance": "down.html",
            })
        );
        let error = mount_keys("/", "a", &["instances".to_owned()]).unwrap_err();
        assert!(error.to_string().contains("expected KEY=VALUE"), "{error}");
    }
}
