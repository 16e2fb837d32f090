//! Finds the Claude accounts (config directories) on this machine and the Gas Town town
//! around the current directory, so sessions can be listed from every account at once.
//!
//! Sources, in priority order: the current account (`$CLAUDE_CONFIG_DIR`, else
//! `~/.claude` with symlinks resolved), a town's `mayor/accounts.json`, `--account-dir`
//! flags, `SEANCE_ACCOUNT_DIRS`, then auto-discovered `~/.claude*` and
//! `~/.ccs/instances/*` directories that hold a `projects/` folder.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::discover::warnings::Warnings;
use crate::util::fsread::read_capped;

/// Where an account was learnt from. An account found by several sources keeps the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `$CLAUDE_CONFIG_DIR` or `~/.claude`.
    Current,
    /// A Gas Town town's `mayor/accounts.json`.
    Town,
    /// `--account-dir`.
    Flag,
    /// `SEANCE_ACCOUNT_DIRS`.
    Env,
    /// Found by looking at `~/.claude*` and `~/.ccs/instances/*`.
    Auto,
}

/// One Claude account: a config directory holding `projects/`.
#[derive(Debug, Clone)]
pub struct Account {
    /// Display name: the `accounts.json` handle when there is one, else the directory's name.
    pub name: String,
    /// The config directory as the user named it (with `~/` expanded).
    pub config_dir: PathBuf,
    /// `config_dir` with symlinks resolved, or `config_dir` itself when it does not exist.
    pub canonical: PathBuf,
    /// `<config_dir>/projects` with symlinks resolved, when it exists. Two accounts with
    /// the same value share one store and are listed once.
    pub projects: Option<PathBuf>,
    /// True for the account `claude` would use right now.
    pub current: bool,
    /// The source that first named this account.
    pub origin: Origin,
}

impl Account {
    /// `<config_dir>/projects`, whether or not it exists.
    pub fn projects_dir(&self) -> PathBuf {
        self.config_dir.join("projects")
    }

    /// The name and config dir as a session holds them: shared, one allocation each
    /// for all of the account's sessions.
    pub fn shared(&self) -> (std::sync::Arc<str>, std::sync::Arc<std::path::Path>) {
        (self.name.as_str().into(), self.config_dir.as_path().into())
    }
}

/// A Gas Town town: the directory holding `mayor/`.
#[derive(Debug, Clone)]
pub struct Town {
    /// The town root.
    pub root: PathBuf,
}

impl Town {
    /// `<root>/.events.jsonl`.
    pub fn events_file(&self) -> PathBuf {
        self.root.join(".events.jsonl")
    }

    /// `<root>/mayor/accounts.json`.
    pub fn accounts_file(&self) -> PathBuf {
        self.root.join("mayor").join("accounts.json")
    }
}

/// Finds the town: `town_env` (from `GT_ROOT`/`GT_TOWN_ROOT`) when given, else the
/// outermost ancestor of `cwd` holding `mayor/town.json`, else the outermost holding a
/// `mayor/` directory. Returns `None` outside a town.
pub fn find_town(town_env: Option<&Path>, cwd: &Path) -> Option<Town> {
    if let Some(root) = town_env {
        return Some(Town {
            root: root.to_path_buf(),
        });
    }
    let mut with_json = None;
    let mut with_mayor = None;
    for dir in cwd.ancestors() {
        let mayor = dir.join("mayor");
        if mayor.join("town.json").is_file() {
            with_json = Some(dir.to_path_buf());
        } else if with_json.is_none() && mayor.is_dir() {
            with_mayor = Some(dir.to_path_buf());
        }
    }
    with_json.or(with_mayor).map(|root| Town { root })
}

/// Largest `accounts.json` read, in bytes (Gas Town's is a few hundred).
const MAX_ACCOUNTS_FILE: u64 = 1 << 20;

/// Reads a town's `accounts.json` into `(handle, config dir)` pairs sorted by handle,
/// `~/` expanded against `home`. The format is Gas Town's: `{"version":1,"accounts":
/// {"<handle>":{"email":..,"config_dir":"~/.."}},"default":"<handle>"}`; unknown fields
/// are ignored and an entry without `config_dir` is skipped.
///
/// A missing file gives nothing. An unreadable, oversized or malformed file (or one
/// that is not a regular file) gives nothing and a warning. One bad entry (not an
/// object, a `config_dir` that is not a string or not an absolute or `~/` path) is
/// skipped with a warning naming its handle; the other entries are kept.
pub fn town_accounts(
    town: &Town,
    home: Option<&Path>,
    warnings: &mut Warnings,
) -> Vec<(String, PathBuf)> {
    let path = town.accounts_file();
    let bytes = match read_capped(&path, MAX_ACCOUNTS_FILE) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            warnings.add(
                "unreadable accounts.json files ignored",
                &path,
                &e.to_string(),
            );
            return Vec::new();
        }
    };
    let accounts = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(mut doc)) => match doc.remove("accounts") {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Object(a)) => a,
            Some(_) => {
                let why = "\"accounts\" is not an object";
                warnings.add("malformed accounts.json files ignored", &path, why);
                return Vec::new();
            }
        },
        Ok(_) => {
            let why = "the top level is not an object";
            warnings.add("malformed accounts.json files ignored", &path, why);
            return Vec::new();
        }
        Err(e) => {
            warnings.add(
                "malformed accounts.json files ignored",
                &path,
                &e.to_string(),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (handle, entry) in accounts {
        match account_entry(&entry, home) {
            Ok(Some(dir)) => out.push((handle, dir)),
            Ok(None) => {}
            Err(why) => warnings.add(
                "bad accounts.json entries skipped",
                &path,
                &format!("{handle}: {why}"),
            ),
        }
    }
    out.sort();
    out
}

/// One `accounts.json` entry's config dir: `Ok(None)` when it names none, `Err` with
/// the reason when it is the wrong shape.
fn account_entry(entry: &Value, home: Option<&Path>) -> Result<Option<PathBuf>, String> {
    let Value::Object(fields) = entry else {
        return Err("not an object".to_owned());
    };
    let dir = match fields.get("config_dir") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(d)) => d,
        Some(_) => return Err("config_dir is not a string".to_owned()),
    };
    let path = expand_tilde(dir, home);
    if !path.is_absolute() {
        return Err(format!("config_dir {dir} is neither absolute nor ~/..."));
    }
    Ok(Some(path))
}

/// Expands a leading `~` or `~/` against `home`; other paths are returned unchanged.
pub fn expand_tilde(p: &str, home: Option<&Path>) -> PathBuf {
    match (p.strip_prefix('~'), home) {
        (Some(""), Some(h)) => h.to_path_buf(),
        (Some(rest), Some(h)) if rest.starts_with('/') => h.join(rest.trim_start_matches('/')),
        _ => PathBuf::from(p),
    }
}

/// Everything that can name an account, gathered from flags and environment by the caller.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// The user's home directory (`$HOME`).
    pub home: Option<PathBuf>,
    /// `$CLAUDE_CONFIG_DIR`, when set and not empty.
    pub claude_config_dir: Option<PathBuf>,
    /// The town, when there is one.
    pub town: Option<Town>,
    /// `--account-dir` values, in order.
    pub flag_dirs: Vec<PathBuf>,
    /// `SEANCE_ACCOUNT_DIRS`, `:`-separated like `PATH` (empty parts ignored).
    pub env_dirs: Option<OsString>,
}

impl Sources {
    /// The current account's config dir: `$CLAUDE_CONFIG_DIR`, else `~/.claude`.
    /// `None` only when neither is known (no `HOME`).
    pub fn current_dir(&self) -> Option<PathBuf> {
        self.claude_config_dir
            .clone()
            .or_else(|| self.home.as_ref().map(|h| h.join(".claude")))
    }
}

/// Collects every account, dropping duplicates by canonical config dir and by canonical
/// `projects/` directory (two accounts sharing one store are one). The current account
/// comes first and is present even when its directory does not exist yet (a talk links
/// into it). A duplicate found later lends its handle (from `accounts.json`) to a
/// directory-named account, and the current mark is kept whichever source found it.
pub fn collect(src: &Sources, warnings: &mut Warnings) -> Vec<Account> {
    let mut found: Vec<(PathBuf, Option<String>, Origin)> = Vec::new();
    if let Some(dir) = src.current_dir() {
        found.push((dir, None, Origin::Current));
    }
    if let Some(town) = &src.town {
        for (handle, dir) in town_accounts(town, src.home.as_deref(), warnings) {
            found.push((dir, Some(handle), Origin::Town));
        }
    }
    for dir in &src.flag_dirs {
        found.push((
            expand_tilde(&dir.to_string_lossy(), src.home.as_deref()),
            None,
            Origin::Flag,
        ));
    }
    if let Some(env) = &src.env_dirs {
        for dir in std::env::split_paths(env).filter(|p| !p.as_os_str().is_empty()) {
            found.push((dir, None, Origin::Env));
        }
    }
    if let Some(home) = &src.home {
        for dir in auto_dirs(home) {
            found.push((dir, None, Origin::Auto));
        }
    }

    let mut accounts: Vec<Account> = Vec::new();
    for (dir, handle, origin) in found {
        let canonical = fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        let projects = fs::canonicalize(dir.join("projects")).ok();
        let current = origin == Origin::Current;
        if !current && !canonical.is_dir() {
            if origin != Origin::Auto {
                warnings.add("missing account dirs skipped", &dir, "no such directory");
            }
            continue;
        }
        let same = accounts
            .iter_mut()
            .find(|a| a.canonical == canonical || (projects.is_some() && a.projects == projects));
        if let Some(existing) = same {
            if let Some(h) = handle
                && existing.origin != Origin::Town
            {
                existing.name = h;
            }
            existing.current |= current;
            continue;
        }
        let name = handle.unwrap_or_else(|| dir_name(&dir));
        accounts.push(Account {
            name,
            config_dir: dir,
            canonical,
            projects,
            current,
            origin,
        });
    }
    accounts
}

/// `.claude` → `.claude`, `/x/accounts/work` → `work`.
fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string())
}

/// `~/.claude*` and `~/.ccs/instances/*` directories holding `projects/`, sorted.
fn auto_dirs(home: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(home) {
        for e in rd.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().starts_with(".claude") && e.path().join("projects").is_dir() {
                out.push(e.path());
            }
        }
    }
    if let Ok(rd) = fs::read_dir(home.join(".ccs").join("instances")) {
        for e in rd.flatten() {
            if e.path().join("projects").is_dir() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_expansion() {
        let h = Path::new("/home/u");
        assert_eq!(
            expand_tilde("~/.claude-work", Some(h)),
            PathBuf::from("/home/u/.claude-work")
        );
        assert_eq!(expand_tilde("~", Some(h)), PathBuf::from("/home/u"));
        assert_eq!(expand_tilde("/abs/x", Some(h)), PathBuf::from("/abs/x"));
        assert_eq!(expand_tilde("~bob/x", Some(h)), PathBuf::from("~bob/x"));
        assert_eq!(expand_tilde("~/x", None), PathBuf::from("~/x"));
    }

    #[test]
    fn one_bad_accounts_entry_is_skipped_and_the_rest_kept() {
        let t = tempfile::tempdir().unwrap();
        let town = Town {
            root: t.path().to_path_buf(),
        };
        fs::create_dir_all(t.path().join("mayor")).unwrap();
        fs::write(
            town.accounts_file(),
            r#"{"version":1,"accounts":{
                "good":{"email":"a@b","config_dir":"~/good"},
                "typed":{"config_dir":42},
                "list":["not","an","object"],
                "relative":{"config_dir":"rel/dir"},
                "none":{"email":"c@d"},
                "abs":{"config_dir":"/abs/dir"}},"default":"good"}"#,
        )
        .unwrap();
        let mut w = Warnings::default();
        let got = town_accounts(&town, Some(Path::new("/home/u")), &mut w);
        assert_eq!(
            got,
            [
                ("abs".to_owned(), PathBuf::from("/abs/dir")),
                ("good".to_owned(), PathBuf::from("/home/u/good"))
            ]
        );
        assert_eq!(w.count("bad accounts.json entries skipped"), 3);
        // The whole file only when it is not an accounts file at all.
        for bad in [r#"{"accounts":[1]}"#, "[1]", "{oops"] {
            fs::write(town.accounts_file(), bad).unwrap();
            let mut w = Warnings::default();
            assert!(town_accounts(&town, None, &mut w).is_empty());
            assert_eq!(w.count("malformed accounts.json files ignored"), 1, "{bad}");
        }
    }

    #[test]
    fn town_is_outermost_with_town_json() {
        let t = tempfile::tempdir().unwrap();
        let outer = t.path().join("gt");
        let inner = outer.join("rig/crew/joe");
        fs::create_dir_all(outer.join("mayor")).unwrap();
        fs::write(outer.join("mayor/town.json"), "{}").unwrap();
        fs::create_dir_all(inner.join("mayor")).unwrap();
        let town = find_town(None, &inner).unwrap();
        assert_eq!(town.root, outer);
        assert!(find_town(None, Path::new("/")).is_none());
        assert_eq!(
            find_town(Some(Path::new("/x")), &inner).unwrap().root,
            PathBuf::from("/x")
        );
    }

    #[test]
    fn shared_store_is_one_account_and_takes_the_handle() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path();
        let work = home.join("accts/work");
        fs::create_dir_all(work.join("projects")).unwrap();
        std::os::unix::fs::symlink(&work, home.join(".claude")).unwrap();
        let other = home.join(".claude-shared");
        fs::create_dir_all(&other).unwrap();
        std::os::unix::fs::symlink(work.join("projects"), other.join("projects")).unwrap();
        let town = home.join("town");
        fs::create_dir_all(town.join("mayor")).unwrap();
        fs::write(
            town.join("mayor/accounts.json"),
            r#"{"version":1,"accounts":{"work":{"email":"a@b","config_dir":"~/accts/work"}},"default":"work"}"#,
        )
        .unwrap();
        let src = Sources {
            home: Some(home.to_path_buf()),
            town: Some(Town { root: town }),
            ..Default::default()
        };
        let mut w = Warnings::default();
        let accts = collect(&src, &mut w);
        assert_eq!(accts.len(), 1, "{accts:?}");
        assert_eq!(accts[0].name, "work");
        assert!(accts[0].current);
    }
}
