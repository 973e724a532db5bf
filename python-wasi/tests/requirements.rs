//! Requirements resolved for the sandbox's CPython 3.14 on WASI, with the
//! real pip and PyPI: versions, markers and native modules as the sandbox
//! sees them, not as the build machine's Python would.

use std::path::Path;

use terrarium_python_wasi::requirements::{self, Installed, REQUIREMENTS_FILE};

fn install(requirements_txt: &str) -> (tempfile::TempDir, Result<Installed, String>) {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join(REQUIREMENTS_FILE), requirements_txt).unwrap();
    let target = app.path().join("deps");
    let tools = app.path().join("tools");
    let installed = requirements::install(app.path(), &target, &tools);
    (app, installed)
}

fn has_native_modules(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            has_native_modules(&path)
        } else {
            path.extension().is_some_and(|ext| ext == "so")
        }
    })
}

#[test]
fn versions_and_markers_are_those_of_cpython_3_14() {
    // Django 6 requires Python 3.12; Pyramid needs legacy-cgi from 3.13 on.
    let (app, installed) = install("django>=6\npyramid==2.1\n");
    let installed = installed.unwrap();
    assert!(
        installed.packages.iter().any(|p| p.starts_with("Django 6.")),
        "{:?}",
        installed.packages
    );
    assert!(
        installed.packages.iter().any(|p| p.starts_with("legacy-cgi ")),
        "the marker python_version >= \"3.13\" is kept: {:?}",
        installed.packages
    );
    assert!(app.path().join("deps/django/__init__.py").is_file());
    assert!(app.path().join("deps/cgi.py").is_file());
}

#[test]
fn native_modules_are_dropped_where_python_code_stands_in() {
    let (app, installed) = install("markupsafe==3.0.3\ncharset-normalizer==3.4.4\n");
    let installed = installed.unwrap();
    assert_eq!(
        installed.without_native,
        ["markupsafe"],
        "charset-normalizer has a pure wheel"
    );
    assert!(!has_native_modules(&app.path().join("deps")));
    assert!(app.path().join("deps/markupsafe/_native.py").is_file());
}

#[test]
fn a_package_with_no_fallback_fails_the_build_naming_it() {
    let (_app, installed) = install("pydantic>=2\n");
    let error = installed.unwrap_err();
    assert!(
        error.contains("pydantic-core (") && error.contains("no pure-Python fallback"),
        "{error}"
    );
}

#[test]
fn a_requirement_with_no_release_for_3_14_is_explained() {
    // typed-ast's last release supports Python up to 3.11, as source only for newer ones.
    let (_app, installed) = install("typed-ast==1.5.5\n");
    let error = installed.unwrap_err();
    assert!(
        error.contains("resolved for the sandbox's CPython 3.14"),
        "{error}"
    );
}
