//! The routing table against the codec's code list and the module docs.

use std::collections::HashSet;

use remoting_codec::code::request;

use super::*;

#[test]
fn no_code_is_routed_twice() {
    let mut seen = HashSet::new();
    for route in all_routes() {
        assert!(seen.insert(route.code), "code {} routed twice", route.code);
    }
    assert_eq!(seen.len(), routes().len());
}

#[test]
fn every_routed_code_is_a_named_request_code() {
    for route in all_routes() {
        assert!(
            request::name(route.code).is_some(),
            "code {} has no name in remoting_codec::code::request",
            route.code
        );
    }
}

#[test]
fn only_the_pulls_are_kept_off_the_vip_port() {
    // 5.3.3 registers PULL_MESSAGE and LITE_PULL_MESSAGE on `remotingServer` only.
    let main_only: Vec<i32> = all_routes()
        .filter(|r| r.ports == Ports::MainOnly)
        .map(|r| r.code)
        .collect();
    assert_eq!(
        main_only,
        [request::PULL_MESSAGE, request::LITE_PULL_MESSAGE]
    );
}

/// The table in the module docs lists every routed code as `NAME code`, and nothing else.
#[test]
fn the_module_docs_list_every_routed_code() {
    let docs = include_str!("mod.rs");
    let listed: HashSet<i32> = docs
        .lines()
        .filter(|l| l.starts_with("//! | [`"))
        .flat_map(|l| l.split([',', '|']))
        .filter_map(|cell| {
            let mut words = cell.split_whitespace();
            let name = words.next()?;
            let code: i32 = words.next()?.parse().ok()?;
            (request::name(code) == Some(name)).then_some(code)
        })
        .collect();
    let routed: HashSet<i32> = routes().keys().copied().collect();
    let mut missing: Vec<_> = routed.difference(&listed).collect();
    missing.sort();
    let mut extra: Vec<_> = listed.difference(&routed).collect();
    extra.sort();
    assert!(
        missing.is_empty(),
        "routed but not in the docs: {missing:?}"
    );
    assert!(extra.is_empty(), "in the docs but not routed: {extra:?}");
}
