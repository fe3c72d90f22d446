//! Facts: what the per-file pass extracts from a file for an analyzer's own project pass, so the
//! project pass never reads or parses the file again (issue 14).
//!
//! A fact is a value of a type private to the analyzer that made it (the parsed statements of a
//! SQL migration, the dependencies a manifest declares with their spans). The engine carries
//! facts without knowing their types: [`Analyzer::file_facts`](super::Analyzer::file_facts)
//! emits them through [`FileContext::emit`](super::FileContext::emit) for the files
//! [`Analyzer::wants_facts`](super::Analyzer::wants_facts) names, the pipeline gathers them into
//! [`Facts`], and the project pass asks for its own type with
//! [`ProjectContext::facts`](super::ProjectContext::facts). The type is the channel: no other
//! analyzer can name it, so none reads another's facts by accident.
//!
//! Facts live until the project pass ends, so they are kept small: what the project pass reads,
//! with positions as a [`LineIndex`](crate::source::LineIndex), never a whole file or tree.
//!
//! Today three project passes use facts: the Supabase migration history (`platform::supabase`:
//! the statements that change the schema, parsed once on the worker pool), the manifest checks of
//! `deps` (a `package.json`'s declarations and spans) and the Parse cross-file pass
//! (`platform::parse`: the handlers a file registers with imported functions). What they still
//! read: the Parse pass parses the few modules those registrations point at, `deps` reads the
//! lockfile beside a manifest (it may lie outside the scan), and Supabase reads `config.toml` for
//! the exposed schemas. The cross-file passes of `authz` and `taint` still read the modules they
//! follow; they may adopt the channel the same way: name the files in `wants_facts`, emit a small
//! summary type in `file_facts`, read it back with `ProjectContext::facts` in the project pass.

use std::any::Any;
use std::fmt;

/// One fact about one file, of a type only the analyzer that made it names.
pub struct Fact(Box<dyn Any + Send + Sync>);

impl Fact {
    /// Wraps a value.
    pub fn new<T: Any + Send + Sync>(value: T) -> Self {
        Fact(Box::new(value))
    }

    /// The value, when it is a `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fact(..)")
    }
}

/// Every file's facts, by display path, in the order files were discovered.
#[derive(Debug, Default)]
pub struct Facts {
    files: Vec<(String, Vec<Fact>)>,
}

impl Facts {
    /// Adds the facts of one file (nothing when `facts` is empty).
    pub fn add(&mut self, path: &str, facts: Vec<Fact>) {
        if !facts.is_empty() {
            self.files.push((path.to_string(), facts));
        }
    }

    /// Sorts by path, so the project pass sees the same order whatever order files came in.
    pub fn sort(&mut self) {
        self.files.sort_by(|a, b| a.0.cmp(&b.0));
    }

    /// Every fact of type `T`, with its file's display path, sorted by path.
    pub fn of<T: Any>(&self) -> impl Iterator<Item = (&str, &T)> {
        self.files.iter().flat_map(|(path, facts)| {
            facts
                .iter()
                .filter_map(move |f| f.get::<T>().map(|t| (path.as_str(), t)))
        })
    }

    /// Number of files with facts.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file has facts.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::{Fact, Facts};

    #[test]
    fn each_type_reads_only_its_own_facts() {
        let mut facts = Facts::default();
        facts.add("b.sql", vec![Fact::new(2u32), Fact::new("text")]);
        facts.add("a.sql", vec![Fact::new(1u32)]);
        facts.add("c.sql", Vec::new());
        facts.sort();
        let numbers: Vec<(&str, u32)> = facts.of::<u32>().map(|(p, n)| (p, *n)).collect();
        assert_eq!(numbers, [("a.sql", 1), ("b.sql", 2)]);
        assert_eq!(facts.of::<&str>().count(), 1);
        assert_eq!(facts.len(), 2);
    }
}
