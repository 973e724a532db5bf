//! The `terrarium` command line.
//!
//! ```text
//! terrarium build SITE [--cache-dir DIR] [--jobs N]
//! terrarium serve SITE [--listen ADDR] [--admin ADDR|off] [--workers N|auto]
//!                      [--access-log stderr|off|FILE] [--log-format text|json]
//!                      [--cache-dir DIR] [--watch]
//! terrarium app list|enable|disable|reload|remove [NAME] [--admin ADDR] [--token TOKEN]
//! terrarium app add NAME --path P --app DIR [KEY=VALUE]... [--admin ADDR] [--token TOKEN]
//! terrarium exec SITE MOUNT [--env NAME[=VALUE]]... [--cache-dir DIR] -- ARGS...
//! terrarium new site DIR
//! terrarium new app NAME [--site DIR] [--template native|flask|wsgi|asgi] [--path /P]
//! ```

use std::{
    io::Write,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use progress::BuildDisplay;
use terrarium_python_wasi::BuildCache;

mod control;
mod progress;

use crate::{
    config::{AccessLogTarget, AdminAddress, LogFormat, SiteConfig, Workers},
    launch::{LaunchOptions, launch},
    logging,
    scaffold::{self, Template},
    site::{self, Site},
    watch,
};

/// Serve Python web apps from pooled WebAssembly sandboxes.
#[derive(Debug, Parser)]
#[command(name = "terrarium", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build every app of a site into a cached, compiled component.
    Build {
        /// The site folder (holds terrarium.toml).
        site: PathBuf,
        /// Where built components are cached [default: SITE/.terrarium/cache]
        #[arg(long, env = "TERRARIUM_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
        /// Apps built at once [default: one per core, as far as memory
        /// allows at 2 GiB a build]
        #[arg(long, short)]
        jobs: Option<usize>,
    },
    /// Build what is missing, then serve the site.
    Serve {
        /// The site folder (holds terrarium.toml).
        site: PathBuf,
        #[command(flatten)]
        overrides: ServeOverrides,
        /// Where built components are cached [default: SITE/.terrarium/cache]
        #[arg(long, env = "TERRARIUM_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
        /// Rebuild an app when a file of its folder changes, and apply
        /// terrarium.toml when it changes (a failed build keeps the old
        /// version serving).
        #[arg(long)]
        watch: bool,
    },
    /// Run a one-off Python command in a mount's sandbox, as `python ARGS...`
    /// (`-- manage.py migrate`, `-- -m flask --app flaskr init-db`, `-- -c "print(1)"`):
    /// with the app's env, data folder and tmp, the terminal as its stdio, its exit status as ours.
    Exec {
        /// The site folder (holds terrarium.toml).
        site: PathBuf,
        /// The mount's name.
        mount: String,
        /// What follows `python`: `-c CODE ...`, `-m MODULE ...` or `SCRIPT ...` (in the app's folder).
        #[arg(last = true, required = true, value_name = "ARGS")]
        args: Vec<String>,
        /// A variable for this command only, besides the mount's `env`:
        /// `NAME=VALUE`, or `NAME` to pass this shell's (a password, say).
        #[arg(long = "env", short = 'e', value_name = "NAME[=VALUE]")]
        env: Vec<String>,
        /// Where built components are cached [default: SITE/.terrarium/cache]
        #[arg(long, env = "TERRARIUM_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Make a new site, or a new app in a site, from a template.
    New {
        #[command(subcommand)]
        what: NewWhat,
    },
    /// Look at and control the mounts of a running server, through its control API.
    App {
        #[command(subcommand)]
        action: AppAction,
        #[command(flatten)]
        control: ControlApi,
    },
    /// List every mount of a running server with its hosts, state and
    /// counters (as `terrarium app list`).
    Mounts {
        #[command(flatten)]
        control: ControlApi,
    },
}

#[derive(Debug, Subcommand)]
enum NewWhat {
    /// A site folder: terrarium.toml, the app `hello` at / and a static
    /// folder at /static. DIR may exist; nothing in it is overwritten.
    Site {
        /// The site folder.
        dir: PathBuf,
    },
    /// An app folder (SITE/apps/NAME), mounted in the site's terrarium.toml
    /// (its comments kept). Nothing that exists is overwritten.
    App {
        /// The app's name, also its mount's.
        name: String,
        /// The site folder.
        #[arg(long, default_value = ".")]
        site: PathBuf,
        /// What the app is written with: native, flask, wsgi or asgi.
        #[arg(long, default_value_t = Template::Native)]
        template: Template,
        /// Where it is mounted [default: /NAME]
        #[arg(long)]
        path: Option<String>,
    },
}

/// Where a running server's control API is, and its token.
#[derive(Debug, Args)]
struct ControlApi {
    /// The control API's address.
    #[arg(
        long,
        global = true,
        env = "TERRARIUM_ADMIN",
        default_value = "127.0.0.1:8081"
    )]
    admin: String,
    /// The control API's token, when the server requires one.
    #[arg(long, global = true, env = "TERRARIUM_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[derive(Debug, Subcommand)]
enum AppAction {
    /// List every mount with its state and counters.
    List,
    /// Switch a mount on.
    Enable {
        /// The mount's name.
        name: String,
    },
    /// Switch a mount off: its requests get 503 and the maintenance page.
    Disable {
        /// The mount's name.
        name: String,
    },
    /// Rebuild an app from its folder and swap it in without downtime.
    Reload {
        /// The mount's name.
        name: String,
    },
    /// Add an app mount while the site serves (or change the one of that
    /// name): built in the background, live when ready, written into the
    /// site's terrarium.toml. Waits until it is live or its build failed.
    Add {
        /// The mount's name.
        name: String,
        /// Its mount point ("/shop").
        #[arg(long)]
        path: String,
        /// Its app folder (relative to the site folder, as in terrarium.toml).
        #[arg(long)]
        app: String,
        /// More of its keys as in terrarium.toml, each KEY=VALUE with a TOML
        /// value (instances=2, isolation=request, env='{TITLE="Shop"}').
        keys: Vec<String>,
    },
    /// Take a mount out while the site serves: new requests get 404, those
    /// in flight finish; removed from the site's terrarium.toml.
    Remove {
        /// The mount's name.
        name: String,
    },
}

/// Runs the command line; the exit code is non-zero on any failure.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Exec {
        site,
        mount,
        args,
        env,
        cache_dir,
    } = &cli.command
    {
        logging::init(LogFormat::Text);
        return exec(site, mount, args, env, cache_dir.clone());
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            match logging::format() {
                LogFormat::Text => eprintln!("error: {error:#}"),
                LogFormat::Json => tracing::error!(target: "terrarium", "{error:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

/// Runs a command; the log is set up once the site's config says how (a
/// config that cannot be read is reported as text).
fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Build {
            site,
            cache_dir,
            jobs,
        } => {
            let config = SiteConfig::load(&site)?;
            logging::init(config.server.log_format);
            let cache = cache_for(&site, cache_dir);
            let jobs = jobs.unwrap_or_else(site::parallel_builds);
            let mut display = BuildDisplay::for_stderr();
            let built = site::build_site(&config, &cache, jobs, &mut |event| display.show(event))?;
            say(
                None,
                &format!("built {built} app(s) into {}", cache.root().display()),
            );
            Ok(())
        }
        Command::Serve {
            site,
            overrides,
            cache_dir,
            watch,
        } => serve(&site, overrides, cache_dir, watch),
        Command::App { action, control } => {
            logging::init(LogFormat::Text);
            control::run(&action, &control.admin, control.token.as_deref())
        }
        Command::Mounts { control } => {
            logging::init(LogFormat::Text);
            control::run(&AppAction::List, &control.admin, control.token.as_deref())
        }
        Command::New { what } => {
            let written = match &what {
                NewWhat::Site { dir } => scaffold::new_site(dir)?,
                NewWhat::App {
                    name,
                    site,
                    template,
                    path,
                } => scaffold::new_app(site, name, *template, path.as_deref())?,
            };
            for file in &written {
                say(None, &format!("wrote {}", file.display()));
            }
            let next = match &what {
                NewWhat::Site { dir } => format!("serve it: terrarium serve {}", dir.display()),
                NewWhat::App { site, .. } => format!(
                    "serve the site: terrarium serve {} (or reload a running one: kill -HUP its process)",
                    site.display()
                ),
            };
            say(None, &next);
            Ok(())
        }
        Command::Exec { .. } => unreachable!("`main` runs exec itself: it has an exit status of its own"),
    }
}

/// `--env NAME=VALUE` as written, `--env NAME` from this process's environment.
fn exec_env(env: &[String]) -> Result<Vec<(String, String)>, String> {
    env.iter()
        .map(|entry| match entry.split_once('=') {
            Some((name, value)) => Ok((name.to_owned(), value.to_owned())),
            None => std::env::var(entry)
                .map(|value| (entry.clone(), value))
                .map_err(|_| format!("--env {entry}: this shell has no variable {entry}")),
        })
        .collect()
}

/// `terrarium exec`: the command's exit status becomes ours (clamped to
/// 0..=255); a failure to get it running is 1 with a message.
fn exec(site: &Path, mount: &str, args: &[String], env: &[String], cache_dir: Option<PathBuf>) -> ExitCode {
    let extra_env = match exec_env(env) {
        Ok(extra_env) => extra_env,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let mut display = BuildDisplay::for_stderr();
    let ran = SiteConfig::load(site)
        .map_err(site::StartError::from)
        .and_then(|config| {
            site::exec(
                &config,
                &cache_for(site, cache_dir),
                mount,
                args,
                &extra_env,
                &mut |event| display.show(event),
            )
        });
    match ran {
        Ok(status) => ExitCode::from(status.clamp(0, 255) as u8),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn cache_for(site: &Path, cache_dir: Option<PathBuf>) -> BuildCache {
    BuildCache::new(cache_dir.unwrap_or_else(|| site::default_cache_dir(site)))
}

/// What `terrarium serve`'s flags put in place of `[server]` keys.
#[derive(Debug, Args)]
struct ServeOverrides {
    /// Address to listen on, overriding `server.listen` (port 0 picks a free port).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Address of the control API, overriding `server.admin` ("off" to disable).
    #[arg(long, value_name = "ADDR|off")]
    admin: Option<AdminAddress>,
    /// Worker threads serving the site, overriding `server.workers` ("auto": one per core).
    #[arg(long)]
    workers: Option<Workers>,
    /// Where the line per request goes, overriding `server.access_log`:
    /// "stderr", "off" or a file (appended to).
    #[arg(long, value_name = "stderr|off|FILE")]
    access_log: Option<AccessLogTarget>,
    /// How every log line is written, overriding `server.log_format`:
    /// "text" or "json" (one object a line).
    #[arg(long, value_name = "text|json")]
    log_format: Option<LogFormat>,
}

fn serve(
    site_dir: &Path,
    overrides: ServeOverrides,
    cache_dir: Option<PathBuf>,
    watch: bool,
) -> anyhow::Result<()> {
    let mut config = SiteConfig::load(site_dir)?;
    let server = &mut config.server;
    if let Some(listen) = overrides.listen {
        server.listen = listen;
    }
    if let Some(workers) = overrides.workers {
        server.workers = workers;
    }
    if let Some(access_log) = overrides.access_log {
        // A relative path on the command line starts where the command runs.
        server.access_log = access_log;
    }
    if let Some(admin) = overrides.admin {
        server.admin = admin;
    }
    if let Some(log_format) = overrides.log_format {
        server.log_format = log_format;
    }
    logging::init(server.log_format);
    let options = LaunchOptions {
        cache: cache_for(site_dir, cache_dir),
        progress: {
            let mut display = BuildDisplay::for_stderr();
            Box::new(move |event| display.show(event))
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let running = launch(config, options, shutdown_signal()).await?;
        let mut banner = format!("terrarium: listening on http://{}\n", running.addr);
        if let Some(tls_addr) = running.tls_addr {
            banner.push_str(&format!("terrarium: listening on https://{tls_addr}\n"));
        }
        if let Some(admin) = running.admin_addr {
            banner.push_str(&format!("terrarium: control API on http://{admin}\n"));
        }
        if logging::format() == LogFormat::Json {
            // The log says it too, for a collector that reads only stderr.
            for line in banner.lines() {
                say(None, line.trim_start_matches("terrarium: "));
            }
        }
        // Whoever started us may have stopped reading stdout: never die of that.
        let mut stdout = std::io::stdout();
        let _ = stdout.write_all(banner.as_bytes()).and_then(|()| stdout.flush());
        let reopener = tokio::spawn(on_hangup(running.site.clone()));
        let watching = match watch {
            true => Some(watch::spawn(running.site.clone()).context("cannot watch the site's files")?),
            false => None,
        };
        running.stopped().await?;
        reopener.abort();
        if let Some(watching) = watching {
            watching.abort();
        }
        say(None, "stopped");
        Ok(())
    })
}

/// On each SIGHUP, opens the access log's file again (for log rotation)
/// and applies what the site's terrarium.toml changed.
async fn on_hangup(site: Arc<Site>) {
    #[cfg(unix)]
    {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            return;
        };
        while hangups.recv().await.is_some() {
            match site.access_log().reopen() {
                Ok(()) => tracing::info!("SIGHUP: access log reopened"),
                Err(error) => tracing::error!(
                    "SIGHUP: cannot reopen the access log ({error}); it keeps writing to the old file"
                ),
            }
            // It logs what it applied; a refusal is said here.
            if let Err(error) = site.reload_config().await {
                tracing::error!("SIGHUP: the configuration was not reloaded: {error}");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = site;
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Tells the operator what the server is doing: a line for people
/// (`[app] message`, `terrarium: message`), or a record in the JSON log.
fn say(app: Option<&str>, message: &str) {
    match (logging::format(), app) {
        (LogFormat::Text, Some(app)) => eprintln!("[{app}] {message}"),
        (LogFormat::Text, None) => eprintln!("terrarium: {message}"),
        (LogFormat::Json, Some(app)) => tracing::info!(target: "terrarium", app, "{message}"),
        (LogFormat::Json, None) => tracing::info!(target: "terrarium", "{message}"),
    }
}
