//! Spanned document tree for YAML and JSON, so that every later validation error can name the
//! line and column of the value it is about.

use std::collections::{HashMap, HashSet};
use std::fmt;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

/// A position in the source text; both numbers start at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// One value of the document and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub location: Location,
}

/// The shape of a node. Scalars keep their source text; typing happens on access.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// Every non-null scalar keeps its source text.
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// Key node (always a [`Value::Scalar`]) and value node, in source order.
    Map(Vec<(Node, Node)>),
}

/// The text of a scalar and whether it was quoted (quoted scalars are always strings).
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub text: String,
    pub quoted: bool,
}

/// A document that could not be read, and where the reader gave up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    pub message: String,
    pub location: Location,
}

/// Nesting deeper than this is refused: the tree's `Drop`, `Clone` and `PartialEq` recurse, and
/// serde_json stops at the same depth.
const MAX_DEPTH: usize = 128;

/// Aliases can expand a small document exponentially ("billion laughs"); past this many nodes
/// the document is refused instead of exhausting memory.
const MAX_NODES: usize = 1_000_000;

/// Parses the first YAML document of `text`; empty input is a null node at 1:1.
///
/// Aliases become copies of their anchored node, `<<` merge keys are applied, and duplicate
/// keys are errors. Nesting past 128 levels or expansion past 1 000 000 nodes is refused.
pub fn parse_yaml(text: &str) -> Result<Node, SyntaxError> {
    let mut parser = Parser::new_from_str(text);
    let mut builder = YamlBuilder::default();
    loop {
        let (event, marker) = parser.next_token().map_err(|error| scan_error(&error))?;
        let location = location_of(&marker);
        match event {
            Event::Nothing | Event::StreamStart | Event::DocumentStart => {}
            // Only the first document counts; later ones are not even scanned.
            Event::StreamEnd | Event::DocumentEnd => break,
            Event::Scalar(text, style, anchor, tag) => {
                builder.scalar(text, style, anchor, tag.as_ref(), location)?;
            }
            Event::Alias(id) => builder.alias(id, location)?,
            Event::SequenceStart(anchor, _) => {
                builder.open(Collection::Seq(Vec::new()), anchor, location)?;
            }
            Event::MappingStart(anchor, _) => {
                builder.open(Collection::Map(MapBuilder::default()), anchor, location)?;
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close(location)?,
        }
    }
    if let Some(frame) = builder.stack.last() {
        return Err(syntax_error("unexpected end of document", frame.location));
    }
    Ok(builder.root.unwrap_or(Node { value: Value::Null, location: Location { line: 1, column: 1 } }))
}

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

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl Node {
    /// The value of `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    /// The text of any scalar, quoted or not.
    pub fn as_str(&self) -> Option<&str> {
        self.as_scalar().map(|scalar| scalar.text.as_str())
    }

    /// An unquoted `true` or `false` (also `True`, `TRUE`, `False`, `FALSE`).
    pub fn as_bool(&self) -> Option<bool> {
        parse_bool(self.plain()?)
    }

    /// An unquoted decimal, `0x` hexadecimal or `0o` octal integer.
    pub fn as_i64(&self) -> Option<i64> {
        parse_int(self.plain()?)
    }

    /// An unquoted integer or float, including `.inf` and `.nan`.
    pub fn as_f64(&self) -> Option<f64> {
        parse_float(self.plain()?)
    }

    pub fn is_null(&self) -> bool {
        self.value == Value::Null
    }

    /// What the node is, phrased for error messages ("expected a list, found a string").
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Scalar(scalar) if scalar.quoted => "a string",
            Value::Scalar(scalar) => {
                if parse_bool(&scalar.text).is_some() {
                    "a boolean"
                } else if parse_float(&scalar.text).is_some() {
                    "a number"
                } else {
                    "a string"
                }
            }
        }
    }

    /// The text of an unquoted scalar: only those can be booleans or numbers.
    fn plain(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(scalar) if !scalar.quoted => Some(&scalar.text),
            _ => None,
        }
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn all_digits(text: &str, radix: u32) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_digit(radix))
}

/// YAML 1.2 core schema integers; `str::parse` alone would also accept forms YAML calls strings.
fn parse_int(text: &str) -> Option<i64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return all_digits(hex, 16).then(|| i64::from_str_radix(hex, 16).ok()).flatten();
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return all_digits(octal, 8).then(|| i64::from_str_radix(octal, 8).ok()).flatten();
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    all_digits(digits, 10).then(|| text.parse().ok()).flatten()
}

/// YAML 1.2 core schema floats (which include every JSON number).
fn parse_float(text: &str) -> Option<f64> {
    if let Some(int) = parse_int(text) {
        // Precision loss on huge integers is expected of a float view.
        #[allow(clippy::cast_precision_loss)]
        return Some(int as f64);
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    match unsigned {
        ".inf" | ".Inf" | ".INF" if text.starts_with('-') => return Some(f64::NEG_INFINITY),
        ".inf" | ".Inf" | ".INF" => return Some(f64::INFINITY),
        ".nan" | ".NaN" | ".NAN" if unsigned.len() == text.len() => return Some(f64::NAN),
        _ => {}
    }
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (mantissa, ""),
    };
    let digits_ok = (whole.is_empty() || all_digits(whole, 10))
        && (fraction.is_empty() || all_digits(fraction, 10))
        && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|e| all_digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10));
    if !(digits_ok && exponent_ok) {
        return None;
    }
    text.parse().ok()
}

fn syntax_error(message: impl Into<String>, location: Location) -> SyntaxError {
    SyntaxError { message: message.into(), location }
}

// ---------------------------------------------------------------------------------------------
// YAML

fn location_of(marker: &Marker) -> Location {
    // yaml-rust2 counts lines from 1 but columns from 0 (its own `Display` adds 1 to the column).
    Location { line: marker.line().max(1), column: marker.col() + 1 }
}

fn scan_error(error: &ScanError) -> SyntaxError {
    syntax_error(error.info(), location_of(error.marker()))
}

/// `!!str 12` is the string "12", so it counts as quoted.
fn is_str_tag(tag: &Tag) -> bool {
    tag.handle == "tag:yaml.org,2002:" && tag.suffix == "str"
}

/// Builds the tree from parser events with an explicit stack, so deep input cannot overflow
/// the call stack.
#[derive(Default)]
struct YamlBuilder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    /// Nodes built so far, counting every alias expansion.
    nodes: usize,
    root: Option<Node>,
}

struct Frame {
    collection: Collection,
    location: Location,
    anchor: usize,
    nodes_before: usize,
    /// Height of the tallest child so far; scalars have height 0.
    child_height: usize,
}

enum Collection {
    Seq(Vec<Node>),
    Map(MapBuilder),
}

#[derive(Default)]
struct MapBuilder {
    entries: Vec<(Node, Node)>,
    /// The key waiting for its value.
    key: Option<Node>,
    keys: HashSet<String>,
    /// Values of `<<` keys and the entry index they were written at.
    merges: Vec<(usize, Node)>,
    first_key: Option<Location>,
}

/// An anchored node with what it costs to copy it, so an alias can be refused before copying.
struct Anchored {
    node: Node,
    size: usize,
    height: usize,
}

impl YamlBuilder {
    fn count(&mut self, nodes: usize, location: Location) -> Result<(), SyntaxError> {
        self.nodes = within_node_limit(self.nodes, nodes, location)?;
        Ok(())
    }

    fn scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        location: Location,
    ) -> Result<(), SyntaxError> {
        self.count(1, location)?;
        // yaml-rust2 places an empty value at the token after it, often on the next line;
        // its key is the better place to point at.
        let location = match self.stack.last().map(|frame| &frame.collection) {
            Some(Collection::Map(MapBuilder { key: Some(key), .. })) if text.is_empty() && style == TScalarStyle::Plain => key.location,
            _ => location,
        };
        let quoted = style != TScalarStyle::Plain || tag.is_some_and(is_str_tag);
        let null = !quoted && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL");
        let (value, null_text) = if null { (Value::Null, text) } else { (Value::Scalar(Scalar { text, quoted }), String::new()) };
        let node = Node { value, location };
        self.remember(anchor, &node, 1, 0);
        self.attach(node, null_text, 0)
    }

    fn alias(&mut self, id: usize, location: Location) -> Result<(), SyntaxError> {
        let Some(anchored) = self.anchors.get(&id) else {
            return Err(syntax_error(
                "alias refers to a node that is not finished yet; an alias cannot point into its own anchor",
                location,
            ));
        };
        if self.stack.len() + anchored.height > MAX_DEPTH {
            return Err(syntax_error(format!("alias expands to nesting deeper than {MAX_DEPTH} levels"), location));
        }
        // Checked before copying, so an alias bomb is refused without being built.
        self.nodes = within_node_limit(self.nodes, anchored.size, location)?;
        let (node, height) = (anchored.node.clone(), anchored.height);
        self.attach(node, String::new(), height)
    }

    fn open(&mut self, collection: Collection, anchor: usize, location: Location) -> Result<(), SyntaxError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(syntax_error(format!("nesting deeper than {MAX_DEPTH} levels"), location));
        }
        let nodes_before = self.nodes;
        self.count(1, location)?;
        self.stack.push(Frame { collection, location, anchor, nodes_before, child_height: 0 });
        Ok(())
    }

    fn close(&mut self, location: Location) -> Result<(), SyntaxError> {
        let Some(frame) = self.stack.pop() else {
            return Err(syntax_error("end of a collection that was never started", location));
        };
        let mut location = frame.location;
        let value = match frame.collection {
            Collection::Seq(items) => Value::Seq(items),
            Collection::Map(map) => {
                // yaml-rust2 marks a block mapping's start after its first key (at the `:`),
                // so the first key is where the mapping really starts.
                location = map.first_key.map_or(location, |key| key.min(location));
                Value::Map(map.finish()?)
            }
        };
        let node = Node { value, location };
        let height = frame.child_height + 1;
        let size = self.nodes.saturating_sub(frame.nodes_before);
        self.remember(frame.anchor, &node, size, height);
        self.attach(node, String::new(), height)
    }

    fn remember(&mut self, anchor: usize, node: &Node, size: usize, height: usize) {
        // yaml-rust2 numbers anchors from 1; 0 means "no anchor".
        if anchor != 0 {
            let node = node.clone();
            self.anchors.insert(anchor, Anchored { node, size, height });
        }
    }

    /// Hands a finished node to its parent. `null_text` is the source text of a null scalar, so
    /// that `~: x` still has a key with text.
    fn attach(&mut self, node: Node, null_text: String, height: usize) -> Result<(), SyntaxError> {
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        frame.child_height = frame.child_height.max(height);
        match &mut frame.collection {
            Collection::Seq(items) => items.push(node),
            Collection::Map(map) => map.push(node, null_text)?,
        }
        Ok(())
    }
}

/// The node count after adding `more`, or an error past [`MAX_NODES`].
fn within_node_limit(nodes: usize, more: usize, location: Location) -> Result<usize, SyntaxError> {
    let total = nodes.saturating_add(more);
    if total > MAX_NODES {
        return Err(syntax_error(
            format!("document expands to more than {MAX_NODES} nodes; are aliases nested to repeat each other?"),
            location,
        ));
    }
    Ok(total)
}

impl MapBuilder {
    fn push(&mut self, node: Node, null_text: String) -> Result<(), SyntaxError> {
        if let Some(key) = self.key.take() {
            if is_merge_key(&key) {
                self.merges.push((self.entries.len(), node));
            } else {
                self.entries.push((key, node));
            }
            return Ok(());
        }
        let key = match node.value {
            Value::Scalar(_) => node,
            Value::Null => Node { value: Value::Scalar(Scalar { text: null_text, quoted: false }), location: node.location },
            Value::Seq(_) | Value::Map(_) => {
                return Err(syntax_error(format!("a mapping key must be a scalar, not {}", node.kind()), node.location));
            }
        };
        self.first_key.get_or_insert(key.location);
        let text = key.as_str().unwrap_or_default();
        if !self.keys.insert(text.to_owned()) {
            return Err(syntax_error(format!("duplicate key `{text}`"), key.location));
        }
        self.key = Some(key);
        Ok(())
    }

    /// Applies `<<` merges: merged keys never replace keys written in the mapping, and earlier
    /// sources win over later ones. Merged entries take the place of the `<<` key.
    fn finish(self) -> Result<Vec<(Node, Node)>, SyntaxError> {
        if let Some(key) = self.key {
            // The parser always pairs keys with values; this only guards the invariant.
            return Err(syntax_error("mapping key without a value", key.location));
        }
        if self.merges.is_empty() {
            return Ok(self.entries);
        }
        let mut taken: HashSet<String> = self.entries.iter().filter_map(|(key, _)| key.as_str().map(str::to_owned)).collect();
        let mut merged = Vec::new();
        for (index, value) in self.merges {
            let sources = match value.value {
                Value::Map(_) => vec![value],
                Value::Seq(items) => items,
                _ => return Err(merge_error(&value)),
            };
            let mut picked = Vec::new();
            for source in sources {
                let Value::Map(entries) = source.value else {
                    return Err(merge_error(&source));
                };
                for (key, value) in entries {
                    if taken.insert(key.as_str().unwrap_or_default().to_owned()) {
                        picked.push((key, value));
                    }
                }
            }
            merged.push((index, picked));
        }
        let mut merged = merged.into_iter().peekable();
        let mut out = Vec::new();
        for (index, entry) in self.entries.into_iter().enumerate() {
            while let Some((_, picked)) = merged.next_if(|(at, _)| *at <= index) {
                out.extend(picked);
            }
            out.push(entry);
        }
        out.extend(merged.flat_map(|(_, picked)| picked));
        Ok(out)
    }
}

fn is_merge_key(key: &Node) -> bool {
    matches!(&key.value, Value::Scalar(Scalar { text, quoted: false }) if text == "<<")
}

fn merge_error(node: &Node) -> SyntaxError {
    syntax_error(format!("the merge key `<<` takes a mapping or a list of mappings, not {}", node.kind()), node.location)
}

// ---------------------------------------------------------------------------------------------
// JSON

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
    use proptest::prelude::*;

    fn at(line: usize, column: usize) -> Location {
        Location { line, column }
    }

    /// Converts a tree back to JSON the way a typed reader would see it.
    fn to_json(node: &Node) -> serde_json::Value {
        use serde_json::Value as J;
        match &node.value {
            Value::Null => J::Null,
            Value::Scalar(scalar) if scalar.quoted => J::String(scalar.text.clone()),
            Value::Scalar(scalar) => {
                if let Some(b) = node.as_bool() {
                    J::Bool(b)
                } else if let Some(i) = node.as_i64() {
                    J::from(i)
                } else if let Some(f) = node.as_f64() {
                    J::from(f)
                } else {
                    J::String(scalar.text.clone())
                }
            }
            Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
            Value::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.as_str().unwrap().to_owned(), to_json(v))).collect()),
        }
    }

    #[test]
    fn yaml_locations_are_one_based() {
        let doc = parse_yaml("a: 1\nb:\n  - x\n  - 'y'\nc:\n").unwrap();
        assert_eq!(doc.location, at(1, 1));
        let (a_key, a_value) = &doc.entries().unwrap()[0];
        assert_eq!(a_key.location, at(1, 1));
        assert_eq!(a_value.location, at(1, 4));
        let b = doc.get("b").unwrap();
        let items = b.items().unwrap();
        assert_eq!(items[0].location, at(3, 5));
        assert_eq!(items[1].location, at(4, 5));
        assert!(items[1].as_scalar().unwrap().quoted);
        assert!(doc.get("c").unwrap().is_null());
        // An empty value is placed at its key, and a block mapping at its first key.
        assert_eq!(doc.get("c").unwrap().location, at(5, 1));
        let nested = parse_yaml("top:\n  - k: v\n    j:\n").unwrap();
        let item = &nested.get("top").unwrap().items().unwrap()[0];
        assert_eq!(item.location, at(2, 5));
        assert_eq!(item.get("j").unwrap().location, at(3, 5));
    }

    #[test]
    fn yaml_scalars_are_typed_on_access() {
        let doc =
            parse_yaml("t: True\nf: FALSE\ni: -12\nh: 0x1F\no: 0o17\nx: 1.5e3\nq: '12'\ns: !!str 12\nn: ~\ninf: -.inf\nw: yes\n").unwrap();
        assert_eq!(doc.get("t").unwrap().as_bool(), Some(true));
        assert_eq!(doc.get("f").unwrap().as_bool(), Some(false));
        assert_eq!(doc.get("i").unwrap().as_i64(), Some(-12));
        assert_eq!(doc.get("h").unwrap().as_i64(), Some(31));
        assert_eq!(doc.get("o").unwrap().as_i64(), Some(15));
        assert_eq!(doc.get("x").unwrap().as_f64(), Some(1500.0));
        assert_eq!(doc.get("x").unwrap().as_i64(), None);
        assert_eq!(doc.get("q").unwrap().as_i64(), None);
        assert_eq!(doc.get("q").unwrap().kind(), "a string");
        assert_eq!(doc.get("s").unwrap().kind(), "a string");
        assert_eq!(doc.get("i").unwrap().kind(), "a number");
        assert_eq!(doc.get("t").unwrap().kind(), "a boolean");
        assert_eq!(doc.get("w").unwrap().kind(), "a string");
        assert_eq!(doc.get("n").unwrap().kind(), "null");
        assert_eq!(doc.get("inf").unwrap().as_f64(), Some(f64::NEG_INFINITY));
        assert_eq!(doc.kind(), "a mapping");
    }

    #[test]
    fn empty_yaml_is_null_at_start() {
        for text in ["", "   \n", "# only a comment\n"] {
            let node = parse_yaml(text).unwrap();
            assert!(node.is_null(), "{text:?}");
            assert_eq!(node.location, at(1, 1));
        }
    }

    #[test]
    fn only_first_yaml_document_counts() {
        let doc = parse_yaml("--- !thing\na: 1\n---\nb: 2\n").unwrap();
        assert!(doc.get("a").is_some());
        assert!(doc.get("b").is_none());
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let text = "\
base: &base
  image: node
  port: 80
extra: &extra
  port: 90
  user: app
svc:
  port: 8080
  <<: [*base, *extra]
  name: api
copy: *base
";
        let doc = parse_yaml(text).unwrap();
        let svc = doc.get("svc").unwrap();
        let keys: Vec<_> = svc.entries().unwrap().iter().map(|(k, v)| (k.as_str().unwrap(), v.as_str().unwrap())).collect();
        assert_eq!(keys, [("port", "8080"), ("image", "node"), ("user", "app"), ("name", "api")]);
        assert_eq!(doc.get("copy").unwrap().get("image").unwrap().as_str(), Some("node"));
        // An alias is a copy of the anchored node, location included.
        assert_eq!(doc.get("copy").unwrap().location, doc.get("base").unwrap().location);

        let single = parse_yaml("a: &a {x: 1}\nb:\n  <<: *a\n  y: 2\n").unwrap();
        assert_eq!(single.get("b").unwrap().get("x").unwrap().as_i64(), Some(1));
        let quoted = parse_yaml("a: {'<<': 1}").unwrap();
        assert_eq!(quoted.get("a").unwrap().get("<<").unwrap().as_i64(), Some(1));
    }

    #[test]
    fn yaml_errors() {
        let check = |text: &str, message: &str, location: Location| {
            let error = parse_yaml(text).unwrap_err();
            assert!(error.message.contains(message), "{text:?}: {} does not contain {message}", error.message);
            assert_eq!(error.location, location, "{text:?}: {}", error.message);
        };
        check("a: 1\nb: 2\na: 3\n", "duplicate key `a`", at(3, 1));
        check("x:\n  - {k: 1, k: 2}\n", "duplicate key `k`", at(2, 12));
        check("a: [1, 2\n", "", at(2, 1));
        check("a: 'open\n", "quoted scalar", at(1, 4));
        check("a: *nope\n", "", at(1, 4));
        check("a: &a [*a]\n", "alias", at(1, 8));
        check("a: 1\n<<: 3\n", "merge key", at(2, 5));
        check("? [1]\n: x\n", "mapping key must be a scalar", at(1, 3));
        check(&"[".repeat(200), "nesting deeper", at(1, 129));
    }

    #[test]
    fn yaml_alias_bomb_is_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let prev = (b'a' + level - 1) as char;
            let name = (b'a' + level) as char;
            let items = vec![format!("*{prev}"); 10].join(", ");
            text.push_str(&format!("{name}: &{name} [{items}]\n"));
        }
        let error = parse_yaml(&text).unwrap_err();
        assert!(error.message.contains("more than 1000000 nodes"), "{}", error.message);
    }

    #[test]
    fn pathological_yaml_is_refused_quickly() {
        for text in ["- ".repeat(20_000), "{a: ".repeat(20_000), "[".repeat(100_000)] {
            let error = parse_yaml(&text).unwrap_err();
            // yaml-rust2 refuses deep flow nesting itself; block nesting stops at our limit.
            assert!(error.message.contains("nesting deeper") || error.message.contains("recursion limit"), "{}", error.message);
        }
        // Wide but shallow documents are fine.
        let wide = format!("[{}]", vec!["x"; 100_000].join(", "));
        assert_eq!(parse_yaml(&wide).unwrap().items().map(<[_]>::len), Some(100_000));
    }

    #[test]
    fn json_tree_and_locations() {
        let doc = parse_json("{\n\t\"a\": [1, -2.5e3, true, null, \"\\u00e9\\ud83d\\ude00\\/\"],\n  \"b\": {}\n}").unwrap();
        assert_eq!(doc.location, at(1, 1));
        let (key, value) = &doc.entries().unwrap()[0];
        assert_eq!(key.location, at(2, 2));
        assert_eq!(value.location, at(2, 7));
        let items = value.items().unwrap();
        assert_eq!(items[1].as_str(), Some("-2.5e3"));
        assert_eq!(items[1].as_f64(), Some(-2500.0));
        assert_eq!(items[2].as_bool(), Some(true));
        assert!(items[3].is_null());
        assert_eq!(items[4].as_str(), Some("é😀/"));
        assert_eq!(items[4].location, at(2, 31));
        assert_eq!(doc.get("b").unwrap().entries().map(<[_]>::len), Some(0));
    }

    #[test]
    fn json_errors_match_serde_json() {
        let check = |text: &str, message: &str, location: Location| {
            let error = parse_json(text).unwrap_err();
            assert_eq!(error.message, message, "{text:?}");
            assert_eq!(error.location, location, "{text:?}");
        };
        check("", "EOF while parsing a value", at(1, 1));
        check("{\"a\": 1,}", "trailing comma", at(1, 9));
        check("[1]\nx", "trailing characters", at(2, 1));
        check("{\"a\": 1, \"a\": 2}", "duplicate key `a`", at(1, 10));
        check("\"\\ud800\"", "unexpected end of hex escape", at(1, 8));
        check("\"\\ud800\\u0041\"", "lone leading surrogate in hex escape", at(1, 13));
        check("1e400", "number out of range", at(1, 5));
        check(&"[".repeat(200), "recursion limit exceeded", at(1, 128));
    }

    fn json_value(strings: BoxedStrategy<String>) -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value as J;
        let leaf = prop_oneof![
            Just(J::Null),
            any::<bool>().prop_map(J::Bool),
            any::<i64>().prop_map(J::from),
            strings.clone().prop_map(J::String),
        ];
        leaf.prop_recursive(4, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(J::Array),
                prop::collection::btree_map(strings.clone(), inner, 0..6).prop_map(|map| J::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn parsers_never_panic(text in any::<String>()) {
            let _ = parse_yaml(&text);
            let _ = parse_json(&text);
        }

        #[test]
        fn yaml_never_panics_on_yamlish_text(text in "[-:\\[\\]{}&*!|>'\"#%@`,? \n\ta-c0-1<~.]{0,80}") {
            let _ = parse_yaml(&text);
        }

        #[test]
        fn json_round_trips(value in json_value(any::<String>().boxed())) {
            for text in [serde_json::to_string(&value).unwrap(), serde_json::to_string_pretty(&value).unwrap()] {
                let node = parse_json(&text).unwrap();
                prop_assert_eq!(to_json(&node), value.clone());
            }
        }

        // YAML reads JSON too. Strings are kept to printable characters (and short, as YAML
        // limits implicit keys to 1024 characters): serde_json writes DEL and other
        // non-printables raw, which YAML does not allow.
        #[test]
        fn yaml_reads_json(value in json_value("\\PC{0,12}".boxed())) {
            for text in [serde_json::to_string(&value).unwrap(), serde_json::to_string_pretty(&value).unwrap()] {
                let node = parse_yaml(&text).unwrap();
                prop_assert_eq!(to_json(&node), value.clone(), "{}", text);
            }
        }
    }
}
