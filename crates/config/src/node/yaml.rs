//! The YAML reader: yaml-rust2's parser events built into a spanned [`Node`] tree, with anchors,
//! aliases and merge keys resolved and duplicate keys refused.

use std::collections::{HashMap, HashSet};

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn at(line: usize, column: usize) -> Location {
        Location { line, column }
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

    proptest! {
        #[test]
        fn yaml_never_panics_on_yamlish_text(text in "[-:\\[\\]{}&*!|>'\"#%@`,? \n\ta-c0-1<~.]{0,80}") {
            let _ = parse_yaml(&text);
        }
    }
}
