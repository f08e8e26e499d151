//! PLACEHOLDER until the `filter` crate's SQL92 language lands: the same API
//! (`Expression::parse`, `Expression::matches`) for the tiny subset the broker's tests use
//! (`x BETWEEN n AND m`, `x = literal`, `AND`, `OR`). To be deleted by the merge.
//!
//! The lookup's values outlive the looked-up name (`Option<&'p str>`): with the elided
//! `Fn(&str) -> Option<&str>` a lookup into a record could not be passed.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Num(f64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Between(String, f64, f64),
    Eq(String, Lit),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expression(Node);

fn tokens(text: &str) -> Result<Vec<String>, ParseError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut s = String::from("'");
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some(c) => s.push(c),
                    None => return Err(ParseError("unterminated string".into())),
                }
            }
            out.push(s);
        } else if c == '=' || c == '(' || c == ')' {
            chars.next();
            out.push(c.to_string());
        } else if c.is_alphanumeric() || c == '_' || c == '.' || c == '-' {
            let mut s = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_alphanumeric() || c == '_' || c == '.' || c == '-' {
                    s.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(s);
        } else {
            return Err(ParseError(format!("unexpected '{c}'")));
        }
    }
    Ok(out)
}

struct P {
    t: Vec<String>,
    i: usize,
}

impl P {
    fn next(&mut self) -> Result<String, ParseError> {
        let t = self.t.get(self.i).cloned();
        self.i += 1;
        t.ok_or_else(|| ParseError("unexpected end".into()))
    }
    fn kw(&self, k: &str) -> bool {
        self.t
            .get(self.i)
            .is_some_and(|t| t.eq_ignore_ascii_case(k))
    }
    fn num(&mut self) -> Result<f64, ParseError> {
        let t = self.next()?;
        t.parse()
            .map_err(|_| ParseError(format!("not a number: {t}")))
    }
    fn or(&mut self) -> Result<Node, ParseError> {
        let mut l = self.and()?;
        while self.kw("or") {
            self.i += 1;
            l = Node::Or(Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Node, ParseError> {
        let mut l = self.cmp()?;
        while self.kw("and") {
            self.i += 1;
            l = Node::And(Box::new(l), Box::new(self.cmp()?));
        }
        Ok(l)
    }
    fn cmp(&mut self) -> Result<Node, ParseError> {
        let name = self.next()?;
        if name == "(" {
            let inner = self.or()?;
            if self.next()? != ")" {
                return Err(ParseError("expected )".into()));
            }
            return Ok(inner);
        }
        if self.kw("between") {
            self.i += 1;
            let lo = self.num()?;
            if !self.kw("and") {
                return Err(ParseError("BETWEEN without AND".into()));
            }
            self.i += 1;
            return Ok(Node::Between(name, lo, self.num()?));
        }
        if self.next()? != "=" {
            return Err(ParseError("expected =".into()));
        }
        let v = self.next()?;
        let lit = match v.strip_prefix('\'') {
            Some(s) => Lit::Str(s.to_owned()),
            None => Lit::Num(
                v.parse()
                    .map_err(|_| ParseError(format!("bad literal {v}")))?,
            ),
        };
        Ok(Node::Eq(name, lit))
    }
}

impl Expression {
    pub fn parse(text: &str) -> Result<Expression, ParseError> {
        let mut p = P {
            t: tokens(text)?,
            i: 0,
        };
        let node = p.or()?;
        if p.i != p.t.len() {
            return Err(ParseError("trailing input".into()));
        }
        Ok(Expression(node))
    }

    pub fn matches<'p>(&self, props: &dyn Fn(&str) -> Option<&'p str>) -> bool {
        eval(&self.0, props) == Some(true)
    }
}

fn eval<'p>(n: &Node, props: &dyn Fn(&str) -> Option<&'p str>) -> Option<bool> {
    match n {
        Node::And(a, b) => Some(eval(a, props)? && eval(b, props)?),
        Node::Or(a, b) => Some(eval(a, props) == Some(true) || eval(b, props) == Some(true)),
        Node::Between(name, lo, hi) => {
            let v: f64 = props(name)?.parse().ok()?;
            Some(*lo <= v && v <= *hi)
        }
        Node::Eq(name, Lit::Str(s)) => Some(props(name)? == s),
        Node::Eq(name, Lit::Num(x)) => Some(props(name)?.parse::<f64>().ok()? == *x),
    }
}
