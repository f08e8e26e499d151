//! Property tests: parsing and evaluating never panic, on arbitrary text and on token soups
//! built from the language's own vocabulary; hostile nesting is refused with Java's
//! `StackOverflowError` text instead of exhausting our stack.

use std::collections::HashMap;

use filter::sql92::{Expression, Outcome};
use proptest::prelude::*;

const VOCABULARY: &[&str] = &[
    "a",
    "b",
    "TAGS",
    "x1",
    "NOT",
    "AND",
    "OR",
    "BETWEEN",
    "IN",
    "TRUE",
    "FALSE",
    "NULL",
    "IS",
    "CONTAINS",
    "STARTSWITH",
    "ENDSWITH",
    "not",
    "and",
    "0",
    "1",
    "-1",
    "2147483648",
    "1.5",
    ".5",
    "1e3",
    "0.0",
    "1e400",
    "99999999999999999999",
    "'x'",
    "''",
    "'it''s'",
    "'",
    "=",
    "<>",
    ">",
    ">=",
    "<",
    "<=",
    "(",
    ")",
    ",",
    "+",
    "-",
    "--c\n",
    "/*c*/",
    "/*",
    "#",
    ".",
    "\t",
    "\n",
    "é",
    "'1'",
    "'true'",
];

const VALUES: &[&str] = &[
    "1",
    "2",
    "x",
    "true",
    "1.5",
    "NaN",
    "",
    " 1",
    "2147483648",
    "-0",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCABULARY), 0..24).prop_map(|t| t.join(" "))
}

fn properties() -> impl Strategy<Value = HashMap<String, String>> {
    prop::collection::hash_map(
        prop::sample::select(&["a", "b", "TAGS", "x1"][..]).prop_map(str::to_string),
        prop::sample::select(VALUES).prop_map(str::to_string),
        0..4,
    )
}

fn check(text: &str, props: &HashMap<String, String>) {
    if let Ok(expr) = Expression::parse(text) {
        let lookup = |name: &str| props.get(name).map(String::as_str);
        let outcome = expr.evaluate(&lookup);
        assert_eq!(expr.matches(&lookup), outcome == Outcome::True);
        let _ = expr.to_string();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>(), props in properties()) {
        check(&text, &props);
    }

    #[test]
    fn token_soup_never_panics(text in soup(), props in properties()) {
        check(&text, &props);
    }

    #[test]
    fn arbitrary_bytes_through_the_fuzz_step(data in prop::collection::vec(any::<u8>(), 0..200)) {
        filter::sql92::fuzz_one(&data);
    }
}

/// Runs `f` on a thread with a 2 MiB stack, as tokio's worker threads have.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn hostile_nesting_is_refused_with_javas_stack_overflow() {
    on_small_stack(|| {
        for text in [
            format!("{}a = 1{}", "(".repeat(100_000), ")".repeat(100_000)),
            format!("{}a", "NOT ".repeat(100_000)),
            format!("{}1 = a", "-".repeat(100_000)),
            format!("{}1 = a", "+".repeat(100_000)),
            format!("{}(a", "+(".repeat(50_000)),
            format!("a{}", " = TRUE".repeat(100_000)),
            format!("a{}", " IS NULL".repeat(100_000)),
            format!("a{}", " CONTAINS 'x'".repeat(100_000)),
        ] {
            let err = Expression::parse(&text).unwrap_err();
            assert_eq!(err.to_string(), "java.lang.StackOverflowError");
        }
    });
}

#[test]
fn moderate_nesting_and_long_chains_work() {
    on_small_stack(|| {
        let nested = format!("{}a = 1{}", "(".repeat(60), ")".repeat(60));
        let expr = Expression::parse(&nested).unwrap();
        assert!(expr.matches(&|n| (n == "a").then_some("1")));

        // A long OR list (a flat chain) evaluates without deep recursion.
        let chain: Vec<String> = (0..50_000).map(|i| format!("a = '{i}'")).collect();
        let expr = Expression::parse(&chain.join(" OR ")).unwrap();
        assert!(expr.matches(&|n| (n == "a").then_some("49999")));
        assert!(!expr.matches(&|n| (n == "a").then_some("x")));
        assert_eq!(expr.property_names(), vec!["a"]);
        drop(expr);

        let chain: Vec<String> = (0..50_000).map(|i| format!("b{i} IS NULL")).collect();
        let expr = Expression::parse(&chain.join(" AND ")).unwrap();
        assert!(expr.matches(&|_| None));
    });
}
