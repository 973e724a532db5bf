//! The real `terrarium` binary, run as a child process with the shared
//! build cache.

use std::{
    io::BufRead,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use crate::{profile_dir, shared_cache_dir};

/// The `terrarium` binary cargo built beside the tests.
fn binary() -> PathBuf {
    let path = profile_dir().join(format!("terrarium{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: run the tests with cargo test",
        path.display()
    );
    path
}

/// `terrarium ARGS...` with the shared build cache and `info` logging, and
/// no admin token or address from the caller's environment.
pub fn terrarium(args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command
        .args(args)
        .env("TERRARIUM_CACHE_DIR", shared_cache_dir())
        .env("TERRARIUM_LOG", "info")
        .env_remove("TERRARIUM_ADMIN_TOKEN")
        .env_remove("TERRARIUM_ADMIN");
    command
}

/// Runs `terrarium ARGS...` to its end, capturing its output; panics (after
/// killing it) when it runs longer than `limit`.
pub fn run_with_timeout(args: &[&str], limit: Duration) -> Output {
    let mut child = terrarium(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!("`terrarium {}` was still running after {limit:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Starts `terrarium serve SITE --listen 127.0.0.1:0` (and the given extra
/// arguments) as its own process; returns it and the address it printed.
/// Its stderr (the log) goes to the test's.
pub fn serve_process(site: &Path, extra: &[&str]) -> (ServedChild, SocketAddr) {
    let mut command = terrarium(&["serve", site.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    command.args(extra);
    listening(command)
}

/// [`serve_process`], started with a soft limit of `open_files` open
/// files (as `ulimit -Sn` would leave it).
pub fn serve_process_with_open_files(
    site: &Path,
    open_files: u64,
    extra: &[&str],
) -> (ServedChild, SocketAddr) {
    let serve = terrarium(&[]);
    let mut command = Command::new("sh");
    command
        .args(["-c", "ulimit -Sn \"$1\" && shift && exec \"$@\"", "sh"])
        .arg(open_files.to_string())
        .arg(serve.get_program())
        .args(["serve", site.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .args(extra);
    for (key, value) in serve.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    listening(command)
}

/// A `terrarium serve` child process, killed when dropped: a test that
/// fails half-way never leaves a server running (whose inherited stderr
/// would keep `cargo test` waiting).
pub struct ServedChild(Child);

impl std::ops::Deref for ServedChild {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for ServedChild {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for ServedChild {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs a `terrarium serve` command and waits for its "listening" line.
/// [`serve_process`] with `env` set for the server and its stderr (its
/// log) written to the file `log`.
pub fn serve_process_logging_to(
    site: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
    log: &Path,
) -> (ServedChild, SocketAddr) {
    let mut command = terrarium(&["serve", site.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
    command.args(extra).envs(env.iter().copied());
    listening_with(command, std::fs::File::create(log).unwrap().into())
}

fn listening(command: Command) -> (ServedChild, SocketAddr) {
    listening_with(command, Stdio::inherit())
}

/// Starts `command` with `stderr` and waits for its first line, which says
/// where it listens.
fn listening_with(mut command: Command, stderr: Stdio) -> (ServedChild, SocketAddr) {
    let mut child = command.stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("terrarium: listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .parse()
        .unwrap();
    (ServedChild(child), addr)
}

/// Sends `signal` ("-TERM", "-HUP", "-KILL") to `child`.
pub fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {}", child.id());
}
