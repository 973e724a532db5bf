//! Changes made to a site's `terrarium.toml` at run time (`PUT` and
//! `DELETE /mounts/{name}`, `terrarium app add` and `remove`), through
//! `toml_edit`: one `[[mount]]` changes, and the rest of the file (its
//! comments, order and layout) stays as written. Every edit is checked by
//! parsing the whole new text as a start would ([`SiteConfig::parse`]), so
//! it is refused with the same messages. Written atomically
//! ([`write_atomically`]).

use std::{io::Write, path::Path};

use serde_json::{Map, Value};
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table};

use super::SiteConfig;

/// The keys a mount's table starts with, in this order, when they are set.
const LEADING_KEYS: [&str; 6] = ["path", "name", "host", "hosts", "app", "static"];

/// The file's text with the mount named `name` set to `keys` (added at the
/// end when no mount has that name, replaced in place when one has), and
/// the site it now describes. `keys` are the mount's keys as in the file
/// (`path`, `app`, `instances`...); `name` is added unless they set it.
pub fn put_mount(
    text: &str,
    site_dir: &Path,
    name: &str,
    keys: &Map<String, Value>,
) -> Result<(String, SiteConfig), String> {
    let index = index_of(text, site_dir, name)?;
    let mut keys = keys.clone();
    match keys.get("name") {
        None => {
            keys.insert("name".to_owned(), name.into());
        }
        Some(Value::String(given)) if given == name => {}
        Some(_) => return Err(format!("name: must be {name:?}, the name the request is for")),
    }
    // Where and what first, as people write them; the rest by name.
    let leading = LEADING_KEYS.iter().filter_map(|key| keys.get_key_value(*key));
    let rest = keys
        .iter()
        .filter(|(key, _)| !LEADING_KEYS.contains(&key.as_str()));
    let mut table = Table::new();
    for (key, value) in leading.chain(rest) {
        table.insert(key, Item::Value(toml_value(key, value)?));
    }
    let mut document = parse_document(text)?;
    let mounts = mounts_of(&mut document)?;
    match index {
        Some(index) => {
            let place = mounts.get_mut(index).expect("the parsed site has this mount");
            // Its comments and position stay; its keys are the new ones.
            let decor = place.decor().clone();
            *place = table;
            *place.decor_mut() = decor;
        }
        None => mounts.push(table),
    }
    checked(document, site_dir)
}

/// The file's text without the mount named `name`, and the site it now
/// describes.
pub fn remove_mount(text: &str, site_dir: &Path, name: &str) -> Result<(String, SiteConfig), String> {
    let Some(index) = index_of(text, site_dir, name)? else {
        return Err(format!("no mount is named {name:?}"));
    };
    let mut document = parse_document(text)?;
    mounts_of(&mut document)?.remove(index);
    checked(document, site_dir)
}

/// Writes `text` to `path` so that a crash leaves either the old file or
/// the new one, never a part: a temporary file beside it, flushed to
/// disk, then renamed over it.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let temporary = path.with_extension(format!("toml.tmp-{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    if let Some(folder) = path.parent() {
        std::fs::File::open(folder)?.sync_all()?;
    }
    Ok(())
}

/// Where the mount named `name` is among the file's `[[mount]]`s.
fn index_of(text: &str, site_dir: &Path, name: &str) -> Result<Option<usize>, String> {
    let site = SiteConfig::parse(text, site_dir)
        .map_err(|problem| format!("the site's terrarium.toml is invalid as it is now: {problem}"))?;
    Ok(site.mounts.iter().position(|mount| mount.name == name))
}

fn parse_document(text: &str) -> Result<DocumentMut, String> {
    text.parse::<DocumentMut>().map_err(|e| e.to_string())
}

fn mounts_of(document: &mut DocumentMut) -> Result<&mut ArrayOfTables, String> {
    document
        .entry("mount")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or_else(|| "mount: must be written as [[mount]] tables to be edited".to_owned())
}

fn checked(document: DocumentMut, site_dir: &Path) -> Result<(String, SiteConfig), String> {
    let text = document.to_string();
    let site = SiteConfig::parse(&text, site_dir)?;
    Ok((text, site))
}

/// A JSON value as the TOML value it stands for.
fn toml_value(key: &str, value: &Value) -> Result<toml_edit::Value, String> {
    Ok(match value {
        Value::String(text) => text.as_str().into(),
        Value::Bool(flag) => (*flag).into(),
        Value::Number(number) => match number.as_i64() {
            Some(integer) => integer.into(),
            None => number
                .as_f64()
                .ok_or_else(|| format!("{key}: {number} is not a number TOML can hold"))?
                .into(),
        },
        Value::Array(items) => {
            let mut array = Array::new();
            for item in items {
                array.push(toml_value(key, item)?);
            }
            array.into()
        }
        Value::Object(fields) => {
            let mut table = InlineTable::new();
            for (field, item) in fields {
                table.insert(field, toml_value(&format!("{key}.{field}"), item)?);
            }
            table.into()
        }
        Value::Null => return Err(format!("{key}: null is not a value; leave the key out")),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SITE: &str = "# the blog site\n[server]\nworkers = 1\n\n\
                        # the front page\n[[mount]]\npath = \"/\"\napp = \"apps/hello\"  # kept warm\n\n\
                        [[mount]]\npath = \"/api\"\napp = \"apps/hello\"\ninstances = 2\n";

    fn keys(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn site_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("apps/hello")).unwrap();
        dir
    }

    #[test]
    fn a_mount_is_added_at_the_end_and_the_comments_stay() {
        let dir = site_dir();
        let (text, site) = put_mount(
            SITE,
            dir.path(),
            "shop",
            &keys(json!({"path": "/shop", "app": "apps/hello", "instances": 3, "env": {"TITLE": "Shop"}})),
        )
        .unwrap();
        assert!(text.starts_with(SITE), "{text}");
        assert!(text.ends_with(
            "\n[[mount]]\npath = \"/shop\"\nname = \"shop\"\napp = \"apps/hello\"\nenv = { TITLE = \"Shop\" }\ninstances = 3\n"
        ), "{text}");
        let shop = site.mounts.iter().find(|mount| mount.name == "shop").unwrap();
        assert_eq!(shop.app().unwrap().instances, 3);
    }

    #[test]
    fn a_mount_is_replaced_in_place_keeping_its_comment() {
        let dir = site_dir();
        let (text, site) = put_mount(
            SITE,
            dir.path(),
            "root",
            &keys(json!({"path": "/", "app": "apps/hello", "instances": 1})),
        )
        .unwrap();
        assert!(
            text.contains("# the front page\n[[mount]]\npath = \"/\"\nname = \"root\"\napp = \"apps/hello\"\ninstances = 1\n"),
            "{text}"
        );
        assert_eq!(site.mounts.len(), 2);
        assert_eq!(site.mounts[0].app().unwrap().instances, 1);
    }

    #[test]
    fn a_mount_is_removed_and_the_rest_stays() {
        let dir = site_dir();
        let (text, site) = remove_mount(SITE, dir.path(), "api").unwrap();
        assert_eq!(site.mounts.len(), 1);
        assert!(
            text.contains("# the front page") && !text.contains("/api"),
            "{text}"
        );
        assert_eq!(
            remove_mount(&text, dir.path(), "root").unwrap_err(),
            "no [[mount]]: a site needs at least one mount"
        );
        assert_eq!(
            remove_mount(SITE, dir.path(), "nope").unwrap_err(),
            "no mount is named \"nope\""
        );
    }

    #[test]
    fn a_bad_mount_is_refused_as_the_file_would_be() {
        let dir = site_dir();
        let cases = [
            (
                json!({"path": "/x", "app": "apps/hello", "colour": "red"}),
                "mount[2].colour: unknown field `colour`",
            ),
            (
                json!({"path": "/x", "app": "apps/nope"}),
                "mount[2].app (path \"/x\"): folder",
            ),
            (
                json!({"path": "/api", "app": "apps/hello"}),
                "already serves this path",
            ),
            (
                json!({"path": "/x", "app": "apps/hello", "instances": null}),
                "instances: null is not a value",
            ),
            (
                json!({"path": "/x", "app": "apps/hello", "name": "other"}),
                "name: must be \"x\"",
            ),
        ];
        for (mount, expected) in cases {
            let error = put_mount(SITE, dir.path(), "x", &keys(mount.clone())).unwrap_err();
            assert!(error.contains(expected), "{mount}: {error}");
        }
    }

    #[test]
    fn a_write_replaces_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("terrarium.toml");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left");
    }
}
