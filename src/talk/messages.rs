//! Every line seance says around a talk, and its wording, in one place.
//!
//! By default a talk says one line before claude starts (which session, where) and one
//! or two after it ends (where the conversation went on, or that nothing was kept), plus
//! a line only when the user must act or know something (trust, a fallback directory).
//! `-v` adds the mechanics (link, index, undo, reaped leftovers); `-q` leaves errors only.
//!
//! Text from files (titles, account names, paths) is sanitised where it is put in, and
//! every path is `~`-abbreviated. Lines stay within [`WIDTH`] columns: the one
//! flexible part (a title) is cut to fit, and only a long path makes a line wider.

use std::path::Path;

use console::{measure_text_width, truncate_str};

use crate::link::guard::{Action, ActionKind};
use crate::util::sanitize::{self, for_terminal};
use crate::util::say::{self, Kind};

/// The widest a message line gets, in columns, unless a path in it is long.
pub const WIDTH: usize = 100;

/// Account names are cut to this many columns in messages.
const ACCOUNT_WIDTH: usize = 16;

/// A title never shrinks below this many columns to make room (a path that leaves less
/// makes the line longer: the text around a path is at most 90 columns).
const MIN_TITLE: usize = 16;

/// Where claude runs, and why there (the first line says where; a line of its own says
/// why, when it is not the session's own directory by choice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The session's own directory.
    Own,
    /// The current directory, because of `--here`.
    Here,
    /// The current directory, because the session's directory no longer exists.
    Gone(std::path::PathBuf),
    /// The current directory, because the session's directory is now something else.
    NotDir(std::path::PathBuf),
    /// The current directory, because the session records none.
    NoDir,
}

/// One thing seance says around a talk.
#[derive(Debug)]
pub enum Msg<'a> {
    /// Before claude: the session (short id, title, account) and where claude runs.
    Start {
        /// The session's full id (the first 8 characters are shown).
        id: &'a str,
        /// Its title, from its transcript (untrusted).
        title: Option<&'a str>,
        /// The account that owns it (untrusted).
        account: Option<&'a str>,
        /// The directory claude runs in.
        dir: &'a Path,
        /// Why there.
        place: &'a Place,
    },
    /// Before an interactive claude: the account has not trusted `dir`, so claude asks.
    TrustAsk {
        /// The run directory.
        dir: &'a Path,
        /// Whether `--here` would change the directory (claude runs in the session's own).
        own: bool,
    },
    /// After claude ended without starting because `dir` is not trusted.
    TrustRefused {
        /// The run directory.
        dir: &'a Path,
        /// Whether `--here` would change the directory.
        own: bool,
    },
    /// `-v`: what the reaper removed before the talk.
    Reaped(&'a [Action]),
    /// `-v`: the link made, and where it points.
    Linked {
        /// The symlink in the current account's project folder.
        link: &'a Path,
        /// The session's transcript.
        target: &'a Path,
    },
    /// `-v`: the link another live seance made is shared.
    Joined {
        /// The symlink.
        link: &'a Path,
    },
    /// `-v`: no link was needed (the reason).
    NoLink(&'a str),
    /// `-v`: the session was added to the folder's legacy index.
    IndexPatched(&'a Path),
    /// A signal came before claude started; nothing was run.
    Interrupted(i32),
    /// claude could not be noted in the ledger (a crash would then leave the link to the
    /// next reap even while claude runs).
    NotInLedger(&'a str),
    /// `-v`: what the undo did.
    Undone(&'a [Action]),
    /// After claude: where the conversation went on.
    Continues {
        /// The fork's session id.
        id: &'a str,
        /// The current account's name.
        account: &'a str,
        /// The directory to resume it from.
        dir: &'a Path,
    },
    /// After claude: no fork was written.
    NothingKept {
        /// `--ephemeral` asked for that.
        ephemeral: bool,
    },
}

impl Msg<'_> {
    /// When the message is shown.
    pub fn kind(&self) -> Kind {
        match self {
            Msg::TrustRefused { .. } => Kind::Error,
            Msg::Start { .. }
            | Msg::TrustAsk { .. }
            | Msg::Interrupted(_)
            | Msg::NotInLedger(_)
            | Msg::Continues { .. }
            | Msg::NothingKept { .. } => Kind::Notice,
            Msg::Reaped(_)
            | Msg::Linked { .. }
            | Msg::Joined { .. }
            | Msg::NoLink(_)
            | Msg::IndexPatched(_)
            | Msg::Undone(_) => Kind::Detail,
        }
    }

    /// The lines, without the `seance: ` prefix, safe for a terminal.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Msg::Start {
                id,
                title,
                account,
                dir,
                place,
            } => start_lines(id, *title, *account, dir, place),
            Msg::TrustAsk { dir, own } => {
                let mut l = vec![format!(
                    "claude will ask whether you trust {}: answer Yes to resume there",
                    sanitize::path(dir)
                )];
                if *own {
                    l.push(
                        "(or No, then run seance again with --here to resume in the current directory)"
                            .into(),
                    );
                }
                l
            }
            Msg::TrustRefused { dir, own } => {
                let mut l = vec![format!(
                    "claude did not start: this account does not trust {}",
                    sanitize::path(dir)
                )];
                l.push(if *own {
                    "run seance again and answer Yes, or add --here to resume in the current directory"
                        .into()
                } else {
                    "run seance again and answer Yes to resume there".into()
                });
                l
            }
            Msg::Reaped(actions) => actions.iter().map(|a| action_line("reaped", a)).collect(),
            Msg::Linked { link, target } => vec![
                format!("linked {}", sanitize::path(link)),
                format!("    -> {}", sanitize::path(target)),
            ],
            Msg::Joined { link } => vec![format!(
                "sharing the link {} with another seance",
                sanitize::path(link)
            )],
            Msg::NoLink(why) => vec![format!("no link needed: {}", for_terminal(why))],
            Msg::IndexPatched(index) => {
                vec![format!("added the session to {}", sanitize::path(index))]
            }
            Msg::Interrupted(sig) => vec![format!(
                "interrupted by signal {sig} before claude started; undone"
            )],
            Msg::NotInLedger(e) => vec![format!(
                "warning: could not note claude in the ledger: {}",
                for_terminal(e)
            )],
            Msg::Undone(actions) => actions.iter().map(|a| action_line("undone", a)).collect(),
            Msg::Continues { id, account, dir } => vec![
                format!(
                    "the conversation went on as {id} in account {}",
                    account_name(account)
                ),
                format!("resume it: cd {} && claude --resume {id}", shell_dir(dir)),
            ],
            Msg::NothingKept { ephemeral: true } => {
                vec!["nothing was kept (--ephemeral): no fork of the session was saved".into()]
            }
            Msg::NothingKept { ephemeral: false } => {
                vec!["nothing was kept: claude saved no fork of the session".into()]
            }
        }
    }

    /// Writes the lines to stderr when the current verbosity shows this kind; a line
    /// left alone by an undo is shown by default, whatever the message.
    pub fn say(&self) {
        say::emit(self.kind(), &self.lines());
        if let Msg::Undone(actions) | Msg::Reaped(actions) = self
            && !say::shows(Kind::Detail)
        {
            let left: Vec<String> = actions
                .iter()
                .filter(|a| a.kind == ActionKind::LeftAlone)
                .map(|a| action_line("", a))
                .collect();
            say::emit(Kind::Notice, &left);
        }
    }
}

/// `talking to 48790847 "title" (account home) in ~/dir`, the title cut so the line
/// fits [`WIDTH`], then a line saying why the directory is not the session's own.
fn start_lines(
    id: &str,
    title: Option<&str>,
    account: Option<&str>,
    dir: &Path,
    place: &Place,
) -> Vec<String> {
    let short: String = id.chars().take(8).collect();
    let account = account_name(account.unwrap_or("?"));
    let shown_dir = sanitize::path(dir);
    let here = if *place == Place::Here {
        " (--here)"
    } else {
        ""
    };
    let tail = format!(" (account {account}) in {shown_dir}{here}");
    let head = format!("talking to {short} ");
    let title = title.map(str::trim).filter(|t| !t.is_empty());
    let first = match title {
        None => format!("{head}(untitled){tail}"),
        Some(t) => {
            let used = "seance: ".len() + measure_text_width(&head) + measure_text_width(&tail);
            let room = WIDTH.saturating_sub(used + 2).max(MIN_TITLE);
            let t = for_terminal(t);
            format!("{head}\"{}\"{tail}", truncate_str(&t, room, "…"))
        }
    };
    let mut lines = vec![first];
    match place {
        Place::Own | Place::Here => {}
        Place::Gone(own) => lines.push(format!(
            "its own directory no longer exists: {}",
            sanitize::path(own)
        )),
        Place::NotDir(own) => lines.push(format!(
            "its own directory is no longer a directory: {}",
            sanitize::path(own)
        )),
        Place::NoDir => lines.push("the session records no directory of its own".into()),
    }
    lines
}

/// An account name for a message: sanitised and cut to [`ACCOUNT_WIDTH`] columns.
fn account_name(name: &str) -> String {
    truncate_str(&for_terminal(name), ACCOUNT_WIDTH, "…").into_owned()
}

/// One undo or reap step: `<verb>: <what> <path>`, with its reason when it has one (the
/// link's target is left out: one path per line); a thing left alone is
/// `left alone: <path> (<why>)` whatever the verb.
fn action_line(verb: &str, a: &Action) -> String {
    if a.kind == ActionKind::LeftAlone {
        return format!(
            "left alone: {} ({})",
            sanitize::path(&a.path),
            for_terminal(&a.detail)
        );
    }
    let what = match a.kind {
        ActionKind::RemovedLink => "link",
        ActionKind::RestoredIndex => "index restored",
        ActionKind::RemovedIndexEntry => "index entry in",
        ActionKind::RemovedIndexFile => "index file",
        ActionKind::RemovedFolder => "folder",
        ActionKind::DroppedRecord => "ledger record for",
        ActionKind::RemovedTemp => "temp file",
        ActionKind::LeftAlone => "left alone",
    };
    let why = match a.kind {
        ActionKind::DroppedRecord => format!(" ({})", for_terminal(&a.detail)),
        _ => String::new(),
    };
    format!("{verb}: {what} {}{why}", sanitize::path(&a.path))
}

/// `dir` for a `cd` the user can paste: `~`-abbreviated, sanitised, and single-quoted
/// (after a leading `~/`, which must stay unquoted to expand) when it holds anything
/// but plain path characters.
fn shell_dir(dir: &Path) -> String {
    let shown = sanitize::path(dir);
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%~".contains(c))
    };
    if plain(&shown) {
        return shown;
    }
    let (prefix, rest) = match shown.strip_prefix("~/") {
        Some(rest) => ("~/", rest),
        None => ("", shown.as_str()),
    };
    format!("{prefix}'{}'", rest.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const ID: &str = "48790847-da2f-4e75-a16d-89d37a253f61";

    fn width_ok(lines: &[String], path: &str) {
        for l in lines {
            let w = measure_text_width(l) + "seance: ".len();
            let p = measure_text_width(path);
            assert!(
                w <= WIDTH || (l.contains(path) && w - p <= WIDTH - 10),
                "{w} columns: {l}"
            );
        }
    }

    #[test]
    fn start_line_fits_and_cuts_only_the_title() {
        let dir = PathBuf::from("/srv/work/lantern");
        let long = "a very long title ".repeat(20);
        let l = Msg::Start {
            id: ID,
            title: Some(&long),
            account: Some("home"),
            dir: &dir,
            place: &Place::Own,
        }
        .lines();
        assert_eq!(l.len(), 1);
        assert!(
            l[0].starts_with("talking to 48790847 \"a very long"),
            "{l:?}"
        );
        assert!(
            l[0].ends_with("…\" (account home) in /srv/work/lantern"),
            "{l:?}"
        );
        assert_eq!(measure_text_width(&l[0]) + 8, WIDTH);
        // A long path keeps the title readable and is the only reason for the width.
        let deep = PathBuf::from(format!("/srv/{}", "deep/".repeat(30)));
        let l = Msg::Start {
            id: ID,
            title: Some(&long),
            account: Some(&"x".repeat(60)),
            dir: &deep,
            place: &Place::Here,
        }
        .lines();
        assert!(
            l[0].contains("(--here)") && l[0].contains(&"x".repeat(15)),
            "{l:?}"
        );
        assert!(l[0].contains("\"a very long tit…\""), "{l:?}");
        width_ok(&l, deep.to_str().unwrap());
    }

    #[test]
    fn hostile_text_cannot_make_lines() {
        let dir = PathBuf::from("/w/x\nseance: fake\x1b]52;c;AAAA\x07");
        let l = Msg::Start {
            id: ID,
            title: Some("t\x1b[2J\nseance: also fake"),
            account: Some("acc\u{202e}ount\n"),
            dir: &dir,
            place: &Place::Gone(dir.clone()),
        }
        .lines();
        assert_eq!(l.len(), 2, "{l:?}");
        for line in l {
            assert!(!line.contains('\n') && !line.contains('\x1b'), "{line:?}");
            assert!(!line.contains('\u{202e}'), "{line:?}");
        }
    }

    #[test]
    fn after_lines() {
        let dir = PathBuf::from("/srv/my dir's");
        let l = Msg::Continues {
            id: ID,
            account: "work",
            dir: &dir,
        }
        .lines();
        assert_eq!(
            l,
            [
                format!("the conversation went on as {ID} in account work"),
                format!("resume it: cd '/srv/my dir'\\''s' && claude --resume {ID}"),
            ]
        );
        width_ok(&l, "'/srv/my dir'\\''s'");
        assert_eq!(shell_dir(Path::new("/srv/a-b_c.d")), "/srv/a-b_c.d");
        for m in [
            Msg::NothingKept { ephemeral: true },
            Msg::TrustAsk {
                dir: &dir,
                own: true,
            },
            Msg::TrustRefused {
                dir: &dir,
                own: true,
            },
        ] {
            let l = m.lines();
            width_ok(&l, "/srv/my dir's");
        }
    }

    #[test]
    fn actions_carry_one_path_each() {
        let a = Action {
            kind: ActionKind::RemovedLink,
            path: "/b/projects/-p/x.jsonl".into(),
            detail: "-> /a/projects/-p/x.jsonl".into(),
        };
        let left = Action {
            kind: ActionKind::LeftAlone,
            path: "/b/projects/-p/sessions-index.json".into(),
            detail: "not JSON".into(),
        };
        assert_eq!(
            Msg::Undone(&[a, left]).lines(),
            [
                "undone: link /b/projects/-p/x.jsonl",
                "left alone: /b/projects/-p/sessions-index.json (not JSON)"
            ]
        );
    }
}
