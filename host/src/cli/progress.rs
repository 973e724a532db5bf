//! How a site's builds are shown while it gets ready: on a terminal, a
//! spinner per app that is building, with its step and the time it has
//! taken so far (`indicatif`); anywhere else (a pipe, a CI log, the JSON
//! log), one plain line per step, as `[app] message`.

use std::{collections::HashMap, io::IsTerminal, time::Duration};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use terrarium_python_wasi::BuildStep;

use super::say;
use crate::{config::LogFormat, logging, site::Progress};

/// How often a spinner turns (and its elapsed time is redrawn).
const TICK: Duration = Duration::from_millis(120);

/// Shows build progress, one event at a time.
pub(super) enum BuildDisplay {
    /// One line per event, through the log.
    Lines,
    /// A spinner per app building.
    Spinners(Spinners),
}

impl BuildDisplay {
    /// Spinners when stderr is a terminal and the log is text; lines otherwise.
    pub(super) fn for_stderr() -> Self {
        if logging::format() == LogFormat::Text && std::io::stderr().is_terminal() {
            Self::Spinners(Spinners::new(ProgressDrawTarget::stderr()))
        } else {
            Self::Lines
        }
    }

    /// Tells one event.
    pub(super) fn show(&mut self, progress: Progress) {
        match self {
            Self::Lines => {
                let app = progress.app();
                for line in lines_of(&progress) {
                    say(Some(app), &line);
                }
            }
            Self::Spinners(spinners) => spinners.show(&progress),
        }
    }
}

/// Writes one line told of an app.
type LineWriter = Box<dyn FnMut(&str, &str) + Send>;

/// The spinners of the apps building now, below the lines told so far.
pub(super) struct Spinners {
    multi: MultiProgress,
    building: HashMap<String, ProgressBar>,
    write_line: LineWriter,
}

impl Spinners {
    fn new(target: ProgressDrawTarget) -> Self {
        Self::writing_lines_with(target, Box::new(|app, line| say(Some(app), line)))
    }

    fn writing_lines_with(target: ProgressDrawTarget, write_line: LineWriter) -> Self {
        Self {
            multi: MultiProgress::with_draw_target(target),
            building: HashMap::new(),
            write_line,
        }
    }

    fn show(&mut self, progress: &Progress) {
        let app = progress.app();
        let lines = lines_of(progress);
        match progress {
            Progress::Step {
                step: BuildStep::Cached,
                ..
            } => {}
            Progress::Step {
                step: BuildStep::RequirementsInstalled(_),
                ..
            } => self.print(app, &lines),
            Progress::Step { .. } | Progress::Compiling { .. } => {
                if let Some(step) = lines.first() {
                    self.spinner(app).set_message(step.clone());
                }
            }
            Progress::Ready { .. } => {
                // The spinner gives way to a line, so that nothing is left
                // drawn once every app is ready.
                if let Some(spinner) = self.building.remove(app) {
                    spinner.finish_and_clear();
                }
                self.print(app, &lines);
            }
        }
    }

    /// The spinner of `app`, started on its first step.
    fn spinner(&mut self, app: &str) -> &ProgressBar {
        self.building.entry(app.to_owned()).or_insert_with(|| {
            let spinner = self.multi.add(ProgressBar::new_spinner());
            spinner.set_style(building_style());
            spinner.set_prefix(format!("[{app}]"));
            spinner.enable_steady_tick(TICK);
            spinner
        })
    }

    /// Writes lines above the spinners: they are taken down, the lines
    /// written as anywhere else, and the spinners drawn again below.
    fn print(&mut self, app: &str, lines: &[String]) {
        let write_line = &mut self.write_line;
        self.multi.suspend(|| {
            for line in lines {
                write_line(app, line);
            }
        });
    }
}

impl Drop for Spinners {
    /// A build that never got ready (it failed, or another did and the
    /// start stopped) stops turning; the error is printed below it.
    fn drop(&mut self) {
        for (app, spinner) in std::mem::take(&mut self.building) {
            spinner.finish_and_clear();
            self.print(&app, &[format!("stopped while {}", spinner.message())]);
        }
    }
}

fn building_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {wide_msg} {elapsed:>4}")
        .expect("a valid template")
}

/// What an event says, as lines for people.
fn lines_of(progress: &Progress) -> Vec<String> {
    match progress {
        Progress::Step { step, .. } => match step {
            BuildStep::Cached => Vec::new(),
            BuildStep::InstallingRequirements => vec!["installing requirements.txt with pip…".to_owned()],
            BuildStep::RequirementsInstalled(installed) => {
                let mut lines = vec![format!(
                    "installed for CPython 3.14: {}",
                    installed.packages.join(", ")
                )];
                if !installed.without_native.is_empty() {
                    lines.push(format!(
                        "without their native modules (their pure-Python code runs instead): {}",
                        installed.without_native.join(", ")
                    ));
                }
                lines
            }
            BuildStep::Componentizing => vec!["building: pre-initializing CPython with the app…".to_owned()],
        },
        Progress::Compiling { .. } => vec!["compiling to native code…".to_owned()],
        Progress::Ready {
            from_cache,
            elapsed,
            interface,
            ..
        } => {
            let how = if *from_cache { "from cache" } else { "built" };
            vec![format!(
                "ready ({how}, {:.2}s): {interface}",
                elapsed.as_secs_f64()
            )]
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::InMemoryTerm;
    use terrarium_python_wasi::AppInterface;

    use super::*;

    /// Spinners drawn on an in-memory terminal, and the lines written.
    fn spinners() -> (Spinners, InMemoryTerm, Arc<Mutex<Vec<String>>>) {
        let term = InMemoryTerm::new(10, 100);
        let written = Arc::new(Mutex::new(Vec::new()));
        let into = written.clone();
        let spinners = Spinners::writing_lines_with(
            ProgressDrawTarget::term_like(Box::new(term.clone())),
            Box::new(move |app, line| into.lock().unwrap().push(format!("[{app}] {line}"))),
        );
        (spinners, term, written)
    }

    fn ready(app: &str, from_cache: bool) -> Progress<'_> {
        Progress::Ready {
            app,
            from_cache,
            elapsed: Duration::from_millis(12_340),
            interface: AppInterface::Wsgi,
        }
    }

    #[test]
    fn a_building_app_has_a_spinner_with_its_step_and_ends_as_one_ready_line() {
        let (mut spinners, term, written) = spinners();
        spinners.show(&Progress::Step {
            app: "blog",
            step: BuildStep::Componentizing,
        });
        spinners.building["blog"].tick();
        let building = term.contents();
        assert!(
            building.contains("[blog] building: pre-initializing CPython with the app…"),
            "{building}"
        );
        assert!(
            building
                .lines()
                .any(|line| line.contains("[blog]") && line.trim_end().ends_with("0s")),
            "the spinner shows the time taken so far: {building}"
        );

        spinners.show(&Progress::Compiling { app: "blog" });
        spinners.building["blog"].tick();
        assert!(term.contents().contains("[blog] compiling to native code…"));
        assert!(written.lock().unwrap().is_empty(), "steps are shown, not written");

        spinners.show(&ready("blog", false));
        assert!(spinners.building.is_empty());
        assert_eq!(term.contents(), "", "nothing is left drawn");
        assert_eq!(
            *written.lock().unwrap(),
            ["[blog] ready (built, 12.34s): a WSGI app"]
        );
    }

    #[test]
    fn an_app_found_in_the_cache_gets_a_line_and_no_spinner() {
        let (mut spinners, term, written) = spinners();
        spinners.show(&Progress::Step {
            app: "shop",
            step: BuildStep::Cached,
        });
        spinners.show(&ready("shop", true));
        assert!(spinners.building.is_empty());
        assert_eq!(term.contents(), "");
        assert_eq!(
            *written.lock().unwrap(),
            ["[shop] ready (from cache, 12.34s): a WSGI app"]
        );
    }

    #[test]
    fn a_build_that_never_got_ready_stops_turning_and_says_so() {
        let (mut spinners, term, written) = spinners();
        spinners.show(&Progress::Step {
            app: "blog",
            step: BuildStep::InstallingRequirements,
        });
        let spinner = spinners.building["blog"].clone();
        drop(spinners);
        assert!(spinner.is_finished());
        assert_eq!(term.contents(), "");
        assert_eq!(
            *written.lock().unwrap(),
            ["[blog] stopped while installing requirements.txt with pip…"]
        );
    }
}
