//! Installs an app's requirements for the sandbox's CPython, into a build
//! folder, whatever Python the build machine runs pip with.
//!
//! - Resolution targets CPython 3.14 on WASI: `--python-version` decides
//!   `Requires-Python` and the wheel tags, and `pip_in_sandbox.py` makes pip
//!   evaluate environment markers for the sandbox (pip would otherwise use
//!   the interpreter it runs on).
//! - Wheels only (nothing is compiled): a pure-Python wheel where the chosen
//!   release has one, otherwise its CPython 3.14 Linux wheel, whose native
//!   modules are then removed (none can load in wasm).
//! - `drop_native.py` removes them and finds the packages that cannot work
//!   without theirs (pydantic-core, cryptography, cffi bindings): the build
//!   fails naming them instead of failing at import.
//! - A pip older than the one this was tried with ([`MIN_PIP`]) is replaced
//!   by that pip's wheel, fetched once into the cache's `tools/` folder and
//!   run from the wheel.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use crate::contract::PYTHON_VERSION;

/// The file that lists an app's requirements.
pub const REQUIREMENTS_FILE: &str = "requirements.txt";

/// The oldest pip trusted to resolve for another Python: older ones check
/// `Requires-Python` against the Python they run on in a dry run (23.2 does).
const MIN_PIP: (u32, u32) = (26, 3);
/// The pip fetched when the build machine's is older than [`MIN_PIP`].
const PRIVATE_PIP: &str = "26.3";

/// Runs pip as if inside the sandbox (see the module comment).
const PIP_IN_SANDBOX: &str = include_str!("pip_in_sandbox.py");
/// Removes native modules and names the packages that need theirs.
const DROP_NATIVE: &str = include_str!("drop_native.py");

/// What `sys`, `os` and `platform` say inside the sandbox, as environment
/// markers see them.
const SANDBOX_MARKERS: &str = r#"{"implementation_name": "cpython", "implementation_version": "3.14.0",
"os_name": "posix", "platform_machine": "wasm32", "platform_release": "0.0.0", "platform_system": "wasi",
"platform_version": "0.0.0", "python_full_version": "3.14.0", "platform_python_implementation": "CPython",
"python_version": "3.14", "sys_platform": "wasi"}"#;

/// Wheel tags pip may choose from: pure wheels, or CPython 3.14 Linux ones
/// (only their Python code is kept).
const WHEEL_TAGS: &[&str] = &[
    "--only-binary=:all:",
    "--python-version",
    PYTHON_VERSION,
    "--implementation",
    "cp",
    "--abi",
    "cp314",
    "--abi",
    "abi3",
    "--abi",
    "none",
    "--platform",
    "manylinux_2_17_x86_64",
    "--platform",
    "manylinux2014_x86_64",
    "--platform",
    "manylinux_2_28_x86_64",
    "--platform",
    "musllinux_1_2_x86_64",
    "--platform",
    "any",
];

/// Only pure-Python wheels.
const PURE_TAGS: &[&str] = &[
    "--only-binary=:all:",
    "--python-version",
    PYTHON_VERSION,
    "--implementation",
    "py",
    "--abi",
    "none",
    "--platform",
    "any",
];

/// The Python interpreter used to run pip: `$TERRARIUM_PYTHON`, else `python3`.
pub fn python_for_pip() -> PathBuf {
    env::var_os("TERRARIUM_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// What was installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Every package, as "name version", in pip's order.
    pub packages: Vec<String>,
    /// The packages whose native modules were removed (their pure-Python
    /// code runs instead).
    pub without_native: Vec<String>,
}

/// One package pip chose.
struct Chosen {
    name: String,
    version: String,
    /// The wheel's file name.
    wheel: String,
}

/// Installs `app_dir/requirements.txt` into `target`, with pip run from
/// `app_dir` (so relative paths in the file work); `tools` may receive a
/// private pip. The error says what went wrong, with pip's output.
pub fn install(app_dir: &Path, target: &Path, tools: &Path) -> Result<Installed, String> {
    let pip = Pip::find(tools)?;
    let work = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let report = work.path().join("report.json");
    let report_arg = report.to_string_lossy().into_owned();
    // pip takes the platform options only with `--target`, even for a dry run.
    let dry_target = work.path().join("dry-run").to_string_lossy().into_owned();
    let mut resolve = vec![
        "install",
        "--dry-run",
        "--ignore-installed",
        "--target",
        &dry_target,
    ];
    resolve.extend(["--report", &report_arg]);
    resolve.extend(WHEEL_TAGS);
    resolve.extend(["-r", REQUIREMENTS_FILE]);
    pip.run(app_dir, &resolve).map_err(explain_resolution)?;
    let chosen = read_report(&report)?;

    // A release with a pure wheel beside its native ones: take the pure one.
    let options = index_options(app_dir);
    let pure_dir = work.path().join("pure");
    let mut pins = options.clone();
    for package in &chosen {
        let pin = format!("{}=={}", package.name, package.version);
        if !package.wheel.ends_with("-none-any.whl")
            && pip.download_pure(app_dir, &options, &pin, &pure_dir, work.path())
        {
            pins.push(pure_wheel_in(&pure_dir, &package.name).unwrap_or(pin));
        } else {
            pins.push(pin);
        }
    }
    let pinned = work.path().join("pinned.txt");
    fs::write(&pinned, pins.join("\n")).map_err(|e| format!("cannot write {}: {e}", pinned.display()))?;
    let target_arg = target.to_string_lossy().into_owned();
    let pinned_arg = pinned.to_string_lossy().into_owned();
    // The resolution above checked `Requires-Python` for 3.14; installing
    // the pins, pip would check it against the Python it runs on.
    let mut install = vec![
        "install",
        "--no-deps",
        "--ignore-requires-python",
        "--no-compile",
        "--target",
        &target_arg,
    ];
    install.extend(WHEEL_TAGS);
    install.extend(["-r", &pinned_arg]);
    pip.run(app_dir, &install)?;

    let dropped = drop_native(&pip.python, target)?;
    Ok(Installed {
        packages: chosen
            .iter()
            .map(|package| format!("{} {}", package.name, package.version))
            .collect(),
        without_native: dropped,
    })
}

/// How to run pip: the build machine's, or a private one from its wheel.
struct Pip {
    python: PathBuf,
    /// A pip wheel to run instead of the installed pip.
    wheel: Option<PathBuf>,
}

impl Pip {
    /// The build machine's pip when it is recent enough, else the private one.
    fn find(tools: &Path) -> Result<Self, String> {
        let python = python_for_pip();
        let version = Command::new(&python)
            .args(["-m", "pip", "--version"])
            .output()
            .map_err(|e| {
                format!(
                    "could not run `{} -m pip` to install {REQUIREMENTS_FILE}: {e} (an app with requirements \
                     needs Python 3 with pip on the build machine; set TERRARIUM_PYTHON to choose the interpreter)",
                    python.display()
                )
            })?;
        if version.status.success() && pip_version(&String::from_utf8_lossy(&version.stdout)) >= Some(MIN_PIP)
        {
            return Ok(Self { python, wheel: None });
        }
        let wheel = tools.join(format!("pip-{PRIVATE_PIP}-py3-none-any.whl"));
        if !wheel.is_file() {
            fetch_pip(&python, tools, &wheel)?;
        }
        Ok(Self {
            python,
            wheel: Some(wheel),
        })
    }

    /// Runs pip with `args`, as if inside the sandbox, from `dir`.
    fn run(&self, dir: &Path, args: &[&str]) -> Result<(), String> {
        let output = self
            .command(dir, args)
            .output()
            .map_err(|e| format!("could not run pip: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        Err(failure("pip could not install", &output))
    }

    fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(&self.python);
        command
            .current_dir(dir)
            .args(["-c", PIP_IN_SANDBOX, SANDBOX_MARKERS])
            .args(["--quiet", "--disable-pip-version-check", "--no-input"])
            .args(args);
        if let Some(wheel) = &self.wheel {
            command.env("PYTHONPATH", wheel);
        }
        command
    }

    /// Downloads the pure-Python wheel of `pin` into `to`, if there is one.
    fn download_pure(&self, dir: &Path, options: &[String], pin: &str, to: &Path, work: &Path) -> bool {
        let file = work.join("one.txt");
        let mut lines = options.to_vec();
        lines.push(pin.to_owned());
        if fs::write(&file, lines.join("\n")).is_err() {
            return false;
        }
        let (to, file) = (to.to_string_lossy(), file.to_string_lossy());
        let mut args = vec!["download", "--no-deps", "-d", &to];
        args.extend(PURE_TAGS);
        args.extend(["-r", &file]);
        self.command(dir, &args)
            .output()
            .is_ok_and(|output| output.status.success())
    }
}

/// "pip 23.2.1 from ..." → (23, 2).
fn pip_version(text: &str) -> Option<(u32, u32)> {
    let version = text.strip_prefix("pip ")?.split_whitespace().next()?;
    let mut parts = version.split('.').map(|part| part.parse::<u32>().ok());
    Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
}

/// Fetches the pinned pip's wheel into `tools`, with the machine's old pip.
fn fetch_pip(python: &Path, tools: &Path, wheel: &Path) -> Result<(), String> {
    fs::create_dir_all(tools).map_err(|e| format!("cannot make {}: {e}", tools.display()))?;
    let output = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
        ])
        .arg(tools)
        .arg(format!("pip=={PRIVATE_PIP}"))
        .output()
        .map_err(|e| format!("could not run pip: {e}"))?;
    if !output.status.success() || !wheel.is_file() {
        return Err(failure(
            &format!(
                "this machine's pip is older than {}.{}, and fetching pip {PRIVATE_PIP} failed",
                MIN_PIP.0, MIN_PIP.1
            ),
            &output,
        ));
    }
    Ok(())
}

/// The option lines of `requirements.txt` (`--index-url`, `--find-links`,
/// `--no-index`, ...), to keep when installing pinned packages.
fn index_options(app_dir: &Path) -> Vec<String> {
    fs::read_to_string(app_dir.join(REQUIREMENTS_FILE))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| {
            line.starts_with("--") && !line.starts_with("--requirement") && !line.starts_with("--constraint")
        })
        .map(str::to_owned)
        .collect()
}

/// The wheel of `name` that was downloaded into `dir`.
fn pure_wheel_in(dir: &Path, name: &str) -> Option<String> {
    let wanted = normalized(name).replace('-', "_");
    fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|entry| entry.path())
        .find_map(|path| {
            let file = path.file_name()?.to_str()?;
            let project = file.split('-').next()?;
            (normalized(project).replace('-', "_") == wanted).then(|| path.to_string_lossy().into_owned())
        })
}

/// A project name as pip compares them (PEP 503).
fn normalized(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// What pip chose, from its `--report`.
fn read_report(path: &Path) -> Result<Vec<Chosen>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("pip wrote no report: {e}"))?;
    let report: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("pip's report is not JSON: {e}"))?;
    let items = report["install"]
        .as_array()
        .ok_or("pip's report lists no `install`")?;
    items
        .iter()
        .map(|item| {
            let field = |value: &serde_json::Value| value.as_str().map(str::to_owned);
            let url = field(&item["download_info"]["url"]).unwrap_or_default();
            Ok(Chosen {
                name: field(&item["metadata"]["name"]).ok_or("a package in pip's report has no name")?,
                version: field(&item["metadata"]["version"])
                    .ok_or("a package in pip's report has no version")?,
                wheel: url.rsplit('/').next().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// Removes the native modules in `target`; fails naming the packages that
/// cannot work without theirs. Returns the packages that lost some.
fn drop_native(python: &Path, target: &Path) -> Result<Vec<String>, String> {
    let output = Command::new(python)
        .args(["-c", DROP_NATIVE])
        .arg(target)
        .output()
        .map_err(|e| format!("could not run {}: {e}", python.display()))?;
    if !output.status.success() {
        return Err(failure("could not look for native modules", &output));
    }
    let found: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("the native module check printed no JSON: {e}"))?;
    let without_fallback: Vec<String> = found["without_fallback"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(package, reason)| format!("{package} ({})", reason.as_str().unwrap_or("?")))
        .collect();
    if !without_fallback.is_empty() {
        return Err(format!(
            "{} cannot run in the sandbox: it needs native code that does not load in WebAssembly and has no \
             pure-Python fallback; remove it (or the package that requires it) from {REQUIREMENTS_FILE}",
            without_fallback.join(", ")
        ));
    }
    Ok(found["dropped"]
        .as_object()
        .map(|dropped| dropped.keys().cloned().collect())
        .unwrap_or_default())
}

/// Adds a hint to a failed resolution: the sandbox needs wheels for 3.14.
fn explain_resolution(message: String) -> String {
    if message.contains("No matching distribution") || message.contains("requires a different Python") {
        format!(
            "{message}\n(requirements are resolved for the sandbox's CPython {PYTHON_VERSION} on WASI, from wheels \
             only: a package with no release for Python {PYTHON_VERSION}, or only a source archive, cannot be installed)"
        )
    } else {
        message
    }
}

/// `what` failed: its status and output.
fn failure(what: &str, output: &Output) -> String {
    let mut message = format!("{what} {REQUIREMENTS_FILE} ({})", output.status);
    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        for line in text
            .lines()
            .filter(|line| !line.contains("Running pip as the 'root' user"))
        {
            message.push('\n');
            message.push_str(line);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pip_versions_are_read_from_its_banner() {
        assert_eq!(pip_version("pip 23.2.1 from /x (python 3.11)"), Some((23, 2)));
        assert_eq!(pip_version("pip 26.0 from /x"), Some((26, 0)));
        assert_eq!(pip_version("pip 9 from /x"), Some((9, 0)));
        assert_eq!(pip_version("not pip"), None);
        assert!(pip_version("pip 23.2.1 from /x") < Some(MIN_PIP));
        assert!(pip_version("pip 26.3 from /x") >= Some(MIN_PIP));
    }

    #[test]
    fn index_options_are_kept_and_requirements_are_not() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(REQUIREMENTS_FILE),
            "--no-index\n  --find-links wheels\nflask>=3\n# note\n--requirement other.txt\n",
        )
        .unwrap();
        assert_eq!(index_options(dir.path()), ["--no-index", "--find-links wheels"]);
    }

    #[test]
    fn project_names_compare_as_pip_compares_them() {
        assert_eq!(normalized("Zope.Interface"), "zope-interface");
        assert_eq!(normalized("pydantic__core"), "pydantic-core");
    }
}
