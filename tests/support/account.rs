//! Claude accounts (config dirs) prepared so the real CLI runs unattended, both with
//! `-p` and interactively in a pseudo-terminal, against the mock API.

use std::path::{Path, PathBuf};

/// The API key every test run hands claude; the mock accepts anything.
pub const API_KEY: &str = "sk-ant-api03-seance-tests-0123456789abcdefghij";

/// One Claude account: a config directory used as `CLAUDE_CONFIG_DIR`.
#[derive(Clone, Debug)]
pub struct Account {
    /// Short handle used in test names and Gas Town's accounts.json.
    pub name: String,
    /// Absolute, symlink-free path of the config directory.
    pub dir: PathBuf,
}

impl Account {
    /// Creates `<parent>/<name>` with a `.claude.json` that skips onboarding, approves
    /// [`API_KEY`] and trusts no directory yet (see [`Account::trust`]).
    pub fn create(parent: &Path, name: &str) -> Account {
        let dir = parent.join(name);
        std::fs::create_dir_all(&dir).expect("create account dir");
        let dir = dir.canonicalize().expect("canonicalize account dir");
        let key_tail: String = {
            let chars: Vec<char> = API_KEY.chars().collect();
            chars[chars.len() - 20..].iter().collect()
        };
        let config = serde_json::json!({
            "hasCompletedOnboarding": true,
            "theme": "dark",
            "customApiKeyResponses": {"approved": [key_tail], "rejected": []},
            "projects": {}
        });
        let account = Account {
            name: name.to_string(),
            dir,
        };
        account.write_config(&config);
        account
    }

    /// Path of this account's `.claude.json` (inside the config dir, as with
    /// `CLAUDE_CONFIG_DIR`).
    pub fn config_file(&self) -> PathBuf {
        self.dir.join(".claude.json")
    }

    /// `<config>/projects`, where Claude Code keeps transcripts.
    pub fn projects(&self) -> PathBuf {
        self.dir.join("projects")
    }

    /// Marks `dir` (resolved) as trusted so an interactive claude started there shows no
    /// trust dialog. Claude rewrites `.claude.json` itself, so this reads, patches and
    /// writes the current file.
    pub fn trust(&self, dir: &Path) {
        let dir = dir.canonicalize().expect("canonicalize trusted dir");
        let mut config: serde_json::Value = std::fs::read_to_string(self.config_file())
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_else(|| serde_json::json!({}));
        let projects = config
            .as_object_mut()
            .expect(".claude.json is an object")
            .entry("projects")
            .or_insert_with(|| serde_json::json!({}));
        let entry = projects
            .as_object_mut()
            .expect("projects is an object")
            .entry(dir.to_string_lossy().into_owned())
            .or_insert_with(|| serde_json::json!({}));
        entry["hasTrustDialogAccepted"] = serde_json::Value::Bool(true);
        entry["hasCompletedProjectOnboarding"] = serde_json::Value::Bool(true);
        self.write_config(&config);
    }

    /// Every `<folder>/<id>.jsonl` directly under `projects/` (files or symlinks), sorted.
    pub fn transcripts(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let Ok(folders) = std::fs::read_dir(self.projects()) else {
            return found;
        };
        for folder in folders.flatten() {
            let Ok(files) = std::fs::read_dir(folder.path()) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                if path.extension().is_some_and(|e| e == "jsonl") {
                    found.push(path);
                }
            }
        }
        found.sort();
        found
    }

    /// The transcripts that are symlinks (seance's temporary links), sorted.
    pub fn links(&self) -> Vec<PathBuf> {
        self.transcripts()
            .into_iter()
            .filter(|p| {
                p.symlink_metadata()
                    .is_ok_and(|m| m.file_type().is_symlink())
            })
            .collect()
    }

    /// The regular-file transcript named `<id>.jsonl`, if this account has one.
    pub fn transcript_of(&self, id: &str) -> Option<PathBuf> {
        let name = format!("{id}.jsonl");
        self.transcripts().into_iter().find(|p| {
            p.file_name().is_some_and(|n| n == name.as_str())
                && p.symlink_metadata().is_ok_and(|m| m.is_file())
        })
    }

    fn write_config(&self, config: &serde_json::Value) {
        let text = serde_json::to_string_pretty(config).expect("serialize .claude.json");
        std::fs::write(self.config_file(), text).expect("write .claude.json");
    }
}
