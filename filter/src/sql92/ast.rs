//! The expression tree and its constructors, with the checks Java's `ComparisonExpression`,
//! `UnaryExpression` and `LogicExpression` factories make while the parser builds the tree (a
//! failed check is a `RuntimeException`, which the parser turns into the selector's error), and
//! `toString` as Java renders each node (those texts appear inside the error messages).

use std::fmt;

use super::eval::compare_values;
use super::eval::Value;
use super::java::{double_to_string, hash_set_order};

/// A literal: `ConstantExpression` (strings, numbers) or `BooleanConstantExpression` (TRUE,
/// FALSE, NULL).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Constant {
    Null,
    Bool(bool),
    Str(String),
    /// A decimal literal that fits an `int` (`Integer`).
    Int(i32),
    /// A decimal literal beyond `int` (`Long`).
    Long(i64),
    /// A floating-point literal (`Double`).
    Double(f64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Logic {
    And,
    Or,
}

#[derive(Clone, Debug)]
pub(crate) enum Node {
    Const(Constant),
    Property(String),
    /// `UnaryExpression.createNegate`.
    Negate(Box<Node>),
    /// `UnaryExpression.createNOT`.
    Not(Box<Node>),
    /// `UnaryExpression.createBooleanCast`: a bare property where a boolean is needed.
    BoolCast(Box<Node>),
    Compare(CmpOp, Box<Node>, Box<Node>),
    /// A left-nested chain of one logic operator, `((a op b) op c) …`, kept flat so that long
    /// `OR` lists neither recurse deeply nor drop recursively.
    Logic(Logic, Vec<Node>),
    /// CONTAINS / STARTSWITH / ENDSWITH and their NOT forms (5.x).
    Str {
        op: StrOp,
        not: bool,
        operand: Box<Node>,
        search: String,
    },
    /// IN / NOT IN (only ever over a property).
    In {
        property: String,
        list: Vec<String>,
        not: bool,
    },
}

/// A Java `RuntimeException` (or other throwable) raised while building the tree: the full
/// `toString()` text, class name included.
pub(crate) type BuildError = String;

fn runtime(message: String) -> BuildError {
    format!("java.lang.RuntimeException: {message}")
}

impl Node {
    /// `instanceof ConstantExpression`.
    fn constant(&self) -> Option<&Constant> {
        match self {
            Node::Const(c) => Some(c),
            _ => None,
        }
    }

    /// `instanceof BooleanExpression`.
    pub fn is_boolean(&self) -> bool {
        match self {
            Node::Const(c) => matches!(c, Constant::Null | Constant::Bool(_)),
            Node::Property(_) | Node::Negate(_) => false,
            _ => true,
        }
    }

    /// Every property name the expression reads, in order of appearance, with repeats.
    pub fn collect_properties<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Node::Const(_) => {}
            Node::Property(name) | Node::In { property: name, .. } => out.push(name),
            Node::Negate(n) | Node::Not(n) | Node::BoolCast(n) => n.collect_properties(out),
            Node::Str { operand, .. } => operand.collect_properties(out),
            Node::Compare(_, l, r) => {
                l.collect_properties(out);
                r.collect_properties(out);
            }
            Node::Logic(_, items) => items.iter().for_each(|n| n.collect_properties(out)),
        }
    }
}

/// `SelectorParser.asBooleanExpression`: a boolean node as is, a property cast, else a
/// ParseException (returned as its message).
pub(crate) fn as_boolean(node: Node) -> Result<Node, String> {
    if node.is_boolean() {
        Ok(node)
    } else if matches!(node, Node::Property(_)) {
        Ok(Node::BoolCast(Box::new(node)))
    } else {
        Err(format!(
            "Expression will not result in a boolean value: {node}"
        ))
    }
}

/// `LogicExpression.createOR` / `createAND` (operands already boolean).
pub(crate) fn logic(op: Logic, left: Node, right: Node) -> Node {
    match left {
        Node::Logic(lop, mut items) if lop == op => {
            items.push(right);
            Node::Logic(op, items)
        }
        left => Node::Logic(op, vec![left, right]),
    }
}

/// `checkLessThanOperand`: only numbers (or non-boolean, non-constant nodes) around `>` etc.
fn check_less_than_operand(node: &Node) -> Result<(), BuildError> {
    if let Some(c) = node.constant() {
        if matches!(
            c,
            Constant::Int(_) | Constant::Long(_) | Constant::Double(_)
        ) {
            return Ok(());
        }
        return Err(runtime(format!("Value '{node}' cannot be compared.")));
    }
    if node.is_boolean() {
        return Err(runtime(format!("Value '{node}' cannot be compared.")));
    }
    Ok(())
}

/// `createGreaterThan` and friends.
pub(crate) fn ordering(op: CmpOp, left: Node, right: Node) -> Result<Node, BuildError> {
    check_less_than_operand(&left)?;
    check_less_than_operand(&right)?;
    Ok(Node::Compare(op, Box::new(left), Box::new(right)))
}

/// `createEqual`: no NULL literal on either side, and no TRUE/FALSE literal compared with a
/// string or number literal.
pub(crate) fn equal(left: Node, right: Node) -> Result<Node, BuildError> {
    for side in [&left, &right] {
        if side.constant() == Some(&Constant::Null) {
            return Err(runtime(format!("'{side}' cannot be compared.")));
        }
    }
    if left.constant().is_some()
        && right.constant().is_some()
        && left.is_boolean()
        && !right.is_boolean()
    {
        return Err(runtime(format!(
            "'{left}' cannot be compared with '{right}'"
        )));
    }
    Ok(Node::Compare(CmpOp::Eq, Box::new(left), Box::new(right)))
}

/// `createNotEqual`: NOT of the equality.
pub(crate) fn not_equal(left: Node, right: Node) -> Result<Node, BuildError> {
    Ok(Node::Not(Box::new(equal(left, right)?)))
}

/// `createIsNull`: equality with NULL, unchecked.
pub(crate) fn is_null(left: Node) -> Node {
    Node::Compare(
        CmpOp::Eq,
        Box::new(left),
        Box::new(Node::Const(Constant::Null)),
    )
}

/// `createIsNotNull`.
pub(crate) fn is_not_null(left: Node) -> Node {
    Node::Not(Box::new(is_null(left)))
}

fn constant_value(c: &Constant) -> Option<Value<'_>> {
    Some(match c {
        Constant::Null => return None,
        Constant::Bool(b) => Value::Bool(*b),
        Constant::Str(s) => Value::Str(s),
        Constant::Int(i) => Value::Int(*i),
        Constant::Long(l) => Value::Long(*l),
        Constant::Double(d) => Value::Double(*d),
    })
}

/// `createBetween`: with two literal bounds, neither may be NULL and `low <= high` (compared as
/// `__compare(high, low)`); then `value >= low AND value <= high`.
pub(crate) fn between(value: Node, low: Node, high: Node) -> Result<Node, BuildError> {
    if let (Some(lc), Some(hc)) = (low.constant(), high.constant()) {
        let (Some(lv), Some(hv)) = (constant_value(lc), constant_value(hc)) else {
            return Err(runtime(
                "Illegal values of between, values can not be null!".into(),
            ));
        };
        let order = compare_values(&hv, &lv).map_err(|e| e.java_text())?;
        if order < 0 {
            return Err(runtime(format!(
                "Illegal values of between, left value({}) must less than or equal to right value({})",
                lv.java_string(),
                hv.java_string()
            )));
        }
    }
    let ge = ordering(CmpOp::Ge, value.clone(), low)?;
    let le = ordering(CmpOp::Le, value, high)?;
    Ok(logic(Logic::And, ge, le))
}

/// `createNotBetween`: `value < low OR value > high`, no bound check.
pub(crate) fn not_between(value: Node, low: Node, high: Node) -> Result<Node, BuildError> {
    let lt = ordering(CmpOp::Lt, value.clone(), low)?;
    let gt = ordering(CmpOp::Gt, value, high)?;
    Ok(logic(Logic::Or, lt, gt))
}

/// `createInFilter` / `createNotInFilter`: the left side must be a property.
pub(crate) fn in_list(left: Node, list: Vec<String>, not: bool) -> Result<Node, BuildError> {
    match left {
        Node::Property(property) => Ok(Node::In {
            property,
            list,
            not,
        }),
        other => Err(runtime(format!(
            "Expected a property for In expression, got: {other}"
        ))),
    }
}

pub(crate) fn string_op(op: StrOp, not: bool, operand: Node, search: String) -> Node {
    Node::Str {
        op,
        not,
        operand: Box::new(operand),
        search,
    }
}

impl fmt::Display for Constant {
    /// `ConstantExpression.toString()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Constant::Null => f.write_str("NULL"),
            Constant::Bool(true) => f.write_str("TRUE"),
            Constant::Bool(false) => f.write_str("FALSE"),
            Constant::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Constant::Int(i) => write!(f, "{i}"),
            Constant::Long(l) => write!(f, "{l}"),
            Constant::Double(d) => f.write_str(&double_to_string(*d)),
        }
    }
}

impl fmt::Display for Node {
    /// The `toString()` of Java's expression classes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Const(c) => write!(f, "{c}"),
            Node::Property(name) => f.write_str(name),
            Node::Negate(n) => write!(f, "(- {n})"),
            Node::Not(n) => write!(f, "(NOT {n})"),
            Node::BoolCast(n) => write!(f, "{n}"),
            Node::Compare(op, l, r) => {
                let symbol = match op {
                    CmpOp::Eq => "==",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                };
                write!(f, "({l} {symbol} {r})")
            }
            Node::Logic(op, items) => {
                let symbol = match op {
                    Logic::And => "&&",
                    Logic::Or => "||",
                };
                for _ in 1..items.len() {
                    f.write_str("(")?;
                }
                for (i, item) in items.iter().enumerate() {
                    match i {
                        0 => write!(f, "{item}")?,
                        _ => write!(f, " {symbol} {item})")?,
                    }
                }
                Ok(())
            }
            Node::Str {
                op, not, operand, ..
            } => {
                let name = match op {
                    StrOp::Contains => "CONTAINS",
                    StrOp::StartsWith => "STARTSWITH",
                    StrOp::EndsWith => "ENDSWITH",
                };
                let not = if *not { "NOT " } else { "" };
                write!(f, "({not}{name} {operand})")
            }
            Node::In {
                property,
                list,
                not,
            } => {
                let symbol = if *not { "NOT IN" } else { "IN" };
                let items: Vec<&str> = if list.len() < 5 {
                    list.iter().map(String::as_str).collect()
                } else {
                    hash_set_order(list)
                };
                write!(f, "{property} {symbol} ( {} )", items.join(", "))
            }
        }
    }
}
