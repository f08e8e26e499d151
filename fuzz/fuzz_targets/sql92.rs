//! Arbitrary bytes into the SQL92 selector parser and evaluator (`filter::sql92::fuzz_one`:
//! the selector before the first NUL, `name=value` properties after it). Nothing may panic or
//! overflow the stack; parsing is deterministic; `matches` agrees with `evaluate`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    filter::sql92::fuzz_one(data);
});
