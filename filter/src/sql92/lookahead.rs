//! JavaCC's syntactic lookahead (`jj_2_*`, `jj_3*`, `jj_scan_token`, `jj_save`, the rescan
//! that lists expected tokens), transcribed from the generated `SelectorParser` of 5.3.3 so that
//! the choices and the "Was expecting" lists match Java's.
//!
//! The seven lookaheads: 1 `IS NULL`, 2 `NOT CONTAINS`, 3 `NOT STARTSWITH`, 4 `NOT ENDSWITH`,
//! 5 `NOT BETWEEN`, 6 `NOT IN`, all two tokens deep, and 7 `"+" unaryExpr()` unbounded.

use super::lexer::kind::*;
use super::parser::{Failure, Parser, MAX_NESTING};

/// How a scan ends early: `LookaheadSuccess` (enough tokens matched), or a real failure.
pub(crate) enum Stop {
    Success,
    Fail(Failure),
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Stop {
        Stop::Fail(f)
    }
}

/// `true` = the scan did not match (JavaCC's convention).
type Scan = Result<bool, Stop>;
type ScanFn = fn(&mut Parser) -> Scan;

/// One `JJCalls` record: where a lookahead started and how far it looked.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Call {
    pub gen: i32,
    pub first: usize,
    pub arg: i32,
}

impl Parser {
    /// `jj_2_N(xla)`: does lookahead `index` (0-based) match here?
    pub(crate) fn jj_2(&mut self, index: usize, xla: i32) -> Result<bool, Failure> {
        self.la = xla;
        self.scanpos = self.token;
        self.lastpos = self.token;
        let result = match ENTRY[index](self) {
            Ok(failed) => Ok(!failed),
            Err(Stop::Success) => Ok(true),
            Err(Stop::Fail(f)) => Err(f),
        };
        self.jj_save(index, xla);
        result
    }

    fn jj_save(&mut self, index: usize, xla: i32) {
        let gen = self.gen;
        let calls = &mut self.rtns[index];
        let mut i = 0;
        while calls[i].gen > gen {
            if i + 1 == calls.len() {
                calls.push(Call::default());
                i += 1;
                break;
            }
            i += 1;
        }
        calls[i] = Call {
            gen: gen.wrapping_add(xla).wrapping_sub(self.la),
            first: self.token,
            arg: xla,
        };
    }

    /// `jj_rescan_token`: replays the recent lookaheads to collect expected token sequences.
    pub(crate) fn jj_rescan_token(&mut self) {
        self.rescan = true;
        for (index, entry) in ENTRY.iter().enumerate() {
            let mut i = 0;
            while i < self.rtns[index].len() {
                let call = self.rtns[index][i];
                if call.gen > self.gen {
                    self.la = call.arg;
                    self.scanpos = call.first;
                    self.lastpos = call.first;
                    // A LookaheadSuccess ends this lookahead's list, as Java's try/catch does.
                    if let Err(Stop::Success) = entry(self) {
                        break;
                    }
                }
                i += 1;
            }
        }
        self.rescan = false;
    }

    /// `jj_scan_token(kind)`: `true` if the next scanned token is not `kind`.
    fn scan_token(&mut self, kind: u8) -> Scan {
        if self.scanpos == self.lastpos {
            self.la = self.la.wrapping_sub(1);
            let next = self.next_of(self.scanpos)?;
            self.scanpos = next;
            self.lastpos = next;
        } else {
            self.scanpos += 1;
        }
        if self.rescan && self.scanpos >= self.token {
            let distance = self.scanpos - self.token;
            self.jj_add_error_token(kind, distance);
        }
        if self.toks[self.scanpos].kind != kind {
            return Ok(true);
        }
        if self.la == 0 && self.scanpos == self.lastpos {
            return Err(Stop::Success);
        }
        Ok(false)
    }

    /// Tries alternatives in order, each from the same position; `true` if none matched.
    fn alternatives(&mut self, alts: &[ScanFn]) -> Scan {
        let xsp = self.scanpos;
        for alt in alts {
            if !alt(self)? {
                return Ok(false);
            }
            self.scanpos = xsp;
        }
        Ok(true)
    }

    /// `( alt )*`.
    fn repeat(&mut self, item: ScanFn) -> Scan {
        loop {
            let xsp = self.scanpos;
            if item(self)? {
                self.scanpos = xsp;
                return Ok(false);
            }
        }
    }

    fn sequence(&mut self, steps: &[ScanFn]) -> Scan {
        for step in steps {
            if step(self)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn tok<const K: u8>(p: &mut Parser) -> Scan {
    p.scan_token(K)
}

/// The entry points `jj_3_1` … `jj_3_7`.
const ENTRY: [ScanFn; 7] = [
    is_null,
    not_contains,
    not_starts,
    not_ends,
    not_between,
    not_in,
    plus,
];

fn is_null(p: &mut Parser) -> Scan {
    p.sequence(&[tok::<IS>, tok::<NULL>])
}
fn not_contains(p: &mut Parser) -> Scan {
    p.sequence(&[tok::<NOT>, tok::<CONTAINS>, string])
}
fn not_starts(p: &mut Parser) -> Scan {
    p.sequence(&[tok::<NOT>, tok::<STARTSWITH>, string])
}
fn not_ends(p: &mut Parser) -> Scan {
    p.sequence(&[tok::<NOT>, tok::<ENDSWITH>, string])
}
fn not_between(p: &mut Parser) -> Scan {
    p.sequence(&[tok::<NOT>, tok::<BETWEEN>, unary, tok::<AND>, unary])
}
fn not_in(p: &mut Parser) -> Scan {
    p.sequence(&[
        tok::<NOT>,
        tok::<IN>,
        tok::<LPAREN>,
        string,
        more_strings,
        tok::<RPAREN>,
    ])
}
fn plus(p: &mut Parser) -> Scan {
    p.sequence(&[tok::<PLUS>, unary])
}

/// `jj_3R_27`: a string literal.
fn string(p: &mut Parser) -> Scan {
    p.scan_token(STRING_LITERAL)
}
/// `( "," stringLitteral )*` (`jj_3R_45`/`jj_3R_46` loops).
fn more_strings(p: &mut Parser) -> Scan {
    p.repeat(|p| p.sequence(&[tok::<COMMA>, string]))
}

/// `jj_3R_7`: unaryExpr.
fn unary(p: &mut Parser) -> Scan {
    if p.depth >= MAX_NESTING {
        return Err(Stop::Fail(Failure::StackOverflow));
    }
    p.depth += 1;
    let result = p.alternatives(&[
        |p| p.sequence(&[tok::<PLUS>, unary]),
        |p| p.sequence(&[tok::<MINUS>, unary]),
        |p| p.sequence(&[tok::<NOT>, unary]),
        primary,
    ]);
    p.depth -= 1;
    result
}

/// `jj_3R_12`: primaryExpr (literal | variable | parenthesised orExpression).
fn primary(p: &mut Parser) -> Scan {
    p.alternatives(&[
        |p| {
            p.alternatives(&[
                string,
                tok::<DECIMAL_LITERAL>,
                tok::<FLOATING_POINT_LITERAL>,
                tok::<TRUE>,
                tok::<FALSE>,
                tok::<NULL>,
            ])
        },
        tok::<ID>,
        |p| p.sequence(&[tok::<LPAREN>, or_expr, tok::<RPAREN>]),
    ])
}

/// `jj_3R_18`: orExpression.
fn or_expr(p: &mut Parser) -> Scan {
    p.sequence(&[and_expr, |p| {
        p.repeat(|p| p.sequence(&[tok::<OR>, and_expr]))
    }])
}

/// `jj_3R_25`: andExpression.
fn and_expr(p: &mut Parser) -> Scan {
    p.sequence(&[equality, |p| {
        p.repeat(|p| p.sequence(&[tok::<AND>, equality]))
    }])
}

/// `jj_3R_28`: equalityExpression.
fn equality(p: &mut Parser) -> Scan {
    p.sequence(&[comparison, |p| p.repeat(equality_tail)])
}

/// `jj_3R_31`.
fn equality_tail(p: &mut Parser) -> Scan {
    p.alternatives(&[
        |p| p.sequence(&[tok::<EQ>, comparison]),
        |p| p.sequence(&[tok::<NE>, comparison]),
        is_null,
        |p| p.sequence(&[tok::<IS>, tok::<NOT>, tok::<NULL>]),
    ])
}

/// `jj_3R_30`: comparisonExpression.
fn comparison(p: &mut Parser) -> Scan {
    p.sequence(&[unary, |p| p.repeat(comparison_tail)])
}

/// `jj_3R_32`.
fn comparison_tail(p: &mut Parser) -> Scan {
    p.alternatives(&[
        |p| p.sequence(&[tok::<GT>, unary]),
        |p| p.sequence(&[tok::<GE>, unary]),
        |p| p.sequence(&[tok::<LT>, unary]),
        |p| p.sequence(&[tok::<LE>, unary]),
        |p| p.sequence(&[tok::<CONTAINS>, string]),
        not_contains,
        |p| p.sequence(&[tok::<STARTSWITH>, string]),
        not_starts,
        |p| p.sequence(&[tok::<ENDSWITH>, string]),
        not_ends,
        |p| p.sequence(&[tok::<BETWEEN>, unary, tok::<AND>, unary]),
        not_between,
        |p| {
            p.sequence(&[
                tok::<IN>,
                tok::<LPAREN>,
                string,
                more_strings,
                tok::<RPAREN>,
            ])
        },
        not_in,
    ])
}
