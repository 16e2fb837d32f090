//! Resolves what the user typed after `--talk` (a full session id or a unique prefix,
//! possibly copied from the table with a trailing `…`) to one session.

use crate::discover::Session;

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

/// Checks and normalises a user-typed id or prefix: trims white space and a trailing `…`
/// or `...`, requires 4 to 36 characters of `[0-9a-fA-F-]`, and lowercases it.
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
    Ok(t.to_ascii_lowercase())
}

/// Picks the one session whose id starts with `prefix` (already [`normalize`]d),
/// comparing case-insensitively. The same id seen twice counts once.
///
/// Errors: [`ResolveError::NotFound`] (with `looked` describing where the scan looked)
/// or [`ResolveError::Ambiguous`] naming every candidate.
pub fn resolve<'a>(
    sessions: &'a [Session],
    prefix: &str,
    looked: &str,
) -> Result<&'a Session, ResolveError> {
    let mut matches: Vec<&Session> = sessions
        .iter()
        .filter(|s| {
            s.session_id.len() >= prefix.len()
                && s.session_id.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        })
        .collect();
    matches.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    matches.dedup_by(|a, b| a.session_id.eq_ignore_ascii_case(&b.session_id));
    match matches.as_slice() {
        [] => Err(ResolveError::NotFound {
            query: prefix.to_owned(),
            looked: looked.to_owned(),
        }),
        [one] => Ok(one),
        many => Err(ResolveError::Ambiguous {
            query: prefix.to_owned(),
            candidates: many
                .iter()
                .map(|s| (s.session_id.clone(), s.account.clone(), s.title.clone()))
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_accepts_ids_and_prefixes() {
        assert_eq!(normalize("ABCD").unwrap(), "abcd");
        assert_eq!(normalize(" 46621448… ").unwrap(), "46621448");
        assert_eq!(normalize("46621448...").unwrap(), "46621448");
        assert_eq!(
            normalize("46621448-3caa-4bbb-8ccc-123456789abc").unwrap(),
            "46621448-3caa-4bbb-8ccc-123456789abc"
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
