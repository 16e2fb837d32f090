//! Integration tests of the listing's table: columns, width, colour, sanitising of
//! untrusted text, the footer and the "nothing found" message.

mod list_support;

use std::fs;

use list_support::*;

const TS: &str = "2026-03-01T00:00:00Z";

fn header(out: &str) -> &str {
    out.lines().next().unwrap()
}

/// The footer: the lines after the blank line that ends the table, joined.
fn footer(out: &str) -> String {
    out.split("\n\n").nth(1).unwrap_or("").replace('\n', " ")
}

#[test]
fn rows_show_short_ids_accounts_and_home_relative_projects() {
    let sb = Sandbox::new();
    let other = account(&sb.home.join(".claude-other"));
    let cwd = sb.home.join("code/proj");
    transcript(
        &sb.current,
        "-p",
        TITLED,
        convo(cwd.to_str().unwrap(), TS, TS, "first title"),
    );
    transcript(
        &other,
        "-p",
        AI,
        convo(
            "/srv/elsewhere",
            "2026-03-02T00:00:00Z",
            "2026-03-02T01:00:00Z",
            "second title",
        ),
    );
    // Wide enough that nothing needs cutting.
    let out = sb
        .cmd()
        .env("COLUMNS", "200")
        .args(["--color", "never"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(!out.contains(TITLED), "full id shown: {out}");
    let lines: Vec<&str> = out.lines().collect();
    let h = lines[0];
    for col in ["ID", "ACCOUNT", "ACTIVE", "PROJECT", "TITLE"] {
        assert!(h.contains(col), "{col} missing: {h}");
    }
    assert!(!h.contains("ACTOR"), "{h}");
    assert!(!h.contains("STARTED"), "one date column, the order's: {h}");
    // Newest activity first: AI was active later.
    assert!(lines[1].starts_with(&AI[..8]), "{out}");
    assert!(lines[2].starts_with(&TITLED[..8]), "{out}");
    assert!(lines[1].contains(".claude-other ") && !lines[1].contains(".claude-other*"));
    assert!(lines[2].contains(".claude*"), "{out}");
    assert!(lines[2].contains("~/code/proj"), "{out}");
    assert!(lines[1].contains("/srv/elsewhere"), "{out}");
    assert!(lines[1].contains("second title") && lines[2].contains("first title"));
    assert!(lines[1].contains("03-02"), "{out}");
    // The footer says how to talk.
    assert!(footer(&out).contains("seance --talk"), "{out}");
    // Ordered by start, the date column is the start.
    let out = sb
        .cmd()
        .env("COLUMNS", "200")
        .args(["--color", "never", "--sort", "started"])
        .output()
        .unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(header(&out).contains("STARTED"), "{out}");
    assert!(out.lines().nth(1).unwrap().contains("03-02 00:00"), "{out}");
    assert!(footer(&out).contains("newest start first"), "{out}");
}

#[test]
fn the_actor_column_appears_only_when_a_session_has_an_actor() {
    let sb = Sandbox::new();
    transcript(&sb.current, "-p", TITLED, convo("/w", TS, TS, "t"));
    transcript(&sb.current, "-p", AI, convo("/w", TS, TS, "t"));
    let events = sb.root().join("events.jsonl");
    fs::write(
        &events,
        format!(
            "{{\"ts\":\"{TS}\",\"type\":\"session_start\",\"actor\":\"gastown/crew/joe\",\"payload\":{{\"session_id\":\"{AI}\"}}}}\n"
        ),
    )
    .unwrap();
    let (_, out, _) = sb.run(&[]);
    assert!(!header(&out).contains("ACTOR"), "{out}");
    let out = sb
        .cmd()
        .env("COLUMNS", "200")
        .args(["--events", events.to_str().unwrap()])
        .output()
        .unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(header(&out).contains("ACTOR"), "{out}");
    let ai_line = out.lines().find(|l| l.starts_with(&AI[..8])).unwrap();
    assert!(ai_line.contains("gastown/crew/joe"), "{out}");
}

#[test]
fn the_table_fits_columns_when_piped() {
    let sb = Sandbox::new();
    let long = "a very long title that goes on and on ".repeat(8);
    let deep = format!("/srv/{}", "deep/".repeat(30));
    transcript(&sb.current, "-p", TITLED, convo(&deep, TS, TS, &long));
    transcript(&sb.current, "-p", AI, convo("/w", TS, TS, "short"));
    let width = |out: &str| {
        out.lines()
            .take_while(|l| !l.is_empty())
            .map(|l| l.chars().count())
            .max()
            .unwrap()
    };
    for cols in [60usize, 100, 200] {
        let out = sb.cmd().env("COLUMNS", cols.to_string()).output().unwrap();
        let out = String::from_utf8(out.stdout).unwrap();
        let w = width(&out);
        assert!(w <= cols, "{w} > {cols}:\n{out}");
        assert!(out.contains('…'), "nothing cut at {cols}:\n{out}");
    }
    // No COLUMNS and no terminal: 80.
    let (_, out, _) = sb.run(&[]);
    let w = width(&out);
    assert!(w <= 80, "{w}:\n{out}");
    let w100 =
        width(&String::from_utf8(sb.cmd().env("COLUMNS", "100").output().unwrap().stdout).unwrap());
    assert!(
        w < w100,
        "80 columns by default, so narrower than at 100: {w} vs {w100}"
    );
    // JSON never depends on the width.
    let narrow = sb
        .cmd()
        .env("COLUMNS", "30")
        .args(["--json"])
        .output()
        .unwrap();
    let wide = sb
        .cmd()
        .env("COLUMNS", "300")
        .args(["--json"])
        .output()
        .unwrap();
    assert_eq!(narrow.stdout, wide.stdout);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&wide.stdout).unwrap();
    assert_eq!(row(&rows, TITLED)["title"], long.trim());
}

#[test]
fn colour_only_when_asked_for() {
    let sb = Sandbox::new();
    transcript(&sb.current, "-p", TITLED, convo("/w", TS, TS, "t"));
    let esc = |args: &[&str], no_color: bool| {
        let mut c = sb.cmd();
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let out = c.args(args).output().unwrap();
        assert!(out.status.success());
        out.stdout.contains(&0x1b)
    };
    // Piped (as here): no colour unless forced.
    assert!(!esc(&[], false));
    assert!(!esc(&["--color", "auto"], false));
    assert!(!esc(&["--color", "never"], false));
    assert!(!esc(&[], true));
    assert!(esc(&["--color", "always"], false));
    assert!(esc(&["--color", "always"], true));
}

#[test]
fn untrusted_text_cannot_drive_the_terminal() {
    let sb = Sandbox::new();
    let evil = "evil\x1b[2J\x1b]0;pwned\x07 \u{202e}txt.exe\u{9b}31m\rline\nbreak";
    let cwd = "/w/\x1b[31mred";
    transcript(&sb.current, "-p", TITLED, convo(cwd, TS, TS, evil));
    for args in [&[][..], &["--color", "always"]] {
        let (code, out, _) = sb.run(args);
        assert_eq!(code, 0);
        for bad in ['\u{7}', '\u{202e}', '\u{9b}', '\r'] {
            assert!(!out.contains(bad), "{bad:?} in {out:?}");
        }
        assert!(!out.contains("\x1b[2J"), "{out:?}");
        assert!(!out.contains("\x1b]0;"), "{out:?}");
        assert!(!out.contains("\x1b[31mred"), "{out:?}");
        // The row stays one line: header, one row, blank, footer.
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[1].contains(&TITLED[..8]), "{out:?}");
        assert_eq!(lines[2], "", "{out:?}");
    }
    let (_, out, _) = sb.run(&["--color", "never"]);
    assert!(!out.contains('\x1b'), "{out:?}");
    // JSON carries the raw text.
    let rows = sb.json(&[]);
    assert_eq!(rows[0]["title"], evil);
    assert_eq!(rows[0]["cwd"], cwd);
}

#[test]
fn nothing_found_says_where_it_looked() {
    let sb = Sandbox::new();
    let extra = account(&sb.root().join("accts/extra"));
    let events = sb.root().join("no-events.jsonl");
    let (code, out, err) = sb.run(&[
        "--account-dir",
        extra.to_str().unwrap(),
        "--events",
        events.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    for place in [&sb.current, &extra, &events] {
        assert!(out.contains(place.to_str().unwrap()), "{place:?}: {out}");
    }
    assert!(!out.contains("ID "), "{out}");
    // Sessions exist, but none passes the filters: a different message.
    transcript(&sb.current, "-p", TITLED, convo("/w", TS, TS, "t"));
    let (code, out, _) = sb.run(&["--grep", "zzz"]);
    assert_eq!(code, 0);
    assert!(out.contains('1'), "{out}");
    assert!(!out.contains(sb.current.to_str().unwrap()), "{out}");
}

#[test]
fn the_footer_counts_what_was_cut() {
    let sb = Sandbox::new();
    for (i, id) in [TITLED, AI, PLAIN].iter().enumerate() {
        let ts = format!("2026-03-0{}T00:00:00Z", i + 1);
        transcript(&sb.current, "-p", id, convo("/w", &ts, &ts, "t"));
    }
    let (_, out, _) = sb.run(&["-n", "2"]);
    let rows = out
        .lines()
        .filter(|l| l.len() > 8 && l.is_char_boundary(8))
        .filter(|l| [TITLED, AI, PLAIN].iter().any(|id| l.starts_with(&id[..8])));
    assert_eq!(rows.count(), 2, "{out}");
    assert!(footer(&out).contains("2 of 3"), "{out}");
    let (_, out, _) = sb.run(&["-n", "0"]);
    assert!(footer(&out).contains("3 sessions"), "{out}");
}

#[test]
fn wide_characters_are_measured_by_display_width() {
    let sb = Sandbox::new();
    let title = "修复解析器中的错误并编写测试😀".repeat(6);
    transcript(&sb.current, "-p", TITLED, convo("/w/項目", TS, TS, &title));
    for cols in [50usize, 70, 120] {
        let out = sb.cmd().env("COLUMNS", cols.to_string()).output().unwrap();
        let out = String::from_utf8(out.stdout).unwrap();
        for line in out.lines().take(2) {
            let w = console::measure_text_width(line);
            assert!(w <= cols, "{w} > {cols}: {line}");
        }
    }
}

/// Issue 13: at 80 columns the title keeps 30 characters, the project shows its last
/// components, a fork is marked and shown by its own first prompt, and no line (the
/// footer included) is wider than the terminal.
#[test]
fn eighty_columns_are_made_for_reading() {
    let sb = Sandbox::new();
    let long = "Move the lantern migration before the schema split and say why";
    transcript(
        &sb.current,
        "-p",
        TITLED,
        convo("/tmp/ls1/gastown/crew/max", TS, TS, long),
    );
    let fork = format!(
        "{}\n",
        serde_json::json!({"type":"user","cwd":"/tmp/ls1/gastown/crew/max",
            "timestamp":"2026-03-02T00:00:00Z","forkedFrom":{"sessionId":TITLED},
            "message":{"role":"user","content":"And where did the key go after the split?"}})
    );
    transcript(&sb.current, "-p", AI, fork);
    let out = sb.cmd().env("COLUMNS", "80").output().unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    for line in out.lines() {
        assert!(
            console::measure_text_width(line) <= 80,
            "{line:?} is wider than 80:\n{out}"
        );
    }
    let lines: Vec<&str> = out.lines().collect();
    let title_at = lines[0].find("TITLE").unwrap();
    let row = |id: &str| *lines.iter().find(|l| l.contains(&id[..8])).unwrap();
    let title: String = row(TITLED).chars().skip(title_at).collect();
    assert!(title.chars().count() >= 30, "{title:?}\n{out}");
    assert!(long.starts_with(title.trim_end_matches('…')), "{title:?}");
    assert!(row(TITLED).contains("…/crew/max"), "{out}");
    assert!(!out.contains("/tmp/ls1/…"), "{out}");
    assert!(row(AI).starts_with("↳"), "{out}");
    assert!(row(AI).contains("And where did the key"), "{out}");
    assert!(footer(&out).contains("↳ = fork"), "{out}");
    assert!(
        out.split("\n\n").nth(1).unwrap().lines().count() >= 2,
        "the footer wraps:\n{out}"
    );
}
