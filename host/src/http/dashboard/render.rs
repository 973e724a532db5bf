//! The dashboard's HTML, drawn on the server from the control API's own
//! shapes, so the list reads without JavaScript. Pure: no I/O.

use std::fmt::Write;

use crate::api::{BudgetInfo, ChangeInfo, MountInfo};

/// One mount as the dashboard lists it: as `GET /mounts` shows it, and its
/// change not live yet (`building`, or `failed` with the error).
pub struct Row<'a> {
    /// The mount.
    pub mount: &'a MountInfo,
    /// Its change not live yet, if any.
    pub change: Option<&'a ChangeInfo>,
}

/// The whole page, around its live part.
pub fn page(site: &str, csrf: &str, live: &str, signed_in: bool) -> String {
    let sign_out = if signed_in {
        format!(
            r#"<form method="post" action="/dashboard/logout"><input type="hidden" name="csrf" value="{}"><button type="submit">Sign out</button></form>"#,
            escape(csrf)
        )
    } else {
        String::new()
    };
    format!(
        r#"{head}
<meta name="csrf-token" content="{csrf}">
<noscript><meta http-equiv="refresh" content="5"></noscript>
</head>
<body>
<header><h1>Terrarium</h1><span class="site">{site}</span>{sign_out}</header>
<main>
<p id="status" role="status" aria-live="polite"></p>
<section id="live">{live}</section>
</main>
<script src="/dashboard/dashboard.js" defer></script>
</body>
</html>
"#,
        head = head(site),
        csrf = escape(csrf),
        site = escape(site),
    )
}

/// The login form, alone: all a visitor without the token sees.
pub fn login(site: &str, refused: bool) -> String {
    let refused = if refused {
        r#"<p class="refused" role="alert">That is not the admin token.</p>"#
    } else {
        ""
    };
    format!(
        r#"{head}
</head>
<body>
<header><h1>Terrarium</h1><span class="site">{site}</span></header>
<main>
<form class="login" method="post" action="/dashboard/login">
<h2>Sign in</h2>
{refused}
<label for="token">Admin token (<code>server.admin_token</code>)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
"#,
        head = head("sign in"),
        site = escape(site),
    )
}

/// The start of every page, up to the end of `<head>` (left open).
fn head(title: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Terrarium · {}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/dashboard.css">"#,
        escape(title)
    )
}

/// A mount added through the control API whose first version is not live
/// yet: building, or failed to build.
pub struct Pending<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its change.
    pub change: &'a ChangeInfo,
}

/// The live part: the site's summary and the table of mounts (then those
/// still on their way). The page's script fetches it again each second.
pub fn live(rows: &[Row<'_>], pending: &[Pending<'_>], budget: &BudgetInfo, csrf: &str) -> String {
    let mut out = String::new();
    let apps = rows.iter().filter(|row| row.mount.app.is_some()).count();
    let disabled = rows.iter().filter(|row| row.mount.state != "enabled").count();
    let _ = write!(
        out,
        r#"<p class="summary">{} mounts ({apps} apps), {disabled} switched off · instances in use: {} of {}</p>"#,
        rows.len(),
        budget.in_use,
        budget.max_instances,
    );
    out.push_str(
        "<table>\n<thead><tr><th>Mount</th><th>State</th><th>Instances</th>\
         <th>Req/s</th><th>Errors</th><th>p50 / p99</th><th>Version</th><th>Actions</th></tr></thead>\n<tbody>\n",
    );
    for row in rows {
        draw_row(&mut out, row, csrf);
    }
    for new in pending {
        draw_pending(&mut out, new);
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

fn draw_pending(out: &mut String, new: &Pending<'_>) {
    let name = escape(new.name);
    let _ = write!(
        out,
        r#"<tr data-mount="{name}" data-state="{state}"><td data-label="Mount"><span class="name">{name}</span><br><span class="hosts">new mount</span></td><td data-label="State" colspan="7">"#,
        state = escape(&new.change.state)
    );
    draw_change(out, new.change);
    out.push_str("</td></tr>\n");
}

fn draw_row(out: &mut String, row: &Row<'_>, csrf: &str) {
    let mount = row.mount;
    let name = escape(&mount.name);
    let recent = &mount.last_minute;
    let _ = write!(
        out,
        r#"<tr data-mount="{name}" data-state="{}">"#,
        escape(&mount.state)
    );

    let _ = write!(
        out,
        r#"<td data-label="Mount"><span class="name">{name}</span> <span class="path">{}</span>"#,
        escape(&mount.path)
    );
    if !mount.hosts.is_empty() {
        let _ = write!(
            out,
            r#" <span class="hosts">{}</span>"#,
            escape(&mount.hosts.join(", "))
        );
    }
    let kind = match &mount.app {
        Some(app) if app.snapshot == "shared" => {
            format!("app · {} · {} · shared interpreter", app.interface, app.isolation)
        }
        Some(app) => format!("app · {} · {}", app.interface, app.isolation),
        None => "static files".to_owned(),
    };
    let _ = write!(out, r#"<br><span class="hosts">{}</span></td>"#, escape(&kind));

    let _ = write!(
        out,
        r#"<td data-label="State"><span class="state state-{state}">{state}</span>"#,
        state = escape(&mount.state)
    );
    if let Some(change) = row.change {
        draw_change(out, change);
    }
    if let Some(error) = mount.app.as_ref().and_then(|app| app.last_error.as_ref()) {
        error_details(out, "the last reload failed", error);
    }
    out.push_str("</td>");

    match &mount.app {
        Some(app) => {
            let _ = write!(
                out,
                r#"<td data-label="Instances" class="num">{} ready · {} busy <small>(at most {})</small></td>"#,
                app.ready, app.busy, app.instances
            );
        }
        None => out.push_str(r#"<td data-label="Instances" class="num">–</td>"#),
    }
    let _ = write!(
        out,
        r#"<td data-label="Req/s (1 min)" class="num">{:.1}</td><td data-label="Errors (1 min)" class="num">{} <small>({} in all)</small></td><td data-label="p50 / p99 (1 min)" class="num">{} / {}</td>"#,
        recent.per_second,
        recent.errors,
        mount.errors,
        latency(recent.p50_us),
        latency(recent.p99_us),
    );
    match &mount.app {
        Some(app) => {
            let short: String = app.version.chars().take(12).collect();
            let _ = write!(
                out,
                r#"<td data-label="Version" class="version" title="{}">{}</td>"#,
                escape(&app.version),
                escape(&short)
            );
        }
        None => out.push_str(r#"<td data-label="Version" class="version">–</td>"#),
    }

    out.push_str(r#"<td data-label="Actions"><div class="buttons">"#);
    if mount.state == "enabled" {
        action(out, &mount.name, "disable", "Disable", true, csrf);
    } else {
        action(out, &mount.name, "enable", "Enable", false, csrf);
    }
    if mount.app.is_some() {
        action(out, &mount.name, "reload", "Reload", false, csrf);
    }
    out.push_str("</div></td></tr>\n");
}

/// A change not live yet: its build's step, or its build's error.
fn draw_change(out: &mut String, change: &ChangeInfo) {
    match (&change.step, &change.error) {
        (_, Some(error)) => error_details(out, "the new version failed to build", error),
        (step, None) => {
            let seconds = change.elapsed_ms.unwrap_or(0) / 1000;
            let _ = write!(
                out,
                r#"<br><span class="change">{}: {} ({seconds} s)</span>"#,
                escape(&change.state),
                escape(step.as_deref().unwrap_or("")),
            );
        }
    }
}

/// A button that posts `verb` to the control API for `mount`: a plain form,
/// which the page's script sends without leaving the page.
fn action(out: &mut String, mount: &str, verb: &str, label: &str, danger: bool, csrf: &str) {
    let _ = write!(
        out,
        r#"<form method="post" action="/mounts/{mount}/{verb}" data-action="{verb}" data-mount="{mount}"><input type="hidden" name="csrf" value="{csrf}"><button type="submit"{class}>{label}</button></form>"#,
        mount = escape(mount),
        csrf = escape(csrf),
        class = if danger { r#" class="danger""# } else { "" },
    );
}

fn error_details(out: &mut String, summary: &str, error: &str) {
    let _ = write!(
        out,
        r#"<details class="error"><summary>{}</summary><pre>{}</pre></details>"#,
        escape(summary),
        escape(error)
    );
}

/// A latency for people: "0.42 ms", "87 ms", "2.5 s"; "–" when unknown.
fn latency(micros: Option<u64>) -> String {
    match micros {
        None => "–".to_owned(),
        Some(us) if us < 10_000 => format!("{:.2} ms", us as f64 / 1000.0),
        Some(us) if us < 1_000_000 => format!("{:.0} ms", us as f64 / 1000.0),
        Some(us) => format!("{:.1} s", us as f64 / 1e6),
    }
}

/// `text` safe inside HTML text and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::AppInfo;
    use crate::last_minute::LastMinuteSummary;

    fn static_mount(state: &str) -> MountInfo {
        MountInfo {
            name: "docs".to_owned(),
            path: "/docs".to_owned(),
            hosts: vec![],
            kind: "static".to_owned(),
            state: state.to_owned(),
            requests: 7,
            errors: 0,
            last_minute: LastMinuteSummary::default(),
            app: None,
        }
    }

    fn app_mount(last_error: Option<&str>) -> MountInfo {
        MountInfo {
            name: "shop".to_owned(),
            path: "/shop".to_owned(),
            hosts: vec!["shop.example.com".to_owned()],
            kind: "app".to_owned(),
            state: "enabled".to_owned(),
            requests: 120,
            errors: 3,
            last_minute: LastMinuteSummary {
                requests: 60,
                errors: 1,
                per_second: 1.0,
                p50_us: Some(420),
                p99_us: Some(87_000),
            },
            app: Some(AppInfo {
                isolation: "pooled".to_owned(),
                instances: 4,
                min_instances: 0,
                idle_ms: 0,
                live_instances: 2,
                ready: 1,
                busy: 1,
                cold_starts: 2,
                spare_starts: 0,
                retired_idle: 0,
                retired_for_room: 0,
                version: "0123456789abcdef0123".to_owned(),
                interface: "wsgi".to_owned(),
                snapshot: "app".to_owned(),
                last_error: last_error.map(str::to_owned),
                env: vec![],
                data: None,
                tmp_quota: None,
                outbound: Default::default(),
            }),
        }
    }

    fn budget() -> BudgetInfo {
        BudgetInfo {
            max_instances: 64,
            in_use: 2,
            retired_for_room: 0,
        }
    }

    #[test]
    fn a_row_per_mount_with_its_figures_and_buttons() {
        let shop = app_mount(None);
        let docs = static_mount("disabled");
        let html = live(
            &[
                Row {
                    mount: &shop,
                    change: None,
                },
                Row {
                    mount: &docs,
                    change: None,
                },
            ],
            &[],
            &budget(),
            "tok",
        );
        assert!(
            html.contains("2 mounts (1 apps), 1 switched off · instances in use: 2 of 64"),
            "{html}"
        );
        assert!(html.contains(r#"<tr data-mount="shop" data-state="enabled">"#));
        assert!(html.contains("shop.example.com"));
        assert!(html.contains("app · wsgi · pooled"));
        assert!(html.contains("1 ready · 1 busy <small>(at most 4)</small>"));
        assert!(html.contains(">1.0</td>"), "per second");
        assert!(html.contains("1 <small>(3 in all)</small>"));
        assert!(html.contains("0.42 ms / 87 ms"));
        assert!(html.contains(r#"title="0123456789abcdef0123">0123456789ab<"#));
        assert!(html.contains(r#"action="/mounts/shop/disable""#));
        assert!(html.contains(r#"action="/mounts/shop/reload""#));
        assert!(html.contains(r#"<input type="hidden" name="csrf" value="tok">"#));
        assert!(html.contains(r#"<tr data-mount="docs" data-state="disabled">"#));
        assert!(html.contains(r#"action="/mounts/docs/enable""#));
        assert!(
            !html.contains("/mounts/docs/reload"),
            "static mounts have nothing to reload"
        );
        assert!(html.contains("– / –"), "no requests, no latency");
    }

    #[test]
    fn errors_and_changes_are_shown_escaped() {
        let shop = app_mount(Some("Traceback:\n  <module>\nSyntaxError: 'x' & \"y\""));
        let building = ChangeInfo {
            state: "building".to_owned(),
            step: Some("installing requirements.txt".to_owned()),
            elapsed_ms: Some(4_200),
            error: None,
        };
        let failed = ChangeInfo {
            state: "failed".to_owned(),
            step: None,
            elapsed_ms: None,
            error: Some("ModuleNotFoundError: No module named 'flask'".to_owned()),
        };
        let html = live(
            &[Row {
                mount: &shop,
                change: Some(&building),
            }],
            &[Pending {
                name: "blog",
                change: &failed,
            }],
            &budget(),
            "tok",
        );
        assert!(html.contains("<summary>the last reload failed</summary>"));
        assert!(
            html.contains(r#"<tr data-mount="blog" data-state="failed">"#),
            "{html}"
        );
        assert!(html.contains("<summary>the new version failed to build</summary><pre>ModuleNotFoundError: No module named &#39;flask&#39;</pre>"));
        assert!(
            html.contains("&lt;module&gt;\nSyntaxError: &#39;x&#39; &amp; &quot;y&quot;"),
            "{html}"
        );
        assert!(!html.contains("<module>"));
        assert!(html.contains("building: installing requirements.txt (4 s)"));
    }

    #[test]
    fn the_page_and_the_login_form() {
        let page = page("my<site>", "c\"srf", "LIVE", true);
        assert!(page.contains(r#"<meta name="csrf-token" content="c&quot;srf">"#));
        assert!(page.contains("my&lt;site&gt;"));
        assert!(page.contains(r#"<section id="live">LIVE</section>"#));
        assert!(page.contains("/dashboard/logout"));
        let form = login("site", true);
        assert!(form.contains(r#"action="/dashboard/login""#));
        assert!(form.contains("That is not the admin token."));
        assert!(!login("site", false).contains("That is not"));
    }

    #[test]
    fn latencies_read_in_the_fitting_unit() {
        let cases = [
            (None, "–"),
            (Some(420), "0.42 ms"),
            (Some(9_999), "10.00 ms"),
            (Some(87_000), "87 ms"),
            (Some(2_500_000), "2.5 s"),
        ];
        for (micros, text) in cases {
            assert_eq!(latency(micros), text);
        }
    }
}
