//! Regenerates `fixtures/real/<version>/`: sessions written by one real Claude Code CLI (a
//! `-p` session, an interactive session in a git repo renamed with `/rename` between two
//! prompts, and a `-p --fork-session --resume` of it), with the temp paths they were made
//! under rewritten to `/home/dev`, and a `manifest.json` saying what a listing must show.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::account::Account;
use super::claude::run_with_deadline;
use super::paths::project_folder_name;
use super::pty::{Ended, Pty};
use super::world::{CLAUDE_LIMIT, World};

/// The home directory the fixtures pretend they were made under.
pub const FIXTURE_HOME: &str = "/home/dev";

/// The prompt of the `-p` session.
const ONESHOT_PROMPT: &str = "Where did you leave the map? CANARY-101";
/// The first prompt of the interactive session (also the fork's, which copies it).
const INTERACTIVE_PROMPT: &str = "Note: the lantern is in the shed. CANARY-102";
/// The interactive session's second prompt, typed after the rename.
const SECOND_PROMPT: &str = "And the oil? CANARY-104";
/// The prompt of the `-p` fork.
const FORK_PROMPT: &str = "And the key? CANARY-103";
/// What `/rename` names the interactive session.
const TITLE: &str = "Lantern notes";

/// Makes the sessions with `world.claude` and writes them under `out` (replacing what was
/// there) as `accounts/<account>/projects/<folder>/...` plus `manifest.json`.
pub fn regenerate(world: &World, out: &Path) {
    let work = world.account("work");
    let home = world.account("home");
    let plain = world.workdir("plain");
    let repo = world.git_repo("lantern", "feature/lantern");

    let oneshot = world.make_session(&work, &plain, ONESHOT_PROMPT);

    let interactive = interactive_renamed(world, &home, &repo);

    let before = home.transcripts();
    let mut fork = world.claude_cmd(&home, &repo);
    fork.args([
        "-p",
        "--fork-session",
        "--resume",
        &interactive,
        FORK_PROMPT,
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
        copy_projects(account, &out.join("accounts").join(&account.name), &root);
    }
    let fake = |dir: &Path| rewrite(&dir.to_string_lossy(), &root);
    let times = |account: &Account, id: &str| {
        let path = account.transcript_of(id).expect("transcript");
        file_order_times(&std::fs::read_to_string(path).expect("read transcript"))
    };
    let session = |id: &str, account: &Account, kind: &str, cwd: &Path, branch: &str| {
        let (first, last) = times(account, id);
        serde_json::json!({"id": id, "account": account.name, "kind": kind, "cwd": fake(cwd),
            "git_branch": branch, "first_timestamp": first, "last_timestamp": last})
    };
    let mut sessions = vec![
        session(&oneshot.id, &work, "print (-p)", &plain, "HEAD"),
        session(
            &interactive,
            &home,
            "interactive: a prompt, /rename, a second prompt, /exit",
            &repo,
            "feature/lantern",
        ),
        session(
            &forked_id,
            &home,
            "print (-p) --fork-session --resume of the interactive session",
            &repo,
            "feature/lantern",
        ),
    ];
    let facts = [
        (ONESHOT_PROMPT, ONESHOT_PROMPT, vec!["CANARY-101"], None),
        (
            TITLE,
            INTERACTIVE_PROMPT,
            vec!["CANARY-102", "CANARY-104"],
            None,
        ),
        // A fork's first prompt is the one asked in the fork, not the copied one.
        (
            TITLE,
            FORK_PROMPT,
            vec!["CANARY-102", "CANARY-104", "CANARY-103"],
            Some(&interactive),
        ),
    ];
    for (row, (title, first_prompt, markers, copied_from)) in sessions.iter_mut().zip(facts) {
        row["title"] = title.into();
        row["first_prompt"] = first_prompt.into();
        row["markers"] = markers.into();
        if let Some(parent) = copied_from {
            row["copied_from"] = parent.as_str().into();
        }
    }
    let made_with = version(world);
    let manifest = serde_json::json!({
        "version": made_with.split_whitespace().next().unwrap_or_default(),
        "made_with": made_with,
        "home": FIXTURE_HOME,
        "sessions": sessions,
    });
    std::fs::write(
        out.join("manifest.json"),
        serde_json::to_string_pretty(&manifest).expect("manifest json") + "\n",
    )
    .expect("write manifest");
}

/// Copies every file under `account`'s `projects/` (transcripts and the files Claude Code
/// keeps beside them, such as 2.1.332's `<id>/custom-title.json`) to `dest/projects/`,
/// with the world root rewritten in names and contents.
fn copy_projects(account: &Account, dest: &Path, root: &Path) {
    let from = account.projects();
    for entry in walkdir::WalkDir::new(&from).min_depth(1) {
        let entry = entry.expect("walk projects");
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(&from).expect("under projects");
        let rel = rewrite(rel.to_str().expect("utf-8 path"), root);
        let to = dest.join("projects").join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir fixture");
        let text = std::fs::read_to_string(entry.path()).expect("read text file");
        std::fs::write(&to, rewrite(&text, root)).expect("write fixture");
    }
}

/// The first and the last `timestamp` of the transcript `text`, in file order (a full
/// parse, independent of seance's bounded reads).
fn file_order_times(text: &str) -> (String, String) {
    let stamps: Vec<String> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|record| record["timestamp"].as_str().map(str::to_string))
        .collect();
    (
        stamps.first().expect("a timestamp").clone(),
        stamps.last().expect("a timestamp").clone(),
    )
}

/// Runs an interactive session in `dir`: a prompt, `/rename Lantern notes`, a second
/// prompt, `/exit`. Returns its id.
fn interactive_renamed(world: &World, account: &Account, dir: &Path) -> String {
    account.trust(dir);
    let before = account.transcripts();
    let mut pty = Pty::spawn(world.claude_cmd(account, dir));
    let wait = Duration::from_secs(60);
    pty.expect_claude_prompt(wait);
    pty.settle(Duration::from_millis(500));
    pty.send_line(INTERACTIVE_PROMPT);
    pty.expect("MARKERS: CANARY-102", wait);
    pty.settle(Duration::from_millis(500));
    pty.send_line(&format!("/rename {TITLE}"));
    pty.expect(&format!("Session renamed to: {TITLE}"), wait);
    pty.settle(Duration::from_millis(500));
    pty.send_line(SECOND_PROMPT);
    pty.expect("MARKERS: CANARY-102 CANARY-104", wait);
    pty.settle(Duration::from_millis(500));
    pty.send_line("/exit");
    pty.expect("claude --resume", wait);
    assert_eq!(pty.wait(wait), Ended::Code(0), "interactive claude exits 0");
    let new = World::new_transcripts(account, &before);
    assert_eq!(new.len(), 1, "one interactive transcript: {new:?}");
    stem(&new[0])
}

/// The version number `claude --version` prints (`2.1.332` of `2.1.332 (Claude Code)`).
pub fn claude_version(claude: &Path) -> String {
    let mut cmd = std::process::Command::new(claude);
    cmd.arg("--version");
    let done = run_with_deadline(&mut cmd, Duration::from_secs(30));
    done.assert_success("claude --version");
    done.stdout
        .split_whitespace()
        .next()
        .expect("claude --version prints a version")
        .to_string()
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
