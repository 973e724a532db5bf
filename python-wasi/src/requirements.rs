//! Installs an app's pure-Python requirements with pip, into a build folder.
//!
//! Only apps with a `requirements.txt` need pip. Packages are first resolved
//! for the sandbox's interpreter: CPython 3.14, pure-Python wheels only.
//! Some pure-Python-capable packages publish only native wheels and an sdist
//! (MarkupSafe, which Flask needs, is one): when the strict resolution fails,
//! pip resolves again with the build machine's own Python, and every native
//! extension module it installed is removed, since none can load in wasm.
//! Such packages then run on their pure-Python fallback; one without a
//! fallback fails at import, at build time, with a traceback naming it.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use crate::contract::PYTHON_VERSION;

/// The file that lists an app's requirements.
pub const REQUIREMENTS_FILE: &str = "requirements.txt";

/// The Python interpreter used to run pip: `$TERRARIUM_PYTHON`, else `python3`.
pub fn python_for_pip() -> PathBuf {
    env::var_os("TERRARIUM_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// How the requirements were installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Pure-Python wheels for CPython 3.14 only.
    PureWheels,
    /// Resolved with the build machine's Python; native modules removed.
    HostFallback,
}

/// Runs pip to install `app_dir/requirements.txt` into `target`.
///
/// pip runs with `app_dir` as its working directory, so relative paths in the
/// requirements file (`--find-links wheels`, `./vendor/pkg.whl`) work.
/// Returns pip's combined output as the error when both resolutions fail.
pub fn install(app_dir: &Path, target: &Path) -> Result<Resolution, String> {
    let strict = run_pip(app_dir, target, true);
    let Err(strict_error) = strict else {
        return Ok(Resolution::PureWheels);
    };
    let _ = std::fs::remove_dir_all(target);
    match run_pip(app_dir, target, false) {
        Ok(()) => {
            remove_native_modules(target).map_err(|e| format!("cannot clean {}: {e}", target.display()))?;
            Ok(Resolution::HostFallback)
        }
        Err(fallback) => Err(format!(
            "{fallback}\n(before that, resolving pure-Python wheels for CPython {PYTHON_VERSION} failed: \
             {strict_error})"
        )),
    }
}

/// Deletes compiled extension modules (`*.so`, `*.pyd`) that are not wasm.
fn remove_native_modules(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            remove_native_modules(&path)?;
        } else if path.extension().is_some_and(|ext| ext == "so" || ext == "pyd") {
            let is_wasm = std::fs::read(&path)
                .map(|b| b.starts_with(b"\0asm"))
                .unwrap_or(false);
            if !is_wasm {
                std::fs::remove_file(&path)?;
            }
        }
    }
    Ok(())
}

fn run_pip(app_dir: &Path, target: &Path, pure_wheels_only: bool) -> Result<(), String> {
    let python = python_for_pip();
    let mut command = Command::new(&python);
    command.current_dir(app_dir).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--no-compile",
    ]);
    if pure_wheels_only {
        command
            .args(["--only-binary=:all:", "--implementation", "py", "--abi", "none"])
            .args(["--platform", "any", "--python-version", PYTHON_VERSION]);
    }
    let output = command
        .arg("--target")
        .arg(target)
        .args(["-r", REQUIREMENTS_FILE])
        .output()
        .map_err(|e| {
            format!(
                "could not run `{} -m pip` to install {REQUIREMENTS_FILE}: {e} \
                 (an app with requirements needs Python 3 with pip on the build machine; \
                 set TERRARIUM_PYTHON to choose the interpreter)",
                python.display()
            )
        })?;
    if output.status.success() {
        return Ok(());
    }
    let mut message = format!("pip could not install {REQUIREMENTS_FILE} ({})", output.status);
    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        if !text.trim().is_empty() {
            message.push('\n');
            message.push_str(text.trim_end());
        }
    }
    Err(message)
}
