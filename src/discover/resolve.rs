//! Resolves what the user typed after `--talk` to one session: a full session id or a
//! unique prefix (possibly copied from the table with a trailing `…`), or a name (a
//! custom title or an agent name, as `claude --resume "<title>"` takes it).

use crate::discover::Session;
use crate::discover::transcript::TitleKind;

/// Why an id or prefix could not be resolved. Each message is complete enough to print.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Not an id or prefix at all; rejected before any file is read.
    #[error(
        "'{0}' is not a session id or prefix: give a full session id or at least 4 of its first characters (0-9, a-f, -)"
    )]
    Invalid(String),
    /// Nothing matched.
    #[error("no session matches '{query}' (looked in {looked})")]
    NotFound {
        /// The normalised prefix.
        query: String,
        /// Where it looked, for the message.
        looked: String,
    },
    /// No session has this name.
    #[error(
        "no session is named '{query}' (custom titles and agent names are compared whole, in any case; looked in {looked})"
    )]
    NoName {
        /// The name, sanitised.
        query: String,
        /// Where it looked, for the message.
        looked: String,
    },
    /// More than one session matched.
    #[error("'{query}' is ambiguous; it matches {} sessions:\n{}", .candidates.len(), list(.candidates))]
    Ambiguous {
        /// The normalised prefix.
        query: String,
        /// `(session id, account, title)` of every match, sorted by id.
        candidates: Vec<(String, Option<String>, Option<String>)>,
    },
}

fn list(c: &[(String, Option<String>, Option<String>)]) -> String {
    c.iter()
        .map(|(id, acct, title)| {
            use crate::util::sanitize::for_terminal;
            format!(
                "  {id}  {}  {}",
                for_terminal(acct.as_deref().unwrap_or("-")),
                for_terminal(title.as_deref().unwrap_or(""))
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Longest accepted input: a UUID's 36 characters.
const MAX_LEN: usize = 36;

/// Longest accepted name, in characters: titles are kept to 400 characters (see
/// [`crate::discover::transcript::MAX_TEXT_CHARS`]), so nothing longer can match.
const MAX_NAME_CHARS: usize = 401;

/// What the user typed after `--talk`, classified before any file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// An id or id prefix, [`normalize`]d.
    Prefix(String),
    /// Anything else: a name, trimmed. Only ever compared, never used in a path.
    Name(String),
}

/// Classifies `input`: id-like text (see [`normalize`]) is a [`Query::Prefix`], other
/// text a [`Query::Name`].
///
/// Errors: [`ResolveError::Invalid`] for empty or blank input, or a name longer than
/// any title seance keeps.
pub fn classify(input: &str) -> Result<Query, ResolveError> {
    if let Ok(p) = normalize(input) {
        return Ok(Query::Prefix(p));
    }
    let name = input.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        let shown: String = input.chars().take(60).collect();
        return Err(ResolveError::Invalid(
            crate::util::sanitize::for_terminal(&shown).into_owned(),
        ));
    }
    Ok(Query::Name(name.to_owned()))
}

/// True when `s` is named `name`: its custom title (from its records, its index entry
/// or Claude Code's sidecar) or its agent name equals `name` in any case.
pub fn is_named(s: &Session, name: &str) -> bool {
    let same = |v: &str| v.trim().to_lowercase() == name.to_lowercase();
    let custom = s
        .title
        .as_deref()
        .filter(|_| s.title_kind == Some(TitleKind::Custom));
    custom.is_some_and(same) || s.agent_name.as_deref().is_some_and(same)
}

/// Picks the one session named `name` (see [`is_named`]) among `sessions`. A fork
/// copies its parent's name, so a fork whose parent is also named so does not count.
///
/// Errors: [`ResolveError::NoName`] (with `looked` describing where the scan looked)
/// or [`ResolveError::Ambiguous`] naming every candidate.
pub fn resolve_name<'a>(
    sessions: impl IntoIterator<Item = &'a Session>,
    name: &str,
    looked: &str,
) -> Result<&'a Session, ResolveError> {
    let mut matches = newest_per_id(sessions.into_iter().filter(|s| is_named(s, name)));
    let ids: Vec<String> = matches.iter().map(|s| s.session_id.clone()).collect();
    matches.retain(|s| s.forked_from.as_ref().is_none_or(|p| !ids.contains(p)));
    match matches.as_slice() {
        [] => Err(ResolveError::NoName {
            query: crate::util::sanitize::for_terminal(name).into_owned(),
            looked: looked.to_owned(),
        }),
        [one] => Ok(one),
        many => Err(ambiguous(name, many)),
    }
}

/// One session per id (case-insensitively), the copy active last, sorted by id.
fn newest_per_id<'a>(sessions: impl Iterator<Item = &'a Session>) -> Vec<&'a Session> {
    let mut v: Vec<&Session> = sessions.collect();
    v.sort_by(|a, b| {
        a.session_id
            .cmp(&b.session_id)
            .then_with(|| b.last_active_at.cmp(&a.last_active_at))
    });
    // Copies of one id are deduplicated; ids that differ only in case stay apart.
    v.dedup_by(|a, b| a.session_id == b.session_id);
    v
}

fn ambiguous(query: &str, many: &[&Session]) -> ResolveError {
    ResolveError::Ambiguous {
        query: crate::util::sanitize::for_terminal(query).into_owned(),
        candidates: many
            .iter()
            .map(|s| {
                let account = s.account.as_deref().map(str::to_owned);
                (s.session_id.clone(), account, s.title.clone())
            })
            .collect(),
    }
}

/// Checks and normalises a user-typed id or prefix: trims white space and a trailing `…`
/// or `...`, and requires 4 to 36 characters of `[0-9a-fA-F-]`. The case is kept: ids
/// are matched case-insensitively, but an id typed exactly wins over one that differs
/// only in case (see [`resolve`]).
///
/// Errors: [`ResolveError::Invalid`] for anything else (slashes, dots, spaces, NUL, too
/// short or too long), so a hostile id never reaches a path.
pub fn normalize(input: &str) -> Result<String, ResolveError> {
    let t = input.trim();
    let t = t
        .strip_suffix('…')
        .or_else(|| t.strip_suffix("..."))
        .unwrap_or(t);
    let ok =
        (4..=MAX_LEN).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if !ok {
        let shown: String = input.chars().take(60).collect();
        return Err(ResolveError::Invalid(
            crate::util::sanitize::for_terminal(&shown).into_owned(),
        ));
    }
    Ok(t.to_owned())
}

/// Picks the one session whose id starts with `prefix` (already [`normalize`]d),
/// comparing case-insensitively. The same id seen twice (copies in several accounts)
/// counts once: the copy active last is returned. Ids that differ only in case are
/// different sessions, so when several match, the one whose id is exactly `prefix` wins,
/// and without one the prefix is ambiguous.
///
/// Errors: [`ResolveError::NotFound`] (with `looked` describing where the scan looked)
/// or [`ResolveError::Ambiguous`] naming every candidate.
pub fn resolve<'a>(
    sessions: impl IntoIterator<Item = &'a Session>,
    prefix: &str,
    looked: &str,
) -> Result<&'a Session, ResolveError> {
    let matches = newest_per_id(sessions.into_iter().filter(|s| {
        s.session_id.len() >= prefix.len()
            && s.session_id.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    }));
    if matches.len() > 1
        && let Some(exact) = matches.iter().find(|s| s.session_id == prefix)
    {
        return Ok(exact);
    }
    match matches.as_slice() {
        [] => Err(ResolveError::NotFound {
            query: prefix.to_owned(),
            looked: looked.to_owned(),
        }),
        [one] => Ok(one),
        many => Err(ambiguous(prefix, many)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_accepts_ids_and_prefixes() {
        assert_eq!(normalize("ABCD").unwrap(), "ABCD");
        assert_eq!(normalize(" 46621448… ").unwrap(), "46621448");
        assert_eq!(normalize("46621448...").unwrap(), "46621448");
        assert_eq!(
            normalize("46621448-3caa-4bbb-8ccc-123456789abc").unwrap(),
            "46621448-3caa-4bbb-8ccc-123456789abc"
        );
    }

    fn named(id: &str, title: Option<(&str, TitleKind)>, agent: Option<&str>) -> Session {
        let mut s = Session::new(id.to_owned());
        s.title = title.map(|(t, _)| t.to_owned());
        s.title_kind = title.map(|(_, k)| k);
        s.agent_name = agent.map(str::to_owned);
        s
    }

    #[test]
    fn names_match_custom_titles_and_agent_names_whole_in_any_case() {
        assert_eq!(classify("4662").unwrap(), Query::Prefix("4662".into()));
        assert_eq!(
            classify(" Lantern notes ").unwrap(),
            Query::Name("Lantern notes".into())
        );
        assert_eq!(classify("../etc").unwrap(), Query::Name("../etc".into()));
        assert!(classify("  ").is_err());
        assert!(classify(&"x".repeat(500)).is_err());
        let a = named("aaaa", Some(("Lantern notes", TitleKind::Custom)), None);
        let b = named("bbbb", Some(("Lantern notes", TitleKind::Ai)), None);
        let c = named("cccc", None, Some("Ünïcode Agent"));
        let all = [a, b, c];
        let pick = |n: &str| resolve_name(&all, n, "here").map(|s| s.session_id.clone());
        assert_eq!(
            pick("lantern NOTES").unwrap(),
            "aaaa",
            "an AI title is no name"
        );
        assert_eq!(pick("ünïcode agent").unwrap(), "cccc");
        assert!(matches!(pick("Lantern"), Err(ResolveError::NoName { .. })));
        // A fork copies its parent's name: the parent is meant.
        let mut fork = named("dddd", Some(("Lantern notes", TitleKind::Custom)), None);
        fork.forked_from = Some("aaaa".into());
        let mut other = named("eeee", None, Some("lantern notes"));
        let with_fork = [all[0].clone(), fork.clone()];
        let r = resolve_name(&with_fork, "Lantern notes", "here").unwrap();
        assert_eq!(r.session_id, "aaaa");
        // Two unrelated sessions of one name are ambiguous.
        other.forked_from = None;
        let two = [all[0].clone(), other];
        let e = resolve_name(&two, "Lantern notes", "here").unwrap_err();
        assert!(
            matches!(e, ResolveError::Ambiguous { ref candidates, .. } if candidates.len() == 2),
            "{e}"
        );
    }

    #[test]
    fn ids_differing_only_in_case_exact_wins_else_ambiguous() {
        let upper = "ABCDEF01-0000-4000-8000-000000000000";
        let lower = "abcdef01-0000-4000-8000-000000000000";
        let sessions: Vec<Session> = [upper, lower, lower]
            .iter()
            .map(|id| Session::new((*id).to_owned()))
            .collect();
        for id in [upper, lower] {
            assert_eq!(resolve(&sessions, id, "").unwrap().session_id, id);
        }
        let mixed = "AbCdEf01-0000-4000-8000-000000000000";
        for prefix in [mixed, "abcd", "ABCD"] {
            match resolve(&sessions, prefix, "") {
                Err(ResolveError::Ambiguous { candidates, .. }) => {
                    assert_eq!(candidates.len(), 2, "{prefix}: {candidates:?}")
                }
                other => panic!("{prefix}: {other:?}"),
            }
        }
        // One of them alone: any case finds it.
        assert_eq!(
            resolve(&sessions[..1], "abcdef", "").unwrap().session_id,
            upper
        );
    }

    #[test]
    fn normalize_rejects_hostile_input() {
        let long = "a".repeat(37);
        for bad in [
            "abc",
            "../../etc",
            "ab/cd",
            "abcd efgh",
            "abc\0d",
            "xyz1",
            "",
            "....",
            &long,
        ] {
            assert!(
                matches!(normalize(bad), Err(ResolveError::Invalid(_))),
                "{bad:?} accepted"
            );
        }
    }
}
