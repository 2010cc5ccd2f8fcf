//! Loads YAML or JSON text into a JSON value and remembers where every node starts.
//!
//! The text goes through yaml-rust2's event parser (JSON is YAML 1.2, so both take the same
//! path) and a builder with an explicit stack, so hostile input cannot overflow ours:
//! - scalars are typed by the YAML 1.2 core schema (see `scalar`); `!!map` and `!!seq` are
//!   the only tags collections take;
//! - aliases are expanded, with a cap on the total number of nodes (billion laughs);
//! - mapping keys are scalars, kept as their source text (`1: x` gives the key "1");
//!   `<<` is an ordinary key (merge keys are YAML 1.1, not 1.2);
//! - nesting is capped, duplicate keys and multiple documents are rejected.
//!
//! Known limit: the YAML scanner rejects JSON's UTF-16 surrogate-pair escapes
//! (`"\ud83d\ude00"`); write the character itself or YAML's `"\U0001F600"`.

mod scalar;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::diagnostic::Diagnostic;
use scalar::{scalar_value, tag_name};

/// Deeper documents are rejected: nothing legitimate nests this far, and recursive
/// consumers (validation, drop) must stay within the stack.
const MAX_DEPTH: usize = 512;
/// Cap on nodes after alias expansion, so a few lines cannot expand into gigabytes.
const MAX_NODES: usize = 1_000_000;

/// A loaded document: its JSON value and where each of its nodes starts in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub value: Value,
    pub positions: Positions,
}

impl Document {
    /// A diagnostic located at the node `pointer` designates (or its nearest known ancestor).
    pub fn diagnostic(&self, file: &str, pointer: &str, message: impl Into<String>) -> Diagnostic {
        let (line, column) = self.positions.locate(pointer);
        Diagnostic {
            file: file.to_owned(),
            line,
            column,
            message: message.into(),
            pointer: pointer.to_owned(),
        }
    }
}

/// Where the nodes of a document start, 1-based, kept as a tree shaped like the value so that
/// memory stays linear in the document (a flat map of pointers would repeat long keys).
///
/// An object member is located at its key, an array item where the item starts, the root at
/// (1, 1). Nodes copied by an alias have no positions of their own and locate at the alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Positions {
    root: Node,
}

#[derive(Debug, Clone, PartialEq)]
struct Node {
    at: (usize, usize),
    children: Children,
}

#[derive(Debug, Clone, PartialEq)]
enum Children {
    Leaf,
    Object(HashMap<String, Node>),
    Array(Vec<Node>),
}

impl Default for Positions {
    fn default() -> Self {
        Positions {
            root: Node::leaf((1, 1)),
        }
    }
}

impl Positions {
    /// The (line, column) of the node at `pointer`, or of its nearest known ancestor.
    pub fn locate(&self, pointer: &str) -> (usize, usize) {
        let mut node = &self.root;
        let Some(path) = pointer.strip_prefix('/') else {
            return node.at;
        };
        for token in path.split('/') {
            let key = token.replace("~1", "/").replace("~0", "~");
            let child = match &node.children {
                Children::Object(members) => members.get(&key),
                Children::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
                Children::Leaf => None,
            };
            match child {
                Some(child) => node = child,
                None => break,
            }
        }
        node.at
    }
}

impl Node {
    fn leaf(at: (usize, usize)) -> Self {
        Node {
            at,
            children: Children::Leaf,
        }
    }
}

/// Parses one YAML or JSON document.
pub fn parse(file: &str, text: &str) -> Result<Document, Diagnostic> {
    let mut builder = Builder {
        file,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
        documents: 0,
    };
    // A byte order mark is not content; yaml-rust2 would make it part of the first key.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) =
            next_event(&mut parser, text).map_err(|(mark, m)| builder.error(mark, m))?;
        if builder.event(event, mark)? {
            break;
        }
    }
    match builder.root {
        Some((value, node)) => Ok(Document {
            value,
            positions: Positions { root: node },
        }),
        None => Err(builder.error(Mark::START, "empty document")),
    }
}

/// The next parser event, or where and why the text is not YAML. yaml-rust2 asserts a few
/// internal invariants; should one ever fail on odd input, that becomes a diagnostic rather
/// than a crash of the caller.
fn next_event(
    parser: &mut Parser<std::str::Chars<'_>>,
    text: &str,
) -> Result<(Event, Mark), (Mark, String)> {
    match catch_unwind(AssertUnwindSafe(|| parser.next_token())) {
        Ok(Ok((event, marker))) => Ok((event, Mark::from(marker))),
        Ok(Err(error)) => {
            let mut message = format!("YAML syntax error: {}", error.info());
            let mark = Mark::from(*error.marker());
            // The scanner's error has no kind to match: the hint is decided from the text
            // itself, a JSON surrogate escape on the line the error is on.
            let line = text.lines().nth(mark.at.0.saturating_sub(1)).unwrap_or("");
            if has_surrogate_escape(line) {
                message.push_str(
                    " (surrogate pairs such as \\ud83d\\ude00 are not supported: \
                     write the character itself or \\U0001F600)",
                );
            }
            Err((mark, message))
        }
        Err(_) => Err((
            Mark::START,
            "the YAML parser failed on this input".to_owned(),
        )),
    }
}

/// Whether `line` holds a `\uXXXX` escape of a UTF-16 surrogate (D800 to DFFF), which JSON
/// allows in pairs and YAML's scanner rejects.
fn has_surrogate_escape(line: &str) -> bool {
    line.match_indices("\\u").any(|(i, _)| {
        line.get(i + 2..i + 6)
            .and_then(|hex| u16::from_str_radix(hex, 16).ok())
            .is_some_and(|unit| (0xD800..=0xDFFF).contains(&unit))
    })
}

/// Where an event starts: byte index (to order events) and 1-based (line, column).
#[derive(Debug, Clone, Copy)]
struct Mark {
    index: usize,
    at: (usize, usize),
}

impl Mark {
    const START: Mark = Mark {
        index: 0,
        at: (1, 1),
    };
}

impl From<Marker> for Mark {
    /// yaml-rust2 counts lines from 1 and columns from 0.
    fn from(marker: Marker) -> Self {
        Mark {
            index: marker.index(),
            at: (marker.line().max(1), marker.col() + 1),
        }
    }
}

/// A value copied by an alias, with what it costs to copy it.
struct Anchored {
    value: Value,
    /// The scalar's source text, used when the alias is a mapping key.
    text: Option<String>,
    nodes: usize,
    depth: usize,
}

/// A sequence or mapping being built.
struct Frame {
    /// This container's key or index in its parent; `None` for the root.
    segment: Option<String>,
    start: Mark,
    anchor: usize,
    /// `nodes` when the container started, to price an alias of it.
    nodes_before: usize,
    /// Depth of the deepest child (0 for none or scalars only).
    child_depth: usize,
    kind: Kind,
}

enum Kind {
    Sequence {
        items: Vec<Value>,
        nodes: Vec<Node>,
    },
    Mapping {
        members: Map<String, Value>,
        nodes: HashMap<String, Node>,
        /// The key whose value is awaited, with where the key starts.
        key: Option<(String, Mark)>,
    },
}

struct Builder<'a> {
    file: &'a str,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    root: Option<(Value, Node)>,
    documents: usize,
}

impl Builder<'_> {
    /// Handles one event; `Ok(true)` once the stream has ended.
    fn event(&mut self, event: Event, mark: Mark) -> Result<bool, Diagnostic> {
        match event {
            Event::StreamEnd => return Ok(true),
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(self.error(
                        mark,
                        "more than one document in the stream; a workflow file holds exactly one",
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.scalar(text, style, anchor, tag, mark)?
            }
            Event::Alias(anchor) => self.alias(anchor, mark)?,
            Event::SequenceStart(anchor, tag) => {
                self.container_tag(tag.as_ref(), "seq", "a sequence", mark)?;
                self.open(
                    anchor,
                    mark,
                    Kind::Sequence {
                        items: Vec::new(),
                        nodes: Vec::new(),
                    },
                )?;
            }
            Event::MappingStart(anchor, tag) => {
                self.container_tag(tag.as_ref(), "map", "a mapping", mark)?;
                self.open(
                    anchor,
                    mark,
                    Kind::Mapping {
                        members: Map::new(),
                        nodes: HashMap::new(),
                        key: None,
                    },
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(mark)?,
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(false)
    }

    fn scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<Tag>,
        mark: Mark,
    ) -> Result<(), Diagnostic> {
        self.count(1, mark)?;
        if self.awaits_key() {
            if anchor > 0 {
                let value = Value::String(text.clone());
                self.anchors.insert(
                    anchor,
                    Anchored {
                        value,
                        text: Some(text.clone()),
                        nodes: 1,
                        depth: 0,
                    },
                );
            }
            return self.key(text, mark);
        }
        let empty_root = self.stack.is_empty()
            && text.is_empty()
            && style == TScalarStyle::Plain
            && tag.is_none()
            && anchor == 0;
        if empty_root {
            // `---` alone or a file of comments: there is no document to speak of.
            return Err(self.error(Mark::START, "empty document"));
        }
        let value =
            scalar_value(&text, style, tag.as_ref()).map_err(|m| self.node_error(mark, m))?;
        if anchor > 0 {
            self.anchors.insert(
                anchor,
                Anchored {
                    value: value.clone(),
                    text: Some(text),
                    nodes: 1,
                    depth: 0,
                },
            );
        }
        self.attach(value, Node::leaf(mark.at), 0, mark)
    }

    fn alias(&mut self, anchor: usize, mark: Mark) -> Result<(), Diagnostic> {
        let Some(anchored) = self.anchors.get(&anchor) else {
            // yaml-rust2 rejects unknown names, so this is an alias inside its own anchor.
            return Err(self.node_error(mark, "alias refers to a node that contains it"));
        };
        let (nodes, depth) = (anchored.nodes, anchored.depth);
        if self.awaits_key() {
            let Some(key) = anchored.text.clone() else {
                return Err(self.error(mark, "mapping keys must be scalars"));
            };
            self.count(1, mark)?;
            return self.key(key, mark);
        }
        let value = anchored.value.clone();
        if self.stack.len() + depth > MAX_DEPTH {
            return Err(self.node_error(
                mark,
                format!("alias nests the document deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.count(nodes, mark)?;
        self.attach(value, Node::leaf(mark.at), depth, mark)
    }

    fn open(&mut self, anchor: usize, mark: Mark, kind: Kind) -> Result<(), Diagnostic> {
        if self.awaits_key() {
            return Err(self.error(mark, "mapping keys must be scalars"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.node_error(mark, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.count(1, mark)?;
        let segment = self.child_segment();
        self.stack.push(Frame {
            segment,
            start: mark,
            anchor,
            nodes_before: self.nodes - 1,
            child_depth: 0,
            kind,
        });
        Ok(())
    }

    fn close(&mut self, mark: Mark) -> Result<(), Diagnostic> {
        let Some(frame) = self.stack.pop() else {
            return Err(self.error(mark, "unbalanced end of a collection"));
        };
        let (value, children) = match frame.kind {
            Kind::Sequence { items, nodes } => (Value::Array(items), Children::Array(nodes)),
            Kind::Mapping { members, nodes, .. } => {
                (Value::Object(members), Children::Object(nodes))
            }
        };
        let depth = frame.child_depth + 1;
        if frame.anchor > 0 {
            self.anchors.insert(
                frame.anchor,
                Anchored {
                    value: value.clone(),
                    text: None,
                    nodes: self.nodes - frame.nodes_before,
                    depth,
                },
            );
        }
        let node = Node {
            at: frame.start.at,
            children,
        };
        self.attach(value, node, depth, frame.start)
    }

    /// Records a mapping key, rejecting duplicates where the second one is written.
    fn key(&mut self, key: String, mark: Mark) -> Result<(), Diagnostic> {
        let duplicate = match self.stack.last_mut() {
            Some(Frame {
                kind:
                    Kind::Mapping {
                        members,
                        key: pending,
                        ..
                    },
                start,
                ..
            }) => {
                // A block mapping's start event is marked at its first `:`; the first
                // key is where the mapping really starts.
                if members.is_empty() && mark.index < start.index {
                    *start = mark;
                }
                let duplicate = members.contains_key(&key);
                *pending = Some((key.clone(), mark));
                duplicate
            }
            _ => false,
        };
        if duplicate {
            let message = format!("duplicate key `{key}`");
            let mut diagnostic = self.error(mark, message);
            diagnostic.pointer.push('/');
            diagnostic.pointer.push_str(&escape(&key));
            return Err(diagnostic);
        }
        Ok(())
    }

    /// Puts a finished node into its parent, or makes it the root.
    fn attach(
        &mut self,
        value: Value,
        mut node: Node,
        depth: usize,
        mark: Mark,
    ) -> Result<(), Diagnostic> {
        let Some(parent) = self.stack.last_mut() else {
            node.at = (1, 1);
            self.root = Some((value, node));
            return Ok(());
        };
        parent.child_depth = parent.child_depth.max(depth);
        match &mut parent.kind {
            Kind::Sequence { items, nodes } => {
                items.push(value);
                nodes.push(node);
            }
            Kind::Mapping {
                members,
                nodes,
                key,
            } => {
                let Some((key, key_mark)) = key.take() else {
                    return Err(self.error(mark, "mapping keys must be scalars"));
                };
                node.at = key_mark.at;
                members.insert(key.clone(), value);
                nodes.insert(key, node);
            }
        }
        Ok(())
    }

    fn awaits_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                kind: Kind::Mapping { key: None, .. },
                ..
            })
        )
    }

    fn count(&mut self, nodes: usize, mark: Mark) -> Result<(), Diagnostic> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            return Err(self.error(
                mark,
                format!(
                    "document too large: more than {MAX_NODES} nodes once aliases are expanded"
                ),
            ));
        }
        Ok(())
    }

    fn container_tag(
        &self,
        tag: Option<&Tag>,
        core: &str,
        what: &str,
        mark: Mark,
    ) -> Result<(), Diagnostic> {
        match tag.map(tag_name) {
            None => Ok(()),
            Some(name) if name == "!" || name == format!("!!{core}") => Ok(()),
            Some(name) => {
                Err(self.node_error(mark, format!("tag `{name}` cannot apply to {what}")))
            }
        }
    }

    /// The pointer of the innermost container being built.
    fn pointer(&self) -> String {
        let mut pointer = String::new();
        for segment in self
            .stack
            .iter()
            .filter_map(|frame| frame.segment.as_deref())
        {
            pointer.push('/');
            pointer.push_str(&escape(segment));
        }
        pointer
    }

    /// The key or index the next node takes in the innermost container.
    fn child_segment(&self) -> Option<String> {
        match &self.stack.last()?.kind {
            Kind::Sequence { items, .. } => Some(items.len().to_string()),
            Kind::Mapping { key, .. } => key.as_ref().map(|(key, _)| key.clone()),
        }
    }

    /// An error about the node being read, located at that node.
    fn node_error(&self, mark: Mark, message: impl Into<String>) -> Diagnostic {
        let mut diagnostic = self.error(mark, message);
        if let Some(segment) = self.child_segment() {
            diagnostic.pointer.push('/');
            diagnostic.pointer.push_str(&escape(&segment));
        }
        diagnostic
    }

    /// An error located in the innermost container being built.
    fn error(&self, mark: Mark, message: impl Into<String>) -> Diagnostic {
        let (line, column) = mark.at;
        Diagnostic {
            file: self.file.to_owned(),
            line,
            column,
            message: message.into(),
            pointer: self.pointer(),
        }
    }
}

/// RFC 6901 escaping of one pointer token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::{MAX_DEPTH, parse};
    use serde_json::{Value, json};

    enum Expected<'a> {
        /// The value, and (pointer, line, column) of some nodes.
        Value(Value, &'a [(&'a str, usize, usize)]),
        /// The diagnostic as printed, for file `t.yaml`.
        Error(&'a str),
    }

    fn check(text: &str, expected: Expected<'_>) {
        let outcome = parse("t.yaml", text);
        match (outcome, expected) {
            (Ok(document), Expected::Value(value, positions)) => {
                assert_eq!(document.value, value, "value of {text:?}");
                for &(pointer, line, column) in positions {
                    let at = document.positions.locate(pointer);
                    assert_eq!(at, (line, column), "position of {pointer:?} in {text:?}");
                }
            }
            (Err(diagnostic), Expected::Error(message)) => {
                assert_eq!(diagnostic.to_string(), message, "diagnostic for {text:?}");
            }
            (Ok(document), Expected::Error(message)) => {
                panic!(
                    "{text:?} loaded as {} but expected {message}",
                    document.value
                )
            }
            (Err(diagnostic), Expected::Value(value, _)) => {
                panic!("{text:?} failed with {diagnostic} but expected {value}")
            }
        }
    }

    use Expected::{Error, Value as Is};

    #[test]
    fn positions_of_nested_keys_and_items() {
        let text = "\
# a workflow
document:
  dsl: '1.0.3'
do:
  - first:
      set:
        a: 1
  - second:
      call: http
      with: { method: get, endpoint: [x, y] }
";
        let value = json!({
            "document": {"dsl": "1.0.3"},
            "do": [
                {"first": {"set": {"a": 1}}},
                {"second": {"call": "http", "with": {"method": "get", "endpoint": ["x", "y"]}}}
            ]
        });
        check(
            text,
            Is(
                value,
                &[
                    ("", 1, 1),
                    ("/document", 2, 1),
                    ("/document/dsl", 3, 3),
                    ("/do", 4, 1),
                    ("/do/0", 5, 5),
                    ("/do/0/first", 5, 5),
                    ("/do/0/first/set/a", 7, 9),
                    ("/do/1", 8, 5),
                    ("/do/1/second/with", 10, 7),
                    ("/do/1/second/with/method", 10, 15),
                    ("/do/1/second/with/endpoint/1", 10, 42),
                    // Unknown pointers locate at their nearest known ancestor.
                    ("/do/1/second/with/nothing/here", 10, 7),
                    ("/do/7", 4, 1),
                    ("not a pointer", 1, 1),
                ],
            ),
        );
    }

    #[test]
    fn json_goes_through_the_same_parser() {
        let text =
            "{\n\t\"a\":1,\n\t\"b\": [\"x\", {\"c\":null, \"d/e~\": [1.5e3, -2, true]}]\n}\n";
        let value = json!({"a": 1, "b": ["x", {"c": null, "d/e~": [1500.0, -2, true]}]});
        check(
            text,
            Is(
                value,
                &[
                    ("/a", 2, 2),
                    ("/b", 3, 2),
                    ("/b/1", 3, 13),
                    ("/b/1/d~1e~0", 3, 24),
                    ("/b/1/d~1e~0/2", 3, 44),
                ],
            ),
        );
    }

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        let text = "[~, null, NULL, true, False, 12, -7, +3, 0o17, 0x1F, 1.5, .5, 1., -2e3, 1E+2, \
                    0b1, 1_000, yes, on, 0x, .e1, 12:30, '1', \"true\", 007, 18446744073709551615]";
        let value = json!([
            null,
            null,
            null,
            true,
            false,
            12,
            -7,
            3,
            15,
            31,
            1.5,
            0.5,
            1.0,
            -2000.0,
            100.0,
            "0b1",
            "1_000",
            "yes",
            "on",
            "0x",
            ".e1",
            "12:30",
            "1",
            "true",
            7,
            18446744073709551615u64
        ]);
        check(text, Is(value, &[]));
        // Beyond 64 bits an integer becomes a float, as serde_json does.
        check("99999999999999999999999", Is(json!(1e23), &[]));
        check(
            "0x1ffffffffffffffff",
            Is(json!(36893488147419103231.0), &[]),
        );
        check(
            "a: |\n  12\nb: >-\n  true\n",
            Is(json!({"a": "12\n", "b": "true"}), &[]),
        );
    }

    #[test]
    fn unrepresentable_numbers_are_rejected() {
        check(
            "a: [1, .inf]",
            Error(
                "t.yaml:1:8: `.inf` is not a number JSON can represent (quote it to make it a string) (at /a/1)",
            ),
        );
        check(
            "x: -.Inf",
            Error(
                "t.yaml:1:4: `-.Inf` is not a number JSON can represent (quote it to make it a string) (at /x)",
            ),
        );
        check(
            ".NaN",
            Error(
                "t.yaml:1:1: `.NaN` is not a number JSON can represent (quote it to make it a string) (at /)",
            ),
        );
        check(
            "1e999",
            Error("t.yaml:1:1: `1e999` is out of the range of numbers JSON can represent (at /)"),
        );
        check("'.inf'", Is(json!(".inf"), &[]));
    }

    #[test]
    fn tags() {
        let text = "[!!str 3, !!str true, !!int '42', !!float 1, !!bool 'false', !!null '', ! 12, \
                    !!map {a: 1}, !!seq [1]]";
        let value = json!(["3", "true", 42, 1.0, false, null, "12", {"a": 1}, [1]]);
        check(text, Is(value, &[]));
        check(
            "a: !!int x",
            Error("t.yaml:1:10: `x` is not a valid `!!int` (at /a)"),
        );
        check(
            "a: !foo x",
            Error("t.yaml:1:9: unsupported tag `!foo` (at /a)"),
        );
        check(
            "a: !!binary aGk=",
            Error("t.yaml:1:13: unsupported tag `!!binary` (at /a)"),
        );
        check(
            "a: !!seq {b: 1}",
            Error("t.yaml:1:10: tag `!!seq` cannot apply to a mapping (at /a)"),
        );
    }

    #[test]
    fn keys() {
        let text = "1: a\ntrue: b\n0x10: c\n~: d\n\"q\": e\n";
        let value = json!({"1": "a", "true": "b", "0x10": "c", "~": "d", "q": "e"});
        check(text, Is(value, &[("/0x10", 3, 1)]));
        check(
            "a:\n  b: 1\n  c: 2\n  b: 3\n",
            Error("t.yaml:4:3: duplicate key `b` (at /a/b)"),
        );
        check(
            "? [a]\n: 1\n",
            Error("t.yaml:1:3: mapping keys must be scalars (at /)"),
        );
        check(
            "{a/b: 1, a/b: 2}",
            Error("t.yaml:1:10: duplicate key `a/b` (at /a~1b)"),
        );
    }

    #[test]
    fn aliases() {
        let text = "base: &b {x: 1, y: [2]}\ncopy: *b\nname: &n k\n*n : 3\nlist: [*n, *b]\n";
        let value = json!({
            "base": {"x": 1, "y": [2]},
            "copy": {"x": 1, "y": [2]},
            "name": "k",
            "k": 3,
            "list": ["k", {"x": 1, "y": [2]}]
        });
        // Nodes copied by an alias locate at the alias.
        check(
            text,
            Is(
                value,
                &[("/copy", 2, 1), ("/copy/y/0", 2, 1), ("/list/1/x", 5, 12)],
            ),
        );
        check(
            "a: &a [*a]",
            Error("t.yaml:1:8: alias refers to a node that contains it (at /a/0)"),
        );
        check(
            "a: &a [1]\n*a : 2\n",
            Error("t.yaml:2:1: mapping keys must be scalars (at /)"),
        );
    }

    #[test]
    fn billion_laughs_are_capped() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let diagnostic = parse("t.yaml", &text).expect_err("a billion laughs");
        assert!(
            diagnostic.message.contains("more than 1000000 nodes"),
            "{diagnostic}"
        );
        assert_eq!(diagnostic.line, 6, "{diagnostic}");
    }

    #[test]
    fn documents() {
        check("", Error("t.yaml:1:1: empty document (at /)"));
        check(
            "# only a comment\n",
            Error("t.yaml:1:1: empty document (at /)"),
        );
        check("---\n...\n", Error("t.yaml:1:1: empty document (at /)"));
        check(
            "a: 1\n---\nb: 2\n",
            Error(
                "t.yaml:2:1: more than one document in the stream; a workflow file holds exactly one (at /)",
            ),
        );
        check("--- \na: 1\n...\n", Is(json!({"a": 1}), &[("/a", 2, 1)]));
        check("\u{feff}a: 1", Is(json!({"a": 1}), &[]));
        check("plain", Is(json!("plain"), &[]));
    }

    #[test]
    fn syntax_errors_are_located() {
        check(
            "do:\n  - a:\n      set: [1, 2\n  - b: 1\n",
            Error("t.yaml:4:6: YAML syntax error: invalid indentation (at /do/0/a/set)"),
        );
        check(
            "a:\n  b: [1,\n  c: {x: 1",
            Error("t.yaml:3:3: YAML syntax error: invalid indentation in flow construct (at /a/b)"),
        );
        check(
            "a: \"\\ud83d\\ude00\"",
            Error(
                "t.yaml:1:4: YAML syntax error: while parsing a quoted scalar, found invalid Unicode \
                 character escape code (surrogate pairs such as \\ud83d\\ude00 are not supported: \
                 write the character itself or \\U0001F600) (at /)",
            ),
        );
    }

    #[test]
    fn the_surrogate_hint_is_for_surrogate_escapes_only() {
        assert!(super::has_surrogate_escape(r#"a: "\ud83d\ude00""#));
        assert!(super::has_surrogate_escape(r#"a: "\uDFFF""#));
        assert!(!super::has_surrogate_escape(r#"a: "\u00e9 \uzzzz \u""#));
        assert!(!super::has_surrogate_escape("a: [1, 2"));
    }

    #[test]
    fn deep_nesting_is_rejected() {
        // `- - - x` nests block sequences on one line.
        let ok = "- ".repeat(MAX_DEPTH) + "x";
        assert!(parse("t.yaml", &ok).is_ok());
        let deep = "- ".repeat(100_000) + "x";
        let diagnostic = parse("t.yaml", &deep).expect_err("too deep");
        assert_eq!(diagnostic.column, 2 * MAX_DEPTH + 1, "{diagnostic}");
        assert!(
            diagnostic.message.contains("nesting deeper than 512"),
            "{diagnostic}"
        );
        // yaml-rust2 stops flow collections earlier, by itself.
        let flow = "[".repeat(100_000);
        let diagnostic = parse("t.yaml", &flow).expect_err("too deep");
        assert!(
            diagnostic.message.contains("recursion limit exceeded"),
            "{diagnostic}"
        );
        let aliased = format!("a: &a\n  {}x\nb:\n  - *a\n", "- ".repeat(MAX_DEPTH - 1));
        let diagnostic = parse("t.yaml", &aliased).expect_err("too deep through an alias");
        assert!(diagnostic.message.contains("alias nests"), "{diagnostic}");
    }

    #[test]
    fn garbage_never_panics() {
        let inputs = [
            "\0",
            "{",
            "}",
            "]",
            "[",
            "&",
            "*",
            "*a",
            "&a",
            "!",
            "!!",
            "? ",
            ": ",
            "- - -",
            "\t\t",
            "'",
            "\"",
            "\"\\",
            "|",
            ">",
            "%YAML 1.2",
            "%YAML 1.2\n---",
            "%TAG ! !x\n--- !a b",
            "a: *x",
            "[a, b]: c",
            "{a: 1, ]",
            "--- >\n\x07",
            "a:\n\t- b",
            "\u{10ffff}",
            "\r\r\n",
            "a: &x\nb: *x",
            "- &a\n- *a",
            "? a\n? a",
            "{? a}",
            "[? a: b]",
            "!<x> a",
        ];
        for input in inputs {
            let _ = parse("t.yaml", input);
        }
        // Every prefix of a real document, cut anywhere (including inside a character).
        let text = "document: {dsl: '1.0.3'}\ndo:\n  - a: &x\n      set: {\"é\": [1, *x]}\n";
        for end in 0..=text.len() {
            if let Some(prefix) = text.get(..end) {
                let _ = parse("t.yaml", prefix);
            }
        }
        // Pseudo-random bytes from YAML's special characters.
        let alphabet = b"-:?[]{},&*!|>'\"%@`#\n \ta0.~";
        let mut state = 0x2545_f491_u32;
        for _ in 0..2000 {
            let mut input = String::new();
            for _ in 0..(state % 40) {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                input.push(char::from(alphabet[state as usize % alphabet.len()]));
            }
            let _ = parse("t.yaml", &input);
        }
    }
}
