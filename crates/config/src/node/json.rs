//! The JSON reader: serde_json decides what is JSON and words the errors; a small parser of its
//! own then builds the spanned [`Node`] tree of text serde_json accepted.

use std::collections::HashSet;

use super::{Location, MAX_DEPTH, Node, Scalar, SyntaxError, Value, syntax_error};

/// Parses one JSON value, accepting exactly what `serde_json` accepts.
pub fn parse_json(text: &str) -> Result<Node, SyntaxError> {
    // serde_json is the reference for what JSON is and for where its errors are; the spanned
    // parser below only runs on text serde_json accepted, so the two cannot disagree.
    if let Err(error) = serde_json::from_str::<serde_json::Value>(text) {
        return Err(json_error(&error));
    }
    let mut parser = JsonParser::new(text);
    parser.skip_whitespace();
    let node = parser.value(0)?;
    parser.skip_whitespace();
    if parser.peek().is_some() {
        return Err(parser.error("trailing characters"));
    }
    Ok(node)
}

fn json_error(error: &serde_json::Error) -> SyntaxError {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    // serde_json says column 0 for errors before the first character of a line.
    let location = Location { line: error.line().max(1), column: error.column().max(1) };
    syntax_error(message, location)
}

/// A spanned JSON parser for text serde_json has already accepted; its own errors are
/// guards, not the user-facing ones.
struct JsonParser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    column: usize,
}

impl<'a> JsonParser<'a> {
    fn new(text: &'a str) -> Self {
        JsonParser { text, bytes: text.as_bytes(), pos: 0, line: 1, column: 1 }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) {
        let Some(byte) = self.peek() else { return };
        self.pos += 1;
        if byte == b'\n' {
            self.line += 1;
            self.column = 1;
        } else if (byte & 0xC0) != 0x80 {
            // Columns count characters, like YAML's, so continuation bytes do not advance them.
            self.column += 1;
        }
    }

    fn location(&self) -> Location {
        Location { line: self.line, column: self.column }
    }

    fn error(&self, message: &str) -> SyntaxError {
        syntax_error(message, self.location())
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), SyntaxError> {
        if self.peek() != Some(byte) {
            return Err(self.error(&format!("expected `{}`", char::from(byte))));
        }
        self.bump();
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        let location = self.location();
        let value = match self.peek() {
            Some(b'{' | b'[') if depth >= MAX_DEPTH => {
                return Err(self.error(&format!("nesting deeper than {MAX_DEPTH} levels")));
            }
            Some(b'{') => Value::Map(self.object(depth)?),
            Some(b'[') => Value::Seq(self.array(depth)?),
            Some(b'"') => Value::Scalar(Scalar { text: self.string()?, quoted: true }),
            Some(b't') => self.literal("true")?,
            Some(b'f') => self.literal("false")?,
            Some(b'n') => {
                self.literal("null")?;
                Value::Null
            }
            Some(b'-' | b'0'..=b'9') => Value::Scalar(Scalar { text: self.number()?, quoted: false }),
            _ => return Err(self.error("expected value")),
        };
        Ok(Node { value, location })
    }

    fn object(&mut self, depth: usize) -> Result<Vec<(Node, Node)>, SyntaxError> {
        self.bump();
        let mut entries = Vec::new();
        let mut keys = HashSet::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.bump();
            return Ok(entries);
        }
        loop {
            self.skip_whitespace();
            let location = self.location();
            if self.peek() != Some(b'"') {
                return Err(self.error("key must be a string"));
            }
            let text = self.string()?;
            if !keys.insert(text.clone()) {
                return Err(syntax_error(format!("duplicate key `{text}`"), location));
            }
            let key = Node { value: Value::Scalar(Scalar { text, quoted: true }), location };
            self.skip_whitespace();
            self.expect(b':')?;
            self.skip_whitespace();
            let value = self.value(depth + 1)?;
            entries.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b'}') => {
                    self.bump();
                    return Ok(entries);
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Vec<Node>, SyntaxError> {
        self.bump();
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.bump();
            return Ok(items);
        }
        loop {
            self.skip_whitespace();
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b']') => {
                    self.bump();
                    return Ok(items);
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    fn literal(&mut self, word: &str) -> Result<Value, SyntaxError> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        if !rest.starts_with(word.as_bytes()) {
            return Err(self.error("expected ident"));
        }
        for _ in 0..word.len() {
            self.bump();
        }
        Ok(Value::Scalar(Scalar { text: word.to_owned(), quoted: false }))
    }

    fn digits(&mut self) -> Result<(), SyntaxError> {
        if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(self.error("invalid number"));
        }
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.bump();
        }
        Ok(())
    }

    fn number(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.bump();
        }
        if self.peek() == Some(b'0') {
            self.bump();
        } else {
            self.digits()?;
        }
        if self.peek() == Some(b'.') {
            self.bump();
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.bump();
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump();
            }
            self.digits()?;
        }
        self.slice(start)
    }

    fn slice(&self, start: usize) -> Result<String, SyntaxError> {
        self.text.get(start..self.pos).map(str::to_owned).ok_or_else(|| self.error("invalid UTF-8 boundary"))
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.bump();
        let mut out = String::new();
        loop {
            let start = self.pos;
            while self.peek().is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20) {
                self.bump();
            }
            out.push_str(&self.slice(start)?);
            match self.peek() {
                Some(b'"') => {
                    self.bump();
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.bump();
                    out.push(self.escape()?);
                }
                Some(_) => return Err(self.error("control character in string")),
                None => return Err(self.error("EOF while parsing a string")),
            }
        }
    }

    fn escape(&mut self) -> Result<char, SyntaxError> {
        let Some(byte) = self.peek() else {
            return Err(self.error("EOF while parsing a string"));
        };
        self.bump();
        Ok(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&first) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    self.expect(b'\\')?;
                    self.expect(b'u')?;
                    let second = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return Err(self.error("lone leading surrogate in hex escape"));
                    }
                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                } else {
                    first
                };
                char::from_u32(code).ok_or_else(|| self.error("invalid unicode code point"))?
            }
            _ => return Err(self.error("invalid escape")),
        })
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = self.peek().and_then(|b| char::from(b).to_digit(16)).ok_or_else(|| self.error("invalid escape"))?;
            code = code * 16 + digit;
            self.bump();
        }
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::node::testing::{at, error_at};

    #[test]
    fn json_tree_and_values() {
        let doc = parse_json("{\n\t\"a\": [1, -2.5e3, true, null, \"\\u00e9\\ud83d\\ude00\\/\"],\n  \"b\": {}\n}").unwrap();
        let items = doc.get("a").unwrap().items().unwrap();
        assert_eq!(items[1].as_str(), Some("-2.5e3"));
        assert_eq!(items[1].as_f64(), Some(-2500.0));
        assert_eq!(items[2].as_bool(), Some(true));
        assert!(items[3].is_null());
        assert_eq!(items[4].as_str(), Some("é😀/"));
        assert_eq!(doc.get("b").unwrap().entries().map(<[_]>::len), Some(0));
    }

    #[test]
    fn json_errors_match_serde_json() {
        let check =
            |text: &str, message: &str, location: Location| assert_eq!(error_at(parse_json, text, location).message, message, "{text:?}");
        check("", "EOF while parsing a value", at(1, 1));
        check("{\"a\": 1,}", "trailing comma", at(1, 9));
        check("[1]\nx", "trailing characters", at(2, 1));
        check("{\"a\": 1, \"a\": 2}", "duplicate key `a`", at(1, 10));
        check("\"\\ud800\"", "unexpected end of hex escape", at(1, 8));
        check("\"\\ud800\\u0041\"", "lone leading surrogate in hex escape", at(1, 13));
        check("1e400", "number out of range", at(1, 5));
        check(&"[".repeat(200), "recursion limit exceeded", at(1, 128));
    }
}
