//! Ranking the picker's rows for what the user typed: fuzzy, with nucleo's matcher (the
//! one Helix uses), over title, first prompt, project directory, account, actor, branch
//! and id, in any case, accents folded unless the query has some (nucleo's "smart"
//! normalization). Rows holding the whole query as a substring rank first.
//!
//! Each keystroke that extends the query only looks again at the rows the shorter
//! query kept, and the rankings of the shorter queries are kept, so a backspace costs
//! nothing. While many rows are left (a short query over tens of thousands of rows),
//! the matches are kept in the listing's order (newest first) within their tier rather
//! than scored: for an ASCII query the test is then a SIMD search through a folded copy
//! of each row's text (lower case, accents folded, as nucleo folds it), where nucleo's
//! optimal score is quadratic and, over thousands of rows each matching a letter or two,
//! orders little worth ordering. Once few rows are left, nucleo's score orders them.
//! Both ways accept the same rows.

use memchr::memmem;
use nucleo_matcher::chars::{graphemes, normalize, to_lower_case};
use nucleo_matcher::pattern::{Atom, AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32String};
use rayon::prelude::*;

use crate::discover::Session;

/// Characters of the title and of the first prompt that are searched.
const TEXT_CHARS: usize = 120;

/// Up to this many candidate rows, matches are ordered by nucleo's score; above, by
/// the listing's order (see the module docs).
const SCORED_UP_TO: usize = 2000;

thread_local! {
    /// Each thread's matcher: making one allocates and zeroes its scoring matrices
    /// (about 130 KB), too costly to do per keystroke.
    static MATCHER: std::cell::RefCell<Matcher> =
        std::cell::RefCell::new(Matcher::new(Config::DEFAULT));
}

/// The searchable text of each row, and the rankings made so far.
pub struct Ranker {
    /// Per row: the text nucleo scores.
    hay: Vec<Utf32String>,
    /// Per row: the text folded as nucleo folds it for an ASCII query (each character
    /// normalized, then in lower case), for the fast tests.
    folded: Vec<Box<str>>,
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
        s.account.as_deref().unwrap_or_default().to_owned(),
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

/// `text` as nucleo compares it with an ASCII query: per grapheme, its first character
/// normalized (accents folded), then in lower case.
fn fold(text: &str) -> Box<str> {
    if text.is_ascii() {
        return text.to_ascii_lowercase().into_boxed_str();
    }
    graphemes(text)
        .map(|c| to_lower_case(normalize(c)))
        .collect::<String>()
        .into_boxed_str()
}

impl Ranker {
    /// A ranker over `rows` (in the listing's order); builds each row's texts in
    /// parallel.
    pub fn new(rows: &[&Session]) -> Ranker {
        let (hay, folded) = rows
            .par_iter()
            .map(|s| {
                let text = haystack(s);
                let folded = fold(&text);
                (Utf32String::from(text), folded)
            })
            .unzip();
        Ranker {
            hay,
            folded,
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

    /// Ranks `pool` for `q`, in parallel: whole-query substrings first, then the other
    /// matches, by nucleo's score when at most [`SCORED_UP_TO`] rows are left, else in
    /// the listing's order (see the module docs).
    fn score(&self, q: &str, pool: &[u32]) -> Vec<u32> {
        // A backslash escapes a space in nucleo's patterns: leave those to nucleo.
        let scored = pool.len() <= SCORED_UP_TO || q.contains('\\');
        self.score_with(q, pool, scored)
    }

    /// [`Ranker::score`], with nucleo's scores or in the listing's order.
    fn score_with(&self, q: &str, pool: &[u32], scored: bool) -> Vec<u32> {
        let m = Matching::new(q);
        let mut ranked: Vec<(bool, u32, u32)> = pool
            .par_iter()
            .with_min_len(256)
            .filter_map(|&i| {
                MATCHER.with_borrow_mut(|matcher| {
                    let (hay, folded) = (self.hay[i as usize].slice(..), &self.folded[i as usize]);
                    let score = if scored {
                        u32::MAX - m.score(hay, matcher)?
                    } else {
                        m.matches(hay, folded, matcher).then_some(i)?
                    };
                    Some((!m.holds_whole(hay, folded, matcher), score, i))
                })
            })
            .collect();
        ranked.par_sort_unstable();
        ranked.into_iter().map(|(_, _, i)| i).collect()
    }
}

/// One query, made ready for matching rows.
struct Matching {
    /// nucleo's pattern: one fuzzy atom per word.
    pattern: Pattern,
    /// nucleo's test of the whole query as a substring.
    whole: Atom,
    /// For an ASCII query: a search for it in lower case, and its lower-case text.
    ascii: Option<(memmem::Finder<'static>, String)>,
    /// How the pattern's atoms set a matcher (used for the greedy match).
    config: Config,
}

impl Matching {
    fn new(q: &str) -> Matching {
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
        // An ASCII query in lower case is what nucleo folds it to.
        let ascii = q.is_ascii().then(|| {
            let lower = q.to_ascii_lowercase();
            (memmem::Finder::new(lower.as_bytes()).into_owned(), lower)
        });
        let mut config = Config::DEFAULT;
        config.ignore_case = true;
        config.normalize = q.is_ascii();
        Matching {
            pattern,
            whole,
            ascii,
            config,
        }
    }

    /// nucleo's score of a row's text, when it matches.
    fn score(&self, hay: nucleo_matcher::Utf32Str<'_>, m: &mut Matcher) -> Option<u32> {
        self.pattern.score(hay, m)
    }

    /// Whether every word of the query occurs, letters in order, in the row's text:
    /// a SIMD search in the folded text for an ASCII query, nucleo's greedy (linear)
    /// match otherwise.
    fn matches(&self, hay: nucleo_matcher::Utf32Str<'_>, folded: &str, m: &mut Matcher) -> bool {
        match &self.ascii {
            Some((_, lower)) => lower
                .split_ascii_whitespace()
                .all(|w| in_order(w.as_bytes(), folded.as_bytes())),
            None => {
                m.config = self.config.clone();
                self.pattern
                    .atoms
                    .iter()
                    .all(|a| m.fuzzy_match_greedy(hay, a.needle_text()).is_some())
            }
        }
    }

    /// Whether the row's text holds the whole query.
    fn holds_whole(
        &self,
        hay: nucleo_matcher::Utf32Str<'_>,
        folded: &str,
        m: &mut Matcher,
    ) -> bool {
        match &self.ascii {
            Some((finder, _)) => finder.find(folded.as_bytes()).is_some(),
            None => self.whole.score(hay, m).is_some(),
        }
    }
}

/// True when the bytes of `word` occur in `text` in order (a fuzzy match, as nucleo's
/// matchers accept one, for ASCII words in folded text).
fn in_order(word: &[u8], text: &[u8]) -> bool {
    let mut at = 0;
    for &b in word {
        match memchr::memchr(b, &text[at..]) {
            Some(k) => at += k + 1,
            None => return false,
        }
    }
    true
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
    fn the_fast_pass_and_nucleo_accept_the_same_rows() {
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
            let mut fast = r.score_with(q, &all, false);
            let mut scored = r.score_with(q, &all, true);
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
            assert_eq!(exact(&fast), exact(&scored), "{q}");
            fast.sort_unstable();
            scored.sort_unstable();
            assert_eq!(fast, scored, "{q}");
        }
    }
}
