//! Golden tests of the config's error messages: each `tests/config/NAME.toml`
//! is parsed as a site's terrarium.toml (in a site folder that has
//! `apps/hello/`), and the error must be exactly `NAME.err`, with `$SITE`
//! standing for the site folder. Every case is checked and every mismatch
//! reported at once. `TERRARIUM_BLESS=1` writes the `.err` files from what
//! the parser says now (review the diff before committing it).

use std::path::Path;

use terrarium::config::SiteConfig;
use terrarium_test_support::repo;

#[test]
fn every_bad_config_is_refused_with_its_golden_message() {
    let cases = repo().join("tests/config");
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("apps/hello")).unwrap();
    let bless = std::env::var_os("TERRARIUM_BLESS").is_some();
    let mut names: Vec<_> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 40,
        "the golden cases are missing from {}",
        cases.display()
    );
    let mut failures = Vec::new();
    for case in &names {
        let text = std::fs::read_to_string(case).unwrap();
        let got = match SiteConfig::parse(&text, site.path()) {
            Ok(_) => "(no error: the config was accepted)".to_owned(),
            Err(problem) => problem.replace(&site.path().display().to_string(), "$SITE"),
        };
        let golden = case.with_extension("err");
        if bless {
            std::fs::write(&golden, format!("{got}\n")).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if expected.trim_end() != got {
            failures.push(format!(
                "{}\n  expected: {}\n  got:      {got}",
                name_of(case),
                expected.trim_end()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ (TERRARIUM_BLESS=1 rewrites the .err files):\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

fn name_of(case: &Path) -> String {
    case.file_stem().unwrap().to_string_lossy().into_owned()
}
