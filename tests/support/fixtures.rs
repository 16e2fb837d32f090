//! Regenerates `fixtures/real/`: transcripts written by the real Claude Code CLI (a `-p`
//! session, an interactive renamed session in a git repo, and a `--fork-session` resume of
//! it), with the temp paths they were made under rewritten to `/home/dev`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::account::Account;
use super::claude::run_with_deadline;
use super::paths::project_folder_name;
use super::pty::{Ended, Pty};
use super::world::{CLAUDE_LIMIT, World};

/// The home directory the fixtures pretend they were made under.
pub const FIXTURE_HOME: &str = "/home/dev";

/// Makes the sessions with `world.claude` and writes them under `out` as
/// `accounts/<account>/projects/<folder>/<id>.jsonl` plus `manifest.json`.
pub fn regenerate(world: &World, out: &Path) {
    let work = world.account("work");
    let home = world.account("home");
    let plain = world.workdir("plain");
    let repo = world.git_repo("lantern", "feature/lantern");

    let oneshot = world.make_session(&work, &plain, "Where did you leave the map? CANARY-101");

    let interactive = interactive_renamed(world, &home, &repo);

    let before = home.transcripts();
    let mut fork = world.claude_cmd(&home, &repo);
    fork.args([
        "-p",
        "--fork-session",
        "--resume",
        &interactive,
        "And the key? CANARY-103",
    ]);
    run_with_deadline(&mut fork, CLAUDE_LIMIT).assert_success("claude -p --fork-session");
    let forked = World::new_transcripts(&home, &before);
    assert_eq!(forked.len(), 1, "the fork makes one transcript: {forked:?}");
    let forked_id = stem(&forked[0]);

    let root = world.path();
    if out.exists() {
        std::fs::remove_dir_all(out.join("accounts")).ok();
    }
    for account in [&work, &home] {
        for transcript in account.transcripts() {
            let folder = transcript
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .expect("utf-8 folder");
            let dest = out
                .join("accounts")
                .join(&account.name)
                .join("projects")
                .join(rewrite(folder, &root))
                .join(transcript.file_name().expect("file name"));
            std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir fixture");
            let text = std::fs::read_to_string(&transcript).expect("read transcript");
            std::fs::write(&dest, rewrite(&text, &root)).expect("write fixture");
        }
    }
    let fake = |dir: &Path| rewrite(&dir.to_string_lossy(), &root);
    let manifest = serde_json::json!({
        "made_with": version(world),
        "home": FIXTURE_HOME,
        "sessions": [
            {"id": oneshot.id, "account": "work", "kind": "print (-p)",
             "cwd": fake(&plain), "git_branch": "HEAD",
             "title": "Where did you leave the map? CANARY-101", "marker": "CANARY-101"},
            {"id": interactive, "account": "home", "kind": "interactive, renamed with /rename",
             "cwd": fake(&repo), "git_branch": "feature/lantern", "title": "Lantern notes",
             "marker": "CANARY-102"},
            {"id": forked_id, "account": "home",
             "kind": "print (-p) --fork-session --resume of the interactive session",
             "cwd": fake(&repo), "git_branch": "feature/lantern", "title": "Lantern notes",
             "marker": "CANARY-103", "copied_from": interactive},
        ]
    });
    std::fs::write(
        out.join("manifest.json"),
        serde_json::to_string_pretty(&manifest).expect("manifest json") + "\n",
    )
    .expect("write manifest");
}

/// Runs an interactive session in `dir`: one prompt, `/rename Lantern notes`, `/exit`.
/// Returns its id.
fn interactive_renamed(world: &World, account: &Account, dir: &Path) -> String {
    account.trust(dir);
    let before = account.transcripts();
    let mut pty = Pty::spawn(world.claude_cmd(account, dir));
    let wait = Duration::from_secs(60);
    pty.expect_claude_prompt(wait);
    pty.settle(Duration::from_millis(500));
    pty.send_line("Note: the lantern is in the shed. CANARY-102");
    pty.expect("MARKERS: CANARY-102", wait);
    pty.settle(Duration::from_millis(500));
    pty.send_line("/rename Lantern notes");
    pty.expect("Session renamed to: Lantern notes", wait);
    pty.settle(Duration::from_millis(500));
    pty.send_line("/exit");
    pty.expect("claude --resume", wait);
    assert_eq!(pty.wait(wait), Ended::Code(0), "interactive claude exits 0");
    let new = World::new_transcripts(account, &before);
    assert_eq!(new.len(), 1, "one interactive transcript: {new:?}");
    stem(&new[0])
}

fn version(world: &World) -> String {
    let mut cmd = std::process::Command::new(&world.claude);
    cmd.arg("--version");
    run_with_deadline(&mut cmd, Duration::from_secs(30))
        .stdout
        .trim()
        .to_string()
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .expect("utf-8 stem")
        .to_string()
}

/// `text` with the world root (as a path and as a project-folder name) replaced by
/// [`FIXTURE_HOME`] in the same two forms.
fn rewrite(text: &str, root: &Path) -> String {
    let as_path = root.to_string_lossy().into_owned();
    let as_folder = project_folder_name(root);
    let fake_folder = project_folder_name(&PathBuf::from(FIXTURE_HOME));
    text.replace(&as_path, FIXTURE_HOME)
        .replace(&as_folder, &fake_folder)
}
