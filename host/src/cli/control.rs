//! `terrarium app ...`: a client of the control API, printing readable answers.

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use anyhow::{Context, bail};
use serde_json::Value;

use super::AppAction;

/// Runs one `terrarium app` command against the control API at `admin`.
pub fn run(action: &AppAction, admin: &str, token: Option<&str>) -> anyhow::Result<()> {
    let (method, path) = match action {
        AppAction::List => ("GET", "/mounts".to_owned()),
        AppAction::Enable { name } => ("POST", format!("/mounts/{name}/enable")),
        AppAction::Disable { name } => ("POST", format!("/mounts/{name}/disable")),
        AppAction::Reload { name } => ("POST", format!("/mounts/{name}/reload")),
    };
    let (status, body) = call(admin, method, &path, token)?;
    let answer: Value = serde_json::from_str(&body)
        .with_context(|| format!("the control API at {admin} answered {status} with: {body}"))?;
    if status != 200 {
        let error = answer["error"].as_str().unwrap_or(&body);
        bail!("{error} (HTTP {status})");
    }
    match action {
        AppAction::List => print_table(&answer["mounts"]),
        AppAction::Enable { .. } | AppAction::Disable { .. } => {
            println!(
                "{} ({}): {}",
                answer["name"].as_str().unwrap_or("?"),
                path_of(&answer),
                state_of(&answer)
            );
        }
        AppAction::Reload { .. } => println!(
            "{} ({}): reloaded in {} ms, version {}, {}",
            answer["name"].as_str().unwrap_or("?"),
            path_of(&answer),
            answer["duration_ms"],
            short(answer["version"].as_str().unwrap_or("?")),
            state_of(&answer),
        ),
    }
    Ok(())
}

fn path_of(mount: &Value) -> &str {
    mount["path"].as_str().unwrap_or("?")
}

fn state_of(mount: &Value) -> &str {
    mount["state"].as_str().unwrap_or("?")
}

fn short(version: &str) -> &str {
    &version[..version.len().min(12)]
}

fn print_table(mounts: &Value) {
    let header = [
        "NAME",
        "PATH",
        "KIND",
        "STATE",
        "ISOLATION",
        "INSTANCES",
        "REQUESTS",
        "ERRORS",
        "VERSION",
    ];
    let mut rows = vec![header.map(str::to_owned).to_vec()];
    for mount in mounts.as_array().into_iter().flatten() {
        let text = |key: &str| match &mount[key] {
            Value::Null => "-".to_owned(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let instances = match (&mount["live_instances"], &mount["instances"]) {
            (Value::Number(live), Value::Number(size)) => format!("{live}/{size}"),
            _ => "-".to_owned(),
        };
        rows.push(vec![
            text("name"),
            text("path"),
            text("kind"),
            text("state"),
            text("isolation"),
            instances,
            text("requests"),
            text("errors"),
            short(&text("version")).to_owned(),
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
