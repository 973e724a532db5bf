//! The guest SDK's own unit tests (pytest, plain CPython: no wasm, no
//! sockets), run as part of `cargo test` so one command runs everything.

use std::process::Command;

#[test]
fn guest_sdk_unit_tests_pass_under_pytest() {
    let sdk = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk");
    let output = Command::new(std::env::var("TERRARIUM_PYTHON").unwrap_or_else(|_| "python3".into()))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(&sdk)
        .output()
        .expect(
            "python3 runs (the SDK tests need Python 3 with pytest: python3 -m pip install pytest jinja2)",
        );
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(
        output.status.success(),
        "pytest failed (python3 -m pip install pytest jinja2):\n{report}"
    );
    assert!(report.contains(" passed"), "pytest ran no test:\n{report}");
}
