//! Evaluation with Java's types and nulls. A message property is a `String`; literals are
//! `Integer`, `Long`, `Double`, `String` or `Boolean`; `null` is a missing property (or NULL).
//!
//! * Comparisons go through `ComparisonExpression.__compare` (string conversion on, as every
//!   parsed selector has it): a string against a number literal is read with the literal's
//!   type (`Integer.valueOf`, `Long.valueOf`, `Double.valueOf`); a failed read throws. Two
//!   strings under `>`/`>=`/`<`/`<=` are both read with `Double.valueOf` (or throw); under `=`
//!   they are compared as text. A boolean against a non-boolean compares as "less" (so `=` is
//!   false), except the string/boolean pairs noted in [`compare_values`].
//! * `=`: either side null → null if the left side is null, FALSE if only the right one is;
//!   both null → TRUE. `>` and friends: null on either side → null.
//! * AND/OR/NOT are three-valued (null = unknown); IN/NOT IN on null or a non-string → null;
//!   CONTAINS & co. on null, on a non-string or with an empty search → FALSE (NOT forms too).
//! * A thrown exception aborts the whole evaluation; the broker then treats the message as not
//!   matching (`ExpressionMessageFilter.isMatchedByCommitLog`).

use std::cmp::Ordering;

use super::ast::{CmpOp, Constant, Logic, Node, StrOp};
use super::java::{double_to_string, parse_double, parse_int, parse_long};

/// A Java value during evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value<'a> {
    Str(&'a str),
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
}

impl Value<'_> {
    /// `String.valueOf(value)`.
    pub fn java_string(&self) -> String {
        match self {
            Value::Str(s) => (*s).to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Long(l) => l.to_string(),
            Value::Double(d) => double_to_string(*d),
        }
    }
}

/// The exception an evaluation (or the parse-time BETWEEN check) throws.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Thrown {
    /// `NumberFormatException` wrapped by `__compare` in a `RuntimeException`; the text is the
    /// unreadable string.
    NumberFormat(String, bool),
    /// `Boolean.valueOf((String) lv)` with `lv` a Boolean: `ClassCastException`.
    ClassCast,
    /// Two strings under an ordering operator, not both readable as doubles.
    StringOrdering,
}

impl Thrown {
    /// The throwable's `toString()`, as the parser's caller sees it.
    pub fn java_text(&self) -> String {
        match self {
            Thrown::NumberFormat(input, double) => {
                let message = if *double && input.trim_matches(|c: char| c <= ' ').is_empty() {
                    "empty String".to_string()
                } else if *double {
                    format!("For input string: \"{}\"", input.trim_matches(|c: char| c <= ' '))
                } else {
                    format!("For input string: \"{input}\"")
                };
                format!("java.lang.RuntimeException: java.lang.NumberFormatException: {message}")
            }
            Thrown::ClassCast => "java.lang.ClassCastException: class java.lang.Boolean cannot be cast to class java.lang.String (java.lang.Boolean and java.lang.String are in module java.base of loader 'bootstrap')".to_string(),
            Thrown::StringOrdering => "java.lang.RuntimeException: It's illegal to compare string by '>=', '>', '<', '<='.".to_string(),
        }
    }
}

fn int_of(s: &str) -> Result<i32, Thrown> {
    parse_int(s).ok_or_else(|| Thrown::NumberFormat(s.to_string(), false))
}

fn long_of(s: &str) -> Result<i64, Thrown> {
    parse_long(s).ok_or_else(|| Thrown::NumberFormat(s.to_string(), false))
}

fn double_of(s: &str) -> Result<f64, Thrown> {
    parse_double(s).ok_or_else(|| Thrown::NumberFormat(s.to_string(), true))
}

/// `Double.compareTo`: -0.0 below 0.0, NaN above everything and equal to itself.
fn double_cmp(a: f64, b: f64) -> i32 {
    match a.partial_cmp(&b) {
        Some(Ordering::Less) => -1,
        Some(Ordering::Greater) => 1,
        _ => {
            let (x, y) = (java_double_bits(a), java_double_bits(b));
            (x > y) as i32 - (x < y) as i32
        }
    }
}

/// `Double.doubleToLongBits` (one NaN).
fn java_double_bits(d: f64) -> i64 {
    if d.is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        d.to_bits() as i64
    }
}

fn ord<T: Ord>(a: T, b: T) -> i32 {
    match a.cmp(&b) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// `ComparisonExpression.__compare(lv, rv, true)`: widen the left or convert one side to the
/// other's type, then `compareTo`. A mismatch Java does not convert answers -1.
pub(crate) fn compare_values(lv: &Value<'_>, rv: &Value<'_>) -> Result<i32, Thrown> {
    use Value::*;
    Ok(match (*lv, *rv) {
        (Str(a), Str(b)) => {
            // String.compareTo: UTF-16 code unit order.
            let (a, b) = (a.encode_utf16(), b.encode_utf16());
            ord(a.cmp(b), Ordering::Equal)
        }
        (Bool(a), Bool(b)) => ord(a, b),
        (Int(a), Int(b)) => ord(a, b),
        (Long(a), Long(b)) => ord(a, b),
        (Double(a), Double(b)) => double_cmp(a, b),
        // Boolean on the left: Java casts the Boolean itself to String.
        (Bool(_), Str(_)) => return Err(Thrown::ClassCast),
        (Bool(_), _) => -1,
        (Int(a), Long(b)) => ord(i64::from(a), b),
        (Int(a), Double(b)) => double_cmp(f64::from(a), b),
        (Int(a), Str(b)) => ord(a, int_of(b)?),
        (Long(a), Int(b)) => ord(a, i64::from(b)),
        (Long(a), Double(b)) => double_cmp(a as f64, b),
        (Long(a), Str(b)) => ord(a, long_of(b)?),
        (Double(a), Int(b)) => double_cmp(a, f64::from(b)),
        (Double(a), Long(b)) => double_cmp(a, b as f64),
        (Double(a), Str(b)) => double_cmp(a, double_of(b)?),
        (Int(_) | Long(_) | Double(_), Bool(_)) => -1,
        (Str(a), Bool(b)) => ord(a.eq_ignore_ascii_case("true"), b),
        (Str(a), Int(b)) => ord(int_of(a)?, b),
        (Str(a), Long(b)) => ord(long_of(a)?, b),
        (Str(a), Double(b)) => double_cmp(double_of(a)?, b),
    })
}

/// A Java evaluation result: `Ok(None)` is null.
type Eval<'a> = Result<Option<Value<'a>>, Thrown>;

/// Reads a Boolean-typed result (the `(Boolean)` casts of LogicExpression and NOT). Every node
/// under them is boolean-typed, so a non-boolean value does not occur.
fn as_bool(v: Option<Value<'_>>) -> Option<bool> {
    match v {
        Some(Value::Bool(b)) => Some(b),
        _ => None,
    }
}

pub(crate) fn evaluate<'a, 'p: 'a>(
    node: &'a Node,
    props: &dyn Fn(&str) -> Option<&'p str>,
) -> Eval<'a> {
    Ok(match node {
        Node::Const(c) => match c {
            Constant::Null => None,
            Constant::Bool(b) => Some(Value::Bool(*b)),
            Constant::Str(s) => Some(Value::Str(s)),
            Constant::Int(i) => Some(Value::Int(*i)),
            Constant::Long(l) => Some(Value::Long(*l)),
            Constant::Double(d) => Some(Value::Double(*d)),
        },
        Node::Property(name) => props(name).map(Value::Str),
        Node::Negate(n) => match evaluate(n, props)? {
            Some(Value::Int(i)) => Some(Value::Int(i.wrapping_neg())),
            Some(Value::Long(l)) => Some(Value::Long(l.wrapping_neg())),
            Some(Value::Double(d)) => Some(Value::Double(-d)),
            _ => None,
        },
        Node::Not(n) => as_bool(evaluate(n, props)?).map(|b| Value::Bool(!b)),
        Node::BoolCast(n) => match evaluate(n, props)? {
            None => None,
            Some(Value::Bool(b)) => Some(Value::Bool(b)),
            Some(_) => Some(Value::Bool(false)),
        },
        Node::Compare(op, l, r) => compare(*op, l, r, props)?.map(Value::Bool),
        Node::Logic(op, items) => logic(*op, items, props)?.map(Value::Bool),
        Node::Str {
            op,
            not,
            operand,
            search,
        } => {
            if search.is_empty() {
                return Ok(Some(Value::Bool(false)));
            }
            let Some(Value::Str(s)) = evaluate(operand, props)? else {
                return Ok(Some(Value::Bool(false)));
            };
            let found = match op {
                StrOp::Contains => s.contains(search.as_str()),
                StrOp::StartsWith => s.starts_with(search.as_str()),
                StrOp::EndsWith => s.ends_with(search.as_str()),
            };
            Some(Value::Bool(found != *not))
        }
        Node::In {
            property,
            list,
            not,
        } => props(property).map(|s| Value::Bool(list.iter().any(|item| item == s) != *not)),
    })
}

fn compare<'a, 'p: 'a>(
    op: CmpOp,
    l: &'a Node,
    r: &'a Node,
    props: &dyn Fn(&str) -> Option<&'p str>,
) -> Result<Option<bool>, Thrown> {
    let lv = evaluate(l, props)?;
    if op == CmpOp::Eq {
        // doCreateEqual: both sides are evaluated first.
        let rv = evaluate(r, props)?;
        return Ok(match (lv, rv) {
            (None, None) => Some(true),
            (None, Some(_)) => None,
            (Some(_), None) => Some(false),
            (Some(a), Some(b)) => Some(compare_values(&a, &b)? == 0),
        });
    }
    let Some(lv) = lv else { return Ok(None) };
    let Some(rv) = evaluate(r, props)? else {
        return Ok(None);
    };
    let order = match (lv, rv) {
        (Value::Str(a), Value::Str(b)) => match (parse_double(a), parse_double(b)) {
            (Some(x), Some(y)) => double_cmp(x, y),
            _ => return Err(Thrown::StringOrdering),
        },
        _ => compare_values(&lv, &rv)?,
    };
    Ok(Some(match op {
        CmpOp::Gt => order > 0,
        CmpOp::Ge => order >= 0,
        CmpOp::Lt => order < 0,
        CmpOp::Le => order <= 0,
        CmpOp::Eq => order == 0,
    }))
}

/// A left-nested AND/OR chain, folded left to right with Java's short cuts: OR answers TRUE at
/// the first TRUE, AND answers FALSE at the first FALSE, and otherwise a null on either side of
/// a step makes that step null.
fn logic<'a, 'p: 'a>(
    op: Logic,
    items: &'a [Node],
    props: &dyn Fn(&str) -> Option<&'p str>,
) -> Result<Option<bool>, Thrown> {
    let decisive = op == Logic::Or;
    let mut acc = match items.first() {
        Some(first) => as_bool(evaluate(first, props)?),
        None => return Ok(None),
    };
    for item in &items[1..] {
        if acc == Some(decisive) {
            return Ok(acc);
        }
        let rv = as_bool(evaluate(item, props)?);
        acc = if rv == Some(decisive) {
            Some(decisive)
        } else if acc.is_none() || rv.is_none() {
            None
        } else {
            Some(!decisive)
        };
    }
    Ok(acc)
}
