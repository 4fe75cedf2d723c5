//! A small owned XML tree for untrusted SAML input, and for building SAML messages.
//!
//! Why our own tree instead of a general DOM: SAML security hinges on a few XML details
//! (which element an ID points to, what a namespace prefix means at a given place, what
//! exactly the signed bytes were). Keeping the model small and fully owned lets the
//! canonicalizer and the signature code reason about one representation, and lets the parser
//! refuse everything SAML never needs (DTDs, entities, foreign encodings) up front.
//!
//! Parsing uses quick-xml as a tokenizer only; namespace resolution, entity handling,
//! end-of-line and attribute-value normalization are done here so that they follow the XML
//! 1.0 + Namespaces specifications exactly (canonical forms depend on them).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// Namespace bound to the `xml` prefix by definition (never declared).
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// Namespace reserved for `xmlns` attributes.
pub const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Unqualified attribute names treated as XML IDs when looking elements up.
///
/// SAML itself uses `ID`; XML-DSig and other libraries use `Id` / `id`. A same-document
/// reference `#X` is only unambiguous if *no* element carries `X` under any of these names,
/// because another verifier may resolve the reference through a different one: that
/// disagreement is exactly what signature-wrapping attacks exploit.
pub const ID_ATTRIBUTE_NAMES: &[&str] = &["ID", "Id", "id"];

/// Hard limits applied while parsing untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum input size in bytes.
    pub max_input_bytes: usize,
    /// Maximum element nesting depth (root is depth 1).
    pub max_depth: usize,
    /// Maximum number of elements in the whole document.
    pub max_elements: usize,
    /// Maximum number of attributes (including namespace declarations) on one element.
    pub max_attributes_per_element: usize,
    /// Maximum number of namespace declarations in the whole document. Each declaring
    /// element copies the in-scope bindings, so this bounds that work quadratically
    /// instead of letting it grow with elements × declarations.
    pub max_namespace_declarations: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Generous for real SAML (a large Response with hundreds of attributes is ~100 KiB)
        // while bounding memory and recursion for hostile input.
        Limits {
            max_input_bytes: 4 * 1024 * 1024,
            max_depth: 256,
            max_elements: 100_000,
            max_attributes_per_element: 256,
            max_namespace_declarations: 4096,
        }
    }
}

/// Everything that can go wrong while parsing or manipulating a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("input is {size} bytes, more than the limit of {limit} bytes")]
    InputTooLarge { size: usize, limit: usize },
    #[error(
        "DOCTYPE declaration at byte {position} refused: DTDs and entity declarations are never processed in SAML input"
    )]
    Doctype { position: u64 },
    #[error("element nesting deeper than the limit of {limit} at byte {position}")]
    TooDeep { limit: usize, position: u64 },
    #[error("more than {limit} elements in the document (at byte {position})")]
    TooManyElements { limit: usize, position: u64 },
    #[error("more than {limit} namespace declarations in the document (at byte {position})")]
    TooManyNamespaceDeclarations { limit: usize, position: u64 },
    #[error("element <{element}> has more than {limit} attributes (at byte {position})")]
    TooManyAttributes {
        element: String,
        limit: usize,
        position: u64,
    },
    #[error(
        "unknown entity reference &{name}; at byte {position}: only &lt; &gt; &amp; &apos; &quot; and character references are allowed"
    )]
    UnknownEntity { name: String, position: u64 },
    #[error("invalid character reference &{reference}; at byte {position}")]
    InvalidCharRef { reference: String, position: u64 },
    #[error("character U+{code:04X} is not allowed in XML 1.0 (at byte {position})")]
    InvalidChar { code: u32, position: u64 },
    #[error("malformed XML at byte {position}: {message}")]
    Syntax { position: u64, message: String },
    #[error("unsupported document encoding {found:?}: expected UTF-8")]
    UnsupportedEncoding { found: String },
    #[error("unsupported XML version {found:?}: expected 1.0")]
    UnsupportedVersion { found: String },
    #[error("namespace prefix {prefix:?} used at byte {position} is not declared")]
    UndeclaredPrefix { prefix: String, position: u64 },
    #[error("invalid namespace declaration at byte {position}: {message}")]
    InvalidNamespaceDecl { position: u64, message: String },
    #[error("element <{element}> has attribute {name:?} twice (at byte {position})")]
    DuplicateAttribute {
        element: String,
        name: String,
        position: u64,
    },
    #[error("invalid XML name {name:?} at byte {position}")]
    InvalidName { name: String, position: u64 },
    #[error("invalid attribute value at byte {position}: {message}")]
    InvalidAttributeValue { position: u64, message: String },
    #[error("document has no root element")]
    NoRootElement,
    #[error("second root element at byte {position}: a document has exactly one")]
    MultipleRoots { position: u64 },
    #[error("non-whitespace text outside the root element at byte {position}")]
    TextOutsideRoot { position: u64 },
    #[error("XML declaration at byte {position}: it is only allowed at the very start")]
    MisplacedDeclaration { position: u64 },
    #[error("element <{name}> is not closed at end of input")]
    UnclosedElement { name: String },
    #[error("ID {id:?} is carried by {count} elements: references to it are ambiguous")]
    DuplicateId { id: String, count: usize },
    #[error("inconsistent tree: {0}")]
    InvalidTree(String),
}

/// A namespace-resolved name of an element or attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name {
    /// Prefix as written (`None` for unprefixed names).
    pub prefix: Option<String>,
    /// Local part.
    pub local: String,
    /// Namespace URI (`None` for no namespace).
    pub ns: Option<String>,
}

impl Name {
    /// The qualified name as written: `prefix:local` or `local`.
    pub fn qualified(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p}:{}", self.local),
            None => self.local.clone(),
        }
    }

    /// Appends the qualified name as written to `out` (what [`Name::qualified`] returns,
    /// without allocating).
    pub fn write_qualified(&self, out: &mut String) {
        if let Some(p) = &self.prefix {
            out.push_str(p);
            out.push(':');
        }
        out.push_str(&self.local);
    }

    /// True if this name has namespace `ns` and local part `local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns.as_deref() == Some(ns) && self.local == local
    }
}

/// An attribute (never a namespace declaration; those live in [`Element::ns_decls`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: Name,
    /// The normalized value (entities resolved, whitespace normalized as XML requires).
    pub value: String,
}

/// A namespace declaration as written on an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsDecl {
    /// `None` for the default namespace (`xmlns="..."`).
    pub prefix: Option<String>,
    /// The namespace URI; empty for the default-namespace undeclaration `xmlns=""`.
    pub uri: String,
}

/// A node in the tree. CDATA sections are folded into text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
    Comment(String),
    ProcessingInstruction { target: String, data: String },
}

impl Node {
    /// The element, if this node is one.
    pub fn as_element(&self) -> Option<&Element> {
        match self {
            Node::Element(e) => Some(e),
            _ => None,
        }
    }
}

/// An element with namespace-resolved names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: Name,
    /// Namespace declarations written on this element, in document order.
    pub ns_decls: Vec<NsDecl>,
    /// Attributes in document order.
    pub attributes: Vec<Attribute>,
    pub children: Vec<Node>,
}

/// Path from the root element to a descendant: indexes into successive `children` vectors.
/// The empty path is the root element itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NodePath(pub Vec<usize>);

impl NodePath {
    /// The path of this element's child at `index`.
    pub fn child(&self, index: usize) -> NodePath {
        let mut v = self.0.clone();
        v.push(index);
        NodePath(v)
    }

    /// The path of the parent, or `None` for the root.
    pub fn parent(&self) -> Option<NodePath> {
        let (_, rest) = self.0.split_last()?;
        Some(NodePath(rest.to_vec()))
    }
}

/// Pre-order (document order) traversal state with one reused path buffer.
///
/// Explicit stack instead of recursion: depth is bounded by the parse limit, but built trees
/// are not, and recursion on untrusted shapes is what we avoid everywhere. Each frame is an
/// element and the index in its `children` from which to look for the next child element.
struct Cursor<'a> {
    /// Path of the element last returned by [`Cursor::advance`].
    path: NodePath,
    stack: Vec<(&'a Element, usize)>,
    /// The start element, until it has been returned.
    first: Option<&'a Element>,
}

impl<'a> Cursor<'a> {
    fn new(base: NodePath, start: &'a Element) -> Cursor<'a> {
        Cursor {
            path: base,
            stack: Vec::new(),
            first: Some(start),
        }
    }

    /// The next element in document order (its path is then in `self.path`).
    fn advance(&mut self) -> Option<&'a Element> {
        if let Some(start) = self.first.take() {
            self.stack.push((start, 0));
            return Some(start);
        }
        while let Some(&(el, next)) = self.stack.last() {
            let found = el.children[next..]
                .iter()
                .enumerate()
                .find_map(|(k, n)| n.as_element().map(|c| (next + k, c)));
            match found {
                Some((i, child)) => {
                    if let Some(top) = self.stack.last_mut() {
                        top.1 = i + 1;
                    }
                    self.path.0.push(i);
                    self.stack.push((child, 0));
                    return Some(child);
                }
                None => {
                    // Done with `el`: back to its parent (the start element has no index
                    // of its own in `path`).
                    self.stack.pop();
                    if !self.stack.is_empty() {
                        self.path.0.pop();
                    }
                }
            }
        }
        None
    }
}

/// Iterator over a document's elements in document order with their paths; see
/// [`Document::elements`].
pub struct Elements<'a> {
    cursor: Cursor<'a>,
}

impl<'a> Iterator for Elements<'a> {
    type Item = (NodePath, &'a Element);

    fn next(&mut self) -> Option<Self::Item> {
        let el = self.cursor.advance()?;
        Some((self.cursor.path.clone(), el))
    }
}

// ---------------------------------------------------------------------------------------------
// Building API
// ---------------------------------------------------------------------------------------------

impl Element {
    /// A new element without namespace: `<local>`.
    pub fn new(local: &str) -> Element {
        Element {
            name: Name {
                prefix: None,
                local: local.to_string(),
                ns: None,
            },
            ns_decls: Vec::new(),
            attributes: Vec::new(),
            children: Vec::new(),
        }
    }

    /// A new element in namespace `ns` written with `prefix` (empty prefix: default namespace).
    ///
    /// The declaration `xmlns:prefix="ns"` is added when the tree is put into a [`Document`]
    /// (or by [`Document::fixup_namespaces`]) only where it is not already in scope, so a
    /// message built from many `saml:` elements declares the prefix once.
    pub fn new_ns(prefix: &str, ns: &str, local: &str) -> Element {
        let mut e = Element::new(local);
        e.name.prefix = (!prefix.is_empty()).then(|| prefix.to_string());
        e.name.ns = Some(ns.to_string());
        e
    }

    /// Builder form of [`Element::set_attr`].
    pub fn with_attr(mut self, local: &str, value: &str) -> Element {
        self.set_attr(local, value);
        self
    }

    /// Builder form of [`Element::append_child`].
    pub fn with_child(mut self, child: Element) -> Element {
        self.append_child(child);
        self
    }

    /// Builder form of [`Element::append_text`].
    pub fn with_text(mut self, text: &str) -> Element {
        self.append_text(text);
        self
    }

    /// Builder form of [`Element::declare_ns`].
    pub fn with_ns_decl(mut self, prefix: &str, uri: &str) -> Element {
        self.declare_ns(prefix, uri);
        self
    }

    /// Sets (or replaces) an unqualified attribute.
    pub fn set_attr(&mut self, local: &str, value: &str) {
        let name = Name {
            prefix: None,
            local: local.to_string(),
            ns: None,
        };
        self.set_attribute(name, value);
    }

    /// Sets (or replaces) a namespaced attribute `prefix:local` (prefix must not be empty:
    /// unprefixed attributes are never in a namespace).
    pub fn set_attr_ns(&mut self, prefix: &str, ns: &str, local: &str, value: &str) {
        let name = Name {
            prefix: Some(prefix.to_string()),
            local: local.to_string(),
            ns: Some(ns.to_string()),
        };
        self.set_attribute(name, value);
    }

    fn set_attribute(&mut self, name: Name, value: &str) {
        let existing = self
            .attributes
            .iter_mut()
            .find(|a| a.name.ns == name.ns && a.name.local == name.local);
        match existing {
            Some(a) => {
                a.name = name;
                a.value = value.to_string();
            }
            None => self.attributes.push(Attribute {
                name,
                value: value.to_string(),
            }),
        }
    }

    /// Removes an unqualified attribute; returns its value.
    pub fn remove_attr(&mut self, local: &str) -> Option<String> {
        let idx = self
            .attributes
            .iter()
            .position(|a| a.name.ns.is_none() && a.name.local == local)?;
        Some(self.attributes.remove(idx).value)
    }

    /// Declares `xmlns:prefix="uri"` (or `xmlns="uri"` for an empty prefix) on this element,
    /// replacing an existing declaration of the same prefix.
    pub fn declare_ns(&mut self, prefix: &str, uri: &str) {
        let prefix = (!prefix.is_empty()).then(|| prefix.to_string());
        match self.ns_decls.iter_mut().find(|d| d.prefix == prefix) {
            Some(d) => d.uri = uri.to_string(),
            None => self.ns_decls.push(NsDecl {
                prefix,
                uri: uri.to_string(),
            }),
        }
    }

    /// Appends a child element.
    pub fn append_child(&mut self, child: Element) {
        self.children.push(Node::Element(child));
    }

    /// Appends text (merged with a preceding text node, as a parser would see it).
    pub fn append_text(&mut self, text: &str) {
        if let Some(Node::Text(t)) = self.children.last_mut() {
            t.push_str(text);
        } else {
            self.children.push(Node::Text(text.to_string()));
        }
    }

    /// Inserts a node at child index `index` (clamped to the end).
    pub fn insert_child(&mut self, index: usize, node: Node) {
        let index = index.min(self.children.len());
        self.children.insert(index, node);
    }

    // -----------------------------------------------------------------------------------------
    // Reading API
    // -----------------------------------------------------------------------------------------

    /// Value of the unqualified attribute `local`.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name.ns.is_none() && a.name.local == local)
            .map(|a| a.value.as_str())
    }

    /// Value of the attribute `{ns}local`.
    pub fn attr_ns(&self, ns: &str, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name.is(ns, local))
            .map(|a| a.value.as_str())
    }

    /// True if this element is `{ns}local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.name.is(ns, local)
    }

    /// Child elements, in order.
    pub fn child_elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(Node::as_element)
    }

    /// Child elements with their indexes in `children`.
    pub fn indexed_child_elements(&self) -> impl Iterator<Item = (usize, &Element)> {
        self.children
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_element().map(|e| (i, e)))
    }

    /// The first child element `{ns}local`.
    pub fn find_child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.child_elements().find(|e| e.is(ns, local))
    }

    /// All child elements `{ns}local`.
    pub fn find_children<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.child_elements().filter(move |e| e.is(ns, local))
    }

    /// Concatenation of the direct text children (comments split nothing: they are skipped).
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// True if the element has non-whitespace direct text content.
    pub fn has_significant_text(&self) -> bool {
        self.children
            .iter()
            .any(|n| matches!(n, Node::Text(t) if !is_xml_whitespace(t)))
    }

    /// Depth-first (document order) walk over this element and its descendant elements,
    /// with their paths relative to `base`.
    ///
    /// The path passed to `f` is one buffer updated in place (clone it to keep it): memory
    /// stays proportional to the depth, where a path per element (or per pending sibling)
    /// would be quadratic on deep or wide hostile documents.
    pub fn walk<'a>(&'a self, base: NodePath, f: &mut dyn FnMut(&NodePath, &'a Element)) {
        let mut cursor = Cursor::new(base, self);
        while let Some(el) = cursor.advance() {
            f(&cursor.path, el);
        }
    }

    /// Serializes this element alone (namespace declarations only as written on it and its
    /// descendants).
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        write_element(&mut out, self);
        out
    }
}

/// The XML declaration as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlDecl {
    pub version: String,
    pub encoding: Option<String>,
    pub standalone: Option<String>,
}

/// A parsed or built document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub decl: Option<XmlDecl>,
    /// Comments and processing instructions before the root element.
    pub prolog: Vec<Node>,
    pub root: Element,
    /// Comments and processing instructions after the root element.
    pub epilog: Vec<Node>,
}

impl Document {
    /// Parses untrusted input with the default [`Limits`].
    pub fn parse(input: &str) -> Result<Document, XmlError> {
        Document::parse_with_limits(input, &Limits::default())
    }

    /// Parses untrusted input with explicit limits.
    pub fn parse_with_limits(input: &str, limits: &Limits) -> Result<Document, XmlError> {
        Parser::new(input, limits)?.run()
    }

    /// A document around a built root element; missing namespace declarations are added.
    pub fn new(root: Element) -> Result<Document, XmlError> {
        let mut doc = Document {
            decl: None,
            prolog: Vec::new(),
            root,
            epilog: Vec::new(),
        };
        doc.fixup_namespaces()?;
        Ok(doc)
    }

    /// The element at `path`.
    pub fn get(&self, path: &NodePath) -> Option<&Element> {
        let mut el = &self.root;
        for &i in &path.0 {
            el = el.children.get(i)?.as_element()?;
        }
        Some(el)
    }

    /// The element at `path`, mutably.
    pub fn get_mut(&mut self, path: &NodePath) -> Option<&mut Element> {
        let mut el = &mut self.root;
        for &i in &path.0 {
            el = match el.children.get_mut(i)? {
                Node::Element(e) => e,
                _ => return None,
            };
        }
        Some(el)
    }

    /// The elements from the root down to (and including) the element at `path`.
    pub fn ancestors_and_self(&self, path: &NodePath) -> Option<Vec<&Element>> {
        let mut chain = Vec::with_capacity(path.0.len() + 1);
        let mut el = &self.root;
        chain.push(el);
        for &i in &path.0 {
            el = el.children.get(i)?.as_element()?;
            chain.push(el);
        }
        Some(chain)
    }

    /// Every element in document order with its path, lazily: only the items a caller keeps
    /// hold a path each (collecting them all costs elements × depth; prefer
    /// [`Element::walk`] or [`Document::find_element`]).
    pub fn elements(&self) -> Elements<'_> {
        Elements {
            cursor: Cursor::new(NodePath::default(), &self.root),
        }
    }

    /// Paths of the elements matching `pred`, in document order (only those are copied).
    pub fn find_elements(&self, mut pred: impl FnMut(&Element) -> bool) -> Vec<NodePath> {
        let mut out = Vec::new();
        self.root.walk(NodePath::default(), &mut |p, e| {
            if pred(e) {
                out.push(p.clone());
            }
        });
        out
    }

    /// Path of the first element in document order matching `pred`.
    pub fn find_element(&self, mut pred: impl FnMut(&Element) -> bool) -> Option<NodePath> {
        let mut cursor = Cursor::new(NodePath::default(), &self.root);
        while let Some(e) = cursor.advance() {
            if pred(e) {
                return Some(cursor.path);
            }
        }
        None
    }

    /// Finds the element whose `ID` attribute is `id`.
    ///
    /// Fails with [`XmlError::DuplicateId`] if more than one element carries `id` under any
    /// of [`ID_ATTRIBUTE_NAMES`]: an ambiguous reference must never be resolved silently.
    pub fn find_by_id(&self, id: &str) -> Result<Option<NodePath>, XmlError> {
        let mut found: Option<NodePath> = None;
        let mut count = 0usize;
        self.root.walk(NodePath::default(), &mut |p, e| {
            let carries = e.attributes.iter().any(|a| {
                a.name.ns.is_none()
                    && ID_ATTRIBUTE_NAMES.contains(&a.name.local.as_str())
                    && a.value == id
            });
            if carries {
                count += 1;
                if e.attr("ID") == Some(id) && found.is_none() {
                    found = Some(p.clone());
                }
            }
        });
        if count > 1 {
            return Err(XmlError::DuplicateId {
                id: id.to_string(),
                count,
            });
        }
        Ok(found)
    }

    /// The element whose `ID` attribute is `id` (see [`Document::find_by_id`]).
    pub fn element_by_id(&self, id: &str) -> Result<Option<&Element>, XmlError> {
        Ok(self.find_by_id(id)?.and_then(|p| self.get(&p)))
    }

    /// IDs carried by more than one element (any of [`ID_ATTRIBUTE_NAMES`]), sorted.
    pub fn duplicate_ids(&self) -> Vec<String> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        self.root.walk(NodePath::default(), &mut |_, e| {
            for a in &e.attributes {
                if a.name.ns.is_none() && ID_ATTRIBUTE_NAMES.contains(&a.name.local.as_str()) {
                    *counts.entry(a.value.as_str()).or_default() += 1;
                }
            }
        });
        counts
            .into_iter()
            .filter(|(_, c)| *c > 1)
            .map(|(id, _)| id.to_string())
            .collect()
    }

    /// Adds the namespace declarations a built tree needs so that every element and attribute
    /// prefix resolves to the namespace it was built with.
    ///
    /// A declaration is added on the element that uses the prefix, only if the prefix is not
    /// already bound to the same URI in scope. Parsed documents are always consistent, so
    /// this changes nothing for them.
    pub fn fixup_namespaces(&mut self) -> Result<(), XmlError> {
        fixup(&mut self.root, &Scope::root())
    }

    /// Serializes the document. Re-parsing the output yields an identical tree: text and
    /// attribute characters that XML parsing would normalize away (`\r`, tabs and newlines
    /// in attributes) are written as character references.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        if let Some(d) = &self.decl {
            let _ = write!(out, "<?xml version=\"{}\"", d.version);
            if let Some(e) = &d.encoding {
                let _ = write!(out, " encoding=\"{e}\"");
            }
            if let Some(s) = &d.standalone {
                let _ = write!(out, " standalone=\"{s}\"");
            }
            out.push_str("?>\n");
        }
        for n in &self.prolog {
            write_node(&mut out, n);
            out.push('\n');
        }
        write_element(&mut out, &self.root);
        for n in &self.epilog {
            out.push('\n');
            write_node(&mut out, n);
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Namespace scopes
// ---------------------------------------------------------------------------------------------

/// In-scope namespace bindings: prefix ("" for default) → URI ("" for no default).
///
/// Shared (`Rc`) so that the common case, an element without declarations, costs no copy:
/// copying the whole map per element would let a hostile document with many declarations
/// and many elements turn a few megabytes into gigabytes of copying.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    map: Rc<BTreeMap<Rc<str>, Rc<str>>>,
}

impl Scope {
    pub(crate) fn root() -> Scope {
        Scope::default()
    }

    /// The scope inside `el`, given the scope of its parent.
    pub(crate) fn enter(&self, el: &Element) -> Scope {
        let mut s = self.clone();
        for d in &el.ns_decls {
            let prefix = d.prefix.as_deref().unwrap_or("");
            // A redeclaration to the same URI changes nothing: skip it, and with it the copy
            // of the shared map (built SAML repeats `xs`/`xsi` on every AttributeValue).
            if s.map.get(prefix).map(|u| &**u) != Some(d.uri.as_str()) {
                s.bind(prefix, &d.uri);
            }
        }
        s
    }

    /// Binds `prefix` ("" for the default namespace) to `uri` ("" to undeclare the default).
    pub(crate) fn bind(&mut self, prefix: &str, uri: &str) {
        Rc::make_mut(&mut self.map).insert(Rc::from(prefix), Rc::from(uri));
    }

    /// The URI as declared for `prefix` ("" if undeclared or undeclared-default), without
    /// the implicit `xml` binding.
    pub(crate) fn declared(&self, prefix: &str) -> &str {
        self.map.get(prefix).map(|u| &**u).unwrap_or("")
    }

    /// True if `prefix` has a declaration in scope (including `xmlns=""` for the default).
    pub(crate) fn has_declaration(&self, prefix: &str) -> bool {
        self.map.contains_key(prefix)
    }

    /// All prefixes with a declaration in scope, sorted ("" first).
    pub(crate) fn prefixes(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(|k| &**k)
    }

    /// URI bound to `prefix` ("" for the default namespace); `None` if unbound or, for the
    /// default namespace, undeclared.
    pub(crate) fn lookup(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        Some(self.declared(prefix)).filter(|u| !u.is_empty())
    }
}

fn fixup(el: &mut Element, parent: &Scope) -> Result<(), XmlError> {
    let mut scope = parent.enter(el);
    // Owned copies only for the (rare) declarations to add: a consistent tree, which is what
    // every signature re-checks, allocates nothing here.
    let mut needed: Vec<(String, String)> = Vec::new();
    let elem_prefix = el.name.prefix.as_deref().unwrap_or("");
    if elem_prefix == "xml" || elem_prefix == "xmlns" {
        return Err(XmlError::InvalidTree(format!(
            "element <{}> uses the reserved prefix {elem_prefix:?}",
            el.name.qualified()
        )));
    }
    let elem_ns = el.name.ns.as_deref().unwrap_or("");
    if !elem_prefix.is_empty() && elem_ns.is_empty() {
        return Err(XmlError::InvalidTree(format!(
            "element <{}> has a prefix but no namespace",
            el.name.qualified()
        )));
    }
    if scope.lookup(elem_prefix).unwrap_or("") != elem_ns {
        needed.push((elem_prefix.to_string(), elem_ns.to_string()));
    }
    for a in &el.attributes {
        match (&a.name.prefix, &a.name.ns) {
            (None, None) => {}
            (Some(p), Some(ns)) if p == "xml" => {
                if ns != XML_NS {
                    return Err(XmlError::InvalidTree(format!(
                        "attribute xml:{} must be in the XML namespace, not {ns:?}",
                        a.name.local
                    )));
                }
            }
            (Some(p), Some(ns)) if p != "xmlns" && !ns.is_empty() => {
                if scope.lookup(p) != Some(ns.as_str()) {
                    if needed.iter().any(|(np, nu)| np == p && nu != ns) {
                        return Err(XmlError::InvalidTree(format!(
                            "prefix {p:?} is used on <{}> for two namespaces",
                            el.name.qualified()
                        )));
                    }
                    needed.push((p.clone(), ns.clone()));
                }
            }
            _ => {
                return Err(XmlError::InvalidTree(format!(
                    "attribute {} on <{}>: a namespaced attribute needs a prefix (and an unprefixed one has no namespace)",
                    a.name.qualified(),
                    el.name.qualified()
                )));
            }
        }
    }
    for (p, u) in needed {
        if scope.declared(&p) != u {
            el.declare_ns(&p, &u);
            scope.bind(&p, &u);
        }
    }
    for child in el.children.iter_mut() {
        if let Node::Element(c) = child {
            fixup(c, &scope)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Serialization
// ---------------------------------------------------------------------------------------------

fn write_node(out: &mut String, n: &Node) {
    match n {
        Node::Element(e) => write_element(out, e),
        Node::Text(t) => escape_text_into(out, t),
        Node::Comment(c) => {
            out.push_str("<!--");
            out.push_str(c);
            out.push_str("-->");
        }
        Node::ProcessingInstruction { target, data } => {
            out.push_str("<?");
            out.push_str(target);
            if !data.is_empty() {
                out.push(' ');
                out.push_str(data);
            }
            out.push_str("?>");
        }
    }
}

fn write_element(out: &mut String, root: &Element) {
    // Iterative to keep stack use flat on deep (built) trees.
    enum Step<'a> {
        Open(&'a Element),
        Close(&'a Element),
        Other(&'a Node),
    }
    let mut stack = vec![Step::Open(root)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Open(e) => {
                out.push('<');
                e.name.write_qualified(out);
                for d in &e.ns_decls {
                    match &d.prefix {
                        Some(p) => {
                            out.push_str(" xmlns:");
                            out.push_str(p);
                        }
                        None => out.push_str(" xmlns"),
                    }
                    out.push_str("=\"");
                    escape_attr_into(out, &d.uri);
                    out.push('"');
                }
                for a in &e.attributes {
                    out.push(' ');
                    a.name.write_qualified(out);
                    out.push_str("=\"");
                    escape_attr_into(out, &a.value);
                    out.push('"');
                }
                if e.children.is_empty() {
                    out.push_str("/>");
                } else {
                    out.push('>');
                    stack.push(Step::Close(e));
                    for c in e.children.iter().rev() {
                        match c {
                            Node::Element(ce) => stack.push(Step::Open(ce)),
                            other => stack.push(Step::Other(other)),
                        }
                    }
                }
            }
            Step::Close(e) => {
                out.push_str("</");
                e.name.write_qualified(out);
                out.push('>');
            }
            Step::Other(n) => write_node(out, n),
        }
    }
}

fn escape_text_into(out: &mut String, s: &str) {
    escape_into(out, s, |b| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'\r' => Some("&#13;"),
        _ => None,
    });
}

fn escape_attr_into(out: &mut String, s: &str) {
    escape_into(out, s, |b| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'"' => Some("&quot;"),
        b'\t' => Some("&#9;"),
        b'\n' => Some("&#10;"),
        b'\r' => Some("&#13;"),
        _ => None,
    });
}

/// Appends `s` to `out`, replacing each byte for which `escape` returns a replacement.
///
/// Only ASCII bytes may be replaced: they never occur inside a multi-byte UTF-8 sequence, so
/// the unreplaced runs between them are whole characters and are copied in one go.
pub(crate) fn escape_into(out: &mut String, s: &str, escape: impl Fn(u8) -> Option<&'static str>) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if let Some(rep) = escape(b) {
            debug_assert!(b.is_ascii());
            out.push_str(&s[start..i]);
            out.push_str(rep);
            start = i + 1;
        }
    }
    out.push_str(&s[start..]);
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// True for the XML 1.0 `Char` production.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c as u32,
        0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

fn is_xml_whitespace(s: &str) -> bool {
    s.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

fn is_name_start_char(c: char) -> bool {
    matches!(c as u32,
        0x41..=0x5A | 0x61..=0x7A | 0x5F | 0xC0..=0xD6 | 0xD8..=0xF6 | 0xF8..=0x2FF
        | 0x370..=0x37D | 0x37F..=0x1FFF | 0x200C..=0x200D | 0x2070..=0x218F
        | 0x2C00..=0x2FEF | 0x3001..=0xD7FF | 0xF900..=0xFDCF | 0xFDF0..=0xFFFD
        | 0x10000..=0xEFFFF)
}

fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c as u32, 0x2D | 0x2E | 0x30..=0x39 | 0xB7 | 0x300..=0x36F | 0x203F..=0x2040)
}

/// True for an XML-Namespaces NCName (a Name without colons).
pub(crate) fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_name_start_char(c) => chars.all(is_name_char),
        _ => false,
    }
}

/// Splits a QName into (prefix, local), validating both parts.
fn split_qname(qname: &str, position: u64) -> Result<(Option<&str>, &str), XmlError> {
    let invalid = || XmlError::InvalidName {
        name: qname.to_string(),
        position,
    };
    match qname.split_once(':') {
        Some((p, l)) if is_ncname(p) && is_ncname(l) => Ok((Some(p), l)),
        Some(_) => Err(invalid()),
        None if is_ncname(qname) => Ok((None, qname)),
        None => Err(invalid()),
    }
}

/// An open element while parsing.
struct Open {
    element: Element,
    scope: Scope,
}

struct Parser<'a> {
    input: &'a str,
    limits: &'a Limits,
    stack: Vec<Open>,
    root: Option<Element>,
    decl: Option<XmlDecl>,
    prolog: Vec<Node>,
    epilog: Vec<Node>,
    /// Text being accumulated (text, references and CDATA are merged into one node).
    text: String,
    element_count: usize,
    ns_decl_count: usize,
    seen_event: bool,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str, limits: &'a Limits) -> Result<Parser<'a>, XmlError> {
        if input.len() > limits.max_input_bytes {
            return Err(XmlError::InputTooLarge {
                size: input.len(),
                limit: limits.max_input_bytes,
            });
        }
        Ok(Parser {
            input: input.strip_prefix('\u{FEFF}').unwrap_or(input),
            limits,
            stack: Vec::new(),
            root: None,
            decl: None,
            prolog: Vec::new(),
            epilog: Vec::new(),
            text: String::new(),
            element_count: 0,
            ns_decl_count: 0,
            seen_event: false,
        })
    }

    fn run(mut self) -> Result<Document, XmlError> {
        let mut reader = Reader::from_str(self.input);
        {
            let cfg = reader.config_mut();
            cfg.check_end_names = true;
            cfg.check_comments = true;
            cfg.expand_empty_elements = false;
            cfg.trim_text(false);
            cfg.allow_dangling_amp = false;
            cfg.allow_unmatched_ends = false;
        }
        loop {
            let before = reader.buffer_position();
            let event = reader.read_event().map_err(|e| XmlError::Syntax {
                position: reader.error_position(),
                message: e.to_string(),
            })?;
            let first = !self.seen_event;
            self.seen_event = true;
            match event {
                Event::Eof => break,
                Event::DocType(_) => return Err(XmlError::Doctype { position: before }),
                Event::Decl(d) => {
                    if !first || before != 0 {
                        return Err(XmlError::MisplacedDeclaration { position: before });
                    }
                    self.decl = Some(parse_decl(&d, before)?);
                }
                Event::Start(s) => {
                    self.flush_text(before)?;
                    self.start(&s, before)?;
                }
                Event::Empty(s) => {
                    self.flush_text(before)?;
                    self.start(&s, before)?;
                    self.end(before)?;
                }
                Event::End(_) => {
                    // Names were matched by quick-xml (check_end_names).
                    self.flush_text(before)?;
                    self.end(before)?;
                }
                Event::Text(t) => {
                    let raw = std::str::from_utf8(&t).map_err(|e| XmlError::Syntax {
                        position: before,
                        message: e.to_string(),
                    })?;
                    if raw.contains("]]>") {
                        return Err(XmlError::Syntax {
                            position: before,
                            message: "']]>' is not allowed in text".into(),
                        });
                    }
                    push_normalized_eol(&mut self.text, raw, before)?;
                }
                Event::CData(c) => {
                    let raw = std::str::from_utf8(&c).map_err(|e| XmlError::Syntax {
                        position: before,
                        message: e.to_string(),
                    })?;
                    if self.stack.is_empty() {
                        return Err(XmlError::TextOutsideRoot { position: before });
                    }
                    push_normalized_eol(&mut self.text, raw, before)?;
                }
                Event::GeneralRef(r) => {
                    let name = std::str::from_utf8(&r).map_err(|e| XmlError::Syntax {
                        position: before,
                        message: e.to_string(),
                    })?;
                    if self.stack.is_empty() {
                        return Err(XmlError::TextOutsideRoot { position: before });
                    }
                    let c = resolve_reference(name, before)?;
                    self.text.push(c);
                }
                Event::Comment(c) => {
                    self.flush_text(before)?;
                    let raw = std::str::from_utf8(&c).map_err(|e| XmlError::Syntax {
                        position: before,
                        message: e.to_string(),
                    })?;
                    let mut s = String::new();
                    push_normalized_eol(&mut s, raw, before)?;
                    self.push_misc(Node::Comment(s));
                }
                Event::PI(pi) => {
                    self.flush_text(before)?;
                    let target =
                        std::str::from_utf8(pi.target()).map_err(|e| XmlError::Syntax {
                            position: before,
                            message: e.to_string(),
                        })?;
                    if !is_ncname(target) || target.eq_ignore_ascii_case("xml") {
                        return Err(XmlError::InvalidName {
                            name: target.to_string(),
                            position: before,
                        });
                    }
                    let content =
                        std::str::from_utf8(pi.content()).map_err(|e| XmlError::Syntax {
                            position: before,
                            message: e.to_string(),
                        })?;
                    let mut data = String::new();
                    push_normalized_eol(
                        &mut data,
                        content.trim_start_matches([' ', '\t', '\r', '\n']),
                        before,
                    )?;
                    self.push_misc(Node::ProcessingInstruction {
                        target: target.to_string(),
                        data,
                    });
                }
            }
        }
        let end = self.input.len() as u64;
        self.flush_text(end)?;
        if let Some(open) = self.stack.last() {
            return Err(XmlError::UnclosedElement {
                name: open.element.name.qualified(),
            });
        }
        let root = self.root.ok_or(XmlError::NoRootElement)?;
        Ok(Document {
            decl: self.decl,
            prolog: self.prolog,
            root,
            epilog: self.epilog,
        })
    }

    fn push_misc(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(open) => open.element.children.push(node),
            None if self.root.is_none() => self.prolog.push(node),
            None => self.epilog.push(node),
        }
    }

    fn flush_text(&mut self, position: u64) -> Result<(), XmlError> {
        if self.text.is_empty() {
            return Ok(());
        }
        let text = std::mem::take(&mut self.text);
        match self.stack.last_mut() {
            Some(open) => {
                open.element.children.push(Node::Text(text));
                Ok(())
            }
            // Whitespace between prolog/epilog items carries no information.
            None if is_xml_whitespace(&text) => Ok(()),
            None => Err(XmlError::TextOutsideRoot { position }),
        }
    }

    fn start(&mut self, s: &BytesStart<'_>, position: u64) -> Result<(), XmlError> {
        if self.stack.is_empty() && self.root.is_some() {
            return Err(XmlError::MultipleRoots { position });
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(XmlError::TooDeep {
                limit: self.limits.max_depth,
                position,
            });
        }
        self.element_count += 1;
        if self.element_count > self.limits.max_elements {
            return Err(XmlError::TooManyElements {
                limit: self.limits.max_elements,
                position,
            });
        }
        let syntax = |message: String| XmlError::Syntax { position, message };
        let qname = std::str::from_utf8(s.name().as_ref())
            .map_err(|e| syntax(e.to_string()))?
            .to_string();
        let (prefix, local) = split_qname(&qname, position)?;

        // Raw attributes: (qname, normalized value).
        let mut raw_attrs: Vec<(String, String)> = Vec::new();
        let mut attrs = s.attributes();
        // Duplicates are detected below, with the attribute's name in the error.
        attrs.with_checks(false);
        for attr in attrs {
            let attr = attr.map_err(|e| syntax(e.to_string()))?;
            if raw_attrs.len() >= self.limits.max_attributes_per_element {
                return Err(XmlError::TooManyAttributes {
                    element: qname.clone(),
                    limit: self.limits.max_attributes_per_element,
                    position,
                });
            }
            let key = std::str::from_utf8(attr.key.as_ref())
                .map_err(|e| syntax(e.to_string()))?
                .to_string();
            let raw_value = std::str::from_utf8(&attr.value).map_err(|e| syntax(e.to_string()))?;
            let value = normalize_attr_value(raw_value, position)?;
            if raw_attrs.iter().any(|(k, _)| *k == key) {
                return Err(XmlError::DuplicateAttribute {
                    element: qname.clone(),
                    name: key,
                    position,
                });
            }
            raw_attrs.push((key, value));
        }

        // Namespace declarations first: they apply to the element's own name and attributes.
        let parent_scope = self
            .stack
            .last()
            .map(|o| o.scope.clone())
            .unwrap_or_else(Scope::root);
        let mut ns_decls = Vec::new();
        let mut plain = Vec::new();
        for (key, value) in raw_attrs {
            if key == "xmlns" {
                if value == XML_NS || value == XMLNS_NS {
                    return Err(XmlError::InvalidNamespaceDecl {
                        position,
                        message: format!("the default namespace cannot be {value:?}"),
                    });
                }
                ns_decls.push(NsDecl {
                    prefix: None,
                    uri: value,
                });
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                if !is_ncname(p) {
                    return Err(XmlError::InvalidName {
                        name: key.clone(),
                        position,
                    });
                }
                check_prefix_binding(p, &value, position)?;
                ns_decls.push(NsDecl {
                    prefix: Some(p.to_string()),
                    uri: value,
                });
            } else {
                plain.push((key, value));
            }
        }
        self.ns_decl_count += ns_decls.len();
        if self.ns_decl_count > self.limits.max_namespace_declarations {
            return Err(XmlError::TooManyNamespaceDeclarations {
                limit: self.limits.max_namespace_declarations,
                position,
            });
        }
        let mut element = Element::new(local);
        element.ns_decls = ns_decls;
        let scope = parent_scope.enter(&element);

        element.name.prefix = prefix.map(str::to_string);
        element.name.ns = match prefix {
            Some("xmlns") => {
                return Err(XmlError::InvalidName {
                    name: qname.clone(),
                    position,
                });
            }
            Some(p) => Some(
                scope
                    .lookup(p)
                    .ok_or_else(|| XmlError::UndeclaredPrefix {
                        prefix: p.to_string(),
                        position,
                    })?
                    .to_string(),
            ),
            None => scope.lookup("").map(str::to_string),
        };

        for (key, value) in plain {
            let (ap, al) = split_qname(&key, position)?;
            let ns = match ap {
                Some(p) => Some(
                    scope
                        .lookup(p)
                        .ok_or_else(|| XmlError::UndeclaredPrefix {
                            prefix: p.to_string(),
                            position,
                        })?
                        .to_string(),
                ),
                // Unprefixed attributes are in no namespace, whatever the default namespace.
                None => None,
            };
            // Uniqueness is by expanded name: `a:x` and `b:x` bound to one URI collide.
            if element
                .attributes
                .iter()
                .any(|a| a.name.ns == ns && a.name.local == al)
            {
                return Err(XmlError::DuplicateAttribute {
                    element: qname.clone(),
                    name: key.clone(),
                    position,
                });
            }
            element.attributes.push(Attribute {
                name: Name {
                    prefix: ap.map(str::to_string),
                    local: al.to_string(),
                    ns,
                },
                value,
            });
        }
        self.stack.push(Open { element, scope });
        Ok(())
    }

    fn end(&mut self, position: u64) -> Result<(), XmlError> {
        let open = self.stack.pop().ok_or_else(|| XmlError::Syntax {
            position,
            message: "end tag without start tag".into(),
        })?;
        match self.stack.last_mut() {
            Some(parent) => parent.element.children.push(Node::Element(open.element)),
            None => self.root = Some(open.element),
        }
        Ok(())
    }
}

fn check_prefix_binding(prefix: &str, uri: &str, position: u64) -> Result<(), XmlError> {
    let err = |message: String| XmlError::InvalidNamespaceDecl { position, message };
    if uri.is_empty() {
        return Err(err(format!(
            "xmlns:{prefix}=\"\": prefixes cannot be undeclared in XML 1.0"
        )));
    }
    if prefix == "xmlns" {
        return Err(err("the xmlns prefix cannot be declared".into()));
    }
    if prefix == "xml" && uri != XML_NS {
        return Err(err(format!(
            "the xml prefix must be bound to {XML_NS}, not {uri:?}"
        )));
    }
    if prefix != "xml" && (uri == XML_NS || uri == XMLNS_NS) {
        return Err(err(format!(
            "prefix {prefix:?} cannot be bound to the reserved namespace {uri:?}"
        )));
    }
    Ok(())
}

fn parse_decl(d: &quick_xml::events::BytesDecl<'_>, position: u64) -> Result<XmlDecl, XmlError> {
    let syntax = |message: String| XmlError::Syntax { position, message };
    let version = d.version().map_err(|e| syntax(e.to_string()))?;
    let version = String::from_utf8_lossy(&version).into_owned();
    if version != "1.0" {
        return Err(XmlError::UnsupportedVersion { found: version });
    }
    let encoding = match d.encoding() {
        None => None,
        Some(e) => {
            let e = e.map_err(|e| syntax(e.to_string()))?;
            let e = String::from_utf8_lossy(&e).into_owned();
            // The input is a Rust &str, so it *is* UTF-8; a document claiming otherwise was
            // transcoded somewhere or is lying, and either way its bytes are not what was
            // signed.
            if !(e.eq_ignore_ascii_case("utf-8") || e.eq_ignore_ascii_case("utf8")) {
                return Err(XmlError::UnsupportedEncoding { found: e });
            }
            Some(e)
        }
    };
    let standalone = match d.standalone() {
        None => None,
        Some(s) => {
            Some(String::from_utf8_lossy(&s.map_err(|e| syntax(e.to_string()))?).into_owned())
        }
    };
    Ok(XmlDecl {
        version,
        encoding,
        standalone,
    })
}

/// Resolves `&name;` (without `&` and `;`): the five predefined entities and character
/// references only. DTD-declared entities do not exist here by construction.
fn resolve_reference(name: &str, position: u64) -> Result<char, XmlError> {
    match name {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ => match name.strip_prefix('#') {
            Some(num) => {
                let invalid = || XmlError::InvalidCharRef {
                    reference: name.to_string(),
                    position,
                };
                let code = match num.strip_prefix('x') {
                    Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        u32::from_str_radix(hex, 16).map_err(|_| invalid())?
                    }
                    None if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) => {
                        num.parse::<u32>().map_err(|_| invalid())?
                    }
                    _ => return Err(invalid()),
                };
                char::from_u32(code)
                    .filter(|c| is_xml_char(*c))
                    .ok_or_else(invalid)
            }
            None => Err(XmlError::UnknownEntity {
                name: name.to_string(),
                position,
            }),
        },
    }
}

/// Appends `raw` with XML end-of-line normalization (`\r\n` and lone `\r` become `\n`),
/// rejecting characters outside the XML `Char` production.
fn push_normalized_eol(out: &mut String, raw: &str, position: u64) -> Result<(), XmlError> {
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if !is_xml_char(c) {
            return Err(XmlError::InvalidChar {
                code: c as u32,
                position,
            });
        }
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    Ok(())
}

/// Normalizes a raw attribute value as XML 1.0 §3.3.3 requires for CDATA attributes:
/// references are resolved, literal whitespace characters (after end-of-line normalization)
/// become spaces, and whitespace produced by character references is kept.
fn normalize_attr_value(raw: &str, position: u64) -> Result<String, XmlError> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        match c {
            '&' => {
                let end = rest
                    .find(';')
                    .ok_or_else(|| XmlError::InvalidAttributeValue {
                        position,
                        message: "'&' without a terminating ';'".into(),
                    })?;
                out.push(resolve_reference(&rest[1..end], position)?);
                rest = &rest[end + 1..];
                continue;
            }
            '<' => {
                return Err(XmlError::InvalidAttributeValue {
                    position,
                    message: "'<' is not allowed in attribute values".into(),
                });
            }
            '\r' => {
                out.push(' ');
                if rest[1..].starts_with('\n') {
                    rest = &rest[1..];
                }
            }
            '\t' | '\n' => out.push(' '),
            c if !is_xml_char(c) => {
                return Err(XmlError::InvalidChar {
                    code: c as u32,
                    position,
                });
            }
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
    const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

    #[test]
    fn parses_namespaces_and_attributes() {
        let doc = Document::parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="r1" xmlns="urn:x">
  <saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">idp</saml:Issuer>
  <plain a="1" saml:b="2" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/>
  <nons xmlns=""/>
</samlp:Response>"#,
        )
        .unwrap();
        assert!(doc.root.is(SAMLP, "Response"));
        assert_eq!(doc.root.attr("ID"), Some("r1"));
        let kids: Vec<_> = doc.root.child_elements().collect();
        assert!(kids[0].is(SAML, "Issuer"));
        assert_eq!(kids[0].text(), "idp");
        assert_eq!(kids[1].name.ns.as_deref(), Some("urn:x"));
        assert_eq!(kids[1].attr("a"), Some("1"));
        assert_eq!(kids[1].attr_ns(SAML, "b"), Some("2"));
        assert_eq!(kids[2].name.ns, None);
        assert_eq!(doc.decl.as_ref().unwrap().version, "1.0");
    }

    #[test]
    fn refuses_doctype() {
        let err =
            Document::parse(r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "boom">]><r>&x;</r>"#)
                .unwrap_err();
        assert!(matches!(err, XmlError::Doctype { .. }), "{err}");
        let err = Document::parse("<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><r/>").unwrap_err();
        assert!(matches!(err, XmlError::Doctype { .. }), "{err}");
    }

    #[test]
    fn unknown_entities_are_errors() {
        let err = Document::parse("<r>&foo;</r>").unwrap_err();
        assert!(matches!(err, XmlError::UnknownEntity { ref name, .. } if name == "foo"));
        let err = Document::parse("<r a=\"&foo;\"/>").unwrap_err();
        assert!(matches!(err, XmlError::UnknownEntity { .. }), "{err}");
        let err = Document::parse("<r>&#0;</r>").unwrap_err();
        assert!(matches!(err, XmlError::InvalidCharRef { .. }), "{err}");
        let err = Document::parse("<r>&#xD800;</r>").unwrap_err();
        assert!(matches!(err, XmlError::InvalidCharRef { .. }), "{err}");
    }

    #[test]
    fn entities_and_char_refs_resolve() {
        let doc = Document::parse(
            "<r a=\"x&#9;y&#10;z &lt;&amp;&quot;\">&lt;&gt;&amp;&apos;&quot;&#x41;&#66;<![CDATA[<c&d>]]></r>",
        )
        .unwrap();
        assert_eq!(doc.root.text(), "<>&'\"AB<c&d>");
        assert_eq!(doc.root.children.len(), 1, "text, refs and CDATA merge");
        assert_eq!(doc.root.attr("a"), Some("x\ty\nz <&\""));
    }

    #[test]
    fn attribute_and_eol_normalization() {
        let doc = Document::parse("<r a=\"a\tb\nc\r\nd\">x\r\ny\rz</r>").unwrap();
        assert_eq!(doc.root.attr("a"), Some("a b c d"));
        assert_eq!(doc.root.text(), "x\ny\nz");
    }

    #[test]
    fn limits_are_enforced() {
        let deep = "<a>".repeat(300) + &"</a>".repeat(300);
        assert!(matches!(
            Document::parse(&deep).unwrap_err(),
            XmlError::TooDeep { limit: 256, .. }
        ));
        let limits = Limits {
            max_input_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            Document::parse_with_limits("<r>0123456789</r>", &limits).unwrap_err(),
            XmlError::InputTooLarge { .. }
        ));
        let limits = Limits {
            max_attributes_per_element: 2,
            ..Limits::default()
        };
        assert!(matches!(
            Document::parse_with_limits("<r a='1' b='2' c='3'/>", &limits).unwrap_err(),
            XmlError::TooManyAttributes { .. }
        ));
        let limits = Limits {
            max_elements: 3,
            ..Limits::default()
        };
        assert!(matches!(
            Document::parse_with_limits("<r><a/><a/><a/></r>", &limits).unwrap_err(),
            XmlError::TooManyElements { .. }
        ));
    }

    #[test]
    fn malformed_inputs_are_typed_errors() {
        let cases: &[&str] = &[
            "",
            "   ",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "text<a/>",
            "<a/>text",
            "<p:a/>",
            "<a p:x='1'/>",
            "<a x='1' x='2'/>",
            "<a xmlns:p='u' xmlns:q='u' p:x='1' q:x='2'/>",
            "<a xmlns:p=''/>",
            "<a xmlns:xml='urn:other'/>",
            "<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>",
            "<xmlns:a/>",
            "<a b='<'/>",
            "<a b='&'/>",
            "<a>&</a>",
            "<a>]]></a>",
            "<a><!-- -- --></a>",
            "<a/><?xml version='1.0'?>",
            "<?xml version='1.0' encoding='ISO-8859-1'?><a/>",
            "<?xml version='1.1'?><a/>",
            "<a>\u{1}</a>",
            "<1a/>",
            "<a:b:c xmlns:a='u'/>",
            "<?xml-stylesheet?><a/>x",
        ];
        for c in cases {
            match Document::parse(c) {
                Ok(_) => panic!("accepted {c:?}"),
                Err(e) => eprintln!("{c:?} -> {e}"),
            }
        }
    }

    #[test]
    fn find_by_id_reports_duplicates() {
        let doc = Document::parse("<r ID='a'><x ID='b'/><y><z ID='c'/></y></r>").unwrap();
        assert_eq!(doc.find_by_id("c").unwrap(), Some(NodePath(vec![1, 0])));
        assert_eq!(doc.find_by_id("nope").unwrap(), None);
        let doc = Document::parse("<r ID='a'><x ID='b'/><y ID='b'/></r>").unwrap();
        assert_eq!(
            doc.find_by_id("b").unwrap_err(),
            XmlError::DuplicateId {
                id: "b".into(),
                count: 2
            }
        );
        // An `Id` elsewhere with the same value also makes `#b` ambiguous.
        let doc = Document::parse("<r ID='b'><x Id='b'/></r>").unwrap();
        assert!(doc.find_by_id("b").is_err());
        assert_eq!(doc.duplicate_ids(), vec!["b".to_string()]);
    }

    /// Paths in document order by plain recursion, as the reference for the traversal.
    fn reference_paths(el: &Element, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        out.push(path.clone());
        for (i, c) in el.indexed_child_elements() {
            path.push(i);
            reference_paths(c, path, out);
            path.pop();
        }
    }

    #[test]
    fn traversal_visits_document_order_with_correct_paths() {
        let doc = Document::parse(
            "<r ID='r'>t<a><!--c--><b ID='b'/>x<c><d/><?p?><e ID='e'/></c></a><f/>tail<g><h/></g></r>",
        )
        .unwrap();
        let mut want = Vec::new();
        reference_paths(&doc.root, &mut Vec::new(), &mut want);
        let mut walked = Vec::new();
        doc.root.walk(NodePath::default(), &mut |p, e| {
            assert!(std::ptr::eq(doc.get(p).unwrap(), e), "{p:?}");
            walked.push(p.0.clone());
        });
        assert_eq!(walked, want);
        let listed: Vec<Vec<usize>> = doc.elements().map(|(p, _)| p.0).collect();
        assert_eq!(listed, want);
        assert_eq!(doc.find_by_id("e").unwrap(), Some(NodePath(vec![1, 3, 2])));
        assert_eq!(
            doc.find_elements(|e| e.attr("ID").is_some()),
            vec![
                NodePath(vec![]),
                NodePath(vec![1, 1]),
                NodePath(vec![1, 3, 2])
            ]
        );
        assert_eq!(
            doc.find_element(|e| e.name.local == "h"),
            Some(NodePath(vec![4, 0]))
        );
        assert_eq!(doc.find_element(|e| e.name.local == "zz"), None);
        // A walk from a base path reports paths below it.
        let a = doc.get(&NodePath(vec![1])).unwrap();
        let mut below = Vec::new();
        a.walk(NodePath(vec![1]), &mut |p, _| below.push(p.0.clone()));
        assert_eq!(
            below,
            vec![
                vec![1],
                vec![1, 1],
                vec![1, 3],
                vec![1, 3, 0],
                vec![1, 3, 2]
            ]
        );
    }

    #[test]
    fn traversal_of_deep_and_wide_documents() {
        // The hostile shape for path-copying traversals: a chain as deep as the limit allows
        // with many siblings at the bottom (each pending sibling used to hold a full path).
        let depth = Limits::default().max_depth - 1;
        let wide = 20_000;
        let mut xml = "<a>".repeat(depth);
        for i in 0..wide {
            xml.push_str(&format!("<s ID='s{i}'/>"));
        }
        xml.push_str(&"</a>".repeat(depth));
        let doc = Document::parse(&xml).unwrap();
        let mut count = 0usize;
        let mut max_len = 0usize;
        doc.root.walk(NodePath::default(), &mut |p, _| {
            count += 1;
            max_len = max_len.max(p.0.len());
        });
        assert_eq!(count, depth + wide);
        assert_eq!(max_len, depth);
        let last = doc.find_by_id(&format!("s{}", wide - 1)).unwrap().unwrap();
        assert_eq!(last.0.len(), depth);
        assert_eq!(last.0.last(), Some(&(wide - 1)));
        assert_eq!(doc.elements().count(), depth + wide);
    }

    #[test]
    fn round_trip_preserves_tree() {
        let src = "<?xml version=\"1.0\"?>\n<!--pre--><a:r xmlns:a=\"urn:a\" xmlns=\"urn:d\" k=\"v&#9;&#10;&#13;&quot;&lt;&amp;>\">\r\n <b xml:lang=\"en\">t&amp;&lt;&gt;&#13;é😀</b><![CDATA[x]]><?pi data?><!--c--><e xmlns=\"\"/></a:r><!--post-->";
        let doc = Document::parse(src).unwrap();
        let again = Document::parse(&doc.to_xml()).unwrap();
        assert_eq!(doc, again);
        assert_eq!(doc.prolog, vec![Node::Comment("pre".into())]);
        assert_eq!(doc.epilog, vec![Node::Comment("post".into())]);
    }

    #[test]
    fn builder_declares_namespaces_once() {
        let root = Element::new_ns("samlp", SAMLP, "Response")
            .with_attr("ID", "_r")
            .with_child(Element::new_ns("saml", SAML, "Issuer").with_text("https://idp"))
            .with_child(
                Element::new_ns("saml", SAML, "Assertion")
                    .with_attr("ID", "_a")
                    .with_child(Element::new_ns("saml", SAML, "Issuer").with_text("x & y")),
            );
        let mut root = root;
        root.set_attr_ns(
            "xsi",
            "http://www.w3.org/2001/XMLSchema-instance",
            "nil",
            "true",
        );
        let doc = Document::new(root).unwrap();
        let xml = doc.to_xml();
        assert_eq!(
            xml,
            "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ID=\"_r\" xsi:nil=\"true\"><saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">https://idp</saml:Issuer><saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_a\"><saml:Issuer>x &amp; y</saml:Issuer></saml:Assertion></samlp:Response>"
        );
        assert_eq!(Document::parse(&xml).unwrap(), doc);
    }

    #[test]
    fn builder_undeclares_default_namespace_when_needed() {
        let root = Element::new_ns("", "urn:d", "r").with_child(Element::new("plain"));
        let doc = Document::new(root).unwrap();
        assert_eq!(doc.to_xml(), "<r xmlns=\"urn:d\"><plain xmlns=\"\"/></r>");
        let bad = Element::new("r");
        let mut bad = bad;
        bad.attributes.push(Attribute {
            name: Name {
                prefix: None,
                local: "x".into(),
                ns: Some("urn:x".into()),
            },
            value: "1".into(),
        });
        assert!(matches!(Document::new(bad), Err(XmlError::InvalidTree(_))));
    }
}
