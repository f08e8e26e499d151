//! Signatures and headers into the ACL check with ACL on (`broker::acl::fuzz::fuzz_one`: a
//! white-address rule, a request code, extFields and a body). Nothing may panic; the check is
//! deterministic; a correct signature is never refused for it, a forged one always is.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    broker::acl::fuzz::fuzz_one(data);
});
