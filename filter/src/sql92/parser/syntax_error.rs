//! The syntax error of the parser: JavaCC's `generateParseException`, the expected-token
//! sets gathered as Java gathers them (`jj_add_error_token`), and `ParseException`'s message
//! text, which the broker answers as SUBSCRIPTION_PARSE_FAILED's remark.

use super::super::java::add_escapes;
use super::super::lexer::kind::*;
use super::super::lexer::TOKEN_IMAGE;
use super::{Failure, Parser, LA1_0, LA1_1};

impl Parser {
    pub(crate) fn jj_add_error_token(&mut self, kind: u8, pos: usize) {
        if pos >= 100 {
            return;
        }
        if pos == self.endpos + 1 {
            self.lasttokens[self.endpos] = kind;
            self.endpos += 1;
        } else if self.endpos != 0 {
            let entry = self.lasttokens[..self.endpos].to_vec();
            // JavaCC's own test: "exists" ends true whenever the last entry differs in length.
            let mut exists = false;
            for old in &self.expentries {
                exists = true;
                if old.len() == entry.len() {
                    if old != &entry {
                        exists = false;
                    }
                    if exists {
                        break;
                    }
                }
            }
            if !exists {
                self.expentries.push(entry);
            }
            if pos != 0 {
                self.endpos = pos;
                self.lasttokens[pos - 1] = kind;
            }
        }
    }

    /// `generateParseException()` and `ParseException`'s message.
    pub(super) fn parse_exception(&mut self) -> Failure {
        self.expentries.clear();
        let mut expected = [false; 36];
        if self.jj_kind >= 0 {
            expected[self.jj_kind as usize] = true;
            self.jj_kind = -1;
        }
        for i in 0..16 {
            if self.la1[i] == self.gen {
                for j in 0..32 {
                    if LA1_0[i] & (1 << j) != 0 {
                        expected[j] = true;
                    }
                    if LA1_1[i] & (1 << j) != 0 && 32 + j < 36 {
                        expected[32 + j] = true;
                    }
                }
            }
        }
        for (k, &on) in expected.iter().enumerate() {
            if on {
                self.expentries.push(vec![k as u8]);
            }
        }
        self.endpos = 0;
        self.jj_rescan_token();
        self.jj_add_error_token(0, 0);
        match self.parse_message() {
            Some(message) => Failure::Parse(message),
            // Java dereferences a token it never read.
            None => Failure::Other("java.lang.NullPointerException".into()),
        }
    }

    fn parse_message(&self) -> Option<String> {
        let max_size = self.expentries.iter().map(Vec::len).max().unwrap_or(0);
        let mut expected = String::new();
        for seq in &self.expentries {
            for &k in seq {
                expected.push_str(TOKEN_IMAGE[k as usize]);
                expected.push(' ');
            }
            if seq.last().is_some_and(|&k| k != 0) {
                expected.push_str("...");
            }
            expected.push_str("\n    ");
        }
        let mut text = String::from("Encountered \"");
        for (i, tok) in (self.token + 1..).take(max_size).enumerate() {
            if i != 0 {
                text.push(' ');
            }
            let t = self.toks.get(tok)?;
            if t.kind == EOF {
                text.push_str(TOKEN_IMAGE[0]);
                break;
            }
            text.push(' ');
            text.push_str(TOKEN_IMAGE[t.kind as usize]);
            text.push_str(" \"");
            text.push_str(&add_escapes(&t.image));
            text.push_str(" \"");
        }
        let next = &self.toks[self.token + 1];
        text.push_str(&format!(
            "\" at line {}, column {}.\n",
            next.line, next.column
        ));
        text.push_str(if self.expentries.len() == 1 {
            "Was expecting:\n    "
        } else {
            "Was expecting one of:\n    "
        });
        text.push_str(&expected);
        Some(text)
    }
}
