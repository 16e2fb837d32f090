//! Neutralise untrusted text (titles, prompts, paths read from other people's files)
//! before it reaches a terminal: a transcript can hold escape sequences that would
//! recolour, move the cursor or retitle the user's terminal.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// True for characters that must never reach a terminal raw: C0 and C1 controls, DEL,
/// and the Unicode bidirectional overrides/isolates/marks that can reorder what is shown.
fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Returns `s` fit for one table cell: newlines, carriage returns and tabs become a space,
/// every other dangerous character (ESC, other controls, bidi controls) becomes a visible
/// `\u{..}` escape, so the text can neither break the row nor drive the terminal.
/// Borrowed when nothing needed changing.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if is_dangerous(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Like [`for_terminal`], but keeps line breaks: for text of several lines that seance
/// composed itself (an error with a list under it), where each line is neutralised and
/// stays a line of its own.
pub fn for_terminal_lines(s: &str) -> String {
    s.split('\n')
        .map(for_terminal)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `/home/u/x` → `~/x` when `home` is `/home/u`; any other path unchanged.
pub fn tilde(path: &str, home: Option<&Path>) -> String {
    if let Some(h) = home
        .and_then(|h| h.to_str())
        .filter(|h| !h.is_empty() && *h != "/")
    {
        if path == h {
            return "~".to_owned();
        }
        if let Some(rest) = path.strip_prefix(h).filter(|r| r.starts_with('/')) {
            return format!("~{rest}");
        }
    }
    path.to_owned()
}

/// The user's home directory as seance sees it (`$HOME`, else the password database),
/// looked up once.
fn home() -> Option<&'static Path> {
    static HOME: OnceLock<Option<PathBuf>> = OnceLock::new();
    HOME.get_or_init(dirs::home_dir).as_deref()
}

/// `path` as shown in a message: `~`-abbreviated and neutralised by [`for_terminal`]
/// (so one path is always one line). Not UTF-8 bytes show as U+FFFD.
pub fn path(path: &Path) -> String {
    for_terminal(&tilde(&path.to_string_lossy(), home())).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_abbreviates_only_whole_components() {
        let h = Some(Path::new("/home/u"));
        assert_eq!(tilde("/home/u", h), "~");
        assert_eq!(tilde("/home/u/x y", h), "~/x y");
        assert_eq!(tilde("/home/user2/x", h), "/home/user2/x");
        assert_eq!(tilde("/etc", h), "/etc");
        assert_eq!(tilde("/x", Some(Path::new("/"))), "/x");
        assert_eq!(tilde("/x", None), "/x");
    }

    #[test]
    fn lines_keep_breaks_but_lose_escapes() {
        assert_eq!(
            for_terminal_lines("a\x1b]52;c;eA==\x07\n  b\r"),
            "a\\u{1b}]52;c;eA==\\u{7}\n  b "
        );
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(for_terminal("fix the parser ü"), Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_and_controls_are_neutralised() {
        let s = for_terminal("a\x1b[31mred\x07\nnext\u{202E}evil\u{9b}");
        assert_eq!(s, "a\\u{1b}[31mred\\u{7} next\\u{202e}evil\\u{9b}");
        assert!(!s.chars().any(is_dangerous));
    }
}
