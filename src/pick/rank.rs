//! Ranking the picker's rows for what the user typed: fuzzy, with nucleo's matcher (the
//! one Helix uses), over title, first prompt, project directory, account, actor, branch
//! and id. Rows holding the query as an exact substring (any case) rank first, then by
//! fuzzy score, then in the listing's order. Both tests are case-insensitive, on one
//! text per row: the fuzzy one is nucleo's; the substring one is nucleo's too, except on
//! ASCII text, where a SIMD search of a lower-case copy gives the same answer faster.
//!
//! Each keystroke that extends the query only re-scores the rows the shorter query
//! kept, and the results for each shorter query are kept, so a backspace costs nothing.
//! While many rows are left (short queries over tens of thousands of rows) each is
//! scored greedily, in time linear in its text; nucleo's optimal score (quadratic)
//! orders the rows once few are left. Both accept the same rows.

use memchr::memmem;
use nucleo_matcher::pattern::{Atom, AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32String};
use rayon::prelude::*;

use crate::discover::Session;

/// Characters of the title and of the first prompt that are searched.
const TEXT_CHARS: usize = 120;

/// Above this many candidate rows, scores are greedy (see the module docs).
const GREEDY_ABOVE: usize = 2000;

/// The searchable text of each row, and the rankings made so far.
pub struct Ranker {
    /// Per row: the text nucleo scores.
    hay: Vec<Utf32String>,
    /// Per row: the text in lower case when it is ASCII (for the substring test).
    lower: Vec<Option<Box<[u8]>>>,
    /// Rankings of the queries typed so far, each a prefix of the next: (query, rows
    /// best first).
    done: Vec<(String, Vec<u32>)>,
}

/// The text a row is searched by: title, first prompt, directory, account, actor,
/// branch and id, separated by spaces.
pub fn haystack(s: &Session) -> String {
    let clip = |t: Option<&str>| -> String { t.unwrap_or("").chars().take(TEXT_CHARS).collect() };
    // An untitled session's title is its first prompt: once is enough.
    let prompt = Some(s.first_prompt.as_deref()).filter(|p| *p != s.title.as_deref());
    let mut text = String::with_capacity(256);
    for part in [
        clip(s.title.as_deref()),
        clip(prompt.flatten()),
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
        let (hay, lower) = rows
            .par_iter()
            .map(|s| {
                let text = haystack(s);
                let lower = text
                    .is_ascii()
                    .then(|| text.to_ascii_lowercase().into_bytes().into_boxed_slice());
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
        self.score_with(q, pool, pool.len() > GREEDY_ABOVE)
    }

    /// [`Ranker::score`], greedily or not.
    fn score_with(&self, q: &str, pool: &[u32], greedy: bool) -> Vec<u32> {
        let pattern = Pattern::new(
            q,
            CaseMatching::Ignore,
            Normalization::Smart,
            AtomKind::Fuzzy,
        );
        let whole = Atom::new(
            q,
            CaseMatching::Ignore,
            Normalization::Smart,
            AtomKind::Substring,
            false,
        );
        let lower_q = q.to_ascii_lowercase();
        let finder = memmem::Finder::new(lower_q.as_bytes());
        // As the atoms match: any case; accents folded unless the query has some
        // (nucleo's "smart" normalization, close enough for the greedy pass).
        let mut config = Config::DEFAULT;
        config.ignore_case = true;
        config.normalize = q.is_ascii();
        let mut scored: Vec<(bool, u32, u32)> = pool
            .par_iter()
            .map_init(
                || Matcher::new(config.clone()),
                |m, &i| {
                    let hay = self.hay[i as usize].slice(..);
                    let score = if greedy {
                        // The atoms' needles are already case-folded.
                        let mut sum = 0u32;
                        for atom in &pattern.atoms {
                            sum += u32::from(m.fuzzy_match_greedy(hay, atom.needle_text())?);
                        }
                        sum
                    } else {
                        pattern.score(hay, m)?
                    };
                    let exact = match &self.lower[i as usize] {
                        // An ASCII text holds a non-ASCII query nowhere.
                        Some(lower) => q.is_ascii() && finder.find(lower).is_some(),
                        None => whole.score(hay, m).is_some(),
                    };
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

    #[test]
    fn greedy_and_optimal_scoring_accept_the_same_rows() {
        let words = [
            "migration",
            "café",
            "Lantern",
            "parser",
            "map",
            "日本語",
            "crew/max",
        ];
        let rows: Vec<Session> = (0..300)
            .map(|i| {
                let title = format!("{} {} {i}", words[i % 7], words[(i * 3 + 1) % 7]);
                s(
                    &format!("{i:08x}"),
                    &title,
                    &format!("/w/{}", words[(i * 5) % 7]),
                )
            })
            .collect();
        let refs: Vec<&Session> = rows.iter().collect();
        let r = Ranker::new(&refs);
        let all: Vec<u32> = (0..rows.len() as u32).collect();
        for q in ["m", "mig", "cafe", "café", "LAN crew", "日本", "p/m", "zz"] {
            let mut greedy = r.score_with(q, &all, true);
            let mut optimal = r.score_with(q, &all, false);
            // The exact-substring rows come first either way.
            let exact = |v: &[u32]| {
                v.iter()
                    .take_while(|&&i| {
                        haystack(&rows[i as usize])
                            .to_lowercase()
                            .contains(&q.to_lowercase())
                    })
                    .count()
            };
            assert_eq!(exact(&greedy), exact(&optimal), "{q}");
            greedy.sort_unstable();
            optimal.sort_unstable();
            assert_eq!(greedy, optimal, "{q}");
        }
    }
}
