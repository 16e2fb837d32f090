//! One test's private world: a temp dir holding a fake home, Claude accounts and work
//! directories, a mock Messages API, and helpers that run the real claude and seance
//! inside it with a fully controlled environment.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::account::Account;
use super::claude::{Finished, base_env, run_with_deadline};
use super::mock_api::MockApi;

/// How long one `claude -p` may take before the test fails (it takes about a second).
pub const CLAUDE_LIMIT: Duration = Duration::from_secs(90);

/// A session the real CLI just created.
#[derive(Clone, Debug)]
pub struct Made {
    /// The new session id (the transcript's file stem).
    pub id: String,
    /// The transcript file in the account's project folder.
    pub transcript: PathBuf,
    /// What `claude -p` printed on stdout.
    pub answer: String,
}

/// A temp dir with `home/`, `accounts/`, `work/`, a mock API, and the claude binary.
pub struct World {
    /// Keeps the temp dir alive; removed on drop.
    pub root: tempfile::TempDir,
    /// The `HOME` every child sees (symlink-free).
    pub home: PathBuf,
    /// The running mock Messages API.
    pub mock: MockApi,
    /// The real claude binary under test.
    pub claude: PathBuf,
}

impl World {
    /// A fresh world for the claude binary `claude`.
    pub fn new(claude: PathBuf) -> World {
        let root = tempfile::Builder::new()
            .prefix("seance-real-")
            .tempdir()
            .expect("create temp world");
        let home = root
            .path()
            .canonicalize()
            .expect("canonicalize temp dir")
            .join("home");
        std::fs::create_dir_all(&home).expect("create home");
        World {
            root,
            home,
            mock: MockApi::start(),
            claude,
        }
    }

    /// The symlink-free root of the world.
    pub fn path(&self) -> PathBuf {
        self.home.parent().expect("home has a parent").to_path_buf()
    }

    /// Creates account `name` under `<root>/accounts/`.
    pub fn account(&self, name: &str) -> Account {
        Account::create(&self.path().join("accounts"), name)
    }

    /// Creates `<root>/work/<rel>` and returns it symlink-free.
    pub fn workdir(&self, rel: &str) -> PathBuf {
        let dir = self.path().join("work").join(rel);
        std::fs::create_dir_all(&dir).expect("create work dir");
        dir.canonicalize().expect("canonicalize work dir")
    }

    /// Creates `<root>/work/<rel>` as a git repository on `branch` with one empty commit.
    pub fn git_repo(&self, rel: &str, branch: &str) -> PathBuf {
        let dir = self.workdir(rel);
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .args([
                    "-c",
                    "user.name=seance",
                    "-c",
                    "user.email=seance@example.invalid",
                ])
                .args(args)
                .current_dir(&dir)
                .env("HOME", &self.home)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run git");
            assert!(status.success(), "git {args:?} failed in {}", dir.display());
        };
        git(&["init", "-q", "-b", branch]);
        git(&["commit", "-q", "--allow-empty", "-m", "start"]);
        dir
    }

    /// `claude` (no arguments yet) for `account`, run in `cwd`, with the world's env only.
    pub fn claude_cmd(&self, account: &Account, cwd: &Path) -> Command {
        let mut cmd = Command::new(&self.claude);
        cmd.env_clear()
            .envs(base_env(&self.home, &self.mock.base_url()))
            .env("CLAUDE_CONFIG_DIR", &account.dir)
            .current_dir(cwd);
        cmd
    }

    /// Runs the real `claude -p <prompt>` in `cwd` under `account` and returns the
    /// session it created (found by diffing the account's transcripts).
    pub fn make_session(&self, account: &Account, cwd: &Path, prompt: &str) -> Made {
        let before = account.transcripts();
        let mut cmd = self.claude_cmd(account, cwd);
        cmd.arg("-p").arg(prompt);
        let done = run_with_deadline(&mut cmd, CLAUDE_LIMIT);
        done.assert_success("claude -p");
        let new = World::new_transcripts(account, &before);
        assert_eq!(
            new.len(),
            1,
            "claude -p should create exactly one transcript, found {new:?}\nstderr: {}",
            done.stderr
        );
        let transcript = new.into_iter().next().expect("one new transcript");
        let id = transcript
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 session id")
            .to_string();
        Made {
            id,
            transcript,
            answer: done.stdout,
        }
    }

    /// The `seance` binary under test with the world's env: `current` as
    /// `CLAUDE_CONFIG_DIR`, `others` in `SEANCE_ACCOUNT_DIRS`, the real claude as
    /// `SEANCE_CLAUDE`, run in `cwd`.
    pub fn seance_cmd(&self, current: &Account, others: &[&Account], cwd: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_seance"));
        let extra = std::env::join_paths(others.iter().map(|a| a.dir.clone()))
            .expect("account dirs contain no ':'");
        cmd.env_clear()
            .envs(base_env(&self.home, &self.mock.base_url()))
            .env("CLAUDE_CONFIG_DIR", &current.dir)
            .env("SEANCE_ACCOUNT_DIRS", extra)
            .env("SEANCE_CLAUDE", &self.claude)
            .env("NO_COLOR", "1")
            .current_dir(cwd);
        cmd
    }

    /// The transcripts `account` gained since `before` (a [`Account::transcripts`] list).
    pub fn new_transcripts(account: &Account, before: &[PathBuf]) -> Vec<PathBuf> {
        account
            .transcripts()
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect()
    }

    /// Runs `cmd` to completion with stdin closed (deadline: two claude runs).
    pub fn run(&self, cmd: &mut Command) -> Finished {
        run_with_deadline(cmd, CLAUDE_LIMIT * 2)
    }
}
