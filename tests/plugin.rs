//! The Claude Code plugin (`.claude-plugin/marketplace.json`, `plugins/seance/`) against
//! the real CLI: both manifests validate, `--plugin-dir` puts the skill and `/seance:ask`
//! in front of the model, and end to end a successor's Bash tool call runs seance, which
//! asks the predecessor, whose answer comes back into the successor's transcript.
//!
//! The claude binary comes from `SEANCE_TEST_CLAUDE` or `PATH`; without one these tests
//! print one line and pass, except under `CI=true`, where they fail. The harness is in
//! `tests/support`.

mod support;

use std::path::{Path, PathBuf};

use support::account::Account;
use support::claude::require_claude;
use support::mock_api::Reply;
use support::paths::{project_folder_name, snapshot};
use support::world::World;

/// The repository root: the marketplace.
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The plugin directory.
fn plugin_dir() -> PathBuf {
    repo().join("plugins/seance")
}

/// The skill's `description` from its SKILL.md front matter.
fn skill_description() -> String {
    let text = std::fs::read_to_string(plugin_dir().join("skills/ask-predecessor/SKILL.md"))
        .expect("read SKILL.md");
    text.lines()
        .find_map(|l| l.strip_prefix("description: "))
        .expect("SKILL.md's front matter has a description")
        .to_string()
}

/// Runs `claude plugin validate --strict <dir>` in `world` and returns (success, output).
fn validate(world: &World, account: &Account, dir: &Path) -> (bool, String) {
    let mut cmd = world.claude_cmd(account, &world.workdir("validate"));
    cmd.args(["plugin", "validate", "--strict"]).arg(dir);
    let done = world.run(&mut cmd);
    (
        done.status.success(),
        format!("{}{}", done.stdout, done.stderr),
    )
}

#[test]
fn real_plugin_and_marketplace_validate() {
    let Some(claude) = require_claude("real_plugin_and_marketplace_validate") else {
        return;
    };
    let world = World::new(claude);
    let alpha = world.account("alpha");
    for dir in [repo(), plugin_dir()] {
        let (ok, out) = validate(&world, &alpha, &dir);
        assert!(
            ok,
            "claude plugin validate {} failed:\n{out}",
            dir.display()
        );
        assert!(out.contains("Validation passed"), "{out}");
    }
    // The same check fails a broken manifest: it is not a rubber stamp.
    let broken = world.workdir("broken-plugin");
    std::fs::create_dir_all(broken.join(".claude-plugin")).expect("mkdir");
    std::fs::write(
        broken.join(".claude-plugin/plugin.json"),
        r#"{"name": "Not A Valid Name!", "version": 7}"#,
    )
    .expect("write plugin.json");
    let (ok, out) = validate(&world, &alpha, &broken);
    assert!(!ok, "a broken plugin.json validated:\n{out}");
}

#[test]
fn real_plugin_dir_shows_the_model_the_skill_and_the_command() {
    let Some(claude) = require_claude("real_plugin_dir_shows_the_model_the_skill_and_the_command")
    else {
        return;
    };
    let world = World::new(claude);
    let alpha = world.account("alpha");
    let project = world.workdir("project");
    let ask = |args: &[&str]| {
        let before = world.mock.message_bodies().len();
        let mut cmd = world.claude_cmd(&alpha, &project);
        cmd.args(args);
        let done = world.run(&mut cmd);
        done.assert_success("claude -p");
        (done.stdout, world.mock.message_bodies()[before..].concat())
    };
    // The skill's description as it appears inside the JSON request body.
    let description = serde_json::to_string(&skill_description()).expect("json");
    let description = description.trim_matches('"');

    let (_, bare) = ask(&["-p", "Hello. CANARY-61"]);
    assert!(bare.contains("CANARY-61"), "the mock saw the prompt");
    assert!(
        !bare.contains("seance:ask-predecessor"),
        "without --plugin-dir the model is not shown the skill"
    );

    let plugin = plugin_dir();
    let plugin = plugin.to_str().expect("utf-8 path");
    let (stdout, with) = ask(&["--plugin-dir", plugin, "-p", "Hello. CANARY-62"]);
    assert_eq!(stdout, "MARKERS: CANARY-62\n");
    assert!(
        with.contains(&format!("seance:ask-predecessor: {description}")),
        "the request lists the skill with its description"
    );
    assert!(with.contains("seance:ask"), "and the command");

    let (stdout, asked) = ask(&[
        "--plugin-dir",
        plugin,
        "-p",
        "/seance:ask Where is the map? CANARY-63",
    ]);
    assert_eq!(stdout, "MARKERS: CANARY-63\n");
    assert!(
        asked.contains(r#"seance --last --project \"$PWD\" --ephemeral -p"#),
        "/seance:ask expands to the seance command line"
    );
    assert!(asked.contains("Question: Where is the map? CANARY-63"));
}

/// The command the successor's (scripted) model runs through its Bash tool, as the
/// skill and `/seance:ask` teach it: the newest predecessor in this project, asked once,
/// keeping no fork. `--last` must skip the successor's own session (newer, same
/// project): seance runs inside it.
fn ask_command(project: &Path) -> String {
    format!(
        "seance --last --project '{}' -p 'Where is the migration? CANARY-53' --ephemeral",
        project.display()
    )
}

#[test]
fn real_plugin_end_to_end_successor_asks_predecessor() {
    let Some(claude) = require_claude("real_plugin_end_to_end_successor_asks_predecessor") else {
        return;
    };
    let world = World::new(claude);
    let alpha = world.account("alpha");
    let beta = world.account("beta");
    let project = world.workdir("shared-project");
    world.make_session(&beta, &project, "The migration is db/0042.sql. CANARY-51");
    let beta_before = snapshot(&beta.dir);
    let alpha_before = alpha.transcripts();

    // The successor's model: asked the handoff question (CANARY-52), it calls Bash once;
    // every other request (the predecessor's resumed turn, the successor's turn after the
    // tool result) gets the markers answer.
    let command = ask_command(&project);
    let script_command = command.clone();
    world.mock.script(move |body| {
        let has_bash = body["tools"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "Bash"));
        let text = body.to_string();
        (has_bash && text.contains("CANARY-52") && !text.contains("tool_result")).then(|| {
            Reply::ToolUse {
                name: "Bash".into(),
                input: serde_json::json!({"command": script_command,
                    "description": "Ask the predecessor"}),
            }
        })
    });

    let seance_dir = Path::new(env!("CARGO_BIN_EXE_seance"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(seance_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let plugin = plugin_dir();
    let mut cmd = world.claude_cmd(&alpha, &project);
    cmd.env("PATH", path)
        .env("SEANCE_CLAUDE", &world.claude)
        .env("SEANCE_ACCOUNT_DIRS", &beta.dir)
        .env("NO_COLOR", "1")
        .arg("--plugin-dir")
        .arg(&plugin)
        .args(["--allowedTools", "Bash(seance:*)"])
        .args([
            "-p",
            "Ask your predecessor where the migration is. CANARY-52",
        ]);
    let done = world.run(&mut cmd);
    done.assert_success("the successor's claude -p");

    let requests = world.mock.requests();
    assert!(
        requests.iter().any(|r| r
            .answer
            .as_deref()
            .is_some_and(|a| a.starts_with("TOOL_USE Bash"))),
        "the successor's model was asked and called Bash"
    );
    assert!(
        requests.iter().any(|r| r.is_messages()
            && r.body.contains("CANARY-51")
            && r.body.contains("CANARY-53")
            && !r.body.contains("CANARY-52")),
        "seance resumed the predecessor (its marker 51) with the question (53)"
    );
    assert_eq!(
        done.stdout, "MARKERS: CANARY-51 CANARY-52 CANARY-53\n",
        "the successor's last turn saw the predecessor's answer"
    );

    // The successor's own transcript holds the tool result: the predecessor's answer.
    let new = World::new_transcripts(&alpha, &alpha_before);
    assert_eq!(
        new.len(),
        1,
        "only the successor's transcript is new (--ephemeral keeps no fork): {new:?}"
    );
    let successor = &new[0];
    assert_eq!(
        successor
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str()),
        Some(project_folder_name(&project).as_str())
    );
    let text = std::fs::read_to_string(successor).expect("read the successor's transcript");
    let tool_result = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .flat_map(|r| {
            r["message"]["content"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .find(|c| c["type"] == "tool_result")
        .expect("the successor's transcript has a tool result");
    assert!(
        tool_result
            .to_string()
            .contains("MARKERS: CANARY-51 CANARY-53"),
        "the tool result is the predecessor's answer: {tool_result}"
    );
    assert_eq!(
        snapshot(&beta.dir),
        beta_before,
        "the predecessor's account is untouched"
    );
    assert!(alpha.links().is_empty(), "no link left behind");
}
