//! The conversation text of one transcript line, decoded only for lines whose raw bytes
//! hit: what was said (user and assistant text, tool inputs and results) and the titles,
//! never metadata.
//!
//! Shapes are Claude Code's (checked on 2.1.197 and 2.1.332, see
//! `fixtures/real/README.md`): a `user` or `assistant` record's `message.content` is a
//! string or an array of blocks (`text`, `thinking`, `tool_use` with an `input` object,
//! `tool_result` with a string or block-array `content`, `image`); titles are
//! `custom-title` (`customTitle`), `ai-title` (`aiTitle`) and `summary` (`summary`)
//! records. Everything else (`attachment` records such as skill listings and prompt
//! snapshots, `api-request*`, `queue-operation`, `last-prompt`, `system`, and fields such
//! as `cwd`, `gitBranch`, ids, `toolUseResult`) is not conversation and is never matched.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

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

/// One line's conversation: its texts with who said each, and its timestamp.
#[derive(Debug, Default)]
pub struct Said<'a> {
    /// The texts, in the order they appear in the record.
    pub texts: Vec<(Role, Cow<'a, str>)>,
    /// The record's `timestamp` as written, when it has one.
    pub timestamp: Option<Cow<'a, str>>,
}

/// The fields of a record that can hold conversation, kept raw until the type is known
/// (a field of an unexpected type must not make the whole line unreadable).
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<&'a RawValue>,
    #[serde(rename = "isMeta", default)]
    is_meta: Option<&'a RawValue>,
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    #[serde(rename = "customTitle", borrow, default)]
    custom_title: Option<&'a RawValue>,
    #[serde(rename = "aiTitle", borrow, default)]
    ai_title: Option<&'a RawValue>,
    #[serde(borrow, default)]
    summary: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<&'a RawValue>,
    #[serde(borrow, default)]
    text: Option<&'a RawValue>,
    #[serde(borrow, default)]
    thinking: Option<&'a RawValue>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
}

/// A JSON string, borrowed from the line when it holds no escapes.
#[derive(Deserialize)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

/// `raw` as a string, when it is one.
fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str::<Str>(raw.get()).ok().map(|s| s.0)
}

/// Decodes `line` (one JSON object) into what was said in it. `None` when the line is
/// not a JSON object; an object that is not conversation gives no texts.
pub fn decode(line: &str) -> Option<Said<'_>> {
    let l: Line = serde_json::from_str(line).ok()?;
    let mut said = Said::default();
    let ty = l.ty.and_then(string);
    let title = match ty.as_deref() {
        Some("custom-title") => l.custom_title,
        Some("ai-title") => l.ai_title,
        Some("summary") => l.summary,
        Some("user" | "assistant") => {
            if l.is_meta.is_some_and(|m| m.get() == "true") {
                return Some(said);
            }
            let user = ty.as_deref() == Some("user");
            let content = l
                .message
                .and_then(|m| serde_json::from_str::<Message>(m.get()).ok())
                .and_then(|m| m.content);
            if let Some(c) = content {
                message_texts(c, user, &mut said.texts);
            }
            None
        }
        _ => return Some(said),
    };
    if let Some(t) = title.and_then(string) {
        said.texts.push((Role::Title, t));
    }
    said.timestamp = l.timestamp.and_then(string);
    Some(said)
}

/// The texts of a message's `content`: a string, or blocks.
fn message_texts<'a>(content: &'a RawValue, user: bool, out: &mut Vec<(Role, Cow<'a, str>)>) {
    let own = if user { Role::User } else { Role::Assistant };
    if let Some(s) = string(content) {
        out.push((own, s));
        return;
    }
    let Ok(blocks) = serde_json::from_str::<Vec<Block>>(content.get()) else {
        return;
    };
    for b in blocks {
        match b.ty.and_then(string).as_deref() {
            Some("text") => out.extend(b.text.and_then(string).map(|t| (own, t))),
            Some("thinking") => out.extend(b.thinking.and_then(string).map(|t| (own, t))),
            Some("tool_use") => {
                if let Some(v) = b.input.and_then(|i| serde_json::from_str(i.get()).ok()) {
                    strings_of(&v, Role::ToolUse, out);
                }
            }
            Some("tool_result") => {
                if let Some(c) = b.content {
                    match string(c) {
                        Some(s) => out.push((Role::ToolResult, s)),
                        None => result_blocks(c, out),
                    }
                }
            }
            _ => {}
        }
    }
}

/// The `text` blocks of a tool result's block-array `content` (images and the like have
/// no text to search).
fn result_blocks<'a>(content: &'a RawValue, out: &mut Vec<(Role, Cow<'a, str>)>) {
    let Ok(blocks) = serde_json::from_str::<Vec<Block>>(content.get()) else {
        return;
    };
    for b in blocks {
        if b.ty.and_then(string).as_deref() == Some("text")
            && let Some(t) = b.text.and_then(string)
        {
            out.push((Role::ToolResult, t));
        }
    }
}

/// Every string value inside `v` (not the keys), depth first.
fn strings_of<'a>(v: &Value, role: Role, out: &mut Vec<(Role, Cow<'a, str>)>) {
    match v {
        Value::String(s) => out.push((role, Cow::Owned(s.clone()))),
        Value::Array(a) => a.iter().for_each(|x| strings_of(x, role, out)),
        Value::Object(m) => m.values().for_each(|x| strings_of(x, role, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<(Role, String)> {
        decode(line)
            .unwrap()
            .texts
            .into_iter()
            .map(|(r, t)| (r, t.into_owned()))
            .collect()
    }

    #[test]
    fn conversation_is_decoded_metadata_is_not() {
        let l = r#"{"type":"user","cwd":"/x/needle","message":{"role":"user","content":"say \"hi\"\n"},"timestamp":"T"}"#;
        assert_eq!(texts(l), [(Role::User, "say \"hi\"\n".to_owned())]);
        assert_eq!(decode(l).unwrap().timestamp.as_deref(), Some("T"));
        let l = r#"{"type":"assistant","message":{"content":[{"type":"text","text":"a"},{"type":"thinking","thinking":"b","signature":"needle"},{"type":"tool_use","id":"needle","name":"Bash","input":{"command":"ls","n":{"deep":["c"]}}}]}}"#;
        assert_eq!(
            texts(l),
            [
                (Role::Assistant, "a".into()),
                (Role::Assistant, "b".into()),
                (Role::ToolUse, "ls".into()),
                (Role::ToolUse, "c".into()),
            ]
        );
        let l = r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"needle","content":[{"type":"text","text":"out"},{"type":"image","source":{"data":"needle"}}]},{"type":"tool_result","content":"two"}]},"toolUseResult":{"stdout":"needle"}}"#;
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
        ] {
            assert!(texts(l).is_empty(), "{l}");
        }
        assert!(decode("{\"type\":\"user\"").is_none());
        assert_eq!(
            texts(r#"{"type":"custom-title","customTitle":"t","summary":7}"#),
            [(Role::Title, "t".into())]
        );
        assert_eq!(
            texts(r#"{"type":"summary","summary":"s","leafUuid":"x"}"#),
            [(Role::Title, "s".into())]
        );
    }
}
