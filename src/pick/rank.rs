//! Ranking the picker's rows for what the user typed: fuzzy, with nucleo's matcher (the
//! one Helix uses), over title, first prompt, project directory, account, actor, branch
//! and id. Rows holding the query as an exact substring (any case) rank first, then by
//! fuzzy score, then in the listing's order.
//!
//! Each keystroke that extends the query only re-scores the rows the shorter query
//! kept, and the results for each shorter query are kept, so a backspace costs nothing.

use memchr::memmem;
use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32String};
use rayon::prelude::*;

use crate::discover::Session;

/// Characters of the title and of the first prompt that are searched.
const TEXT_CHARS: usize = 160;

/// The searchable text of each row, and the rankings made so far.
pub struct Ranker {
    /// Per row: the text nucleo scores.
    hay: Vec<Utf32String>,
    /// Per row: the same text in lower case, for the substring test.
    lower: Vec<String>,
    /// Rankings of the queries typed so far, each a prefix of the next: (query, rows
    /// best first).
    done: Vec<(String, Vec<u32>)>,
}

/// The text a row is searched by: title, first prompt, directory, account, actor,
/// branch and id, separated by spaces.
pub fn haystack(s: &Session) -> String {
    let clip = |t: Option<&str>| -> String { t.unwrap_or("").chars().take(TEXT_CHARS).collect() };
    let mut text = String::with_capacity(256);
    for part in [
        clip(s.title.as_deref()),
        clip(s.first_prompt.as_deref()),
        s.cwd.clone().unwrap_or_default(),
        s.account.clone().unwrap_or_default(),
        s.actor.clone().unwrap_or_default(),
        s.git_branch.clone().unwrap_or_default(),
        s.session_id.clone(),
    ] {
        if !part.is_empty() {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&part);
        }
    }
    text
}

impl Ranker {
    /// A ranker over `rows` (in the listing's order); builds each row's text in
    /// parallel.
    pub fn new(rows: &[&Session]) -> Ranker {
        let (hay, lower): (Vec<Utf32String>, Vec<String>) = rows
            .par_iter()
            .map(|s| {
                let text = haystack(s);
                let lower = text.to_lowercase();
                (Utf32String::from(text), lower)
            })
            .unzip();
        Ranker {
            hay,
            lower,
            done: Vec::new(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.hay.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.hay.is_empty()
    }

    /// The rows matching `query`, best first (row numbers as given to [`Ranker::new`]).
    /// An empty query keeps every row in order.
    pub fn rank(&mut self, query: &str) -> Vec<u32> {
        let q = query.trim();
        if q.is_empty() {
            self.done.clear();
            return (0..self.hay.len() as u32).collect();
        }
        // Keep the rankings of the queries this one extends; start from the last. (A
        // backslash escapes a space, so there a longer query may match more.)
        if q.contains('\\') {
            self.done.clear();
        }
        self.done
            .retain(|(earlier, _)| q.starts_with(earlier.as_str()));
        if let Some((last, rows)) = self.done.last()
            && last == q
        {
            return rows.clone();
        }
        let pool: Vec<u32> = match self.done.last() {
            Some((_, rows)) => rows.clone(),
            None => (0..self.hay.len() as u32).collect(),
        };
        let ranked = self.score(q, &pool);
        self.done.push((q.to_owned(), ranked.clone()));
        ranked
    }

    /// Scores `pool` against `q`, in parallel, and sorts the matches.
    fn score(&self, q: &str, pool: &[u32]) -> Vec<u32> {
        let pattern = Pattern::new(
            q,
            CaseMatching::Ignore,
            Normalization::Smart,
            AtomKind::Fuzzy,
        );
        let lower_q = q.to_lowercase();
        let finder = memmem::Finder::new(lower_q.as_bytes());
        let mut scored: Vec<(bool, u32, u32)> = pool
            .par_iter()
            .map_init(
                || Matcher::new(Config::DEFAULT),
                |m, &i| {
                    let score = pattern.score(self.hay[i as usize].slice(..), m)?;
                    let exact = finder.find(self.lower[i as usize].as_bytes()).is_some();
                    Some((!exact, u32::MAX - score, i))
                },
            )
            .flatten()
            .collect();
        scored.par_sort_unstable();
        scored.into_iter().map(|(_, _, i)| i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: &str, title: &str, cwd: &str) -> Session {
        let mut s = Session::new(id.to_owned());
        s.title = Some(title.to_owned());
        s.cwd = Some(cwd.to_owned());
        s.account = Some("work".into());
        s
    }

    #[test]
    fn exact_substrings_first_then_fuzzy_and_backspace_is_free() {
        let rows = [
            s("aaaa", "many glaciers were in the tundra", "/w/a"),
            s("bbbb", "the migration plan", "/w/b"),
            s("cccc", "unrelated", "/w/c"),
            s("dddd", "mig ration", "/w/d"),
        ];
        let refs: Vec<&Session> = rows.iter().collect();
        let mut r = Ranker::new(&refs);
        assert_eq!(r.rank(""), [0, 1, 2, 3]);
        let m = r.rank("migration");
        assert_eq!(m[0], 1, "the exact substring ranks first: {m:?}");
        assert!(!m.contains(&2), "{m:?}");
        assert!(m.contains(&3), "fuzzy matches stay: {m:?}");
        // The directory and id are searched too.
        assert_eq!(r.rank("/w/c"), [2]);
        assert_eq!(r.rank("dddd"), [3]);
        // Extending and shrinking the query gives the same as typing it afresh.
        let grown = r.rank("migr");
        let mut fresh = Ranker::new(&refs);
        assert_eq!(grown, fresh.rank("migr"));
        assert_eq!(r.rank("MIGRATION"), m);
        assert!(r.rank("zzzz").is_empty());
    }
}
