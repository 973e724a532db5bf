//! `terrarium app ...`: a client of the control API, printing readable answers.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;

use super::AppAction;
use crate::api::{ErrorBody, MountInfo, MountList, Reloaded};

/// Runs one `terrarium app` command against the control API at `admin`.
pub fn run(action: &AppAction, admin: &str, token: Option<&str>) -> anyhow::Result<()> {
    match action {
        AppAction::List => {
            let list: MountList = ask(admin, "GET", "/mounts", token)?;
            print_table(&list.mounts);
        }
        AppAction::Enable { name } | AppAction::Disable { name } => {
            let verb = if matches!(action, AppAction::Enable { .. }) {
                "enable"
            } else {
                "disable"
            };
            let mount: MountInfo = ask(admin, "POST", &format!("/mounts/{name}/{verb}"), token)?;
            println!("{} ({}): {}", mount.name, mount.path, mount.state);
        }
        AppAction::Reload { name } => {
            let reloaded: Reloaded = ask(admin, "POST", &format!("/mounts/{name}/reload"), token)?;
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
    }
    Ok(())
}

/// One request; the answer as `T`, or the API's error as an error.
fn ask<T: DeserializeOwned>(admin: &str, method: &str, path: &str, token: Option<&str>) -> anyhow::Result<T> {
    let (status, body) = call(admin, method, path, token)?;
    let unexpected = || format!("the control API at {admin} answered {status} with: {body}");
    if status != 200 {
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
fn call(admin: &str, method: &str, path: &str, token: Option<&str>) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(admin).with_context(|| {
        format!("cannot reach the control API at {admin} (is `terrarium serve` running?)")
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(600)))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {admin}\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
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
