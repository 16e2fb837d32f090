//! Neutralise untrusted text (titles, prompts, paths read from other people's files)
//! before it reaches a terminal: a transcript can hold escape sequences that would
//! recolour, move the cursor or retitle the user's terminal.

use std::borrow::Cow;

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

#[cfg(test)]
mod tests {
    use super::*;

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
