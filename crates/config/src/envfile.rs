//! Env files (`.env`) as Docker Compose reads them: parsing with line numbers, secret marking,
//! interpolation in file order, and rendering back.

use std::collections::HashMap;

use crate::interpolate::{self, InterpolateError};
use crate::secret;

/// The entries of an env file, in file order, duplicates included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFile {
    pub entries: Vec<Entry>,
}

/// One `KEY=value` (or bare `KEY`) line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    /// The value as written: quotes removed and escapes of double quotes processed, but not
    /// yet interpolated (a `\$` is kept as `$$`, so interpolation gives back a `$`).
    pub raw: String,
    pub quote: Quote,
    /// 1-based line of the key.
    pub line: usize,
    /// Marked `@secret`, named like a secret, or holding a URL with a password; `@public`
    /// clears the last two.
    pub secret: bool,
    /// A bare `KEY` with no `=`: the value comes from the environment at resolve time.
    pub inherit: bool,
    /// Where each `$` of `raw` was written, so that interpolation errors point into the file.
    dollars: Vec<Dollar>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    None,
    Single,
    Double,
}

/// A line that could not be read, or a value that could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EnvFileError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

/// Parses an env file. Interpolation syntax is checked here; values are resolved by
/// [`EnvFile::resolve`].
pub fn parse(text: &str) -> Result<EnvFile, EnvFileError> {
    let mut cursor = Cursor { text, pos: 0, line: 1, column: 1 };
    let mut entries = Vec::new();
    // The `@secret`/`@public` marker of the comment block right above the next entry; the one
    // nearest the key wins. A blank line ends a block, so a file's header comment that explains
    // the markers does not mark the first key.
    let mut marker = None;
    loop {
        cursor.skip_blanks();
        match cursor.peek() {
            None => break,
            Some('\n') => {
                let line_start = text.get(..cursor.pos).and_then(|t| t.rfind('\n').map(|i| i + 1)).unwrap_or(0);
                if text.get(line_start..cursor.pos).is_some_and(|l| l.chars().all(is_blank)) {
                    marker = None;
                }
                cursor.bump();
            }
            Some('#') => marker = find_marker(cursor.take_line()).or(marker),
            Some(_) => entries.push(parse_entry(&mut cursor, marker.take())?),
        }
    }
    Ok(EnvFile { entries })
}

/// Writes pairs so that [`parse`] and [`EnvFile::resolve`] give them back exactly; keys must
/// match `[A-Za-z_][A-Za-z0-9_.-]*`.
pub fn render(entries: &[(String, String)]) -> String {
    let mut out = String::new();
    for (key, value) in entries {
        out.push_str(key);
        out.push('=');
        if value.contains('\'') {
            out.push('"');
            for c in value.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '$' => out.push_str("\\$"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
            out.push('"');
        } else {
            // Single quotes are literal and may span lines, so any other value fits as is.
            out.push('\'');
            out.push_str(value);
            out.push('\'');
        }
        out.push('\n');
    }
    out
}

impl EnvFile {
    /// Interpolates values in file order and returns one pair per key, at the key's first
    /// position with its last value.
    ///
    /// References see earlier entries of this file first, then `outer`. Single-quoted values
    /// are literal. A bare `KEY` takes its value from `outer` and is left out when `outer` has
    /// none, as in Compose.
    pub fn resolve(&self, outer: &dyn Fn(&str) -> Option<String>) -> Result<Vec<(String, String)>, EnvFileError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for entry in &self.entries {
            let value = if entry.inherit {
                match outer(&entry.key) {
                    Some(value) => value,
                    None => continue,
                }
            } else if entry.quote == Quote::Single {
                entry.raw.clone()
            } else {
                let lookup =
                    |name: &str| index.get(name).and_then(|&i| pairs.get(i)).map(|(_, value)| value.clone()).or_else(|| outer(name));
                interpolate::interpolate(&entry.raw, &lookup).map_err(|error| entry.error(&error))?
            };
            match index.get(entry.key.as_str()).and_then(|&i| pairs.get_mut(i)) {
                Some(pair) => pair.1 = value,
                None => {
                    index.insert(&entry.key, pairs.len());
                    pairs.push((entry.key.clone(), value));
                }
            }
        }
        Ok(pairs)
    }

    /// The last definition of `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|entry| entry.key == key)
    }
}

impl Entry {
    /// Places an interpolation error at the `$` it is about.
    fn error(&self, error: &InterpolateError) -> EnvFileError {
        let dollar = self.dollars.iter().find(|d| d.offset == error.offset);
        EnvFileError {
            message: format!("in the value of {}: {}", self.key, error.message),
            line: dollar.map_or(self.line, |d| d.line),
            column: dollar.map_or(1, |d| d.column),
        }
    }
}

/// A `$` in a raw value: its byte offset there and its position in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dollar {
    offset: usize,
    line: usize,
    column: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Secret,
    Public,
}

/// The last `@secret` or `@public` in a comment.
fn find_marker(comment: &str) -> Option<Marker> {
    match (comment.rfind("@secret"), comment.rfind("@public")) {
        (Some(s), Some(p)) if s > p => Some(Marker::Secret),
        (_, Some(_)) => Some(Marker::Public),
        (Some(_), None) => Some(Marker::Secret),
        (None, None) => None,
    }
}

/// Key names that, by convention, hold credentials.
fn secret_name(key: &str) -> bool {
    // `db-password` and `db.password` are the same convention as `DB_PASSWORD`.
    let key = key.to_ascii_uppercase().replace(['-', '.'], "_");
    const PARTS: [&str; 8] = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE_KEY", "API_KEY", "ACCESS_KEY"];
    PARTS.iter().any(|part| key.contains(part)) || key.ends_with("_PASS") || key.ends_with("_KEY")
}

fn is_key_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn is_blank(c: char) -> bool {
    // `\r` counts as a blank so that files with CRLF line ends read the same.
    matches!(c, ' ' | '\t' | '\r')
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    column: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) {
        let Some(c) = self.peek() else { return };
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
    }

    /// Skips blanks (see [`is_blank`]); says whether there were any.
    fn skip_blanks(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_blank) {
            self.bump();
        }
        self.pos != start
    }

    /// Consumes up to, not including, the end of the line.
    fn take_line(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|c| c != '\n') {
            self.bump();
        }
        self.text.get(start..self.pos).unwrap_or_default()
    }

    fn take_while(&mut self, keep: fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(keep) {
            self.bump();
        }
        self.text.get(start..self.pos).unwrap_or_default()
    }

    fn error(&self, message: String) -> EnvFileError {
        EnvFileError { message, line: self.line, column: self.column }
    }

    fn dollar(&self, offset: usize) -> Dollar {
        Dollar { offset, line: self.line, column: self.column }
    }
}

/// The value part of an entry, before secret marking.
struct Value {
    raw: String,
    quote: Quote,
    dollars: Vec<Dollar>,
    /// The marker in a comment at the end of the line, if any.
    marker: Option<Marker>,
}

fn parse_entry(cursor: &mut Cursor<'_>, marker: Option<Marker>) -> Result<Entry, EnvFileError> {
    let line = cursor.line;
    // `export KEY=value` lets the file be sourced by a shell; a key named `export` stays a key.
    if let Some(after) = cursor.rest().strip_prefix("export") {
        let unindented = after.trim_start_matches(is_blank);
        if unindented.len() < after.len() && unindented.starts_with(is_key_char) {
            cursor.take_while(|c| !is_blank(c));
            cursor.skip_blanks();
        }
    }
    let key_column = cursor.column;
    let key = cursor.take_while(is_key_char).to_owned();
    if key.is_empty() {
        let found = cursor.peek().unwrap_or('=');
        return Err(cursor.error(format!("expected a variable name, found `{found}`: write KEY=value")));
    }
    if !key.starts_with(is_key_start) {
        return Err(EnvFileError {
            message: format!("invalid variable name `{key}`: a name starts with a letter or `_`"),
            line,
            column: key_column,
        });
    }
    let blank_column = cursor.column;
    let had_blank = cursor.skip_blanks();
    // A bare `KEY` (possibly followed by a comment) inherits its value from the environment.
    let (value, bare_marker) = match cursor.peek() {
        None | Some('\n') => (None, None),
        Some('#') if had_blank => (None, find_marker(cursor.take_line())),
        Some('=') => {
            cursor.bump();
            (Some(parse_value(cursor)?), None)
        }
        Some(found) if had_blank && is_key_char(found) => {
            return Err(EnvFileError {
                message: format!("a variable name cannot contain spaces: write {key}=value"),
                line,
                column: blank_column,
            });
        }
        Some(found) => {
            return Err(cursor.error(format!("unexpected `{found}` after the variable name `{key}`: expected `=`")));
        }
    };
    let inherit = value.is_none();
    let Value { raw, quote, dollars, marker: inline_marker } =
        value.unwrap_or(Value { raw: String::new(), quote: Quote::None, dollars: Vec::new(), marker: bare_marker });
    if quote != Quote::Single
        && let Err(error) = interpolate::variables(&raw)
    {
        let dollar = dollars.iter().find(|d| d.offset == error.offset);
        return Err(EnvFileError {
            message: format!("in the value of {key}: {}", error.message),
            line: dollar.map_or(line, |d| d.line),
            column: dollar.map_or(key_column, |d| d.column),
        });
    }
    let conventional = secret_name(&key) || !secret::userinfo_passwords(&raw).is_empty();
    let secret = match inline_marker.or(marker) {
        Some(Marker::Secret) => true,
        Some(Marker::Public) => false,
        None => conventional,
    };
    Ok(Entry { key, raw, quote, line, secret, inherit, dollars })
}

/// Parses what follows `=`.
fn parse_value(cursor: &mut Cursor<'_>) -> Result<Value, EnvFileError> {
    let had_blank = cursor.skip_blanks();
    let mut raw = String::new();
    let mut dollars = Vec::new();
    let quote = match cursor.peek() {
        Some('\'') => Quote::Single,
        Some('"') => Quote::Double,
        _ => {
            // A `#` after a blank starts a comment, so `KEY= # note` is empty but `KEY=a#b`
            // keeps its `#`.
            let mut after_blank = had_blank;
            while let Some(c) = cursor.peek() {
                if c == '\n' || (c == '#' && after_blank) {
                    break;
                }
                if c == '$' {
                    dollars.push(cursor.dollar(raw.len()));
                }
                raw.push(c);
                after_blank = is_blank(c);
                cursor.bump();
            }
            raw.truncate(raw.trim_end_matches(is_blank).len());
            let marker = find_marker(cursor.take_line());
            return Ok(Value { raw, quote: Quote::None, dollars, marker });
        }
    };
    let open = cursor.error(match quote {
        Quote::Single => "unterminated single-quoted value: add the closing `'`".to_owned(),
        _ => "unterminated double-quoted value: add the closing `\"`".to_owned(),
    });
    cursor.bump();
    loop {
        let Some(c) = cursor.peek() else {
            return Err(open);
        };
        match (quote, c) {
            (Quote::Single, '\'') | (Quote::Double, '"') => {
                cursor.bump();
                break;
            }
            (Quote::Double, '\\') => {
                let dollar = cursor.dollar(raw.len());
                cursor.bump();
                match cursor.peek() {
                    None => return Err(open),
                    Some('n') => raw.push('\n'),
                    Some('t') => raw.push('\t'),
                    Some('r') => raw.push('\r'),
                    Some('"') => raw.push('"'),
                    Some('\\') => raw.push('\\'),
                    // Kept escaped for interpolation, which turns `$$` into `$`.
                    Some('$') => {
                        dollars.push(dollar);
                        raw.push_str("$$");
                    }
                    // Other backslashes are kept, as a shell keeps them in double quotes.
                    Some(other) => {
                        raw.push('\\');
                        raw.push(other);
                    }
                }
                cursor.bump();
            }
            (Quote::Double, '$') => {
                dollars.push(cursor.dollar(raw.len()));
                raw.push('$');
                cursor.bump();
            }
            (_, c) => {
                raw.push(c);
                cursor.bump();
            }
        }
    }
    // Only a comment may follow the closing quote.
    let had_blank = cursor.skip_blanks();
    let marker = match cursor.peek() {
        None | Some('\n') => None,
        Some('#') if had_blank => find_marker(cursor.take_line()),
        Some(found) => {
            return Err(
                cursor.error(format!("unexpected `{found}` after the closing quote: only a ` #` comment may follow a quoted value"))
            );
        }
    };
    Ok(Value { raw, quote, dollars, marker })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    /// Checks each entry's key, raw value and quote.
    fn check(input: &str, expected: &[(&str, &str, Quote)]) {
        let file = parse(input).unwrap();
        let actual: Vec<_> = file.entries.iter().map(|e| (e.key.as_str(), e.raw.as_str(), e.quote)).collect();
        assert_eq!(actual, expected, "input {input:?}");
    }

    fn check_error(input: &str, message: &str, line: usize, column: usize) {
        let error = parse(input).unwrap_err();
        assert!(error.message.contains(message), "input {input:?}: {:?} does not contain {message:?}", error.message);
        assert_eq!((error.line, error.column), (line, column), "input {input:?}: {}", error.message);
    }

    fn resolve(input: &str, outer: &[(&str, &str)]) -> Result<Vec<(String, String)>, EnvFileError> {
        let lookup = |name: &str| outer.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
        parse(input).unwrap().resolve(&lookup)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    use Quote::{Double, None as Bare, Single};

    #[test]
    fn syntax() {
        check("", &[]);
        check("\n# comment\n\n   # indented comment\n", &[]);
        check("A=1\nB = 2 \n  C=  three words  \n", &[("A", "1", Bare), ("B", "2", Bare), ("C", "three words", Bare)]);
        check("export A=1\nexport=2\nexport.x=3\n", &[("A", "1", Bare), ("export", "2", Bare), ("export.x", "3", Bare)]);
        check("A=x # comment\nB=x#y\nC= # only a comment\nD=\n", &[("A", "x", Bare), ("B", "x#y", Bare), ("C", "", Bare), ("D", "", Bare)]);
        check("A='x # y $Z'\nB=\"q\\\"uo\\\\te\\n\\t\\$x\\q\"", &[("A", "x # y $Z", Single), ("B", "q\"uo\\te\n\t$$x\\q", Double)]);
        check(
            "A='multi\nline'\nB=\"also\nmulti\" # c\nC=3",
            &[("A", "multi\nline", Single), ("B", "also\nmulti", Double), ("C", "3", Bare)],
        );
        check("A=1\r\nB='2'\r\n", &[("A", "1", Bare), ("B", "2", Single)]);
        check("a.b-c_D=1\n_X=2", &[("a.b-c_D", "1", Bare), ("_X", "2", Bare)]);
        let file = parse("A=1\n\n# c\nB\nexport C # inherit\n").unwrap();
        let lines: Vec<_> = file.entries.iter().map(|e| (e.line, e.inherit)).collect();
        assert_eq!(lines, [(1, false), (4, true), (5, true)]);
        assert_eq!(file.get("C").unwrap().key, "C");
    }

    #[test]
    fn syntax_errors() {
        check_error("A=1\n1ABC=x", "invalid variable name `1ABC`", 2, 1);
        check_error("=x", "expected a variable name", 1, 1);
        check_error("  KEY WITH SPACE=x", "cannot contain spaces", 1, 6);
        check_error("KEY:x", "unexpected `:`", 1, 4);
        check_error("A=1\nB='open\nmore", "unterminated single-quoted value", 2, 3);
        check_error("B=\"open", "unterminated double-quoted value", 1, 3);
        check_error("B=\"ends with backslash\\", "unterminated double-quoted value", 1, 3);
        check_error("B='x' y", "after the closing quote", 1, 7);
        check_error("B='x'#y", "after the closing quote", 1, 6);
        check_error("A=ok ${B", "unterminated `${`", 1, 6);
        check_error("A=\"a\\n${}\"", "invalid variable name", 1, 7);
        assert!(parse("A='${'").is_ok());
    }

    #[test]
    fn resolves_in_order() {
        let text = "A=1\nB=$A-${C:-c}\nC=3\nD=${C}${OUT}\nE='$A'\nF=\"\\$A $A\"\nA=again\nG=$A\nH\nI\n";
        assert_eq!(
            resolve(text, &[("OUT", "o"), ("H", "h"), ("A", "outer")]).unwrap(),
            pairs(&[("A", "again"), ("B", "1-c"), ("C", "3"), ("D", "3o"), ("E", "$A"), ("F", "$A 1"), ("G", "again"), ("H", "h")])
        );
    }

    #[test]
    fn resolve_errors_point_at_the_dollar() {
        let error = resolve("A=1\nB=\"x\\\"y\" \nC=\"a\nb ${NEED:?set it}\"", &[]).unwrap_err();
        assert_eq!(error.message, "in the value of C: required variable NEED is missing a value: set it");
        assert_eq!((error.line, error.column), (4, 3));
        let error = resolve("  A=\"\\\\\\\"${X?}\"", &[]).unwrap_err();
        assert_eq!((error.line, error.column), (1, 10));
    }

    #[test]
    fn a_blank_line_ends_a_marker_block() {
        let file = parse("# explains: @secret marks the next key\n\n# a plain comment\nNAME=x\n# @secret\nPASS=y\n").unwrap();
        assert!(!file.get("NAME").unwrap().secret);
        assert!(file.get("PASS").unwrap().secret);
    }

    #[test]
    fn secret_marking() {
        let text = "\
DB_PASSWORD=x
API_KEY=x
github-token=x
SSH_KEY=x
PLAIN=x
URL=postgres://app:pw@db/app
NO_PW_URL=postgres://app@db/app
# @secret
MARKED=x
# @public
# the next line is not a secret
SESSION_SECRET=x

# @public: a public URL
PUBLIC_URL=https://u:p@example.com
INLINE=x # @secret
KEYBOARD=x
";
        let file = parse(text).unwrap();
        let secret: Vec<_> = file.entries.iter().filter(|e| e.secret).map(|e| e.key.as_str()).collect();
        assert_eq!(secret, ["DB_PASSWORD", "API_KEY", "github-token", "SSH_KEY", "URL", "MARKED", "INLINE"]);
    }

    #[test]
    fn render_examples() {
        let rendered = render(&pairs(&[("A", "plain"), ("B", "it's $x \"q\" \\ \n"), ("C", "")]));
        assert_eq!(rendered, "A='plain'\nB=\"it's \\$x \\\"q\\\" \\\\ \\n\"\nC=''\n");
    }

    proptest! {
        #[test]
        fn render_parse_resolve_round_trips(
            map in prop::collection::btree_map("[A-Za-z_][A-Za-z0-9_.-]{0,8}", any::<String>(), 0..8),
        ) {
            let entries: Vec<(String, String)> = map.into_iter().collect();
            let text = render(&entries);
            let file = parse(&text).unwrap();
            prop_assert_eq!(file.resolve(&|_| Some("outer".to_owned())).unwrap(), entries);
        }

        #[test]
        fn parse_never_panics(text in any::<String>()) {
            if let Ok(file) = parse(&text) {
                let _ = file.resolve(&|_| None);
            }
        }

        #[test]
        fn parse_never_panics_on_envish_text(text in "[A-Z_=#'\"\\\\$ {}:?\\-\n\t1]{0,60}") {
            if let Ok(file) = parse(&text) {
                let _ = file.resolve(&|_| None);
            }
        }
    }
}
