//! The parser: Java's generated `SelectorParser` (5.3.3) production by production, with its
//! bookkeeping (`jj_la1`, `jj_gen`, the expected-token sets) so that a syntax error carries the
//! same `ParseException` text, and with the tree built in the same order as Java's actions so
//! that the first error Java would raise is the one reported.

use super::ast::{self, CmpOp, Constant, Logic, Node, StrOp};
use super::java::{double_to_string, parse_long};
use super::lexer::kind::*;
use super::lexer::{Lexer, Token};
use super::lookahead::Call;

mod syntax_error;

/// How deep unary expressions and parentheses may nest. Java, on its 1 MB thread stacks, runs
/// out somewhere in the thousands and answers `java.lang.StackOverflowError`; we answer that
/// same text from 64 levels on, which keeps a parse within about 1 MB of stack even unoptimised
/// (a deliberate, documented difference: no real selector nests that deep).
pub(crate) const MAX_NESTING: usize = 64;
/// The tallest tree accepted (the same error beyond it): evaluation recurses once per level.
/// AND/OR chains are flat and do not count their length.
pub(crate) const MAX_HEIGHT: usize = 256;

/// Why a selector does not compile: the throwable Java's parser would end with.
#[derive(Clone, Debug)]
pub(crate) enum Failure {
    /// `ParseException` with its message.
    Parse(String),
    /// `TokenMgrError` with its message.
    Lex(String),
    /// Another throwable, as its full `toString()`.
    Other(String),
    StackOverflow,
}

impl Failure {
    /// `Throwable.toString()` of the cause: `MQFilterException.getMessage()`.
    pub fn java_text(&self) -> String {
        match self {
            Failure::Parse(m) => format!("org.apache.rocketmq.filter.parser.ParseException: {m}"),
            Failure::Lex(m) => format!("org.apache.rocketmq.filter.parser.TokenMgrError: {m}"),
            Failure::Other(text) => text.clone(),
            Failure::StackOverflow => "java.lang.StackOverflowError".into(),
        }
    }
}

/// A subtree with (an upper bound of) its height.
type Sub = (Node, usize);
type Parsed = Result<Sub, Failure>;

pub(crate) struct Parser {
    lexer: Lexer,
    /// The token chain; `toks[0]` is the empty start token, `toks[i + 1]` is `toks[i].next`.
    pub(crate) toks: Vec<Token>,
    /// The current (last consumed) token.
    pub(crate) token: usize,
    ntk: Option<u8>,
    pub(crate) gen: i32,
    la1: [i32; 16],
    pub(crate) rtns: [Vec<Call>; 7],
    pub(crate) la: i32,
    pub(crate) scanpos: usize,
    pub(crate) lastpos: usize,
    pub(crate) rescan: bool,
    jj_kind: i32,
    expentries: Vec<Vec<u8>>,
    lasttokens: [u8; 100],
    endpos: usize,
    pub(crate) depth: usize,
}

/// `jj_la1_0` / `jj_la1_1` of the generated parser: the tokens each choice point accepts.
const LA1_0: [u32; 16] = [
    0x400, 0x200, 0x6010000, 0x6000000, 0x10000, 0x780e1900, 0x0, 0x0, 0x78020000, 0x40000,
    0x80000, 0x800, 0x1000, 0x81b0e100, 0x81b0e000, 0xb0e000,
];
const LA1_1: [u32; 16] = [0, 0, 0, 0, 0, 0, 0x1, 0x1, 0, 0, 0, 0, 0, 0x8, 0, 0];

fn checked(node: Node, height: usize) -> Parsed {
    if height > MAX_HEIGHT {
        return Err(Failure::StackOverflow);
    }
    Ok((node, height))
}

fn built(result: Result<Node, ast::BuildError>, height: usize) -> Parsed {
    checked(result.map_err(Failure::Other)?, height)
}

fn boolean((node, height): Sub) -> Result<Sub, Failure> {
    let cast = matches!(node, Node::Property(_));
    Ok((
        ast::as_boolean(node).map_err(Failure::Parse)?,
        height + usize::from(cast),
    ))
}

/// `createOR` / `createAND` of two boolean operands; a chain grows flat.
fn chain(op: Logic, (l, lh): Sub, (r, rh): Sub) -> Parsed {
    let extends = matches!(&l, Node::Logic(lop, _) if *lop == op);
    let height = if extends {
        lh.max(rh + 1)
    } else {
        lh.max(rh) + 1
    };
    checked(ast::logic(op, l, r), height)
}

impl Parser {
    pub fn new(text: &str) -> Parser {
        Parser {
            lexer: Lexer::new(text),
            toks: vec![Token {
                kind: EOF,
                image: Vec::new(),
                line: 0,
                column: 0,
            }],
            token: 0,
            ntk: None,
            gen: 0,
            la1: [-1; 16],
            rtns: Default::default(),
            la: 0,
            scanpos: 0,
            lastpos: 0,
            rescan: false,
            jj_kind: -1,
            expentries: Vec::new(),
            lasttokens: [0; 100],
            endpos: 0,
            depth: 0,
        }
        .with_calls()
    }

    fn with_calls(mut self) -> Parser {
        for calls in &mut self.rtns {
            calls.push(Call::default());
        }
        self
    }

    /// `JmsSelector()`.
    pub fn parse(mut self) -> Result<Node, Failure> {
        let left = self.or_expression()?;
        Ok(boolean(left)?.0)
    }

    /// The token after `index`, lexed on demand.
    pub(crate) fn next_of(&mut self, index: usize) -> Result<usize, Failure> {
        if index + 1 == self.toks.len() {
            let token = self.lexer.next_token().map_err(|e| Failure::Lex(e.0))?;
            self.toks.push(token);
        }
        Ok(index + 1)
    }

    /// `jj_ntk`: the kind of the next token.
    fn ntk(&mut self) -> Result<u8, Failure> {
        if let Some(k) = self.ntk {
            return Ok(k);
        }
        let next = self.next_of(self.token)?;
        let k = self.toks[next].kind;
        self.ntk = Some(k);
        Ok(k)
    }

    /// `jj_consume_token(kind)`; `None` is Java's `-1` (an error at the next token).
    fn consume(&mut self, kind: Option<u8>) -> Result<usize, Failure> {
        let old = self.token;
        self.token = self.next_of(self.token)?;
        self.ntk = None;
        if Some(self.toks[self.token].kind) == kind {
            self.gen = self.gen.wrapping_add(1);
            return Ok(self.token);
        }
        self.token = old;
        self.jj_kind = kind.map_or(-1, i32::from);
        Err(self.parse_exception())
    }

    fn mark(&mut self, choice: usize) {
        self.la1[choice] = self.gen;
    }

    fn or_expression(&mut self) -> Parsed {
        let (mut left, mut height) = self.and_expression()?;
        loop {
            if self.ntk()? != OR {
                self.mark(0);
                break;
            }
            self.consume(Some(OR))?;
            let right = self.and_expression()?;
            let l = boolean((left, height))?;
            let r = boolean(right)?;
            (left, height) = chain(Logic::Or, l, r)?;
        }
        Ok((left, height))
    }

    fn and_expression(&mut self) -> Parsed {
        let (mut left, mut height) = self.equality_expression()?;
        loop {
            if self.ntk()? != AND {
                self.mark(1);
                break;
            }
            self.consume(Some(AND))?;
            let right = self.equality_expression()?;
            let l = boolean((left, height))?;
            let r = boolean(right)?;
            (left, height) = chain(Logic::And, l, r)?;
        }
        Ok((left, height))
    }

    fn equality_expression(&mut self) -> Parsed {
        let (mut left, mut height) = self.comparison_expression()?;
        loop {
            if !matches!(self.ntk()?, IS | EQ | NE) {
                self.mark(2);
                break;
            }
            match self.ntk()? {
                EQ => {
                    self.consume(Some(EQ))?;
                    let (right, rh) = self.comparison_expression()?;
                    (left, height) = built(ast::equal(left, right), 1 + height.max(rh))?;
                }
                NE => {
                    self.consume(Some(NE))?;
                    let (right, rh) = self.comparison_expression()?;
                    (left, height) = built(ast::not_equal(left, right), 2 + height.max(rh))?;
                }
                _ => {
                    self.mark(3);
                    if self.jj_2(0, 2)? {
                        self.consume(Some(IS))?;
                        self.consume(Some(NULL))?;
                        (left, height) = checked(ast::is_null(left), height + 1)?;
                    } else if self.ntk()? == IS {
                        self.consume(Some(IS))?;
                        self.consume(Some(NOT))?;
                        self.consume(Some(NULL))?;
                        (left, height) = checked(ast::is_not_null(left), height + 2)?;
                    } else {
                        self.mark(4);
                        self.consume(None)?;
                    }
                }
            }
        }
        Ok((left, height))
    }

    fn comparison_expression(&mut self) -> Parsed {
        let (mut left, mut height) = self.unary_expr()?;
        loop {
            if !matches!(
                self.ntk()?,
                NOT | BETWEEN | IN | CONTAINS | STARTSWITH | ENDSWITH | GT | GE | LT | LE
            ) {
                self.mark(5);
                break;
            }
            let order = match self.ntk()? {
                GT => Some(CmpOp::Gt),
                GE => Some(CmpOp::Ge),
                LT => Some(CmpOp::Lt),
                LE => Some(CmpOp::Le),
                _ => None,
            };
            if let Some(op) = order {
                let k = self.ntk()?;
                self.consume(Some(k))?;
                let (right, rh) = self.unary_expr()?;
                (left, height) = built(ast::ordering(op, left, right), 1 + height.max(rh))?;
                continue;
            }
            (left, height) = self.comparison_tail(left, height)?;
        }
        Ok((left, height))
    }

    /// The CONTAINS … NOT IN branches of `comparisonExpression`, in the generated order.
    fn comparison_tail(&mut self, left: Node, height: usize) -> Parsed {
        let string_ops = [
            (StrOp::Contains, CONTAINS, 8, 1),
            (StrOp::StartsWith, STARTSWITH, 9, 2),
            (StrOp::EndsWith, ENDSWITH, 10, 3),
        ];
        for (op, keyword, choice, lookahead) in string_ops {
            if self.ntk()? == keyword {
                self.consume(Some(keyword))?;
                let search = self.string_literal()?;
                return checked(ast::string_op(op, false, left, search), height + 1);
            }
            self.mark(choice);
            if self.jj_2(lookahead, 2)? {
                self.consume(Some(NOT))?;
                self.consume(Some(keyword))?;
                let search = self.string_literal()?;
                return checked(ast::string_op(op, true, left, search), height + 1);
            }
        }
        if self.ntk()? == BETWEEN {
            self.consume(Some(BETWEEN))?;
            let (low, lh) = self.unary_expr()?;
            self.consume(Some(AND))?;
            let (high, hh) = self.unary_expr()?;
            return built(ast::between(left, low, high), 2 + height.max(lh).max(hh));
        }
        self.mark(11);
        if self.jj_2(4, 2)? {
            self.consume(Some(NOT))?;
            self.consume(Some(BETWEEN))?;
            let (low, lh) = self.unary_expr()?;
            self.consume(Some(AND))?;
            let (high, hh) = self.unary_expr()?;
            return built(
                ast::not_between(left, low, high),
                2 + height.max(lh).max(hh),
            );
        }
        if self.ntk()? == IN {
            self.consume(Some(IN))?;
            let list = self.string_list(6)?;
            return built(ast::in_list(left, list, false), height + 1);
        }
        self.mark(12);
        if self.jj_2(5, 2)? {
            self.consume(Some(NOT))?;
            self.consume(Some(IN))?;
            let list = self.string_list(7)?;
            return built(ast::in_list(left, list, true), height + 1);
        }
        self.consume(None)?;
        unreachable!("consume(None) always fails")
    }

    /// `"(" stringLitteral ( "," stringLitteral )* ")"`.
    fn string_list(&mut self, choice: usize) -> Result<Vec<String>, Failure> {
        self.consume(Some(LPAREN))?;
        let mut list = vec![self.string_literal()?];
        loop {
            if self.ntk()? != COMMA {
                self.mark(choice);
                break;
            }
            self.consume(Some(COMMA))?;
            list.push(self.string_literal()?);
        }
        self.consume(Some(RPAREN))?;
        Ok(list)
    }

    fn unary_expr(&mut self) -> Parsed {
        if self.depth >= MAX_NESTING {
            return Err(Failure::StackOverflow);
        }
        self.depth += 1;
        let result = self.unary_expr_inner();
        self.depth -= 1;
        result
    }

    fn unary_expr_inner(&mut self) -> Parsed {
        if self.jj_2(6, i32::MAX)? {
            self.consume(Some(PLUS))?;
            return self.unary_expr();
        }
        match self.ntk()? {
            MINUS => {
                self.consume(Some(MINUS))?;
                let (operand, h) = self.unary_expr()?;
                checked(Node::Negate(Box::new(operand)), h + 1)
            }
            NOT => {
                self.consume(Some(NOT))?;
                let (operand, h) = boolean(self.unary_expr()?)?;
                checked(Node::Not(Box::new(operand)), h + 1)
            }
            TRUE
            | FALSE
            | NULL
            | DECIMAL_LITERAL
            | FLOATING_POINT_LITERAL
            | STRING_LITERAL
            | ID
            | LPAREN => self.primary_expr(),
            _ => {
                self.mark(13);
                self.consume(None)?;
                unreachable!("consume(None) always fails")
            }
        }
    }

    fn primary_expr(&mut self) -> Parsed {
        match self.ntk()? {
            TRUE | FALSE | NULL | DECIMAL_LITERAL | FLOATING_POINT_LITERAL | STRING_LITERAL => {
                Ok((Node::Const(self.literal()?), 1))
            }
            ID => {
                let t = self.consume(Some(ID))?;
                Ok((
                    Node::Property(String::from_utf16_lossy(&self.toks[t].image)),
                    1,
                ))
            }
            LPAREN => {
                self.consume(Some(LPAREN))?;
                let inner = self.or_expression()?;
                self.consume(Some(RPAREN))?;
                Ok(inner)
            }
            _ => {
                self.mark(14);
                self.consume(None)?;
                unreachable!("consume(None) always fails")
            }
        }
    }

    fn literal(&mut self) -> Result<Constant, Failure> {
        match self.ntk()? {
            STRING_LITERAL => Ok(Constant::Str(self.string_literal()?)),
            DECIMAL_LITERAL => {
                let t = self.consume(Some(DECIMAL_LITERAL))?;
                decimal(&String::from_utf16_lossy(&self.toks[t].image))
            }
            FLOATING_POINT_LITERAL => {
                let t = self.consume(Some(FLOATING_POINT_LITERAL))?;
                float(&String::from_utf16_lossy(&self.toks[t].image))
            }
            k @ (TRUE | FALSE | NULL) => {
                self.consume(Some(k))?;
                Ok(match k {
                    TRUE => Constant::Bool(true),
                    FALSE => Constant::Bool(false),
                    _ => Constant::Null,
                })
            }
            _ => {
                self.mark(15);
                self.consume(None)?;
                unreachable!("consume(None) always fails")
            }
        }
    }

    /// `stringLitteral()`: the quotes dropped, `''` read as `'`.
    fn string_literal(&mut self) -> Result<String, Failure> {
        let t = self.consume(Some(STRING_LITERAL))?;
        let image = &self.toks[t].image;
        let mut out = Vec::with_capacity(image.len());
        let mut i = 1;
        while i + 1 < image.len() {
            let c = image[i];
            if c == u16::from(b'\'') {
                i += 1;
            }
            out.push(c);
            i += 1;
        }
        Ok(String::from_utf16_lossy(&out))
    }
}

/// `ConstantExpression.createFromDecimal`: an `int` if it fits, else a `long`; beyond a long
/// `new Long(text)` throws.
fn decimal(image: &str) -> Result<Constant, Failure> {
    let digits = image.strip_suffix(['l', 'L']).unwrap_or(image);
    let value = parse_long(digits).ok_or_else(|| {
        Failure::Other(format!(
            "java.lang.NumberFormatException: For input string: \"{digits}\""
        ))
    })?;
    Ok(match i32::try_from(value) {
        Ok(i) => Constant::Int(i),
        Err(_) => Constant::Long(value),
    })
}

/// `ConstantExpression.createFloat`: beyond `Double.MAX_VALUE` or below `Double.MIN_VALUE`
/// (the smallest positive double, so `0.0` too) is refused.
fn float(image: &str) -> Result<Constant, Failure> {
    let value: f64 = image.parse().unwrap_or(f64::INFINITY);
    if value > f64::MAX {
        return Err(Failure::Other(format!(
            "java.lang.RuntimeException: {image} is greater than {}",
            double_to_string(f64::MAX)
        )));
    }
    if value < f64::from_bits(1) {
        return Err(Failure::Other(format!(
            "java.lang.RuntimeException: {image} is less than {}",
            double_to_string(f64::from_bits(1))
        )));
    }
    Ok(Constant::Double(value))
}
