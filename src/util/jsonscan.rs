//! The top-level members of a JSON object line, found without parsing their values.
//!
//! A transcript line of Claude Code 2.1.332 can hold tens of KB of nested content (an
//! `attachment` with a prompt snapshot, a `message` with tool output) before the few
//! short fields a fork analysis needs (`type`, `uuid`, `timestamp`). A full parser reads
//! and checks every byte of that content; this scan only follows its structure: it jumps
//! from quote to quote and bracket to bracket with `memchr`, so a value is skipped at
//! memory speed and only the members asked for are parsed (with `serde_json`).
//!
//! The scan checks the object's structure (braces, brackets, quotes, colons and commas
//! at the top level, nothing but whitespace after the closing brace) but not what lies
//! inside a nested value or a scalar: a line `serde_json` would refuse for a bad escape,
//! a bad number or a control character inside a nested string can still be scanned.
//! Keys are compared as written, escapes undecoded.

use memchr::{memchr2, memchr3};

/// Calls `each(key, value)` for every top-level member of the JSON object `line`, in
/// order: `key` is the key's bytes between its quotes (escapes not decoded), `value`
/// the value's bytes as written (a string with its quotes). `each` returns false to
/// stop early.
///
/// Returns `None` when `line` is not shaped like one JSON object (what was passed to
/// `each` before the fault stands), `Some(())` otherwise, also when stopped early.
pub fn members<'a>(line: &'a [u8], mut each: impl FnMut(&'a [u8], &'a [u8]) -> bool) -> Option<()> {
    let mut i = skip_ws(line, 0);
    if line.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(line, i + 1);
    if line.get(i) == Some(&b'}') {
        return end(line, i + 1);
    }
    loop {
        let (key, value, next) = member_at(line, i)?;
        if !each(key, value) {
            return Some(());
        }
        match line.get(next) {
            Some(b',') => i = skip_ws(line, next + 1),
            Some(b'}') => return end(line, next + 1),
            _ => return None,
        }
    }
}

/// [`members`] for the members from byte `at` of `line` on, where `at` holds the comma
/// before a member: calls `each` for each and returns `Some(())` only when they run to
/// the object's closing brace and the line's end. The bytes before `at` are not looked
/// at, so this is for a line known (or taken) to be one object.
///
/// Found with a reverse search for `,"key":`, such a comma is never inside a string (a
/// string's quote would be escaped), so when this returns `Some` the members are the
/// object's own, not a nested object's: the closing brace of a nested object would
/// leave its parent's closing bytes before the line's end. This lets a reader find the
/// few short members Claude Code writes after a record's large content without
/// stepping through that content.
pub fn last_members<'a>(
    line: &'a [u8],
    at: usize,
    mut each: impl FnMut(&'a [u8], &'a [u8]) -> bool,
) -> Option<()> {
    let mut i = at;
    loop {
        match line.get(i) {
            Some(b',') => {}
            Some(b'}') => return end(line, i + 1),
            _ => return None,
        }
        let (key, value, next) = member_at(line, skip_ws(line, i + 1))?;
        if !each(key, value) {
            return Some(());
        }
        i = next;
    }
}

/// The member of `line` whose key's opening quote is at byte `i`: its key (without the
/// quotes), its value's bytes as written, and the index of the first byte after the
/// value and the whitespace following it. `None` when no well-formed `"key": value`
/// starts there.
#[inline]
fn member_at(line: &[u8], i: usize) -> Option<(&[u8], &[u8], usize)> {
    if line.get(i) != Some(&b'"') {
        return None;
    }
    let key_end = string_end(line, i)?;
    let key = &line[i + 1..key_end - 1];
    let colon = skip_ws(line, key_end);
    if line.get(colon) != Some(&b':') {
        return None;
    }
    let start = skip_ws(line, colon + 1);
    let value_end = value_end(line, start)?;
    Some((key, &line[start..value_end], skip_ws(line, value_end)))
}

/// The string value `raw` (as [`members`] gives it) decoded; `None` when `raw` is not a
/// JSON string. Borrowed when it holds no escape.
pub fn string(raw: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    let inner = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if memchr::memchr(b'\\', inner).is_none() {
        return std::str::from_utf8(inner).ok().map(Into::into);
    }
    serde_json::from_slice::<String>(raw).ok().map(Into::into)
}

/// `Some(())` when only whitespace follows byte `i`.
fn end(line: &[u8], i: usize) -> Option<()> {
    (skip_ws(line, i) == line.len()).then_some(())
}

fn skip_ws(line: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = line.get(i) {
        i += 1;
    }
    i
}

/// The index just past the string starting with the quote at `start`.
fn string_end(line: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        i += memchr2(b'"', b'\\', line.get(i..)?)?;
        if line[i] == b'"' {
            return Some(i + 1);
        }
        // A backslash escapes the next byte (`\uXXXX`'s digits need no care).
        i += 2;
    }
}

/// The index just past the value starting at `start`.
fn value_end(line: &[u8], start: usize) -> Option<usize> {
    match *line.get(start)? {
        b'"' => string_end(line, start),
        b'{' => nested_end(line, start, b'{', b'}'),
        b'[' => nested_end(line, start, b'[', b']'),
        _ => {
            let len = line[start..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(line.len() - start);
            let scalar = &line[start..start + len];
            let ok = matches!(scalar, b"true" | b"false" | b"null")
                || scalar
                    .first()
                    .is_some_and(|&b| b == b'-' || b.is_ascii_digit())
                    && scalar.iter().all(|&b| {
                        b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
                    });
            ok.then_some(start + len)
        }
    }
}

/// The index just past the object or array opening at `start` with `open`, skipping
/// strings: only its own kind of bracket needs counting in well-formed JSON.
fn nested_end(line: &[u8], start: usize, open: u8, close: u8) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    loop {
        i += memchr3(b'"', open, close, line.get(i..)?)?;
        match line[i] {
            b'"' => i = string_end(line, i)?,
            b if b == open => {
                depth += 1;
                i += 1;
            }
            _ => {
                depth -= 1;
                i += 1;
                if depth == 0 {
                    return Some(i);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    /// The members `run` hands its callback, as (key, value) text, or `None` when `run`
    /// refuses the line.
    fn collected<'a>(
        run: impl FnOnce(&mut dyn FnMut(&'a [u8], &'a [u8]) -> bool) -> Option<()>,
    ) -> Option<Vec<(String, String)>> {
        let mut out = Vec::new();
        run(&mut |k, v| {
            out.push((
                String::from_utf8(k.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            ));
            true
        })?;
        Some(out)
    }

    fn scan(line: &str) -> Option<Vec<(String, String)>> {
        collected(|each| members(line.as_bytes(), each))
    }

    #[test]
    fn members_as_written_and_nested_values_skipped() {
        let line = r#" {"a" : 1, "b":{"x":"}{\"","y":[1,{"z":"]"}]}, "c":"q\\\"", "d":[[],{}] , "e":null}  "#;
        let got = scan(line).unwrap();
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e"]);
        assert_eq!(got[1].1, r#"{"x":"}{\"","y":[1,{"z":"]"}]}"#);
        assert_eq!(got[2].1, r#""q\\\"""#);
        assert_eq!(string(got[2].1.as_bytes()).unwrap(), "q\\\"");
        assert_eq!(got[3].1, "[[],{}]");
        assert_eq!(scan("{}").unwrap(), []);
    }

    #[test]
    fn malformed_lines_are_refused() {
        for bad in [
            "",
            "[]",
            "{",
            r#"{"a":1"#,
            r#"{"a":"1}"#,
            r#"{"a":{"b":1}"#,
            r#"{"a" 1}"#,
            r#"{"a":1,}"#,
            r#"{"a":1} x"#,
            r#"{"a":}"#,
            r#"{a:1}"#,
            r#"{"a":tru}"#,
            r#"{"a":"x\"}"#,
            r#"{"a":1}{"b":2}"#,
        ] {
            assert_eq!(scan(bad), None, "{bad}");
        }
    }

    #[test]
    fn stopping_early_is_not_an_error() {
        let mut seen = 0;
        let r = members(br#"{"a":1,"b":2,"c":"#, |_, _| {
            seen += 1;
            false
        });
        assert_eq!((r, seen), (Some(()), 1));
    }

    #[test]
    fn strings_decode_or_refuse() {
        assert_eq!(string(br#""plain""#).unwrap(), "plain");
        assert_eq!(string(br#""a\u00e9\n""#).unwrap(), "a\u{e9}\n");
        assert_eq!(string(b"12"), None);
        assert_eq!(string(b"\"\xff\""), None);
    }

    fn last(line: &str, key: &str) -> Option<Vec<(String, String)>> {
        let at = memchr::memmem::rfind(line.as_bytes(), format!(",\"{key}\":").as_bytes())?;
        collected(|each| last_members(line.as_bytes(), at, each))
    }

    #[test]
    fn last_members_only_at_the_top_level() {
        let line = r#"{"m":{"type":"x","uuid":"in"},"type":"user","uuid":"u","t":[1]} "#;
        let got = last(line, "type").unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1], ("uuid".to_owned(), r#""u""#.to_owned()));
        // The last `,"uuid":` is the top-level one; a nested one is refused.
        assert_eq!(last(line, "uuid").unwrap()[0].1, r#""u""#);
        assert_eq!(last(r#"{"a":1,"m":{"b":2,"uuid":"in"}}"#, "uuid"), None);
        assert_eq!(last(r#"{"a":1,"m":[{"b":2,"uuid":"in"}]}"#, "uuid"), None);
        assert_eq!(last(r#"{"a":1,"uuid":"u","#, "uuid"), None);
        assert_eq!(last(r#"{"a":1,"uuid":"u"} x"#, "uuid"), None);
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            // Quotes, backslashes, brackets and control characters inside strings.
            "[\"\\\\{}\\[\\]:, a\u{e9}\n\t\u{1}]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-z\"\\\\]{0,4}", inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    proptest! {
        /// Every object serde_json writes (compact or pretty) scans to its own members:
        /// each key is the serialised key, each value parses back to the member's value.
        #[test]
        fn agrees_with_serde_json(
            members in prop::collection::vec(("[a-z\"\\\\]{0,6}", json()), 0..8),
            pretty in any::<bool>(),
        ) {
            let object: Map<String, Value> = members.into_iter().collect();
            let line = if pretty {
                serde_json::to_string_pretty(&object).unwrap()
            } else {
                serde_json::to_string(&object).unwrap()
            };
            let got = scan(&line).expect("a serialised object scans");
            prop_assert_eq!(got.len(), object.len());
            for ((k, v), (key, value)) in got.iter().zip(&object) {
                let written = serde_json::to_string(key).unwrap();
                prop_assert_eq!(k, &written[1..written.len() - 1]);
                let parsed: Value = serde_json::from_str(v).unwrap();
                prop_assert_eq!(&parsed, value);
            }
        }

        /// In any object serde_json writes, the last `,"k":` found backwards either
        /// starts a run of the object's own last members or is refused (it was nested).
        #[test]
        fn last_members_are_the_objects_own(
            members in prop::collection::vec(("[a-c]", json()), 1..8),
            key in "[a-c]",
        ) {
            let object: Map<String, Value> = members.into_iter().collect();
            let line = serde_json::to_string(&object).unwrap();
            let all = scan(&line).unwrap();
            // Where the object's own member `key` has its comma, if it has one.
            let mut own_comma = None;
            let mut first = true;
            super::members(line.as_bytes(), |k: &[u8], _| {
                if k == key.as_bytes() && !first {
                    own_comma = Some(k.as_ptr() as usize - line.as_ptr() as usize - 2);
                }
                first = false;
                true
            });
            let found = memchr::memmem::rfind(line.as_bytes(), format!(",\"{key}\":").as_bytes());
            match last(&line, &key) {
                Some(got) => {
                    prop_assert_eq!(found, own_comma);
                    prop_assert_eq!(&all[all.len() - got.len()..], &got[..]);
                }
                // Refused: the last `,"k":` is nested (after the object's own, if any).
                None => prop_assert!(found.is_none() || found > own_comma),
            }
        }

        /// A cut serialised object never scans as whole.
        #[test]
        fn a_cut_object_is_refused(
            members in prop::collection::vec(("[a-z]{1,6}", json()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let object: Map<String, Value> = members.into_iter().collect();
            let line = serde_json::to_string(&object).unwrap();
            let at = cut.index(line.len() - 1);
            prop_assume!(line.is_char_boundary(at));
            prop_assert_eq!(scan(&line[..at]), None);
        }
    }
}
