//! The check behind the table tests of parsers (tests only): each case is
//! a text and what parsing it gives, its canonical form or a part of the
//! error; every mismatch is reported at once.

/// A text, and `Ok(canonical form)` or `Err(part of the error)`.
pub type ParseCase<'a> = (&'a str, Result<&'a str, &'a str>);

/// The cases `parse` does not answer as expected, each described.
pub fn mismatches(cases: &[ParseCase<'_>], parse: impl Fn(&str) -> Result<String, String>) -> Vec<String> {
    cases
        .iter()
        .filter_map(|(text, expected)| {
            let got = parse(text);
            let fine = match (&got, expected) {
                (Ok(value), Ok(want)) => value == want,
                (Err(problem), Err(part)) => problem.contains(part),
                _ => false,
            };
            (!fine).then(|| format!("{text:?}: {got:?}"))
        })
        .collect()
}

/// Asserts that `parse` answers every case as expected.
pub fn check(cases: &[ParseCase<'_>], parse: impl Fn(&str) -> Result<String, String>) {
    let failures = mismatches(cases, parse);
    assert!(failures.is_empty(), "{failures:#?}");
}
