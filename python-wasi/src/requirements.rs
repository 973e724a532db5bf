//! Installs an app's pure-Python requirements with pip, into a build folder.
//!
//! Only apps with a `requirements.txt` need pip. Packages are resolved for
//! the sandbox's interpreter (CPython 3.14, pure-Python wheels only), not for
//! the machine running the build, so a package that ships only native wheels
//! fails here with pip's own explanation instead of failing at run time.

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

/// Runs pip to install `app_dir/requirements.txt` into `target`.
///
/// pip runs with `app_dir` as its working directory, so relative paths in the
/// requirements file (`--find-links wheels`, `./vendor/pkg.whl`) work.
/// Returns pip's combined output as the error when it fails.
pub fn install(app_dir: &Path, target: &Path) -> Result<(), String> {
    let python = python_for_pip();
    let output = Command::new(&python)
        .current_dir(app_dir)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
        ])
        .args([
            "--no-compile",
            "--only-binary=:all:",
            "--implementation",
            "py",
            "--abi",
            "none",
        ])
        .args(["--platform", "any", "--python-version", PYTHON_VERSION])
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
