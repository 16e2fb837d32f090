//! Whether the current account has trusted the directory claude will run in.
//!
//! An interactive claude started in a directory its account has not trusted (nor any
//! directory above it) first asks "Is this a project you created or one you trust?";
//! since Claude Code 2.1.332 the highlighted answer is "No, exit", and claude then ends
//! without starting. Trust is kept in the account's `.claude.json` (Claude Code's file):
//! `projects.<absolute dir>.hasTrustDialogAccepted`. seance only ever reads it, bounded.

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

/// The largest `.claude.json` seance reads: 64 MiB. The file keeps per-project history
/// and is often several megabytes; a bigger one is not read (trust is then unknown).
pub const CLAUDE_JSON_CAP: u64 = 64 << 20;

/// The `.claude.json` claude uses for an account: `<config>/.claude.json` when the
/// account is named by `CLAUDE_CONFIG_DIR`, else `~/.claude.json` (the default
/// `~/.claude` account keeps it in the home directory). `None` without a home.
pub fn claude_json_for(
    config_dir: &Path,
    from_config_env: bool,
    home: Option<&Path>,
) -> Option<PathBuf> {
    if from_config_env {
        Some(config_dir.join(".claude.json"))
    } else {
        home.map(|h| h.join(".claude.json"))
    }
}

/// What the account's `.claude.json` says about a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The directory or one above it is trusted: claude will not ask.
    Trusted,
    /// Neither it nor any directory above it is trusted (or there is no `.claude.json`
    /// yet): an interactive claude will ask.
    Untrusted,
    /// The file could not be read or understood (the reason, for `-v`).
    Unknown(String),
}

/// Looks `dirs` (the run directory as given and as resolved; absolute) and their
/// ancestors up in `claude_json`'s `projects`. Reads at most [`CLAUDE_JSON_CAP`] bytes
/// of a regular file and never writes it.
pub fn check(claude_json: &Path, dirs: &[&Path]) -> Trust {
    let bytes = match crate::util::fsread::read_capped(claude_json, CLAUDE_JSON_CAP) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Trust::Untrusted,
        Err(e) => return Trust::Unknown(format!("reading {}: {e}", claude_json.display())),
    };
    let trusted = match trusted_dirs(&bytes) {
        Ok(t) => t,
        Err(e) => return Trust::Unknown(format!("reading {}: {e}", claude_json.display())),
    };
    let covered = dirs
        .iter()
        .flat_map(|d| d.ancestors())
        .any(|a| trusted.iter().any(|t| t == a));
    if covered {
        Trust::Trusted
    } else {
        Trust::Untrusted
    }
}

/// The directories `projects` marks with `"hasTrustDialogAccepted": true`. Everything
/// else in the file is skipped without being kept; an entry of another shape counts as
/// not trusted.
///
/// Errors: the bytes are not a JSON object, or `projects` is not an object.
fn trusted_dirs(bytes: &[u8]) -> Result<Vec<PathBuf>, serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct Top {
        #[serde(default)]
        projects: Option<Projects>,
    }
    let top: Top = serde_json::from_slice(bytes)?;
    Ok(top.projects.map(|p| p.0).unwrap_or_default())
}

/// `projects`: directory → entry; keeps only the trusted directories.
struct Projects(Vec<PathBuf>);

impl<'de> serde::Deserialize<'de> for Projects {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Projects;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of projects")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Projects, A::Error> {
                let mut trusted = Vec::new();
                while let Some(dir) = map.next_key::<String>()? {
                    if map.next_value::<Entry>()?.0 {
                        // Claude Code writes the keys as plain absolute paths; a trailing
                        // slash would not stop it from meaning the same directory.
                        trusted.push(PathBuf::from(dir).components().collect());
                    }
                }
                Ok(Projects(trusted))
            }
        }
        d.deserialize_map(V)
    }
}

/// One project entry: whether it holds `"hasTrustDialogAccepted": true`. Any value that
/// is not an object (or a number, which `arbitrary_precision` also hands over as a map
/// with a private key) is simply not trusted.
struct Entry(bool);

impl<'de> serde::Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a project entry")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
                let mut trusted = false;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "hasTrustDialogAccepted" {
                        trusted = map.next_value::<Flag>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Entry(trusted))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Entry, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Entry(false))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Entry, E> {
                Ok(Entry(false))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Entry, E> {
                Ok(Entry(false))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Entry, E> {
                Ok(Entry(false))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Entry, E> {
                Ok(Entry(false))
            }
            fn visit_str<E>(self, _: &str) -> Result<Entry, E> {
                Ok(Entry(false))
            }
            fn visit_unit<E>(self) -> Result<Entry, E> {
                Ok(Entry(false))
            }
        }
        d.deserialize_any(V)
    }
}

/// `hasTrustDialogAccepted`'s value: true only for the JSON `true`.
struct Flag(bool);

impl<'de> serde::Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a flag")
            }
            fn visit_bool<E>(self, b: bool) -> Result<Flag, E> {
                Ok(Flag(b))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Flag, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Flag(false))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Flag, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Flag(false))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_str<E>(self, _: &str) -> Result<Flag, E> {
                Ok(Flag(false))
            }
            fn visit_unit<E>(self) -> Result<Flag, E> {
                Ok(Flag(false))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join(".claude.json");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn trust_covers_the_directory_and_everything_below() {
        let tmp = tempfile::tempdir().unwrap();
        let f = write(
            tmp.path(),
            r#"{"numStartups": 3, "projects": {
                "/a/b": {"hasTrustDialogAccepted": true, "history": [{"display": "x"}]},
                "/c/": {"hasTrustDialogAccepted": true},
                "/d": {"hasTrustDialogAccepted": false},
                "/e": {"hasTrustDialogAccepted": "yes"},
                "/f": null, "/g": 1.5, "/h": [1, {"a": 2}], "/i": "text"
            }, "other": {"projects": {"/x": {"hasTrustDialogAccepted": true}}}}"#,
        );
        let at = |d: &str| check(&f, &[Path::new(d)]);
        assert_eq!(at("/a/b"), Trust::Trusted);
        assert_eq!(at("/a/b/c/d"), Trust::Trusted);
        assert_eq!(at("/c/x"), Trust::Trusted);
        assert_eq!(at("/a"), Trust::Untrusted);
        assert_eq!(at("/a/bc"), Trust::Untrusted);
        for d in ["/d", "/e/x", "/f", "/g", "/h", "/i", "/x"] {
            assert_eq!(at(d), Trust::Untrusted, "{d}");
        }
        // Either form of the run directory counts.
        assert_eq!(
            check(&f, &[Path::new("/link/to/b"), Path::new("/a/b")]),
            Trust::Trusted
        );
    }

    #[test]
    fn missing_means_untrusted_and_unreadable_means_unknown() {
        let tmp = tempfile::tempdir().unwrap();
        let none = tmp.path().join("none.json");
        assert_eq!(check(&none, &[Path::new("/a")]), Trust::Untrusted);
        for bad in ["", "{\"projects\": []}", "{\"projects\": {", "nul"] {
            let f = write(tmp.path(), bad);
            assert!(
                matches!(check(&f, &[Path::new("/a")]), Trust::Unknown(_)),
                "{bad:?}"
            );
        }
        assert_eq!(
            check(&write(tmp.path(), "{}"), &[Path::new("/a")]),
            Trust::Untrusted
        );
        assert!(matches!(
            check(tmp.path(), &[Path::new("/a")]),
            Trust::Unknown(_)
        ));
    }

    #[test]
    fn which_file() {
        let home = Path::new("/home/u");
        assert_eq!(
            claude_json_for(Path::new("/w/acct"), true, Some(home)),
            Some(PathBuf::from("/w/acct/.claude.json"))
        );
        assert_eq!(
            claude_json_for(Path::new("/home/u/.claude"), false, Some(home)),
            Some(PathBuf::from("/home/u/.claude.json"))
        );
        assert_eq!(claude_json_for(Path::new("/x"), false, None), None);
    }
}
