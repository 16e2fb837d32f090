//! A `--search` pattern, compiled twice: as written, for the decoded conversation text,
//! and as a superset of itself over JSON-escaped bytes, for finding candidate lines in
//! the raw transcript without decoding it.
//!
//! JSON escapes text: a `"` in a message is `\"` on disk, a newline `\n`, and any
//! character may be written `\uXXXX` (writers other than Claude Code's escape every
//! non-ASCII character so). The raw pattern accepts, for each character the decoded
//! pattern accepts, every way JSON can spell it, and drops anchors and word boundaries
//! (an escape next to a match changes what is on either side). So a line whose decoded
//! text matches always matches raw; a raw hit is then confirmed on the decoded text.
//! Printable ASCII other than `"`, `\` and `/` is taken to be written as itself, as every
//! JSON writer in practice does (`\u0041` for `A` is legal JSON but never written).

use regex_syntax::ast::{self, Ast};
use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind};

/// Above this many characters that JSON may escape, a class's escaped forms are matched
/// by any escape instead of being listed one by one.
const LISTED_ESCAPES: u32 = 8;

/// A compiled `--search` pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The pattern as the user meant it, for decoded text.
    text: regex::Regex,
    /// A superset of `text` over the JSON-escaped bytes of a line; never matches `\n`.
    raw: regex::bytes::Regex,
    /// Raw bytes around a raw match that hold every text match it can stand for, when
    /// matches have a bounded length and no anchor or word boundary looks past them.
    window: Option<usize>,
}

impl Pattern {
    /// Compiles `pattern`, a Rust `regex` (or, with `fixed`, a literal string), with
    /// ripgrep's smart case: case-insensitive unless the pattern has an uppercase letter
    /// of its own (`\W` or `\S` do not count).
    ///
    /// Errors: the regex crate's message for an invalid pattern, or one too large to
    /// compile.
    pub fn new(pattern: &str, fixed: bool) -> Result<Pattern, String> {
        let source = if fixed {
            regex::escape(pattern)
        } else {
            pattern.to_owned()
        };
        let caseless = !has_uppercase_literal(&source);
        let text = regex::RegexBuilder::new(&source)
            .case_insensitive(caseless)
            .build()
            .map_err(|e| e.to_string())?;
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(caseless)
            .build()
            .parse(&source)
            .map_err(|e| e.to_string())?;
        let raw = regex::bytes::RegexBuilder::new(&json_superset(&hir).to_string())
            .build()
            .map_err(|e| e.to_string())?;
        // A decoded byte is at most 6 raw ones (`\u00e9`), so a match of at most `n`
        // bytes lies within 6n raw bytes of any raw match overlapping it.
        let props = hir.properties();
        let window = props
            .maximum_len()
            .filter(|&n| n <= 4096 && props.look_set().is_empty())
            .map(|n| 6 * n + 8);
        Ok(Pattern { text, raw, window })
    }

    /// The pattern over decoded text.
    pub fn text(&self) -> &regex::Regex {
        &self.text
    }

    /// The pattern over raw JSON bytes: matches wherever an escaped form of a text match
    /// could be (and elsewhere); never matches a line break.
    pub fn raw(&self) -> &regex::bytes::Regex {
        &self.raw
    }

    /// How many raw bytes on either side of a raw match to unescape to be sure of seeing
    /// any text match that overlaps it; `None` when only the whole string will do
    /// (unbounded matches such as `a.*b`, or anchors and word boundaries).
    pub fn window(&self) -> Option<usize> {
        self.window
    }
}

/// True when the pattern holds an uppercase letter as a literal or in a class range
/// (ripgrep's smart-case rule). A pattern that does not parse counts as having none;
/// compiling it reports the error.
fn has_uppercase_literal(pattern: &str) -> bool {
    struct Upper(bool);
    impl ast::Visitor for Upper {
        type Output = bool;
        type Err = ();
        fn finish(self) -> Result<bool, ()> {
            Ok(self.0)
        }
        fn visit_pre(&mut self, ast: &Ast) -> Result<(), ()> {
            if let Ast::Literal(lit) = ast {
                self.0 |= lit.c.is_uppercase();
            }
            Ok(())
        }
        fn visit_class_set_item_pre(&mut self, item: &ast::ClassSetItem) -> Result<(), ()> {
            match item {
                ast::ClassSetItem::Literal(lit) => self.0 |= lit.c.is_uppercase(),
                ast::ClassSetItem::Range(r) => {
                    self.0 |= r.start.c.is_uppercase() || r.end.c.is_uppercase();
                }
                _ => {}
            }
            Ok(())
        }
    }
    ast::parse::Parser::new()
        .parse(pattern)
        .ok()
        .and_then(|a| ast::visit(&a, Upper(false)).ok())
        .unwrap_or(false)
}

/// `hir` rewritten to match, on raw JSON bytes, every escaped spelling of what it
/// matches on text; anchors and word boundaries become empty (always true).
fn json_superset(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Hir::empty(),
        HirKind::Literal(lit) => literal_superset(&String::from_utf8_lossy(&lit.0)),
        HirKind::Class(Class::Unicode(c)) => class_superset(c),
        HirKind::Class(Class::Bytes(b)) => match b.to_unicode_class() {
            Some(c) => class_superset(&c),
            None => any_escape_or(ClassUnicode::new([ClassUnicodeRange::new('\0', char::MAX)])),
        },
        HirKind::Repetition(r) => {
            let mut r = r.clone();
            r.sub = Box::new(json_superset(&r.sub));
            Hir::repetition(r)
        }
        HirKind::Capture(c) => json_superset(&c.sub),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(json_superset).collect()),
        HirKind::Alternation(subs) => Hir::alternation(subs.iter().map(json_superset).collect()),
    }
}

/// True for characters every JSON writer leaves as they are.
fn plain(c: char) -> bool {
    matches!(c, ' '..='~') && !matches!(c, '"' | '\\' | '/')
}

/// True for characters JSON allows unescaped inside a string.
fn allowed_raw(c: char) -> bool {
    c >= ' ' && c != '"' && c != '\\'
}

/// A literal string: runs of plain characters stay as they are, every other character
/// becomes the alternation of its spellings.
fn literal_superset(s: &str) -> Hir {
    let mut parts = Vec::new();
    let mut run = String::new();
    for c in s.chars() {
        if plain(c) {
            run.push(c);
        } else {
            if !run.is_empty() {
                parts.push(Hir::literal(std::mem::take(&mut run).into_bytes()));
            }
            parts.push(char_spellings(c));
        }
    }
    if !run.is_empty() {
        parts.push(Hir::literal(run.into_bytes()));
    }
    Hir::concat(parts)
}

/// Every way JSON can spell `c` (other than as a `\u` escape of plain ASCII): itself
/// when allowed raw, its short escape (`\n`, `\"`, ...) and its `\u` escape (a surrogate
/// pair beyond the BMP), hex digits in either case.
fn char_spellings(c: char) -> Hir {
    let mut alts = Vec::new();
    if allowed_raw(c) {
        alts.push(Hir::literal(c.to_string().into_bytes()));
    }
    let short = match c {
        '"' => Some(b'"'),
        '\\' => Some(b'\\'),
        '/' => Some(b'/'),
        '\u{8}' => Some(b'b'),
        '\u{c}' => Some(b'f'),
        '\n' => Some(b'n'),
        '\r' => Some(b'r'),
        '\t' => Some(b't'),
        _ => None,
    };
    if let Some(e) = short {
        alts.push(Hir::literal(vec![b'\\', e]));
    }
    let mut units = [0u16; 2];
    let mut escape = Vec::new();
    for &u in c.encode_utf16(&mut units).iter() {
        escape.push(Hir::literal(b"\\u".to_vec()));
        for digit in format!("{u:04x}").chars() {
            escape.push(if digit.is_ascii_alphabetic() {
                Hir::class(Class::Unicode(ClassUnicode::new([
                    ClassUnicodeRange::new(digit, digit),
                    ClassUnicodeRange::new(digit.to_ascii_uppercase(), digit.to_ascii_uppercase()),
                ])))
            } else {
                Hir::literal(vec![digit as u8])
            });
        }
    }
    alts.push(Hir::concat(escape));
    Hir::alternation(alts)
}

/// A class: the members allowed raw stay a class; members JSON may escape (controls,
/// `"`, `\`, `/`, non-ASCII) add their escaped spellings, listed when few, else any
/// escape.
fn class_superset(c: &ClassUnicode) -> Hir {
    let mut escapable = c.clone();
    escapable.intersect(&ClassUnicode::new([
        ClassUnicodeRange::new('\0', '\u{1f}'),
        ClassUnicodeRange::new('"', '"'),
        ClassUnicodeRange::new('/', '/'),
        ClassUnicodeRange::new('\\', '\\'),
        ClassUnicodeRange::new('\u{7f}', char::MAX),
    ]));
    let count: u32 = escapable
        .ranges()
        .iter()
        .map(|r| r.end() as u32 - r.start() as u32 + 1)
        .sum();
    if count > LISTED_ESCAPES {
        return any_escape_or(c.clone());
    }
    let mut alts = vec![raw_members(c)];
    for r in escapable.ranges() {
        for c in r.start()..=r.end() {
            alts.push(char_spellings(c));
        }
    }
    Hir::alternation(alts)
}

/// The members of `c` that JSON allows unescaped, as a class.
fn raw_members(c: &ClassUnicode) -> Hir {
    let mut raw = c.clone();
    raw.intersect(&ClassUnicode::new([
        ClassUnicodeRange::new(' ', '!'),
        ClassUnicodeRange::new('#', '['),
        ClassUnicodeRange::new(']', char::MAX),
    ]));
    Hir::class(Class::Unicode(raw))
}

/// The raw members of `c`, or any JSON escape (one `\u` escape or a surrogate pair).
fn any_escape_or(c: ClassUnicode) -> Hir {
    let escape = regex_syntax::parse(r#"\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}(?:\\u[0-9a-fA-F]{4})?)"#)
        .unwrap_or_else(|_| Hir::empty());
    Hir::alternation(vec![raw_members(&c), escape])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON-encodes `s` as `serde_json` does, and with every non-ASCII character as a
    /// `\u` escape (as Python's `json.dumps` does).
    fn encodings(s: &str) -> Vec<String> {
        let plain = serde_json::to_string(s).unwrap();
        let mut ascii = String::new();
        for c in plain.chars() {
            if c.is_ascii() {
                ascii.push(c);
            } else {
                let mut u = [0u16; 2];
                for unit in c.encode_utf16(&mut u) {
                    ascii.push_str(&format!("\\u{unit:04X}"));
                }
            }
        }
        vec![plain, ascii]
    }

    fn finds(pattern: &str, fixed: bool, text: &str) -> bool {
        let p = Pattern::new(pattern, fixed).unwrap();
        let hit = p.text.is_match(text);
        for e in encodings(text) {
            // The raw pattern is a superset: every text hit is a raw hit.
            assert!(
                !hit || p.raw.is_match(e.as_bytes()),
                "{pattern:?} hits {text:?} but not its encoding {e}"
            );
        }
        hit
    }

    #[test]
    fn escaped_text_is_found_raw() {
        assert!(finds("say \"hi\"", true, "they say \"hi\" there"));
        assert!(finds("one\ntwo", false, "one\ntwo"));
        assert!(finds(r"one\stwo", false, "one\ttwo"));
        assert!(finds("café", false, "le café noir"));
        assert!(finds("CAFÉ", false, "le CAFÉ noir"));
        assert!(finds("café", false, "le CAFÉ noir"));
        assert!(finds("😀 x", false, "a 😀 x"));
        assert!(finds(r"\bkey\b", false, "a\nkey\n"));
        assert!(finds(r"^key$", false, "key"));
        assert!(finds(r"C:\\dir", false, r"at C:\dir now"));
        assert!(finds("a/b", true, "x a/b y"));
        assert!(finds(r"[^a]+z", false, "\"\n\u{1}é😀z"));
        assert!(finds(r"\w+ing", false, "naïve migrating"));
        assert!(finds(r"x.y", false, "x\"y"));
        assert!(!finds("SEANCE-1234", false, "seance-1234"));
    }

    #[test]
    fn raw_pattern_never_matches_a_line_break() {
        for p in [
            "[^a]",
            r"\s",
            ".",
            r"(?s).",
            r"\W",
            "\n",
            r"[\x00-\x{10FFFF}]",
        ] {
            let pat = Pattern::new(p, false).unwrap();
            assert!(!pat.raw.is_match(b"\n"), "{p}");
        }
    }

    #[test]
    fn smart_case() {
        assert!(
            Pattern::new("seance", false)
                .unwrap()
                .text
                .is_match("SEANCE")
        );
        assert!(
            !Pattern::new("Seance", false)
                .unwrap()
                .text
                .is_match("SEANCE")
        );
        // Class escapes with capitals are not uppercase letters.
        assert!(
            Pattern::new(r"\Wmigr", false)
                .unwrap()
                .text
                .is_match(" MIGR")
        );
        assert!(!Pattern::new("[A-Z]x", false).unwrap().text.is_match("ax"));
        assert!(Pattern::new("a.b", true).unwrap().text.is_match("A.B"));
        assert!(!Pattern::new("a.b", true).unwrap().text.is_match("axb"));
        assert!(Pattern::new("(", false).is_err());
        assert!(Pattern::new("(", true).is_ok());
    }
}
