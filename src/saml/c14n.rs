//! XML canonicalization of an element subtree: Exclusive XML Canonicalization 1.0 and
//! Canonical XML 1.0 (inclusive), each with or without comments.
//!
//! Signatures are computed over canonical bytes, so every detail here decides whether a peer
//! (xmlsec1, Shibboleth, a vendor's SP) computes the same digest as we do. The subtree is
//! always a whole element with all its descendants, except that the enveloped-signature
//! transform may cut out one `Signature` element: there are never "gaps" in the node-set other
//! than that, which keeps the namespace rules simple (an element's output parent is its parent).

use std::collections::BTreeMap;

use super::xml::{Attribute, Document, Element, Node, NodePath, Scope, XML_NS, escape_into};

/// `http://www.w3.org/TR/2001/REC-xml-c14n-20010315`
pub const C14N_URI: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// `http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments`
pub const C14N_WITH_COMMENTS_URI: &str =
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// `http://www.w3.org/2001/10/xml-exc-c14n#`
pub const EXC_C14N_URI: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// `http://www.w3.org/2001/10/xml-exc-c14n#WithComments`
pub const EXC_C14N_WITH_COMMENTS_URI: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";

/// Which canonicalization family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum C14nMode {
    /// Canonical XML 1.0: all in-scope namespaces and inherited `xml:*` attributes.
    Inclusive,
    /// Exclusive XML Canonicalization 1.0: only visibly utilized namespaces.
    #[default]
    Exclusive,
}

/// A canonicalization algorithm (family plus the comments flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct C14nMethod {
    pub mode: C14nMode,
    pub with_comments: bool,
}

impl C14nMethod {
    pub const EXCLUSIVE: C14nMethod = C14nMethod {
        mode: C14nMode::Exclusive,
        with_comments: false,
    };
    pub const EXCLUSIVE_WITH_COMMENTS: C14nMethod = C14nMethod {
        mode: C14nMode::Exclusive,
        with_comments: true,
    };
    pub const INCLUSIVE: C14nMethod = C14nMethod {
        mode: C14nMode::Inclusive,
        with_comments: false,
    };
    pub const INCLUSIVE_WITH_COMMENTS: C14nMethod = C14nMethod {
        mode: C14nMode::Inclusive,
        with_comments: true,
    };

    /// The algorithm URI.
    pub fn uri(&self) -> &'static str {
        match (self.mode, self.with_comments) {
            (C14nMode::Exclusive, false) => EXC_C14N_URI,
            (C14nMode::Exclusive, true) => EXC_C14N_WITH_COMMENTS_URI,
            (C14nMode::Inclusive, false) => C14N_URI,
            (C14nMode::Inclusive, true) => C14N_WITH_COMMENTS_URI,
        }
    }

    /// The method for an algorithm URI, if supported.
    pub fn from_uri(uri: &str) -> Option<C14nMethod> {
        [
            C14nMethod::EXCLUSIVE,
            C14nMethod::EXCLUSIVE_WITH_COMMENTS,
            C14nMethod::INCLUSIVE,
            C14nMethod::INCLUSIVE_WITH_COMMENTS,
        ]
        .into_iter()
        .find(|m| m.uri() == uri)
    }

    /// The same family without comments.
    pub fn without_comments(self) -> C14nMethod {
        C14nMethod {
            with_comments: false,
            ..self
        }
    }
}

/// Options for one canonicalization.
#[derive(Debug, Clone, Copy, Default)]
pub struct C14nOptions<'a> {
    pub method: C14nMethod,
    /// Exclusive c14n `InclusiveNamespaces PrefixList`: prefixes treated as in inclusive
    /// c14n. `#default` stands for the default namespace. Ignored by inclusive c14n.
    pub inclusive_prefixes: &'a [String],
    /// An element left out with its whole subtree (the enveloped-signature transform);
    /// compared by identity, not by value, so an identical copy elsewhere is kept.
    pub exclude: Option<&'a Element>,
}

/// Canonicalization failures (only possible for inconsistent built trees or bad paths).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum C14nError {
    #[error("no element at path {0:?}")]
    NoSuchElement(Vec<usize>),
    #[error("prefix {prefix:?} used on <{element}> is not declared in scope")]
    UndeclaredPrefix { prefix: String, element: String },
    #[error(
        "prefix {prefix:?} on <{element}> resolves to {declared:?} in scope but the name is in {expected:?}"
    )]
    NamespaceMismatch {
        prefix: String,
        element: String,
        declared: String,
        expected: String,
    },
}

/// Canonicalizes the element at `target` in `doc` (its ancestors provide namespace context).
pub fn canonicalize(
    doc: &Document,
    target: &NodePath,
    opts: &C14nOptions<'_>,
) -> Result<String, C14nError> {
    let chain = doc
        .ancestors_and_self(target)
        .ok_or_else(|| C14nError::NoSuchElement(target.0.clone()))?;
    let (el, ancestors) = chain
        .split_last()
        .ok_or_else(|| C14nError::NoSuchElement(target.0.clone()))?;
    canonicalize_element(ancestors, el, opts)
}

/// Canonicalizes `el`, whose ancestors from the root down to its parent are `ancestors`.
pub fn canonicalize_element(
    ancestors: &[&Element],
    el: &Element,
    opts: &C14nOptions<'_>,
) -> Result<String, C14nError> {
    let mut parent_scope = Scope::root();
    for a in ancestors {
        parent_scope = parent_scope.enter(a);
    }
    // Canonical XML 1.0 §2.4: xml:* attributes of ancestors outside the node-set are
    // inherited by the apex (nearest ancestor wins), unless the apex has its own.
    let mut inherited: Vec<&Attribute> = Vec::new();
    if opts.method.mode == C14nMode::Inclusive {
        for a in ancestors.iter().rev() {
            for attr in &a.attributes {
                if attr.name.ns.as_deref() == Some(XML_NS)
                    && !inherited.iter().any(|i| i.name.local == attr.name.local)
                    && el.attr_ns(XML_NS, &attr.name.local).is_none()
                {
                    inherited.push(attr);
                }
            }
        }
    }
    let mut c = Canon {
        opts,
        out: String::new(),
        rendered: BTreeMap::new(),
        undo: Vec::new(),
        apex: true,
        attr_order: Vec::new(),
    };
    c.run(el, parent_scope, inherited)?;
    Ok(c.out)
}

struct Canon<'a, 'o> {
    opts: &'a C14nOptions<'o>,
    out: String,
    /// Namespace declarations rendered by output ancestors: prefix ("" for default) → the
    /// values rendered, innermost last. A map rather than a scanned list so that documents
    /// with many declarations stay linear.
    rendered: BTreeMap<String, Vec<String>>,
    /// Prefixes pushed onto `rendered`, in order, to pop them when an element closes.
    undo: Vec<String>,
    /// True until the apex start tag is written.
    apex: bool,
    /// Scratch buffer for sorting an element's attributes (indexes), reused across elements.
    attr_order: Vec<usize>,
}

enum Step<'e> {
    Open(&'e Element),
    Close(&'e Element, usize),
    Other(&'e Node),
}

impl Canon<'_, '_> {
    fn run<'e>(
        &mut self,
        apex: &'e Element,
        parent_scope: Scope,
        inherited: Vec<&Attribute>,
    ) -> Result<(), C14nError> {
        // Explicit stacks instead of recursion: depth of built trees is not bounded.
        let mut scopes: Vec<Scope> = vec![parent_scope];
        let mut steps: Vec<Step<'e>> = vec![Step::Open(apex)];
        let mut inherited = Some(inherited);
        while let Some(step) = steps.pop() {
            match step {
                Step::Open(el) => {
                    let scope = scopes.last().unwrap_or(&Scope::root()).enter(el);
                    let mark = self.undo.len();
                    let extra = inherited.take().unwrap_or_default();
                    self.start_tag(el, &scope, &extra)?;
                    scopes.push(scope);
                    steps.push(Step::Close(el, mark));
                    for child in el.children.iter().rev() {
                        match child {
                            Node::Element(ce) => {
                                if self.opts.exclude.is_some_and(|x| std::ptr::eq(x, ce)) {
                                    continue;
                                }
                                steps.push(Step::Open(ce));
                            }
                            other => steps.push(Step::Other(other)),
                        }
                    }
                }
                Step::Close(el, mark) => {
                    self.out.push_str("</");
                    el.name.write_qualified(&mut self.out);
                    self.out.push('>');
                    while self.undo.len() > mark {
                        if let Some(p) = self.undo.pop()
                            && let Some(values) = self.rendered.get_mut(&p)
                        {
                            values.pop();
                        }
                    }
                    scopes.pop();
                }
                Step::Other(node) => self.other(node),
            }
        }
        Ok(())
    }

    fn other(&mut self, node: &Node) {
        match node {
            Node::Text(t) => escape_text(&mut self.out, t),
            Node::Comment(c) => {
                if self.opts.method.with_comments {
                    self.out.push_str("<!--");
                    self.out.push_str(c);
                    self.out.push_str("-->");
                }
            }
            Node::ProcessingInstruction { target, data } => {
                self.out.push_str("<?");
                self.out.push_str(target);
                if !data.is_empty() {
                    self.out.push(' ');
                    self.out.push_str(data);
                }
                self.out.push_str("?>");
            }
            // Elements are scheduled as Open steps, never as Other.
            Node::Element(_) => {}
        }
    }

    fn rendered_value(&self, prefix: &str) -> Option<&str> {
        self.rendered
            .get(prefix)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    fn start_tag(
        &mut self,
        el: &Element,
        scope: &Scope,
        inherited: &[&Attribute],
    ) -> Result<(), C14nError> {
        // Prefixes whose namespace must be consistent with the resolved names: the element's,
        // then those of its prefixed attributes (`xml:` is bound by definition). Borrowed, so
        // that the common case allocates nothing.
        let elem_prefix = el.name.prefix.as_deref().unwrap_or("");
        let utilized_attrs = el.attributes.iter().filter_map(|a| {
            match (a.name.prefix.as_deref(), a.name.ns.as_deref()) {
                (Some(p), Some(ns)) if p != "xml" => Some((p, ns)),
                _ => None,
            }
        });
        let utilized = std::iter::once((elem_prefix, el.name.ns.as_deref().unwrap_or("")))
            .chain(utilized_attrs);
        for (p, expected) in utilized.clone() {
            let declared = scope.declared(p);
            if declared.is_empty() && !p.is_empty() {
                return Err(C14nError::UndeclaredPrefix {
                    prefix: p.to_string(),
                    element: el.name.qualified(),
                });
            }
            if declared != expected {
                return Err(C14nError::NamespaceMismatch {
                    prefix: p.to_string(),
                    element: el.name.qualified(),
                    declared: declared.to_string(),
                    expected: expected.to_string(),
                });
            }
        }

        // Sorted and deduplicated below: the c14n order is the default namespace ("") first,
        // then by prefix.
        let mut candidates: Vec<&str> = match self.opts.method.mode {
            // At the apex every in-scope namespace is a candidate. Below it, the output
            // parent is the real parent and it rendered its whole in-scope set, so only the
            // element's own declarations can differ from what is already rendered.
            C14nMode::Inclusive if self.apex => scope.prefixes().collect(),
            C14nMode::Inclusive => el
                .ns_decls
                .iter()
                .map(|d| d.prefix.as_deref().unwrap_or(""))
                .collect(),
            C14nMode::Exclusive => {
                let mut set: Vec<&str> = utilized.map(|(p, _)| p).collect();
                for p in self.opts.inclusive_prefixes {
                    let p = if p == "#default" { "" } else { p.as_str() };
                    if scope.has_declaration(p) {
                        set.push(p);
                    }
                }
                set
            }
        };
        candidates.sort_unstable();
        candidates.dedup();

        self.out.push('<');
        el.name.write_qualified(&mut self.out);
        for p in candidates {
            if p == "xml" {
                continue;
            }
            let value = scope.declared(p);
            let render = match self.rendered_value(p) {
                // The default namespace being "none" needs `xmlns=""` only to cancel a
                // non-empty default rendered above.
                None => !value.is_empty(),
                Some(r) => r != value,
            };
            if render {
                if p.is_empty() {
                    self.out.push_str(" xmlns=\"");
                } else {
                    self.out.push_str(" xmlns:");
                    self.out.push_str(p);
                    self.out.push_str("=\"");
                }
                escape_attr(&mut self.out, value);
                self.out.push('"');
                self.rendered
                    .entry(p.to_string())
                    .or_default()
                    .push(value.to_string());
                self.undo.push(p.to_string());
            }
        }

        // Attributes (the element's own, then inherited xml:* ones) sorted by namespace URI,
        // then local name; a stable sort of indexes into that sequence.
        let own = el.attributes.len();
        let attr_at = |i: usize| -> &Attribute {
            if i < own {
                &el.attributes[i]
            } else {
                inherited[i - own]
            }
        };
        self.attr_order.clear();
        self.attr_order.extend(0..own + inherited.len());
        self.attr_order
            .sort_by(|&a, &b| attr_sort_key(attr_at(a)).cmp(&attr_sort_key(attr_at(b))));
        for &i in &self.attr_order {
            let a = attr_at(i);
            self.out.push(' ');
            a.name.write_qualified(&mut self.out);
            self.out.push_str("=\"");
            escape_attr(&mut self.out, &a.value);
            self.out.push('"');
        }
        self.out.push('>');
        self.apex = false;
        Ok(())
    }
}

/// Canonical attribute order: namespace URI (none first), then local name.
fn attr_sort_key(a: &Attribute) -> (&str, &str) {
    (a.name.ns.as_deref().unwrap_or(""), a.name.local.as_str())
}

/// Text node escaping of Canonical XML §2.3.
fn escape_text(out: &mut String, s: &str) {
    escape_into(out, s, |b| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'\r' => Some("&#xD;"),
        _ => None,
    });
}

/// Attribute value escaping of Canonical XML §2.3.
fn escape_attr(out: &mut String, s: &str) {
    escape_into(out, s, |b| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'"' => Some("&quot;"),
        b'\t' => Some("&#x9;"),
        b'\n' => Some("&#xA;"),
        b'\r' => Some("&#xD;"),
        _ => None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n_by_id(xml: &str, id: &str, method: C14nMethod, prefixes: &[&str]) -> String {
        let doc = Document::parse(xml).unwrap();
        let path = doc.find_by_id(id).unwrap().unwrap();
        let prefixes: Vec<String> = prefixes.iter().map(|s| s.to_string()).collect();
        canonicalize(
            &doc,
            &path,
            &C14nOptions {
                method,
                inclusive_prefixes: &prefixes,
                exclude: None,
            },
        )
        .unwrap()
    }

    const NS_HEAVY: &str = r#"<root xmlns="urn:default" xmlns:a="urn:a" xmlns:b="urn:b" xmlns:unused="urn:unused" xml:lang="en" xml:space="preserve">
  <a:target ID="t" xmlns:c="urn:c" b:z="2" a:y="1" x="0" c:w="3" xmlns:a="urn:a">
    <inner xmlns:b="urn:b"   attr="v"><b:deep xmlns="" plain="p"/></inner>
    <!-- a comment -->
    <a:same xmlns:a="urn:a2"/>
  </a:target>
</root>"#;

    #[test]
    fn exclusive_renders_only_visibly_utilized_namespaces() {
        let out = c14n_by_id(NS_HEAVY, "t", C14nMethod::EXCLUSIVE, &[]);
        assert_eq!(
            out,
            "<a:target xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" xmlns:c=\"urn:c\" ID=\"t\" x=\"0\" a:y=\"1\" b:z=\"2\" c:w=\"3\">\n    \
             <inner xmlns=\"urn:default\" attr=\"v\"><b:deep plain=\"p\"></b:deep></inner>\n    \n    \
             <a:same xmlns:a=\"urn:a2\"></a:same>\n  </a:target>"
        );
    }

    #[test]
    fn exclusive_with_comments_keeps_comments() {
        let out = c14n_by_id(NS_HEAVY, "t", C14nMethod::EXCLUSIVE_WITH_COMMENTS, &[]);
        assert!(out.contains("\n    <!-- a comment -->\n"), "{out}");
    }

    #[test]
    fn exclusive_inclusive_prefix_list() {
        let out = c14n_by_id(
            NS_HEAVY,
            "t",
            C14nMethod::EXCLUSIVE,
            &["unused", "#default"],
        );
        assert!(
            out.starts_with(
                "<a:target xmlns=\"urn:default\" xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" xmlns:c=\"urn:c\" xmlns:unused=\"urn:unused\" ID="
            ),
            "{out}"
        );
        // Already rendered on the apex: not repeated on <inner>.
        assert!(out.contains("<inner attr=\"v\">"), "{out}");
    }

    #[test]
    fn inclusive_renders_all_in_scope_and_inherits_xml_attrs() {
        // xml:* sort before a:* because http://www.w3.org/XML/1998/namespace < urn:a.
        let out = c14n_by_id(NS_HEAVY, "t", C14nMethod::INCLUSIVE, &[]);
        assert_eq!(
            out,
            "<a:target xmlns=\"urn:default\" xmlns:a=\"urn:a\" xmlns:b=\"urn:b\" xmlns:c=\"urn:c\" xmlns:unused=\"urn:unused\" ID=\"t\" x=\"0\" xml:lang=\"en\" xml:space=\"preserve\" a:y=\"1\" b:z=\"2\" c:w=\"3\">\n    \
             <inner attr=\"v\"><b:deep xmlns=\"\" plain=\"p\"></b:deep></inner>\n    \n    \
             <a:same xmlns:a=\"urn:a2\"></a:same>\n  </a:target>"
        );
    }

    #[test]
    fn escaping_rules() {
        let xml = "<r ID=\"e\" a=\"&lt;&amp;&gt;&quot;'&#9;&#10;&#13;\">&lt;&amp;&gt;\"'&#13;\r\n\u{e9}\u{1F600}<?pi  some data?></r>";
        let out = c14n_by_id(xml, "e", C14nMethod::EXCLUSIVE, &[]);
        assert_eq!(
            out,
            "<r ID=\"e\" a=\"&lt;&amp;>&quot;'&#x9;&#xA;&#xD;\">&lt;&amp;&gt;\"'&#xD;\n\u{e9}\u{1F600}<?pi some data?></r>"
        );
    }

    #[test]
    fn default_namespace_undeclaration() {
        // xmlns="" where no default was rendered is superfluous.
        let xml = "<r xmlns=\"urn:d\"><s ID=\"s\" xmlns=\"\"><t xmlns=\"\"/><u xmlns=\"urn:d\"><v xmlns=\"\"/></u></s></r>";
        for m in [C14nMethod::EXCLUSIVE, C14nMethod::INCLUSIVE] {
            let out = c14n_by_id(xml, "s", m, &[]);
            assert_eq!(
                out, "<s ID=\"s\"><t></t><u xmlns=\"urn:d\"><v xmlns=\"\"></v></u></s>",
                "{m:?}"
            );
        }
    }

    #[test]
    fn redundant_declarations_are_dropped() {
        let xml = "<p:r xmlns:p=\"urn:p\" ID=\"r\"><p:s xmlns:p=\"urn:p\"><p:t xmlns:p=\"urn:p\" xmlns:q=\"urn:q\"/></p:s></p:r>";
        assert_eq!(
            c14n_by_id(xml, "r", C14nMethod::EXCLUSIVE, &[]),
            "<p:r xmlns:p=\"urn:p\" ID=\"r\"><p:s><p:t></p:t></p:s></p:r>"
        );
        assert_eq!(
            c14n_by_id(xml, "r", C14nMethod::INCLUSIVE, &[]),
            "<p:r xmlns:p=\"urn:p\" ID=\"r\"><p:s><p:t xmlns:q=\"urn:q\"></p:t></p:s></p:r>"
        );
    }

    #[test]
    fn exclusive_rerenders_prefix_below_element_that_did_not_use_it() {
        // <mid> does not use p, so exc-c14n renders xmlns:p on each user below it.
        let xml = "<p:r xmlns:p=\"urn:p\"><mid ID=\"m\"><p:a/><p:b/></mid></p:r>";
        assert_eq!(
            c14n_by_id(xml, "m", C14nMethod::EXCLUSIVE, &[]),
            "<mid ID=\"m\"><p:a xmlns:p=\"urn:p\"></p:a><p:b xmlns:p=\"urn:p\"></p:b></mid>"
        );
    }

    #[test]
    fn attribute_sort_order_by_namespace_uri_then_local_name() {
        // Sorted by namespace URI, not by prefix: z: (urn:a) before a: (urn:b).
        let xml = "<r ID=\"r\" xmlns:a=\"urn:b\" xmlns:z=\"urn:a\" a:k=\"1\" z:k=\"2\" b=\"3\" a:a=\"4\"/>";
        assert_eq!(
            c14n_by_id(xml, "r", C14nMethod::EXCLUSIVE, &[]),
            "<r xmlns:a=\"urn:b\" xmlns:z=\"urn:a\" ID=\"r\" b=\"3\" z:k=\"2\" a:a=\"4\" a:k=\"1\"></r>"
        );
    }

    #[test]
    fn excluded_element_is_cut_out_by_identity() {
        let xml = "<r ID=\"r\"><sig>x</sig><sig>x</sig></r>";
        let doc = Document::parse(xml).unwrap();
        let first = doc.root.child_elements().next().unwrap();
        let out = canonicalize(
            &doc,
            &NodePath::default(),
            &C14nOptions {
                method: C14nMethod::EXCLUSIVE,
                inclusive_prefixes: &[],
                exclude: Some(first),
            },
        )
        .unwrap();
        assert_eq!(out, "<r ID=\"r\"><sig>x</sig></r>");
    }

    #[test]
    fn uris_round_trip() {
        for m in [
            C14nMethod::EXCLUSIVE,
            C14nMethod::EXCLUSIVE_WITH_COMMENTS,
            C14nMethod::INCLUSIVE,
            C14nMethod::INCLUSIVE_WITH_COMMENTS,
        ] {
            assert_eq!(C14nMethod::from_uri(m.uri()), Some(m));
        }
        assert_eq!(
            C14nMethod::from_uri("http://www.w3.org/2006/12/xml-c14n11"),
            None
        );
    }

    #[test]
    fn built_tree_with_inconsistent_namespace_is_an_error() {
        let mut root = Element::new_ns("p", "urn:p", "r");
        root.declare_ns("p", "urn:other");
        let doc = Document {
            decl: None,
            prolog: vec![],
            root,
            epilog: vec![],
        };
        let err = canonicalize(&doc, &NodePath::default(), &C14nOptions::default()).unwrap_err();
        assert!(matches!(err, C14nError::NamespaceMismatch { .. }), "{err}");
    }
}
