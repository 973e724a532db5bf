//! `terrarium new site` and `terrarium new app`: a new site folder, or a
//! new app folder mounted in a site's `terrarium.toml` (added with
//! `toml_edit`, the file's comments and layout kept). Nothing that exists
//! is ever overwritten: the refusal names what exists.

use std::{
    fmt,
    path::{Path, PathBuf},
    str::FromStr,
};

use serde_json::{Map, Value};

use crate::config::{CONFIG_FILE, SiteConfig, edit};

/// What a new app is written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Template {
    /// Terrarium's own `App` and routing.
    #[default]
    Native,
    /// Flask, installed from `requirements.txt` at build.
    Flask,
    /// A plain WSGI callable.
    Wsgi,
    /// A plain ASGI 3 callable.
    Asgi,
}

impl Template {
    /// Every template, by name.
    pub const ALL: [(&'static str, Self); 4] = [
        ("native", Self::Native),
        ("flask", Self::Flask),
        ("wsgi", Self::Wsgi),
        ("asgi", Self::Asgi),
    ];

    /// The files of an app made with it, `__NAME__` standing for the app's name.
    fn files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Native => &[("app.py", include_str!("../templates/native/app.py"))],
            Self::Flask => &[
                ("app.py", include_str!("../templates/flask/app.py")),
                (
                    "requirements.txt",
                    include_str!("../templates/flask/requirements.txt"),
                ),
            ],
            Self::Wsgi => &[("app.py", include_str!("../templates/wsgi/app.py"))],
            Self::Asgi => &[("app.py", include_str!("../templates/asgi/app.py"))],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Native => "with Terrarium's own routing (`from terrarium import App`)",
            Self::Flask => "with Flask, installed from requirements.txt when it is built",
            Self::Wsgi => "as a plain WSGI callable",
            Self::Asgi => "as a plain ASGI 3 callable",
        }
    }
}

impl FromStr for Template {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, template)| *template)
            .ok_or_else(|| format!("no template {text:?}; there are: native, flask, wsgi, asgi"))
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Self::ALL
            .iter()
            .find(|(_, template)| template == self)
            .map(|(name, _)| *name);
        f.write_str(name.unwrap_or("native"))
    }
}

/// Why nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// Something is already there.
    #[error("{0} already exists: nothing was written")]
    Exists(PathBuf),
    /// A mount of that name is already in the site.
    #[error("{file}: a mount is already named {name:?}: nothing was written")]
    MountExists {
        /// The site's file.
        file: PathBuf,
        /// The name.
        name: String,
    },
    /// The name cannot name a folder and a mount.
    #[error("{0:?} cannot name an app: use letters, digits, '-' and '_', starting with a letter")]
    BadName(String),
    /// The site's file is not valid, or its edit is not.
    #[error("{0}")]
    Config(String),
    /// A file could not be written.
    #[error("cannot write {path}: {error}")]
    Io {
        /// Which.
        path: PathBuf,
        /// Why not.
        error: std::io::Error,
    },
}

/// Writes a new site into `dir` (which may exist, empty or not, as long as
/// none of the files it gets does): `terrarium.toml`, the app `hello` at
/// `/` and a `static` folder at `/static`. Returns the files written.
pub fn new_site(dir: &Path) -> Result<Vec<PathBuf>, ScaffoldError> {
    let files = [
        (
            dir.join(CONFIG_FILE),
            include_str!("../templates/site/terrarium.toml"),
        ),
        (
            dir.join("static/index.html"),
            include_str!("../templates/site/index.html"),
        ),
    ];
    for place in files
        .iter()
        .map(|(path, _)| path.clone())
        .chain([dir.join("apps/hello")])
    {
        if place.exists() {
            return Err(ScaffoldError::Exists(place));
        }
    }
    let mut written = write_app(&dir.join("apps/hello"), "hello", Template::Native, "/")?;
    for (path, text) in files {
        write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

/// Writes the app `name` into `site/apps/name` with `template`, and mounts
/// it at `path` (default `/name`) in the site's `terrarium.toml`. Returns
/// the files written.
pub fn new_app(
    site: &Path,
    name: &str,
    template: Template,
    path: Option<&str>,
) -> Result<Vec<PathBuf>, ScaffoldError> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(ScaffoldError::BadName(name.to_owned()));
    }
    let file = site.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&file).map_err(|error| ScaffoldError::Io {
        path: file.clone(),
        error,
    })?;
    let config = SiteConfig::parse(&text, site)
        .map_err(|problem| ScaffoldError::Config(format!("{}: {problem}", file.display())))?;
    if config.mounts.iter().any(|mount| mount.name == name) {
        return Err(ScaffoldError::MountExists {
            file,
            name: name.to_owned(),
        });
    }
    let folder = site.join("apps").join(name);
    if folder.exists() {
        return Err(ScaffoldError::Exists(folder));
    }
    let path = path.map_or_else(|| format!("/{name}"), str::to_owned);
    let mut keys = Map::new();
    keys.insert("path".into(), Value::String(path.clone()));
    keys.insert("app".into(), Value::String(format!("apps/{name}")));
    // Checked before anything is written (the folder must exist for the
    // check, so a stand-in is made and taken away again).
    std::fs::create_dir_all(&folder).map_err(|error| ScaffoldError::Io {
        path: folder.clone(),
        error,
    })?;
    let edited = edit::put_mount(&text, site, name, &keys).map_err(ScaffoldError::Config);
    let (new_text, _) = match edited {
        Ok(edited) => edited,
        Err(error) => {
            let _ = std::fs::remove_dir(&folder);
            return Err(error);
        }
    };
    let _ = std::fs::remove_dir(&folder);
    let mut written = write_app(&folder, name, template, &path)?;
    edit::write_atomically(&file, &new_text).map_err(|error| ScaffoldError::Io {
        path: file.clone(),
        error,
    })?;
    written.push(file);
    Ok(written)
}

/// Writes an app folder: its template's files and a README line.
fn write_app(
    folder: &Path,
    name: &str,
    template: Template,
    path: &str,
) -> Result<Vec<PathBuf>, ScaffoldError> {
    let mut written = Vec::new();
    for (file, text) in template.files() {
        let place = folder.join(file);
        write(&place, &text.replace("__NAME__", name))?;
        written.push(place);
    }
    let readme = folder.join("README.md");
    let slash = if path.ends_with('/') { "" } else { "/" };
    write(
        &readme,
        &format!(
            "# {name}\n\nA Terrarium app {}, mounted at `{path}`: `terrarium serve .` in the site \
             folder (`--watch` rebuilds on save), then open http://127.0.0.1:8080{path}{slash}\n",
            template.describe()
        ),
    )?;
    written.push(readme);
    Ok(written)
}

fn write(path: &Path, text: &str) -> Result<(), ScaffoldError> {
    let io = |error| ScaffoldError::Io {
        path: path.to_owned(),
        error,
    };
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(io)?;
    }
    // `create_new`: never over a file that appeared meanwhile.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()))
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::AlreadyExists => ScaffoldError::Exists(path.to_owned()),
            _ => io(error),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_site_then_apps_keep_the_file_s_comments_and_refuse_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        new_site(dir.path()).unwrap();
        let site = SiteConfig::load(dir.path()).unwrap();
        assert_eq!(
            site.mounts.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            ["root", "static"]
        );
        for (name, template) in Template::ALL {
            new_app(dir.path(), &format!("{name}-app"), template, None).unwrap();
        }
        let text = std::fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
        assert!(text.contains("# Files served by the host itself"), "{text}");
        assert!(
            text.contains("[[mount]]\npath = \"/asgi-app\"\nname = \"asgi-app\"\napp = \"apps/asgi-app\"\n"),
            "{text}"
        );
        assert!(dir.path().join("apps/flask-app/requirements.txt").is_file());
        let app = std::fs::read_to_string(dir.path().join("apps/wsgi-app/app.py")).unwrap();
        assert!(app.contains("Hello from wsgi-app!"), "{app}");

        let refusals = [
            (
                new_app(dir.path(), "wsgi-app", Template::Wsgi, None).unwrap_err(),
                "a mount is already named \"wsgi-app\"",
            ),
            (new_site(dir.path()).unwrap_err(), "terrarium.toml already exists"),
            (
                new_app(dir.path(), "9lives", Template::Native, None).unwrap_err(),
                "cannot name an app",
            ),
            (
                new_app(dir.path(), "again", Template::Native, Some("/asgi-app")).unwrap_err(),
                "already serves this path",
            ),
        ];
        for (error, expected) in refusals {
            assert!(error.to_string().contains(expected), "{error}");
        }
        assert!(
            !dir.path().join("apps/again").exists(),
            "a refused app leaves no folder"
        );
        std::fs::create_dir_all(dir.path().join("apps/taken")).unwrap();
        let error = new_app(dir.path(), "taken", Template::Native, None).unwrap_err();
        assert!(error.to_string().contains("apps/taken already exists"), "{error}");
        assert_eq!("flask".parse::<Template>().unwrap(), Template::Flask);
        assert!(
            "django"
                .parse::<Template>()
                .unwrap_err()
                .contains("native, flask, wsgi, asgi")
        );
    }
}
