//! The YAML reader: yaml-rust2's parser events built into a spanned [`Node`] tree, with anchors,
//! aliases and merge keys resolved and duplicate keys refused.

use std::collections::{HashMap, HashSet};
use std::str::Chars;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::{Location, MAX_DEPTH, Node, Scalar, SyntaxError, Value, syntax_error};

/// Aliases can expand a small document exponentially ("billion laughs"); past this many nodes
/// the document is refused instead of exhausting memory.
const MAX_NODES: usize = 1_000_000;

/// Parses the first YAML document of `text`; empty input is a null node at 1:1.
///
/// Aliases become copies of their anchored node, `<<` merge keys are applied, and duplicate
/// keys are errors. Nesting past 128 levels or expansion past 1 000 000 nodes is refused.
pub fn parse_yaml(text: &str) -> Result<Node, SyntaxError> {
    // Only the first document counts; later ones are not even scanned.
    let first = Documents::new(text).next_document()?;
    Ok(first.unwrap_or(Node { value: Value::Null, location: Location { line: 1, column: 1 } }))
}

/// Parses every document of the YAML stream `text` (documents separated by `---`, or ended
/// by `...`), in order, with the lines and columns of the whole text.
///
/// Every document is returned, also an empty one (a `---` with nothing after it before the
/// next, such as a trailing `---`): it is a null node at its `---`. Text without any content
/// (empty, or only comments) has no documents. Each document is read as [`parse_yaml`] reads
/// one; an anchor belongs to its document, so an alias cannot refer to an earlier one. The
/// limit of 1 000 000 nodes holds for the whole stream.
///
/// # Errors
///
/// The first syntax error of the stream; the documents before it are not returned.
pub fn parse_yaml_documents(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut documents = Documents::new(text);
    let mut out = Vec::new();
    while let Some(document) = documents.next_document()? {
        out.push(document);
    }
    Ok(out)
}

/// Reads the documents of a YAML stream one after the other.
struct Documents<'a> {
    parser: Parser<Chars<'a>>,
    builder: YamlBuilder,
    /// The stream's end was read: there are no more documents.
    ended: bool,
}

impl<'a> Documents<'a> {
    fn new(text: &'a str) -> Self {
        Documents { parser: Parser::new_from_str(text), builder: YamlBuilder::default(), ended: false }
    }

    /// The next document, `None` at the end of the stream.
    fn next_document(&mut self) -> Result<Option<Node>, SyntaxError> {
        if self.ended {
            return Ok(None);
        }
        let builder = &mut self.builder;
        let mut started = false;
        loop {
            let (event, marker) = self.parser.next_token().map_err(|error| scan_error(&error))?;
            let location = location_of(&marker);
            match event {
                Event::Nothing | Event::StreamStart => {}
                Event::DocumentStart => {
                    started = true;
                    builder.document_start = location;
                }
                Event::StreamEnd => {
                    self.ended = true;
                    break;
                }
                Event::DocumentEnd => break,
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
        let root = builder.end_document();
        // The parser gives every document a node; a document without one is null at its start.
        Ok(started.then(|| root.unwrap_or(Node { value: Value::Null, location: builder.document_start })))
    }
}

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
    /// The anchors of the current document.
    anchors: HashMap<usize, Anchored>,
    /// The anchors of the documents before it: YAML anchors do not cross `---`.
    earlier_anchors: HashSet<usize>,
    /// Nodes built so far in the stream, counting every alias expansion.
    nodes: usize,
    /// Where the current document starts (its `---`, or its first token).
    document_start: Location,
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
        // its key, or the `---` of an empty document, is the better place to point at.
        let empty = text.is_empty() && style == TScalarStyle::Plain;
        let location = match self.stack.last().map(|frame| &frame.collection) {
            Some(Collection::Map(MapBuilder { key: Some(key), .. })) if empty => key.location,
            None if empty => self.document_start,
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
        if self.earlier_anchors.contains(&id) {
            return Err(syntax_error(
                "alias refers to an anchor of an earlier document; an anchor holds only until the next `---`",
                location,
            ));
        }
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

    /// The finished document's root; its anchors end with it.
    fn end_document(&mut self) -> Option<Node> {
        self.earlier_anchors.extend(self.anchors.drain().map(|(id, _)| id));
        self.root.take()
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::node::testing::{at, error_at};
    use proptest::prelude::*;

    #[test]
    fn yaml_locations_are_one_based() {
        let doc = parse_yaml("a: 1\nb:\n  - x\n  - 'y'\nc:\n").unwrap();
        assert!(doc.get("b").unwrap().items().unwrap()[1].as_scalar().unwrap().quoted);
        assert!(doc.get("c").unwrap().is_null());
        let nested = parse_yaml("top:\n  - k: v\n    j:\n").unwrap();
        let item = &nested.get("top").unwrap().items().unwrap()[0];
        assert_eq!(item.location, at(2, 5));
        assert_eq!(item.get("j").unwrap().location, at(3, 5));
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
            let error = error_at(parse_yaml, text, location);
            assert!(error.message.contains(message), "{text:?}: {} does not contain {message}", error.message);
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

    /// Every document's kind and location.
    fn documents(text: &str) -> Vec<(&'static str, Location)> {
        parse_yaml_documents(text).unwrap().iter().map(|node| (node.kind(), node.location)).collect()
    }

    #[test]
    fn every_document_of_a_stream_with_its_location_in_the_whole_text() {
        let docs = parse_yaml_documents("a: 1\n---\nb:\n  - x\n--- !thing\nc: 3\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].get("a").unwrap().location, at(1, 4));
        assert_eq!(docs[1].location, at(3, 1));
        assert_eq!(docs[1].get("b").unwrap().items().unwrap()[0].location, at(4, 5));
        assert_eq!(docs[2].get("c").unwrap().as_i64(), Some(3));
        assert_eq!(docs[2].location, at(6, 1));
        // Content on the `---` line, and `...` ending a document.
        let docs = parse_yaml_documents("--- {a: 1}\n--- |\n  text\n...\n---\n- x\n").unwrap();
        assert_eq!(docs[0].get("a").unwrap().location, at(1, 9));
        assert_eq!(docs[1].as_str(), Some("text\n"));
        assert_eq!(docs[2].items().unwrap()[0].as_str(), Some("x"));
        assert_eq!(docs.len(), 3);
    }

    #[test]
    fn empty_documents_are_null_at_their_separator() {
        assert_eq!(documents("---\n---\nb: 2\n"), [("null", at(1, 1)), ("a mapping", at(3, 1))]);
        assert_eq!(documents("a: 1\n---\n---\nb: 2\n"), [("a mapping", at(1, 1)), ("null", at(2, 1)), ("a mapping", at(4, 1))]);
        assert_eq!(documents("---\n...\n---\n"), [("null", at(1, 1)), ("null", at(3, 1))]);
        // A written null is where it is written.
        assert_eq!(documents("--- ~\n"), [("null", at(1, 5))]);
    }

    #[test]
    fn a_trailing_separator_is_one_more_empty_document() {
        assert_eq!(documents("a: 1\n---\n"), [("a mapping", at(1, 1)), ("null", at(2, 1))]);
        assert_eq!(documents("a: 1\n---"), [("a mapping", at(1, 1)), ("null", at(2, 1))]);
        // An end marker closes the document without starting another.
        assert_eq!(documents("a: 1\n...\n"), [("a mapping", at(1, 1))]);
    }

    #[test]
    fn comments_are_no_documents() {
        assert_eq!(documents(""), []);
        assert_eq!(documents("# only a comment\n\n"), []);
        let text = "# header\n---\n# about a\na: 1 # trailing\n--- # a comment on the separator\n# only a comment\n";
        assert_eq!(documents(text), [("a mapping", at(4, 1)), ("null", at(5, 1))]);
        assert_eq!(parse_yaml_documents(text).unwrap()[0].get("a").unwrap().as_i64(), Some(1));
    }

    #[test]
    fn anchors_end_with_their_document() {
        let error = parse_yaml_documents("a: &x 1\n---\nb: *x\n").unwrap_err();
        assert!(error.message.contains("earlier document"), "{}", error.message);
        assert_eq!(error.location, at(3, 4));
        let docs = parse_yaml_documents("a: &x 1\n---\nb: &x 2\nc: *x\n").unwrap();
        assert_eq!(docs[1].get("c").unwrap().as_i64(), Some(2));
    }

    #[test]
    fn an_error_in_a_later_document_is_located_in_the_whole_text() {
        let check = |text: &str, message: &str, location: Location| {
            let error = error_at(parse_yaml_documents, text, location);
            assert!(error.message.contains(message), "{text:?}: {}", error.message);
        };
        check("a: 1\n---\nk: 1\nk: 2\n", "duplicate key `k`", at(4, 1));
        check("a: 1\n---\nb: 'open\n", "quoted scalar", at(3, 4));
        // parse_yaml reads only the first document, so it does not see these.
        assert!(parse_yaml("a: 1\n---\nk: 1\nk: 2\n").is_ok());
    }

    /// Streams of a few documents: lines of separators, end markers, comments and content.
    fn stream() -> impl Strategy<Value = String> {
        const LINES: &[&str] =
            &["---", "...", "--- # c", "--- !t", "# c", "", "a: 1", "b: &x [2]", "c: *x", "- x", "  - y", "k: [1", "]", "d:"];
        prop::collection::vec(prop::sample::select(LINES), 0..12).prop_map(|lines| lines.join("\n"))
    }

    fn the_first_document_is_what_parse_yaml_reads(text: &str) -> Result<(), TestCaseError> {
        if let Ok(documents) = parse_yaml_documents(text) {
            let first = documents.into_iter().next().unwrap_or(Node { value: Value::Null, location: at(1, 1) });
            prop_assert_eq!(parse_yaml(text), Ok(first));
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn the_first_of_several_documents_is_what_parse_yaml_reads(text in stream()) {
            the_first_document_is_what_parse_yaml_reads(&text)?;
        }

        #[test]
        fn the_first_document_of_yamlish_text_is_what_parse_yaml_reads(text in "[-:\\[\\]{}&*!|>'\"#%@`,? \n\ta-c0-1<~.]{0,80}") {
            the_first_document_is_what_parse_yaml_reads(&text)?;
        }

        #[test]
        fn yaml_never_panics_on_yamlish_text(text in "[-:\\[\\]{}&*!|>'\"#%@`,? \n\ta-c0-1<~.]{0,80}") {
            let _ = parse_yaml(&text);
        }
    }
}
