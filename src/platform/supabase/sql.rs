//! SQL statements of a file: split with the `PostgreSQL` tokenizer of `sqlparser` (which understands
//! dollar-quoted bodies, comments and quoted identifiers), then each statement parsed alone, so
//! one statement the parser does not know never hides the rest of the file.

use std::ops::Range;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, Tokenizer};

/// One statement of a SQL file.
#[derive(Debug)]
pub struct Statement {
    /// Byte range in the file, without the terminating `;`.
    pub range: Range<usize>,
    /// The statement's text, lowercased, comments kept (for token-level fallbacks).
    pub lower: String,
    /// The parsed statement, when `sqlparser` understands it.
    pub parsed: Option<sqlparser::ast::Statement>,
    /// The parser gave up because the statement nests deeper than its recursion limit.
    pub is_too_deep: bool,
}

/// Splits and parses `text`. Never fails: unparsable statements have `parsed: None`.
pub fn statements(text: &str) -> Vec<Statement> {
    split(text)
        .into_iter()
        .filter_map(|range| {
            let body = text.get(range.clone())?;
            if body.trim().is_empty() {
                return None;
            }
            let parsed = Parser::new(&PostgreSqlDialect {})
                .try_with_sql(body)
                .and_then(|mut p| p.parse_statement());
            Some(Statement {
                lower: body.to_ascii_lowercase(),
                range,
                is_too_deep: matches!(parsed, Err(ParserError::RecursionLimitExceeded)),
                parsed: parsed.ok(),
            })
        })
        .collect()
}

/// Byte ranges of the statements (from the first token to the `;`).
fn split(text: &str) -> Vec<Range<usize>> {
    let dialect = PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, text).tokenize_with_location() else {
        return naive_split(text);
    };
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let offset = |loc: Location| -> usize {
        let Some(&start) = line_starts.get((loc.line as usize).saturating_sub(1)) else {
            return text.len();
        };
        text[start..]
            .char_indices()
            .nth((loc.column as usize).saturating_sub(1))
            .map_or(text.len(), |(i, _)| start + i)
    };
    let mut ranges = Vec::new();
    let mut start: Option<usize> = None;
    for t in &tokens {
        match &t.token {
            Token::Whitespace(_) => {}
            Token::SemiColon => {
                if let Some(s) = start.take() {
                    ranges.push(s..offset(t.span.start));
                }
            }
            _ => {
                if start.is_none() {
                    start = Some(offset(t.span.start));
                }
            }
        }
    }
    if let Some(s) = start {
        ranges.push(s..text.len());
    }
    ranges
}

/// Fallback when the tokenizer gives up (an unterminated string): split at `;` line ends.
fn naive_split(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for (i, _) in text.match_indices(";\n") {
        ranges.push(start..i);
        start = i + 2;
    }
    ranges.push(start..text.len());
    ranges
        .into_iter()
        .map(|r| {
            let lead = text[r.clone()].len() - text[r.clone()].trim_start().len();
            r.start + lead..r.end
        })
        .collect()
}

/// `schema.name`, unquoted and lowercased; `public` when no schema is written.
pub fn qualified(name: &str) -> String {
    let clean = name.replace('"', "").to_ascii_lowercase();
    if clean.contains('.') {
        clean
    } else {
        format!("public.{clean}")
    }
}

#[cfg(test)]
mod tests {
    use super::statements;

    #[test]
    fn keeps_going_past_unknown_statements() {
        let sql = "create table a (id int);\nalter publication p add table a;\n\
                   create function f() returns int as $$ select 1; $$ language sql;\n\
                   alter table a enable row level security;";
        let s = statements(sql);
        assert_eq!(s.len(), 4);
        assert!(s[0].parsed.is_some());
        assert!(s[1].parsed.is_none());
        assert!(s[2].parsed.is_some());
        assert!(s[3].parsed.is_some());
    }
}
