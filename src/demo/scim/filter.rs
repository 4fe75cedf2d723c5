//! SCIM filters (RFC 7644 §3.4.2.2): a tokenizer, a recursive-descent parser with the
//! RFC's precedence (`not` > `and` > `or`), and an evaluator over rendered resources.
//! The same grammar parses PATCH paths (`emails[type eq "work"].value`, §3.5.2).

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::jsonci;
use super::path::AttrPath;
use super::schema::{AttrDef, AttrType, Kind};

/// Nesting deeper than this is refused, so a hostile filter cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }

    fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Present(AttrPath),
    /// The literal is a JSON string, number, boolean or null.
    Compare(AttrPath, CompareOp, Value),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[inner]`: some value of the multi-valued `attr` matches `inner`, whose paths
    /// are relative to that value. `attr[a eq 1].b eq 2` is stored as `attr[a eq 1 and b eq 2]`.
    ValuePath(AttrPath, Box<Filter>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(String);

fn err<T>(msg: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(msg.into()))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Str(String),
    Word(String),
}

fn lex(input: &str) -> Result<Vec<Tok>, FilterError> {
    let mut toks = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                toks.push(match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '[' => Tok::LBracket,
                    _ => Tok::RBracket,
                });
            }
            '"' => {
                chars.next();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let Some(end) = end else {
                    return err("unterminated string literal");
                };
                // SCIM string literals are JSON strings (RFC 7644 §3.4.2.2).
                let s: String = serde_json::from_str(&input[start..=end])
                    .map_err(|e| FilterError(format!("invalid string literal: {e}")))?;
                toks.push(Tok::Str(s));
            }
            _ => {
                let mut end = input.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || "()[]\"".contains(c) {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                toks.push(Tok::Word(input[start..end].to_string()));
            }
        }
    }
    Ok(toks)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn new(input: &str) -> Result<Self, FilterError> {
        Ok(Self {
            toks: lex(input)?,
            pos: 0,
            depth: 0,
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<(), FilterError> {
        match self.next() {
            Some(t) if &t == want => Ok(()),
            Some(t) => err(format!("expected {what}, found {t:?}")),
            None => err(format!("expected {what}, found end of filter")),
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn or_expr(&mut self, in_value_path: bool) -> Result<Filter, FilterError> {
        let mut left = self.and_expr(in_value_path)?;
        while self.peek_keyword("or") {
            self.pos += 1;
            let right = self.and_expr(in_value_path)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self, in_value_path: bool) -> Result<Filter, FilterError> {
        let mut left = self.unary(in_value_path)?;
        while self.peek_keyword("and") {
            self.pos += 1;
            let right = self.unary(in_value_path)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, in_value_path: bool) -> Result<Filter, FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err("filter nested too deeply");
        }
        let out = self.unary_inner(in_value_path);
        self.depth -= 1;
        out
    }

    fn unary_inner(&mut self, in_value_path: bool) -> Result<Filter, FilterError> {
        match self.next() {
            Some(Tok::Word(w))
                if w.eq_ignore_ascii_case("not") && self.peek() == Some(&Tok::LParen) =>
            {
                self.pos += 1;
                let inner = self.or_expr(in_value_path)?;
                self.expect(&Tok::RParen, "`)`")?;
                Ok(Filter::Not(Box::new(inner)))
            }
            Some(Tok::LParen) => {
                let inner = self.or_expr(in_value_path)?;
                self.expect(&Tok::RParen, "`)`")?;
                Ok(inner)
            }
            Some(Tok::Word(w)) => self.attr_expr(&w, in_value_path),
            Some(t) => err(format!("expected an attribute, found {t:?}")),
            None => err("unexpected end of filter"),
        }
    }

    fn attr_expr(&mut self, word: &str, in_value_path: bool) -> Result<Filter, FilterError> {
        let path = parse_attr_path(word)?;
        if self.peek() != Some(&Tok::LBracket) {
            return self.comparison(path);
        }
        if in_value_path {
            return err("value paths cannot be nested");
        }
        let (path, inner, sub) = self.value_path(path)?;
        let inner = match sub {
            None => inner,
            Some(sub) => {
                let tail = self.comparison(AttrPath {
                    urn: None,
                    attr: sub,
                    sub: None,
                })?;
                Filter::And(Box::new(inner), Box::new(tail))
            }
        };
        Ok(Filter::ValuePath(path, Box::new(inner)))
    }

    /// `[filter]` plus an optional `.sub` directly after the bracket.
    fn value_path(
        &mut self,
        path: AttrPath,
    ) -> Result<(AttrPath, Filter, Option<String>), FilterError> {
        if path.sub.is_some() {
            return err("a value filter applies to an attribute, not a sub-attribute");
        }
        self.expect(&Tok::LBracket, "`[`")?;
        let inner = self.or_expr(true)?;
        self.expect(&Tok::RBracket, "`]`")?;
        let sub = match self.peek() {
            Some(Tok::Word(w)) if w.starts_with('.') => {
                let name = w[1..].to_string();
                if parse_attr_path(&name)?.sub.is_some() {
                    return err(format!("invalid sub-attribute `{name}`"));
                }
                self.pos += 1;
                Some(name)
            }
            _ => None,
        };
        Ok((path, inner, sub))
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        let op_word = match self.next() {
            Some(Tok::Word(w)) => w,
            Some(t) => return err(format!("expected an operator, found {t:?}")),
            None => return err("expected an operator, found end of filter"),
        };
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::parse(&op_word) else {
            return err(format!("unknown operator `{op_word}`"));
        };
        let literal = match self.next() {
            Some(Tok::Str(s)) => Value::String(s),
            Some(Tok::Word(w)) => parse_literal(&w)?,
            Some(t) => return err(format!("expected a value, found {t:?}")),
            None => return err("expected a value, found end of filter"),
        };
        if op.is_ordering() && (literal.is_boolean() || literal.is_null()) {
            // RFC 7644 §3.4.2.2: booleans and null have no order.
            return err(format!("`{op_word}` cannot compare with {literal}"));
        }
        Ok(Filter::Compare(path, op, literal))
    }
}

fn parse_attr_path(word: &str) -> Result<AttrPath, FilterError> {
    AttrPath::parse(word).ok_or_else(|| FilterError(format!("invalid attribute path `{word}`")))
}

fn parse_literal(word: &str) -> Result<Value, FilterError> {
    match word.to_ascii_lowercase().as_str() {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        "null" => return Ok(Value::Null),
        _ => {}
    }
    match serde_json::from_str::<Number>(word) {
        Ok(n) => Ok(Value::Number(n)),
        Err(_) => err(format!(
            "invalid value `{word}` (strings must be in double quotes)"
        )),
    }
}

/// Parses a whole filter expression.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    let mut p = Parser::new(input)?;
    if p.at_end() {
        return err("empty filter");
    }
    let f = p.or_expr(false)?;
    match p.peek() {
        None => Ok(f),
        Some(t) => err(format!("unexpected {t:?} after a complete filter")),
    }
}

/// A PATCH path: `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`, each with an
/// optional schema URN prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter (`.value` in `emails[…].value`).
    pub sub_after_filter: Option<String>,
}

pub fn parse_patch_path(input: &str) -> Result<PatchPath, FilterError> {
    let mut p = Parser::new(input)?;
    let attr = match p.next() {
        Some(Tok::Word(w)) => parse_attr_path(&w)?,
        _ => return err("a path starts with an attribute name"),
    };
    if p.at_end() {
        return Ok(PatchPath {
            attr,
            filter: None,
            sub_after_filter: None,
        });
    }
    let (attr, filter, sub) = p.value_path(attr)?;
    if !p.at_end() {
        return err("unexpected text after the path");
    }
    Ok(PatchPath {
        attr,
        filter: Some(filter),
        sub_after_filter: sub,
    })
}

impl Filter {
    /// The `a eq "x" and b eq "y"` pairs when the filter is only such a conjunction:
    /// the attributes a new value must have to match it (PATCH upserts).
    pub fn equality_pairs(&self) -> Option<Vec<(String, Value)>> {
        match self {
            Self::Compare(path, CompareOp::Eq, lit)
                if path.urn.is_none() && path.sub.is_none() && !lit.is_null() =>
            {
                Some(vec![(path.attr.clone(), lit.clone())])
            }
            Self::And(a, b) => {
                let mut pairs = a.equality_pairs()?;
                pairs.extend(b.equality_pairs()?);
                Some(pairs)
            }
            _ => None,
        }
    }
}

/// How to evaluate a filter.
#[derive(Debug, Clone, Copy)]
pub struct EvalCtx {
    pub kind: Kind,
    /// Compare every string case-sensitively (a break switch).
    pub all_case_exact: bool,
}

/// What a path is evaluated against: the resource, or one value of a multi-valued
/// attribute (inside `attr[…]`) together with that attribute's definition.
#[derive(Clone, Copy)]
pub enum Scope<'a> {
    Root(&'a Map<String, Value>),
    Element(&'a Map<String, Value>, Option<&'static AttrDef>),
}

impl Filter {
    /// Whether the rendered resource `doc` matches.
    pub fn matches(&self, doc: &Map<String, Value>, ctx: &EvalCtx) -> bool {
        self.eval(Scope::Root(doc), ctx)
    }

    pub fn eval(&self, scope: Scope<'_>, ctx: &EvalCtx) -> bool {
        match self {
            Self::And(a, b) => a.eval(scope, ctx) && b.eval(scope, ctx),
            Self::Or(a, b) => a.eval(scope, ctx) || b.eval(scope, ctx),
            Self::Not(a) => !a.eval(scope, ctx),
            Self::Present(path) => values_at(path, scope, ctx.kind)
                .0
                .iter()
                .any(|v| present(v)),
            Self::Compare(path, op, lit) => {
                let (values, def) = values_at(path, scope, ctx.kind);
                let case_exact = ctx.all_case_exact || def.is_some_and(|d| d.case_exact);
                let date = def.is_some_and(|d| d.ty == AttrType::DateTime);
                match (op, lit) {
                    // `eq null` asks for an unassigned attribute (RFC 7643 §2.5).
                    (CompareOp::Eq, Value::Null) => !values.iter().any(|v| present(v)),
                    (CompareOp::Ne, Value::Null) => values.iter().any(|v| present(v)),
                    (CompareOp::Ne, _) => !values
                        .iter()
                        .any(|v| compare(v, CompareOp::Eq, lit, case_exact, date)),
                    _ => values
                        .iter()
                        .any(|v| compare(v, *op, lit, case_exact, date)),
                }
            }
            Self::ValuePath(path, inner) => {
                let (values, def) = values_at(path, scope, ctx.kind);
                values.iter().any(|v| match v {
                    Value::Object(elem) => inner.eval(Scope::Element(elem, def), ctx),
                    _ => false,
                })
            }
        }
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// The values a path selects (multi-valued attributes flattened) and their definition.
fn values_at<'a>(
    path: &AttrPath,
    scope: Scope<'a>,
    kind: Kind,
) -> (Vec<&'a Value>, Option<&'static AttrDef>) {
    let (container, attr, def, sub, sub_def) = match scope {
        Scope::Root(doc) => {
            let Some(r) = path.resolve(kind) else {
                return (Vec::new(), None);
            };
            let container = match &r.container {
                None => Some(doc),
                Some(urn) => jsonci::get(doc, urn).and_then(Value::as_object),
            };
            (container, r.attr, r.def, r.sub, r.sub_def)
        }
        Scope::Element(elem, parent) => {
            let def = parent.and_then(|p| p.sub_attr(&path.attr));
            (Some(elem), path.attr.clone(), def, path.sub.clone(), None)
        }
    };
    let Some(value) = container.and_then(|c| jsonci::get(c, &attr)) else {
        return (Vec::new(), def);
    };
    let mut out = Vec::new();
    match &sub {
        None => flatten_into(value, &mut out),
        Some(sub) => {
            let items: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for item in items {
                if let Some(v) = item.as_object().and_then(|o| jsonci::get(o, sub)) {
                    flatten_into(v, &mut out);
                }
            }
        }
    }
    (out, if sub.is_some() { sub_def } else { def })
}

fn flatten_into<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => out.extend(items.iter()),
        other => out.push(other),
    }
}

fn compare(value: &Value, op: CompareOp, lit: &Value, case_exact: bool, date: bool) -> bool {
    // A complex value compared as a whole (`members eq "id"`, `emails co "@x"`) stands
    // for its `value` sub-attribute.
    let value = match value {
        Value::Object(o) => match jsonci::get(o, "value") {
            Some(v) => v,
            None => return false,
        },
        v => v,
    };
    match (value, lit) {
        (Value::String(a), Value::String(b)) => {
            if date
                && let (Ok(x), Ok(y)) = (
                    OffsetDateTime::parse(a, &Rfc3339),
                    OffsetDateTime::parse(b, &Rfc3339),
                )
            {
                return ordered(x.cmp(&y), op);
            }
            let (a, b) = if case_exact {
                (a.clone(), b.clone())
            } else {
                (a.to_lowercase(), b.to_lowercase())
            };
            match op {
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                _ => ordered(a.cmp(&b), op),
            }
        }
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).is_some_and(|o| ordered(o, op)),
            _ => false,
        },
        (Value::Bool(a), Value::Bool(b)) => op == CompareOp::Eq && a == b,
        // Tolerates `active eq "true"`.
        (Value::Bool(a), Value::String(b)) => {
            op == CompareOp::Eq && b.eq_ignore_ascii_case(if *a { "true" } else { "false" })
        }
        _ => false,
    }
}

fn ordered(o: Ordering, op: CompareOp) -> bool {
    match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::scim::schema::ENTERPRISE_URN;
    use serde_json::json;

    fn user() -> Map<String, Value> {
        let v = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "Ext-1",
            "userName": "Barbara.Jensen@Example.com",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "active": true,
            "title": "Tour Guide",
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "x-score": 7,
            "meta": {"created": "2024-01-02T03:04:05Z", "lastModified": "2024-06-01T00:00:00Z"},
            ENTERPRISE_URN: {"employeeNumber": "701984", "manager": {"value": "m-1"}},
            "groups": [{"value": "g-1", "display": "Admins", "type": "direct"}]
        });
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn ctx() -> EvalCtx {
        EvalCtx {
            kind: Kind::User,
            all_case_exact: false,
        }
    }

    fn m(filter: &str) -> bool {
        parse(filter)
            .unwrap_or_else(|e| panic!("{filter}: {e}"))
            .matches(&user(), &ctx())
    }

    #[test]
    fn every_operator() {
        assert!(m(r#"userName eq "barbara.jensen@example.com""#));
        assert!(!m(r#"userName ne "BARBARA.JENSEN@EXAMPLE.COM""#));
        assert!(m(r#"userName ne "someone""#));
        assert!(m(r#"userName co "JENSEN""#));
        assert!(m(r#"userName sw "barb""#));
        assert!(m(r#"userName ew "@example.COM""#));
        assert!(!m(r#"userName ew "@example.org""#));
        assert!(m("title pr"));
        assert!(!m("nickName pr"));
        assert!(m(r#"title gt "Tour""#));
        assert!(m(r#"title ge "tour guide""#));
        assert!(m(r#"title lt "Z""#));
        assert!(m(r#"title le "TOUR GUIDE""#));
        assert!(!m(r#"title lt "A""#));
        assert!(m("x-score gt 6.5"));
        assert!(m("x-score le 7"));
        assert!(!m("x-score lt 7"));
    }

    #[test]
    fn operators_and_attribute_names_ignore_case() {
        assert!(m(r#"USERNAME EQ "barbara.jensen@example.com""#));
        assert!(m(r#"name.GIVENNAME Sw "bar" AND Active Eq TRUE"#));
        assert!(m("EMAILS.TYPE Pr"));
    }

    #[test]
    fn case_exact_attributes_compare_exactly() {
        assert!(m(r#"externalId eq "Ext-1""#));
        assert!(!m(r#"externalId eq "ext-1""#));
        assert!(!m(r#"id eq "2819C223-7F76-453A-919D-413861904646""#));
        let strict = EvalCtx {
            all_case_exact: true,
            ..ctx()
        };
        let f = parse(r#"userName eq "barbara.jensen@example.com""#).expect("parses");
        assert!(!f.matches(&user(), &strict));
    }

    #[test]
    fn precedence_not_and_or() {
        // and binds tighter than or: true or (false and false)
        assert!(m(r#"active eq true or title eq "x" and title eq "y""#));
        // (true or false) and false
        assert!(!m(r#"(active eq true or title eq "x") and title eq "y""#));
        assert!(m(r#"not (title eq "x")"#));
        assert!(!m(r#"not(title pr) or nickName pr"#));
        assert!(m(r#"not (title eq "x") and not (nickName pr)"#));
        assert_eq!(
            parse(r#"a eq 1 or b eq 2 and c eq 3"#).expect("parses"),
            Filter::Or(
                Box::new(parse("a eq 1").expect("a")),
                Box::new(parse("b eq 2 and c eq 3").expect("bc"))
            )
        );
    }

    #[test]
    fn value_paths_and_multi_valued_attributes() {
        assert!(m(
            r#"emails[type eq "work"].value eq "BJENSEN@example.com""#
        ));
        assert!(!m(
            r#"emails[type eq "home"].value eq "bjensen@example.com""#
        ));
        assert!(m(r#"emails[type eq "work" and value co "@"]"#));
        assert!(!m(r#"emails[type eq "other"]"#));
        assert!(m(r#"emails[not (type eq "work")]"#));
        assert!(m(r#"emails.value eq "babs@jensen.org""#));
        assert!(m(r#"emails co "jensen.org""#));
        assert!(m(r#"emails[primary eq true].value sw "bjensen""#));
        assert!(m(r#"groups[value eq "g-1"]"#));
        assert!(m(r#"emails[type eq "work"].primary pr"#));
    }

    #[test]
    fn extension_and_meta_paths() {
        assert!(m(&format!(
            r#"{ENTERPRISE_URN}:employeeNumber eq "701984""#
        )));
        assert!(m(&format!(r#"{ENTERPRISE_URN}:manager.value eq "m-1""#)));
        assert!(!m(r#"employeeNumber eq "701984""#));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b""#
        ));
        assert!(m(r#"meta.lastModified gt "2024-01-01T00:00:00Z""#));
        assert!(!m(r#"meta.created lt "2024-01-02T04:04:05+01:00""#));
        assert!(m(r#"meta.created ge "2024-01-02T04:04:05+01:00""#));
    }

    #[test]
    fn literals() {
        assert!(m("active eq true"));
        assert!(!m("active eq false"));
        assert!(m("nickName eq null"));
        assert!(!m("title eq null"));
        assert!(m("title ne null"));
        assert!(m(r#"title eq "Tour \"Guide\"" or title eq "Tour Guide""#));
        assert!(m(r#"title eq "Tour\u0020Guide""#));
    }

    #[test]
    fn errors_are_reported() {
        for bad in [
            "",
            "userName",
            "userName eq",
            "userName eq bob",
            r#"userName xx "a""#,
            r#"userName eq "a" and"#,
            r#"(userName eq "a""#,
            r#"userName eq "a")"#,
            r#"userName eq "unterminated"#,
            r#"emails[type eq "work""#,
            r#"emails[type[x eq 1] eq 1]"#,
            "active gt true",
            "title lt null",
            r#"1bad eq "x""#,
            r#"userName eq "a" userName eq "b""#,
            r#"not userName eq "a""#,
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should fail");
        }
        let deep = format!("{}title pr{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn patch_paths() {
        let p = parse_patch_path(r#"emails[type eq "work"].value"#).expect("parses");
        assert_eq!(p.attr.attr, "emails");
        assert_eq!(p.sub_after_filter.as_deref(), Some("value"));
        assert_eq!(
            p.filter.and_then(|f| f.equality_pairs()),
            Some(vec![("type".to_string(), json!("work"))])
        );
        let p = parse_patch_path(r#"members[value eq "a]b"]"#).expect("parses");
        assert!(p.sub_after_filter.is_none());
        let p = parse_patch_path("name.givenName").expect("parses");
        assert_eq!(p.attr.sub.as_deref(), Some("givenName"));
        for bad in [
            "",
            "emails[",
            r#"emails[type eq "x"]x"#,
            "a b",
            "name.givenName[x pr]",
        ] {
            assert!(parse_patch_path(bad).is_err(), "{bad:?} should fail");
        }
    }
}
