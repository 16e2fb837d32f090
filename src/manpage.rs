//! `seance --man`: the manual page, in roff. The options come from the clap definition
//! (`cli.rs`) through clap_mangen, so every flag is documented where it is declared;
//! the environment, where accounts come from, the files, exit codes and examples are
//! written here.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::Cli;

/// Environment variables seance reads: name, meaning.
const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "CLAUDE_CONFIG_DIR",
        "The current account's config directory (else ~/.claude). Talks fork into this account.",
    ),
    (
        "SEANCE_ACCOUNT_DIRS",
        "More accounts (config directories), separated by ':', like --account-dir.",
    ),
    (
        "SEANCE_CLAUDE",
        "The claude binary to run, like --claude (default: claude on PATH).",
    ),
    (
        "SEANCE_EVENTS",
        "The Gas Town events file, like --events (default: TOWN/.events.jsonl).",
    ),
    (
        "GT_ROOT, GT_TOWN_ROOT",
        "The Gas Town town (else the outermost directory above the current one holding mayor/town.json).",
    ),
    (
        "HOME",
        "Where ~/.claude, ~/.claude* and ~/.ccs/instances/* are looked for.",
    ),
    (
        "XDG_CACHE_HOME",
        "The metadata cache goes in $XDG_CACHE_HOME/seance/ (default ~/.cache/seance/).",
    ),
    (
        "XDG_STATE_HOME",
        "The talk ledger goes in $XDG_STATE_HOME/seance/ (default ~/.local/state/seance/).",
    ),
    (
        "NO_COLOR",
        "When set and not empty, --color auto does not colour.",
    ),
    (
        "COLUMNS",
        "The table's width when stdout is not a terminal (default 80).",
    ),
    (
        "SEANCE_COMPLETE",
        "Set by the scripts of --completions to ask seance for completions; not for users.",
    ),
];

/// Where accounts are found, in order.
const ACCOUNT_SOURCES: &[&str] = &[
    "The current account: $CLAUDE_CONFIG_DIR, else ~/.claude (symlinks resolved).",
    "A Gas Town town's mayor/accounts.json (town from $GT_ROOT or $GT_TOWN_ROOT, else the \
     outermost directory above the current one holding mayor/town.json).",
    "Every --account-dir DIR and the ':'-separated $SEANCE_ACCOUNT_DIRS.",
    "The directories ~/.claude* and ~/.ccs/instances/* that hold a projects/ directory.",
];

/// Exit statuses: code, meaning.
const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Success; also when stdout is closed early (seance | head). With --talk: claude exited 0.",
    ),
    (
        "1",
        "Runtime error: session not found or ambiguous, claude missing, lock timeout, I/O error.",
    ),
    ("2", "Usage error: bad flags or values."),
    (
        "N",
        "With --talk: claude's own exit status, 128+n when it died of signal n.",
    ),
];

/// Examples: command, what it does.
const EXAMPLES: &[(&str, &str)] = &[
    ("seance", "The 20 newest sessions of every account."),
    ("seance -n 0 --json", "Every session, as JSON."),
    (
        "seance --role crew --since 2d",
        "Gas Town crew sessions active in the last two days.",
    ),
    (
        "seance --grep migration",
        "Sessions whose title or first prompt mentions migration.",
    ),
    (
        "seance --talk 4662",
        "Resume session 4662... as a fork in its own directory, interactively.",
    ),
    (
        "seance --talk 4662 -p 'where did you put the migration?'",
        "Ask it one question; only the answer is printed.",
    ),
    (
        "seance --talk 4662 -- --model opus",
        "Pass arguments after -- to claude unchanged.",
    ),
    (
        "seance --reap --dry-run",
        "Say which links an interrupted talk left behind, remove nothing.",
    ),
    (
        "source <(seance --completions bash)",
        "Complete flags, session ids, accounts and actors in bash (see --completions).",
    ),
    (
        "seance --man > ~/.local/share/man/man1/seance.1",
        "Install this page for man seance.",
    ),
];

/// Writes the whole manual page (roff, section 1) to `out`.
///
/// Errors: writing to `out` fails.
pub fn write(out: &mut dyn Write) -> io::Result<()> {
    // NAME reads `seance - <about>`: the about line without its own `seance: ` prefix.
    let cmd = Cli::command()
        .about("talk to an earlier Claude Code session from any of your Claude accounts");
    let man = Man::new(cmd)
        .title("SEANCE")
        .section("1")
        .source(format!("seance {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands");
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    extra_sections().to_writer(out)?;
    man.render_version_section(out)
}

/// ENVIRONMENT, ACCOUNTS, FILES, EXIT STATUS, EXAMPLES and SEE ALSO.
fn extra_sections() -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in ENVIRONMENT {
        r.control("TP", [])
            .text([bold(*name)])
            .text([roman(*meaning)]);
    }
    r.control("SH", ["ACCOUNTS"]);
    r.text([roman(
        "An account is a Claude config directory; each projects/<folder>/<session-id>.jsonl \
         in it is a session. seance looks, in this order, in:",
    )]);
    for (i, source) in ACCOUNT_SOURCES.iter().enumerate() {
        let n = format!("{}.", i + 1);
        r.control("IP", [n.as_str(), "4"]).text([roman(*source)]);
    }
    r.control("PP", []).text([roman(
        "Accounts that resolve to the same directory, or share one projects/ store, are \
         listed once. Titles, prompts and times come from bounded reads of each transcript, \
         enriched by the legacy sessions-index.json files and by Gas Town's .events.jsonl \
         (session_start events name the actor and role).",
    )]);
    r.control("SH", ["FILES"]);
    r.control("TP", [])
        .text([italic("$XDG_CACHE_HOME/seance/transcripts.bin")])
        .text([roman(
            "Transcript metadata keyed by path, size and mtime; rebuilt when stale or corrupt, \
             never read or written with --no-cache.",
        )]);
    r.control("TP", [])
        .text([italic("$XDG_STATE_HOME/seance/")])
        .text([roman(
            "The ledger of running talks, from which --reap removes what an interrupted talk left.",
        )]);
    r.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUS {
        r.control("TP", [])
            .text([bold(*code)])
            .text([roman(*meaning)]);
    }
    r.control("SH", ["EXAMPLES"]);
    for (command, what) in EXAMPLES {
        r.control("TP", [])
            .text([bold(*command)])
            .text([roman(*what)]);
    }
    r.control("SH", ["SEE ALSO"]);
    r.text([bold("claude"), roman("(1)")]);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_has_every_section() {
        let mut out = Vec::new();
        write(&mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        for section in [
            ".TH SEANCE 1",
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH ENVIRONMENT",
            ".SH ACCOUNTS",
            ".SH \"EXIT STATUS\"",
            ".SH EXAMPLES",
        ] {
            assert!(page.contains(section), "no {section} in\n{page}");
        }
    }
}
