use super::*;

fn admits(rule: &str, addr: &str) -> bool {
    RemoteAddressStrategy::parse(Some(rule))
        .unwrap()
        .matches(Some(addr))
}

#[test]
fn blank_any_and_one() {
    assert!(!RemoteAddressStrategy::parse(None)
        .unwrap()
        .matches(Some("1.2.3.4")));
    assert!(!admits(" ", "1.2.3.4"));
    assert!(admits("*", "1.2.3.4"));
    assert!(admits("*.*.*.*", "0:0:0:0:0:0:0:1"));
    assert!(admits("127.0.0.1", "127.0.0.1"));
    assert!(!admits("127.0.0.1", "127.0.0.2"));
    assert!(admits("::1", "0:0:0:0:0:0:0:1"));
    assert!(admits(
        "1050::5:600:300c:326b",
        "1050:0:0:0:5:600:300C:326B"
    ));
}

#[test]
fn ranges() {
    assert!(admits("192.168.1.1-100", "192.168.1.100"));
    assert!(!admits("192.168.1.1-100", "192.168.1.101"));
    assert!(!admits("192.168.1.1-100", "192.168.2.5"));
    assert!(admits("10.10.103.*", "10.10.103.7"));
    assert!(admits("192.168.*.*", "192.168.40.1"));
    assert!(!admits("192.168.*.*", "192.169.40.1"));
    assert!(admits("192.1-5.*.*", "192.3.9.9"));
    assert!(!admits("192.1-5.*.*", "192.6.9.9"));
    assert!(admits("1050:0:0:0:5:600:300c:1-ff", "1050::5:600:300c:fe"));
    assert!(!admits(
        "1050:0:0:0:5:600:300c:1-ff",
        "1050::5:600:300c:100"
    ));
    assert!(admits("1050::5:600:300c:*", "1050::5:600:300c:abcd"));
}

#[test]
fn sets_and_lists() {
    assert!(admits("192.168.1.{1,2,3}", "192.168.1.2"));
    assert!(!admits("192.168.1.{1,2,3}", "192.168.1.4"));
    assert!(admits("1.1.1.1,2.2.2.2", "2.2.2.2"));
    assert!(admits("1050::{1,2}", "1050:0:0:0:0:0:0:2"));
}

#[test]
fn bad_entries_have_java_texts() {
    let err = |s| RemoteAddressStrategy::parse(Some(s)).unwrap_err();
    assert_eq!(
        err("192.168.*"),
        "Netaddress examine scope Exception netaddress is 192.168.*"
    );
    assert_eq!(
        err("1.2.3"),
        "Netaddress examine Exception netaddress is 1.2.3"
    );
    assert_eq!(
        err("1.2.3.100-1"),
        "RangeRemoteAddressStrategy netaddress examine scope Exception start is 100 , end is 1"
    );
    assert_eq!(
        err("1.2.3.4,x"),
        "Netaddress examine Exception netaddress is x"
    );
    assert_eq!(
        err("1.2.{1,2}"),
        "MultipleRemoteAddressStrategy has got a/some wrong format IP(s) "
    );
}

#[test]
fn java_prints_ipv6_uncompressed() {
    assert_eq!(java_host_address("::1".parse().unwrap()), "0:0:0:0:0:0:0:1");
    assert_eq!(java_host_address("10.1.2.3".parse().unwrap()), "10.1.2.3");
}
