//! Arbitrary bytes into the lenient fastjson reader; whatever it reads must write back and re-read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use remoting_codec::fastjson;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = fastjson::from_slice_value(data) {
        let text = fastjson::to_vec(&value).expect("a read value writes");
        fastjson::from_slice_value(&text).expect("written fastjson reads back");
    }
});
