//! Regression tests for listing bugs found by the listing test suite: each failed before its fix.

mod list_support;

use std::os::unix::fs::symlink;

use list_support::*;

#[test]
fn a_project_folder_linking_to_itself_is_reported_as_a_symlink_loop() {
    let sb = Sandbox::new();
    let ts = "2026-03-01T00:00:00Z";
    transcript(&sb.current, "-w", TITLED, convo("/w", ts, ts, "hi"));
    let projects = sb.current.join("projects");
    symlink(projects.join("-self"), projects.join("-self")).unwrap();
    let (code, _, err) = sb.run(&["--json", "-v"]);
    assert_eq!(code, 0);
    let line = err.lines().find(|l| l.contains("/-self")).expect(&err);
    assert!(line.contains("symlink loops skipped"), "{line}");
}

#[test]
fn the_title_takes_the_room_that_is_left() {
    // Fixed columns 8+8+16+8, gaps 10, PROJECT "/w" (header 7): at 80 columns the
    // title has 80-50-9 = 21 columns, and "a title of 20 chars." needs 20.
    let sb = Sandbox::new();
    let ts = "2026-03-01T00:00:00Z";
    let title = "a title of 20 chars.";
    transcript(&sb.current, "-w", TITLED, convo("/w", ts, ts, title));
    let out = sb.cmd().env("COLUMNS", "80").output().unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    let line = out.lines().nth(1).unwrap();
    assert!(line.chars().count() <= 80);
    assert!(
        line.ends_with(title),
        "title cut with room to spare:\n{out}"
    );
}

#[test]
fn a_bad_since_value_is_a_usage_error() {
    // --help: "2    usage error (bad flags or values)".
    let sb = Sandbox::new();
    let (code, _, err) = sb.run(&["--since", "garbage"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn an_index_custom_title_beats_a_transcript_ai_title() {
    let sb = Sandbox::new();
    fixture_transcript(&sb.current, "-a", AI, "ai-titled.jsonl");
    std::fs::write(
        sb.current.join("projects/-a/sessions-index.json"),
        format!(
            r#"{{"version":1,"entries":[{{"sessionId":"{AI}","customTitle":"Renamed by hand"}}]}}"#
        ),
    )
    .unwrap();
    let rows = sb.json(&[]);
    assert_eq!(row(&rows, AI)["title"], "Renamed by hand");
}

#[test]
fn an_index_summary_beats_a_transcript_last_prompt() {
    let sb = Sandbox::new();
    let ts = "2026-03-01T00:00:00Z";
    let text = format!(
        "{}\n{}\n",
        user_line("/w", ts, "<command-name>/clear</command-name>"),
        r#"{"type":"last-prompt","lastPrompt":"the last thing typed"}"#
    );
    transcript(&sb.current, "-a", PLAIN, text);
    std::fs::write(
        sb.current.join("projects/-a/sessions-index.json"),
        format!(
            r#"{{"version":1,"entries":[{{"sessionId":"{PLAIN}","summary":"Index summary"}}]}}"#
        ),
    )
    .unwrap();
    let rows = sb.json(&[]);
    assert_eq!(row(&rows, PLAIN)["title"], "Index summary");
}

#[test]
fn a_project_folder_linked_from_another_account_is_listed_under_its_owner() {
    // The current account's folder -w is a link to .claude-other's folder -w: the
    // transcripts in it belong to .claude-other.
    let sb = Sandbox::new();
    let other = account(&sb.home.join(".claude-other"));
    let ts = "2026-03-01T00:00:00Z";
    transcript(&other, "-w", AI, convo("/w", ts, ts, "hi"));
    std::os::unix::fs::symlink(other.join("projects/-w"), sb.current.join("projects/-w")).unwrap();
    let rows = sb.json(&[]);
    assert_eq!(ids(&rows), [AI]);
    assert_eq!(rows[0]["account"], ".claude-other");
    assert_eq!(rows[0]["current_account"], false);
}

#[test]
fn an_empty_transcript_with_an_index_entry_is_not_called_missing() {
    let sb = Sandbox::new();
    let p = transcript(&sb.current, "-w", PLAIN, "");
    std::fs::write(
        sb.current.join("projects/-w/sessions-index.json"),
        format!(r#"{{"version":1,"entries":[{{"sessionId":"{PLAIN}","summary":"S"}}]}}"#),
    )
    .unwrap();
    let (code, out, err) = sb.run(&["--json"]);
    assert_eq!(code, 0);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    // Either skipped outright (as the warning says) or listed with its transcript;
    // not "transcript missing" while the file is right there.
    if let Some(r) = rows.iter().find(|r| r["session_id"] == PLAIN) {
        assert_eq!(r["transcript_missing"], false, "{err}");
        assert_eq!(r["transcript"], p.to_str().unwrap());
    }
}
