//! The SQL92 property language of message selectors: Java RocketMQ's `SelectorParser` and
//! `filter.expression` classes, 4.9.8 with the 5.x additions (as in 5.3.3).
//!
//! ```
//! use filter::sql92::Expression;
//! use std::collections::HashMap;
//!
//! let expr = Expression::parse("a BETWEEN 1 AND 10 AND tag IN ('x', 'y')").unwrap();
//! let props: HashMap<&str, &str> = [("a", "3"), ("tag", "x")].into_iter().collect();
//! assert!(expr.matches(&|name| props.get(name).copied()));
//! ```
//!
//! # The language
//!
//! * Literals: strings in single quotes (`''` inside is one quote, no other escapes); decimal
//!   integers (`0` or no leading zero, optional `L`; an `int` if it fits, else a `long`; beyond
//!   a long the selector is refused); floating-point numbers (`1.5`, `1.`, `.5`, `1e3`,
//!   `1.5E-3`, a `double`; `0.0` and values that underflow to it are refused, as are those that
//!   overflow); `TRUE`, `FALSE`, `NULL`. No hex or octal literals (RocketMQ removed them from
//!   ActiveMQ's grammar). Keywords are case-insensitive; property names are ASCII
//!   `[A-Za-z_$][A-Za-z0-9_$]*` and case-sensitive.
//! * Operators, loosest first: `OR`; `AND`; `=`, `<>`, `IS [NOT] NULL`; `>`, `>=`, `<`, `<=`,
//!   `[NOT] BETWEEN x AND y`, `[NOT] IN ('…', …)` (property on the left, string literals only),
//!   and, since 5.x, `[NOT] CONTAINS '…'`, `[NOT] STARTSWITH '…'`, `[NOT] ENDSWITH '…'`; then the
//!   prefix `NOT`, `-`, `+` (binding tighter than comparisons: `NOT a = 1` is `(NOT a) = 1`).
//!   No arithmetic, no LIKE. Comments `/* … */` and `-- …` (line break required) are skipped.
//! * Parse-time refusals (Java's factories throw while building): `>`-style operators with a
//!   string, boolean or NULL literal or a boolean expression as operand; `=`/`<>` with a NULL
//!   literal; a TRUE/FALSE literal `=` a string or number literal; literal BETWEEN bounds that
//!   are NULL or in decreasing order; IN on anything but a property; a whole selector, or an
//!   operand of AND/OR/NOT, that is a non-boolean literal or a negation.
//!
//! Evaluation rules are in the `eval` module's documentation; in short, properties are strings
//! converted to the type of the number they are compared with, a missing property makes a
//! comparison unknown (never an error), and anything Java would throw makes the message not
//! match. A selector matches only when it evaluates to TRUE.

mod ast;
mod eval;
mod java;
mod lexer;
mod lookahead;
mod parser;

use std::fmt;
use std::sync::Arc;

/// A compiled selector: parse once, evaluate per message.
#[derive(Clone, Debug)]
pub struct Expression {
    root: Arc<ast::Node>,
}

/// Why a selector does not compile. `Display` is the message of the `MQFilterException` Java's
/// `SqlFilter.compile` throws (its cause's `toString()`, e.g. `org.apache.rocketmq.filter.
/// parser.ParseException: Encountered …`), which a broker answers to CHECK_CLIENT_CONFIG with
/// SUBSCRIPTION_PARSE_FAILED.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    message: String,
}

impl ParseError {
    /// `MQFilterException.getErrorMessage()`: always `"Invalid MessageSelector. "`.
    pub fn error_message(&self) -> &'static str {
        "Invalid MessageSelector. "
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// Java's `evaluate` result for a message, with a thrown exception as its own case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    True,
    False,
    /// `null`: unknown (e.g. a comparison with a missing property).
    Unknown,
    /// Java throws (e.g. a property that does not read as the number it is compared with); the
    /// broker logs it and does not deliver the message.
    Error,
}

impl Expression {
    /// `SelectorParser.parse(text)`.
    pub fn parse(text: &str) -> Result<Expression, ParseError> {
        parser::Parser::new(text)
            .parse()
            .map(|root| Expression {
                root: Arc::new(root),
            })
            .map_err(|failure| ParseError {
                message: failure.java_text(),
            })
    }

    /// Java's `evaluate` → true only for `Boolean.TRUE`; `props` gives a message property by
    /// name. Unknown and thrown both mean no match.
    pub fn matches<'p>(&self, props: &dyn Fn(&str) -> Option<&'p str>) -> bool {
        self.evaluate(props) == Outcome::True
    }

    /// The full result of Java's `evaluate`.
    pub fn evaluate<'p>(&self, props: &dyn Fn(&str) -> Option<&'p str>) -> Outcome {
        match eval::evaluate(&self.root, props) {
            Ok(Some(eval::Value::Bool(true))) => Outcome::True,
            Ok(Some(_)) => Outcome::False,
            Ok(None) => Outcome::Unknown,
            Err(_) => Outcome::Error,
        }
    }

    /// The names of the properties the selector reads, first appearance first, each once.
    pub fn property_names(&self) -> Vec<&str> {
        let mut all = Vec::new();
        self.root.collect_properties(&mut all);
        let mut seen = std::collections::HashSet::new();
        all.retain(|name| seen.insert(*name));
        all
    }
}

impl fmt::Display for Expression {
    /// Java's `toString()` of the compiled expression (e.g. `((a > 1) && (b == 'x'))`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)
    }
}

/// One fuzzing step, shared by `fuzz/fuzz_targets/sql92.rs` and the bounded run in CI
/// (`filter/tests/sql92_fuzz_bounded.rs`): the bytes up to the first NUL are a selector, the
/// rest are `name=value` properties split by newlines. Parsing and evaluation must not panic,
/// parsing is deterministic, and `matches` agrees with `evaluate`.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let (selector, rest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let selector = String::from_utf8_lossy(selector);
    let rest = String::from_utf8_lossy(rest);
    let props: Vec<(&str, &str)> = rest
        .split('\n')
        .filter_map(|line| line.split_once('='))
        .collect();
    let lookup = |name: &str| {
        props
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    };
    match Expression::parse(&selector) {
        Ok(expr) => {
            let outcome = expr.evaluate(&lookup);
            assert_eq!(expr.matches(&lookup), outcome == Outcome::True);
            let _ = (expr.to_string(), expr.property_names());
            assert!(Expression::parse(&selector).is_ok());
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            assert_eq!(Expression::parse(&selector).err(), Some(e));
        }
    }
}
