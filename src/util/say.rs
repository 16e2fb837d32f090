//! seance's own lines on stderr: the one place that decides which are shown (`-q`,
//! default, `-v`) and that writes them without ever failing.
//!
//! stderr may be a closed pipe (`seance ... 2>&1 | head -1`): a line that cannot be
//! written is dropped, never a panic, and never changes the exit status.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

/// How much seance says on stderr, chosen once by `-q` / `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet = 0,
    /// The default: what the user must know or act on.
    Normal = 1,
    /// `-v`: the mechanics too (links, index patches, lock waits, undo steps).
    Verbose = 2,
}

/// What a line is, which decides when it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Something failed or must be fixed by hand: always shown.
    Error,
    /// What the user needs to know (which session, where, where it went on) and
    /// warnings: hidden by `-q`.
    Notice,
    /// Mechanics: shown only with `-v`.
    Detail,
}

impl Kind {
    fn needs(self) -> Verbosity {
        match self {
            Kind::Error => Verbosity::Quiet,
            Kind::Notice => Verbosity::Normal,
            Kind::Detail => Verbosity::Verbose,
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);

/// Sets the process-wide verbosity (once, from the command line).
pub fn set_verbosity(v: Verbosity) {
    LEVEL.store(v as u8, Ordering::Relaxed);
}

/// The process-wide verbosity (default [`Verbosity::Normal`]).
pub fn verbosity() -> Verbosity {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

/// Whether a line of `kind` is shown at the current verbosity.
pub fn shows(kind: Kind) -> bool {
    verbosity() >= kind.needs()
}

/// Writes each of `lines` as `seance: <line>` to `out`, stopping at the first write
/// error (the rest could not be written either). The lines must already be safe for a
/// terminal: text from files sanitised where it was put in.
pub fn write_lines(out: &mut dyn Write, lines: &[String]) {
    for line in lines {
        if writeln!(out, "seance: {line}").is_err() {
            return;
        }
    }
    let _ = out.flush();
}

/// Writes `lines` to stderr when `kind` is shown; write errors are dropped.
pub fn emit(kind: Kind, lines: &[String]) {
    if shows(kind) && !lines.is_empty() {
        write_lines(&mut std::io::stderr().lock(), lines);
    }
}

/// An error (always shown). `text` may hold several lines (a list under the error):
/// each is sanitised, and each after the first is indented, so nothing in it can pass
/// for a line of seance's own.
pub fn error(text: &str) {
    emit(Kind::Error, &[error_text(text)]);
}

fn error_text(text: &str) -> String {
    let safe = crate::util::sanitize::for_terminal_lines(text);
    let mut lines = safe.split('\n');
    let mut out = lines.next().unwrap_or_default().to_owned();
    for line in lines {
        out.push('\n');
        if !line.starts_with(' ') {
            out.push_str("  ");
        }
        out.push_str(line);
    }
    out
}

/// `warning: <text>` (hidden by `-q`); `text` is sanitised onto one line.
pub fn warn(text: &str) {
    if shows(Kind::Notice) {
        let safe = crate::util::sanitize::for_terminal(text);
        emit(Kind::Notice, &[format!("warning: {safe}")]);
    }
}

/// A `-v` line; `text` is sanitised onto one line.
pub fn detail(text: &str) {
    if shows(Kind::Detail) {
        let safe = crate::util::sanitize::for_terminal(text);
        emit(Kind::Detail, &[safe.into_owned()]);
    }
}

/// Runs `f` with stderr as a writer when `kind` is shown (for reports written to a
/// `Write`, such as the scan warnings). Its write errors are the caller's to drop.
pub fn with_stderr(kind: Kind, f: impl FnOnce(&mut dyn Write)) {
    if shows(kind) {
        f(&mut std::io::stderr().lock());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn a_closed_writer_drops_lines() {
        write_lines(&mut Closed, &["a".into(), "b".into()]);
        let mut out = Vec::new();
        write_lines(&mut out, &["a".into(), "b".into()]);
        assert_eq!(out, b"seance: a\nseance: b\n");
    }

    #[test]
    fn error_lines_cannot_pass_for_seance_lines() {
        assert_eq!(
            error_text("bad /x\nseance: fake\x1b[2J\n  listed"),
            "bad /x\n  seance: fake\\u{1b}[2J\n  listed"
        );
    }

    #[test]
    fn levels() {
        assert!(Verbosity::Quiet < Verbosity::Normal && Verbosity::Normal < Verbosity::Verbose);
        assert_eq!(Kind::Error.needs(), Verbosity::Quiet);
        assert_eq!(Kind::Detail.needs(), Verbosity::Verbose);
    }
}
