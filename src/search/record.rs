//! Where the conversation is in one transcript line: a single pass over the JSON that
//! notes the byte spans of the strings holding what was said (user and assistant text,
//! tool inputs and results) and the titles, and skips everything else without decoding
//! it. Only a span the raw pattern touched is then decoded.
//!
//! Shapes are Claude Code's (checked on 2.1.197 and 2.1.332, see
//! `fixtures/real/README.md`): a `user` or `assistant` record's `message.content` is a
//! string or an array of blocks (`text`, `thinking`, `tool_use` with an `input` object,
//! `tool_result` with a string or block-array `content`, `image`); titles are
//! `custom-title` (`customTitle`), `ai-title` (`aiTitle`) and `summary` (`summary`)
//! records. Everything else (`attachment` records such as skill listings and prompt
//! snapshots, `api-request*`, `queue-operation`, `last-prompt`, `system`, user records
//! with `isMeta`, and fields such as `cwd`, `gitBranch`, ids, `toolUseResult`) is not
//! conversation and is never matched. Keys are compared as written (Claude Code never
//! escapes them); a line that is not one well-formed JSON object gives nothing.

use std::borrow::Cow;
use std::ops::Range;

/// Who said a piece of text, for snippets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Text the user sent (a prompt, or a compaction summary Claude Code sent as the user).
    User,
    /// The assistant's text or thinking.
    Assistant,
    /// The input of a tool the assistant called (each string value of it).
    ToolUse,
    /// What a tool returned.
    ToolResult,
    /// A title: custom (records or sidecar), AI, summary record, or an index summary.
    Title,
}

impl Role {
    /// The role's name, as in `--json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::ToolUse => "tool_use",
            Role::ToolResult => "tool_result",
            Role::Title => "title",
        }
    }
}

/// A string of a line that holds conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Who said it.
    pub role: Role,
    /// The JSON string literal, quotes included, as bytes of the line.
    pub span: Range<usize>,
}

/// The conversation of one line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outline {
    /// The strings holding conversation, in line order (none for other records).
    pub pieces: Vec<Piece>,
    /// The record's `timestamp` string literal, when it has one.
    pub timestamp: Option<Range<usize>>,
}

/// Where a string sat, before the record's and its block's `type` are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// `message.content` as a string.
    Content,
    /// `text` of content block n.
    Text(usize),
    /// `thinking` of content block n.
    Thinking(usize),
    /// A string value inside `input` of content block n.
    Input(usize),
    /// `content` (a string, or the `text` of its blocks) of content block n.
    Result(usize),
    /// `customTitle`, `aiTitle` or `summary`, with its key.
    Title(&'static str),
}

/// What the pass over a line noted.
#[derive(Default)]
struct Notes {
    ty: Option<Range<usize>>,
    meta: bool,
    timestamp: Option<Range<usize>>,
    strings: Vec<(Slot, Range<usize>)>,
    block_types: Vec<(usize, Range<usize>)>,
}

/// The conversation strings of `line`, one JSON object; `None` when it is not one.
pub fn outline(line: &[u8]) -> Option<Outline> {
    let mut c = Cur { b: line, i: 0 };
    let mut n = Notes::default();
    c.object(|c, key| top_member(c, key, &mut n))?;
    c.ws();
    if c.i != line.len() {
        return None;
    }
    let text = |r: &Range<usize>| &line[r.start + 1..r.end - 1];
    let ty = n.ty.as_ref().map(text);
    let block = |b: usize| {
        n.block_types
            .iter()
            .find(|(i, _)| *i == b)
            .map(|(_, r)| text(r))
    };
    let own = match ty {
        Some(b"user") => Role::User,
        Some(b"assistant") => Role::Assistant,
        Some(b"custom-title" | b"ai-title" | b"summary") => Role::Title,
        _ => return Some(Outline::default()),
    };
    if own != Role::Title && n.meta {
        return Some(Outline::default());
    }
    let pieces = n
        .strings
        .into_iter()
        .filter_map(|(slot, span)| {
            let role = match (own, slot) {
                (Role::Title, Slot::Title(k)) => match (ty, k) {
                    (Some(b"custom-title"), "customTitle")
                    | (Some(b"ai-title"), "aiTitle")
                    | (Some(b"summary"), "summary") => Role::Title,
                    _ => return None,
                },
                (Role::Title, _) | (_, Slot::Title(_)) => return None,
                (_, Slot::Content) => own,
                (_, Slot::Text(b)) if block(b) == Some(b"text") => own,
                (_, Slot::Thinking(b)) if block(b) == Some(b"thinking") => own,
                (_, Slot::Input(b))
                    if matches!(block(b), Some(b"tool_use" | b"server_tool_use")) =>
                {
                    Role::ToolUse
                }
                (_, Slot::Result(b)) if block(b) == Some(b"tool_result") => Role::ToolResult,
                _ => return None,
            };
            Some(Piece { role, span })
        })
        .collect();
    Some(Outline {
        pieces,
        timestamp: n.timestamp,
    })
}

/// The text of a JSON string literal (quotes included), unescaped into `scratch` when it
/// holds escapes (borrowed from the line when not). Invalid UTF-8 and lone surrogates
/// become U+FFFD; `None` for a malformed escape.
pub fn decode_str<'a>(literal: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<Cow<'a, str>> {
    let inner = literal.get(1..literal.len().checked_sub(1)?)?;
    unescape(inner, scratch)
}

/// The text of the inside of a JSON string literal (between the quotes), as
/// [`decode_str`].
pub fn unescape<'a>(inner: &'a [u8], scratch: &'a mut Vec<u8>) -> Option<Cow<'a, str>> {
    if memchr::memchr(b'\\', inner).is_none() {
        return Some(utf8(inner));
    }
    scratch.clear();
    let mut rest = inner;
    while let Some(k) = memchr::memchr(b'\\', rest) {
        scratch.extend_from_slice(&rest[..k]);
        rest = &rest[k + 1..];
        let (&e, after) = rest.split_first()?;
        rest = after;
        let c = match e {
            b'"' | b'\\' | b'/' => e as char,
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(&mut rest)?;
                let lo = if (0xD800..0xDC00).contains(&hi) && rest.starts_with(b"\\u") {
                    let mut peek = &rest[2..];
                    match hex4(&mut peek) {
                        Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                            rest = peek;
                            Some(lo)
                        }
                        _ => None,
                    }
                } else {
                    None
                };
                let code = match lo {
                    Some(lo) => 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00),
                    None => hi,
                };
                char::from_u32(code).unwrap_or('\u{fffd}')
            }
            _ => return None,
        };
        scratch.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    }
    scratch.extend_from_slice(rest);
    let done: &'a Vec<u8> = scratch;
    Some(utf8(done))
}

/// `b` as text, invalid UTF-8 replaced (checked the fast way first: it nearly always is).
fn utf8(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// `lo..hi` widened (within `s`, the inside of a JSON string literal) so that neither end
/// cuts an escape sequence or a UTF-8 character: the window can be unescaped alone.
pub fn align(s: &[u8], lo: usize, hi: usize) -> Range<usize> {
    let mut lo = lo.min(s.len());
    let mut hi = hi.min(s.len()).max(lo);
    while lo > 0 && lo < s.len() && s[lo] & 0xC0 == 0x80 {
        lo -= 1;
    }
    if let Some(esc) = escape_over(s, lo) {
        lo = esc.start;
    }
    if let Some(esc) = escape_over(s, hi) {
        hi = esc.end.min(s.len());
    }
    while hi < s.len() && s[hi] & 0xC0 == 0x80 {
        hi += 1;
    }
    // Nor a surrogate pair (`\ud83d\ude00`) in two.
    if lo >= 6 && surrogate(s, lo, 0xDC00) && surrogate(s, lo - 6, 0xD800) {
        lo -= 6;
    }
    if hi >= 6 && surrogate(s, hi - 6, 0xD800) && surrogate(s, hi, 0xDC00) {
        hi += 6;
    }
    lo..hi
}

/// True when an escape `\uXXXX` with XXXX in `base..base + 0x400` starts at `i`.
fn surrogate(s: &[u8], i: usize, base: u32) -> bool {
    let starts = s.get(i) == Some(&b'\\')
        && s[..=i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
        && s.get(i + 1) == Some(&b'u');
    let mut hex = s.get(i + 2..).unwrap_or_default();
    starts && hex4(&mut hex).is_some_and(|v| (base..base + 0x400).contains(&v))
}

/// The escape sequence that starts before `i` and ends after it, if one does. An escape
/// is at most 6 bytes (`\uXXXX`); a backslash starts one when the run of backslashes
/// ending at it is odd (`\\` is one escape).
fn escape_over(s: &[u8], i: usize) -> Option<Range<usize>> {
    for j in (i.saturating_sub(5)..i.min(s.len())).rev() {
        if s[j] != b'\\' {
            continue;
        }
        let run = s[..=j].iter().rev().take_while(|&&b| b == b'\\').count();
        if run % 2 == 0 {
            continue;
        }
        let len = if s.get(j + 1) == Some(&b'u') { 6 } else { 2 };
        // Escapes do not overlap: one starting at `j` rules out any earlier one.
        return (j + len > i).then_some(j..j + len);
    }
    None
}

/// Four hex digits at the start of `s`, consumed.
fn hex4(s: &mut &[u8]) -> Option<u32> {
    let digits = s.get(..4)?;
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let v = u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()?;
    *s = &s[4..];
    Some(v)
}

/// A member of the record object.
fn top_member(c: &mut Cur, key: &[u8], n: &mut Notes) -> Option<()> {
    let title = match key {
        b"customTitle" => Some("customTitle"),
        b"aiTitle" => Some("aiTitle"),
        b"summary" => Some("summary"),
        _ => None,
    };
    match (key, c.peek()?) {
        (b"type", b'"') => n.ty = Some(c.string()?),
        (b"timestamp", b'"') => n.timestamp = Some(c.string()?),
        (b"isMeta", b't') => {
            n.meta = true;
            c.skip()?;
        }
        (b"message", b'{') => c.object(|c, k| message_member(c, k, n))?,
        (_, b'"') if title.is_some() => {
            let span = c.string()?;
            n.strings.push((Slot::Title(title?), span));
        }
        _ => c.skip()?,
    }
    Some(())
}

/// A member of `message`.
fn message_member(c: &mut Cur, key: &[u8], n: &mut Notes) -> Option<()> {
    match (key, c.peek()?) {
        (b"content", b'"') => {
            let span = c.string()?;
            n.strings.push((Slot::Content, span));
        }
        (b"content", b'[') => c.array(|c, i| {
            if c.peek()? == b'{' {
                c.object(|c, k| block_member(c, k, i, n))
            } else {
                c.skip()
            }
        })?,
        _ => c.skip()?,
    }
    Some(())
}

/// A member of content block `i`.
fn block_member(c: &mut Cur, key: &[u8], i: usize, n: &mut Notes) -> Option<()> {
    match (key, c.peek()?) {
        (b"type", b'"') => {
            let span = c.string()?;
            n.block_types.push((i, span));
        }
        (b"text", b'"') => {
            let span = c.string()?;
            n.strings.push((Slot::Text(i), span));
        }
        (b"thinking", b'"') => {
            let span = c.string()?;
            n.strings.push((Slot::Thinking(i), span));
        }
        (b"input", _) => {
            let mut spans = Vec::new();
            c.value_strings(&mut spans)?;
            n.strings
                .extend(spans.into_iter().map(|s| (Slot::Input(i), s)));
        }
        (b"content", b'"') => {
            let span = c.string()?;
            n.strings.push((Slot::Result(i), span));
        }
        (b"content", b'[') => c.array(|c, _| {
            if c.peek()? == b'{' {
                c.object(|c, k| {
                    if k == b"text" && c.peek()? == b'"' {
                        let span = c.string()?;
                        n.strings.push((Slot::Result(i), span));
                        Some(())
                    } else {
                        c.skip()
                    }
                })
            } else {
                c.skip()
            }
        })?,
        _ => c.skip()?,
    }
    Some(())
}

/// A cursor over the bytes of one line. Every method returns `None` on malformed JSON
/// and never reads out of bounds.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    /// Skips whitespace.
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// Consumes `want` (after whitespace).
    fn eat(&mut self, want: u8) -> Option<()> {
        (self.peek()? == want).then(|| self.i += 1)
    }

    /// A string literal at the cursor: its span, quotes included. Jumps from quote to
    /// quote: one preceded by an odd run of backslashes is escaped (tool output is full
    /// of `\n`, so stopping at every backslash would be slower).
    fn string(&mut self) -> Option<Range<usize>> {
        let start = self.i;
        self.eat(b'"')?;
        loop {
            let q = self.i + memchr::memchr(b'"', self.b.get(self.i..)?)?;
            let run = self.b[start + 1..q]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count();
            self.i = q + 1;
            if run % 2 == 0 {
                return Some(start..self.i);
            }
        }
    }

    /// A number, `true`, `false` or `null`: up to the next delimiter.
    fn scalar(&mut self) -> Option<()> {
        let start = self.i;
        while let Some(&b) = self.b.get(self.i) {
            if matches!(b, b',' | b'}' | b']' | b':' | b' ' | b'\t' | b'\r' | b'\n') {
                break;
            }
            self.i += 1;
        }
        (self.i > start).then_some(())
    }

    /// An object, `member` called with the cursor on each value and the raw key.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            self.ws();
            let b = self.b;
            member(self, &b[key.start + 1..key.end - 1])?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
            self.ws();
        }
    }

    /// An array, `elem` called with the cursor on each element and its index.
    fn array(&mut self, mut elem: impl FnMut(&mut Self, usize) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.i += 1;
            return Some(());
        }
        for n in 0.. {
            self.ws();
            elem(self, n)?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
        None
    }

    /// Skips one value of any depth (iteratively: hostile nesting cannot overflow).
    fn skip(&mut self) -> Option<()> {
        self.value_strings_into(None)
    }

    /// One value of any depth, noting the span of every string in it that is a value
    /// (not a key).
    fn value_strings(&mut self, out: &mut Vec<Range<usize>>) -> Option<()> {
        self.value_strings_into(Some(out))
    }

    fn value_strings_into(&mut self, mut out: Option<&mut Vec<Range<usize>>>) -> Option<()> {
        // Open containers (true: object); in an object, whether a key comes next.
        let mut stack: Vec<bool> = Vec::new();
        let mut expect_key = false;
        loop {
            match self.peek()? {
                b'{' | b'[' => {
                    let obj = self.b[self.i] == b'{';
                    stack.push(obj);
                    expect_key = obj;
                    self.i += 1;
                    continue;
                }
                b'}' | b']' => {
                    let obj = stack.pop()?;
                    if obj != (self.b[self.i] == b'}') {
                        return None;
                    }
                    self.i += 1;
                }
                b',' if !stack.is_empty() => {
                    self.i += 1;
                    expect_key = *stack.last()?;
                    continue;
                }
                b':' if expect_key => {
                    self.i += 1;
                    expect_key = false;
                    continue;
                }
                b'"' => {
                    let s = self.string()?;
                    if !expect_key && let Some(out) = out.as_deref_mut() {
                        out.push(s);
                    }
                    if expect_key {
                        continue;
                    }
                }
                _ => self.scalar()?,
            }
            if stack.is_empty() {
                return Some(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<(Role, String)> {
        outline(line.as_bytes())
            .unwrap()
            .pieces
            .into_iter()
            .map(|p| {
                let t = decode_str(&line.as_bytes()[p.span], &mut Vec::new())
                    .unwrap()
                    .into_owned();
                (p.role, t)
            })
            .collect()
    }

    #[test]
    fn conversation_is_found_metadata_is_not() {
        let l = r#"{"type":"user","cwd":"/x/needle","message":{"role":"user","content":"say \"hi\"\n"},"timestamp":"T"}"#;
        assert_eq!(texts(l), [(Role::User, "say \"hi\"\n".to_owned())]);
        let ts = outline(l.as_bytes()).unwrap().timestamp.unwrap();
        assert_eq!(&l[ts], "\"T\"");
        let l = r#"{"message":{"content":[{"type":"text","text":"a"},{"signature":"needle","thinking":"b","type":"thinking"},{"type":"tool_use","id":"needle","name":"Bash","input":{"command":"ls","n":{"deep":["c",{"k":"d"}],"x":[1,true,null]}}}]},"type":"assistant"}"#;
        assert_eq!(
            texts(l),
            [
                (Role::Assistant, "a".into()),
                (Role::Assistant, "b".into()),
                (Role::ToolUse, "ls".into()),
                (Role::ToolUse, "c".into()),
                (Role::ToolUse, "d".into()),
            ]
        );
        let l = r#"{"type":"user","message":{"content":[{"tool_use_id":"needle","type":"tool_result","content":[{"type":"text","text":"out"},{"type":"image","source":{"data":"needle"}}]},{"type":"tool_result","content":"two"}]},"toolUseResult":{"stdout":"needle"}}"#;
        assert_eq!(
            texts(l),
            [
                (Role::ToolResult, "out".into()),
                (Role::ToolResult, "two".into())
            ]
        );
        for l in [
            r#"{"type":"attachment","attachment":{"type":"skill_listing","content":"needle"}}"#,
            r#"{"type":"api-request-blob","message":{"role":"user","content":"needle"}}"#,
            r#"{"type":"user","isMeta":true,"message":{"content":"needle"}}"#,
            r#"{"type":"last-prompt","lastPrompt":"needle"}"#,
            r#"{"type":"queue-operation","content":"needle"}"#,
            r#"{"type":5,"message":{"content":"needle"}}"#,
            r#"{"type":"user","message":{"content":[{"type":"image","text":"needle"}]}}"#,
            r#"{"type":"ai-title","customTitle":"needle"}"#,
            r#"{"type":"user","summary":"needle"}"#,
        ] {
            assert!(texts(l).is_empty(), "{l}");
        }
        assert_eq!(
            texts(r#"{"type":"custom-title","customTitle":"t","summary":7}"#),
            [(Role::Title, "t".into())]
        );
        assert_eq!(
            texts(r#" { "type" : "summary" , "summary" : "s" , "leafUuid" : "x" } "#),
            [(Role::Title, "s".into())]
        );
        assert_eq!(
            texts(r#"{"type":"user","isMeta":false,"message":{"content":"m"}}"#),
            [(Role::User, "m".into())]
        );
    }

    #[test]
    fn malformed_lines_give_nothing_and_never_panic() {
        for l in [
            "",
            "{",
            "[]",
            "\"x\"",
            "{\"type\":\"user\",\"message\":{\"content\":\"tru",
            "{\"type\":\"user\",\"message\":{\"content\":\"x\"}",
            "{\"type\":\"user\"} trailing",
            "{\"a\":[1,2}",
            "{\"a\":{\"b\":]}}",
            "{\"a\" 1}",
            "{\"a\":\"\\",
            "{\"a\":\"\\\"}",
            "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"tool_use\",\"input\":{\"a\":",
        ] {
            assert!(outline(l.as_bytes()).is_none(), "{l:?}");
        }
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(outline(deep.as_bytes()).is_some());
        let mut v = Vec::new();
        assert_eq!(
            decode_str(b"\"bad \xff utf8\"", &mut v).as_deref(),
            Some("bad \u{fffd} utf8")
        );
        assert!(decode_str(b"\"\\x\"", &mut v).is_none());
        assert!(decode_str(b"\"\\u12\"", &mut v).is_none());
        assert!(decode_str(b"\"\\u+123\"", &mut v).is_none());
        assert!(decode_str(b"\"", &mut v).is_none());
        assert!(decode_str(b"\"\\\"", &mut v).is_none());
    }

    #[test]
    fn aligned_windows_unescape_to_substrings() {
        let text = "é\"q\\ \n😀 x\u{1}\u{2028} \\\\n end";
        let mut ascii = String::new();
        for c in serde_json::to_string(text).unwrap().chars() {
            if c.is_ascii() {
                ascii.push(c);
            } else {
                let mut u = [0u16; 2];
                for unit in c.encode_utf16(&mut u) {
                    ascii.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        for lit in [serde_json::to_string(text).unwrap(), ascii] {
            let inner = &lit.as_bytes()[1..lit.len() - 1];
            for lo in 0..=inner.len() {
                for hi in lo..=inner.len() {
                    let w = align(inner, lo, hi);
                    assert!(w.start <= lo && w.end >= hi, "{lit} {lo}..{hi} -> {w:?}");
                    let mut v = Vec::new();
                    let part = unescape(&inner[w.clone()], &mut v)
                        .unwrap_or_else(|| panic!("{lit} {lo}..{hi} -> {w:?}"));
                    assert!(text.contains(part.as_ref()), "{lit} {w:?}: {part:?}");
                }
            }
        }
    }

    #[test]
    fn decoding_agrees_with_serde() {
        let mut v = Vec::new();
        for s in [
            "plain",
            "q\"uote\\ back/slash \n\t\r\u{8}\u{c}\u{1} é 😀 \u{2028}",
            "",
            "\\",
        ] {
            let lit = serde_json::to_string(s).unwrap();
            assert_eq!(decode_str(lit.as_bytes(), &mut v).unwrap(), s);
        }
        for (lit, want) in [
            (r#""\u00e9\u00C9\/""#, "éÉ/"),
            (r#""\ud83d\ude00 x""#, "😀 x"),
            (r#""\ud83d x""#, "\u{fffd} x"),
            (r#""\ude00\ud83d""#, "\u{fffd}\u{fffd}"),
        ] {
            assert_eq!(decode_str(lit.as_bytes(), &mut v).unwrap(), want, "{lit}");
        }
    }
}
