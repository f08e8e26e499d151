//! Checked against `filter/oracle/expected.txt`, the output of `filter/oracle/BloomOracle.java`
//! (Java's formulas in Java doubles, positions hashed by the real Guava `murmur3_128`).

use super::*;

const ORACLE: &str = include_str!("../../oracle/expected.txt");

fn numbers(s: &str) -> Vec<i64> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect()
}

/// The oracle's `K 1..99:` and `M n=…:` tables: (n, m for f = 1..=99); k for f = 1..=99.
fn oracle_tables() -> (Vec<i64>, Vec<(i32, Vec<i64>)>) {
    let mut k = Vec::new();
    let mut ms: Vec<(i32, Vec<i64>)> = Vec::new();
    let mut current: Option<&mut Vec<i64>> = None;
    for line in ORACLE.lines() {
        if let Some(rest) = line.strip_prefix("K 1..99: ") {
            k.extend(numbers(rest));
            current = Some(&mut k);
        } else if let Some(rest) = line.strip_prefix("M n=") {
            let (n, rest) = rest.split_once(':').unwrap();
            ms.push((n.parse().unwrap(), numbers(rest)));
            current = None;
        } else if line.starts_with("FILTER") {
            break;
        } else if let Some(c) = current.as_mut() {
            c.extend(numbers(line));
        } else if let Some((_, m)) = ms.last_mut() {
            m.extend(numbers(line));
        }
    }
    (k, ms)
}

/// The oracle's `FILTER` sections: (f, n, k, m, [(string, asLong, positions)]).
#[allow(clippy::type_complexity)]
fn oracle_filters() -> Vec<(i32, i32, usize, usize, Vec<(String, u64, Vec<i32>)>)> {
    let mut out: Vec<(i32, i32, usize, usize, Vec<(String, u64, Vec<i32>)>)> = Vec::new();
    for line in ORACLE.lines() {
        if let Some(rest) = line.strip_prefix("FILTER ") {
            let v = numbers(rest);
            out.push((
                v[0] as i32,
                v[1] as i32,
                v[2] as usize,
                v[3] as usize,
                Vec::new(),
            ));
        } else if let Some(rest) = line.strip_prefix("  \"") {
            let (s, rest) = rest.rsplit_once("\" 0x").unwrap();
            let (hex, pos) = rest.split_once(' ').unwrap();
            let positions = numbers(pos).into_iter().map(|p| p as i32).collect();
            out.last_mut().unwrap().4.push((
                s.to_owned(),
                u64::from_str_radix(hex, 16).unwrap(),
                positions,
            ));
        }
    }
    out
}

#[test]
fn k_and_m_match_java_for_every_error_rate() {
    let (ks, ms) = oracle_tables();
    assert_eq!(ks.len(), 99);
    assert_eq!(ms.len(), 7);
    for (n, m_by_f) in &ms {
        assert_eq!(m_by_f.len(), 99);
        for f in 1..100 {
            let b = BloomFilter::create_by_fn(f, *n).unwrap();
            assert_eq!(b.k() as i64, ks[f as usize - 1], "k for f={f}");
            assert_eq!(b.m() as i64, m_by_f[f as usize - 1], "m for f={f} n={n}");
        }
    }
    // The broker's defaults (maxErrorRateOfBloomFilter 20, expectConsumerNumUseFilter 32) and
    // the test constructor of ConsumerFilterManager (20, 64).
    let d = BloomFilter::create_by_fn(20, 32).unwrap();
    assert_eq!((d.k(), d.m()), (3, 112));
    assert_eq!(d.to_string(), "f: 20, n: 32, k: 3, m: 112");
    let t = BloomFilter::create_by_fn(20, 64).unwrap();
    assert_eq!((t.k(), t.m()), (3, 216));
}

#[test]
fn bad_parameters_are_refused_as_java() {
    assert_eq!(BloomFilter::create_by_fn(0, 32), Err(BloomError::ErrorRate));
    assert_eq!(
        BloomFilter::create_by_fn(100, 32),
        Err(BloomError::ErrorRate)
    );
    assert_eq!(
        BloomFilter::create_by_fn(20, 0),
        Err(BloomError::ExpectedNum)
    );
    assert!(BloomFilter::create_by_fn(99, 1).is_ok());
    assert!(BloomFilter::create_by_fn(1, 1).is_ok());
}

#[test]
fn positions_match_java_bit_for_bit() {
    let filters = oracle_filters();
    assert_eq!(filters.len(), 4);
    for (f, n, k, m, cases) in filters {
        let b = BloomFilter::create_by_fn(f, n).unwrap();
        assert_eq!((b.k(), b.m()), (k, m));
        assert_eq!(cases.len(), 10);
        for (s, as_long, positions) in cases {
            assert_eq!(
                super::murmur3::murmur3_x64_128(s.as_bytes(), 0).0,
                as_long,
                "{s:?}"
            );
            assert_eq!(b.calc_bit_positions(&s), positions, "{s:?} in {b}");
            let data = b.generate(&s);
            assert_eq!(data, BloomFilterData::new(positions, m as i32));
            assert!(b.is_valid(&data));
        }
    }
}

/// One position worked by hand from Guava's published value for "hell" (h1 =
/// 0x629942693e10f867), independent of our murmur3: hash1 = 0x3e10f867, hash2 = 0x62994269;
/// i = 1: 0x3e10f867 + 0x62994269 = 0xa0aa3ad0 (negative) → !c = 0x5f55c52f = 1599456559,
/// 1599456559 % 112 = 15.
#[test]
fn one_position_by_hand() {
    assert_eq!(1_599_456_559 % 112, 15);
    let b = BloomFilter::create_by_fn(20, 32).unwrap();
    assert_eq!(b.calc_bit_positions("hell")[0], 15);
}

#[test]
fn bits_array_bit_order_is_java_s() {
    let mut bits = BitsArray::new(112);
    assert_eq!((bits.bit_length(), bits.byte_length()), (112, 14));
    for p in [0, 9, 17, 111] {
        bits.set_bit(p, true).unwrap();
    }
    // bit i = 1 << (i % 8) of byte i / 8
    let mut expected = [0u8; 14];
    expected[0] = 0x01;
    expected[1] = 0x02;
    expected[2] = 0x02;
    expected[13] = 0x80;
    assert_eq!(bits.bytes(), &expected);
    assert!(bits.get_bit(9).unwrap());
    assert!(!bits.get_bit(8).unwrap());
    bits.set_bit(9, false).unwrap();
    assert_eq!(bits.bytes()[1], 0);
    assert!(bits.get_bit(112).is_err());
    assert_eq!(BitsArray::new(13).byte_length(), 2);

    let read = BitsArray::from_bytes(&[0x80, 0x01]).unwrap();
    assert_eq!(read.bit_length(), 16);
    assert!(read.get_bit(7).unwrap() && read.get_bit(8).unwrap());
    assert_eq!(BitsArray::from_bytes(&[]), Err(BloomError::EmptyBytes));
    assert!(BitsArray::from_bytes_with_len(&[1, 2], 15).is_err());
    assert_eq!(
        BitsArray::from_bytes_with_len(&[1, 2], 20)
            .unwrap()
            .bit_length(),
        20
    );
}

#[test]
fn bits_array_logic() {
    let mut a = BitsArray::from_bytes(&[0b1100, 0xff]).unwrap();
    a.or(&BitsArray::from_bytes(&[0b0011]).unwrap());
    assert_eq!(a.bytes(), &[0b1111, 0xff]);
    a.and(&BitsArray::from_bytes(&[0b0110, 0x0f]).unwrap());
    assert_eq!(a.bytes(), &[0b0110, 0x0f]);
    a.xor(&BitsArray::from_bytes(&[0b0101, 0x0f]).unwrap());
    assert_eq!(a.bytes(), &[0b0011, 0x00]);
}

/// Java's `toString`: last byte first, bit 7 first, a line break after bytes 8k.
#[test]
fn bits_array_text_is_java_s() {
    let mut bits = BitsArray::new(16);
    bits.set_bit(0, true).unwrap();
    bits.set_bit(15, true).unwrap();
    assert_eq!(bits.to_string(), "1000000000000001\n");
    let mut nine = BitsArray::from_bytes(&[0; 9]).unwrap();
    nine.set_bit(64, true).unwrap();
    assert_eq!(nine.to_string(), format!("00000001\n{}\n", "0".repeat(64)));
    // bit length 12: the last byte shows bits 4..=0 (Java's off-by-one)
    let odd = BitsArray::from_bytes_with_len(&[0xff], 12).unwrap();
    assert_eq!(odd.to_string(), "11111\n");
}

#[test]
fn hash_to_and_is_hit_as_java_s_tests() {
    let b = BloomFilter::create_by_fn(10, 20).unwrap();
    let mut bits = b.new_bits();
    b.hash_to("CID_abc_efg", &mut bits).unwrap();
    for p in b.calc_bit_positions("CID_abc_efg") {
        assert!(bits.get_bit(p as usize).unwrap());
    }
    assert!(b.is_hit("CID_abc_efg", &bits).unwrap());
    assert!(!b.is_hit("CID_abc_123", &bits).unwrap());
    b.hash_to("CID_abc_123", &mut bits).unwrap();
    assert!(b.is_hit("CID_abc_123", &bits).unwrap());
    assert!(b
        .check_false_hit(&b.calc_bit_positions("CID_abc_123"), &bits)
        .unwrap());
}

#[test]
fn foreign_data_and_wrong_bitmaps_are_errors() {
    let b = BloomFilter::create_by_fn(20, 32).unwrap();
    let other = BloomFilter::create_by_fn(20, 64).unwrap();
    let data = other.generate("g#t");
    assert!(!b.is_valid(&data));
    let mut bits = b.new_bits();
    assert!(matches!(
        b.hash_to_data(&data, &mut bits),
        Err(BloomError::ForeignData { .. })
    ));
    assert!(matches!(
        b.is_hit_data(&data, &bits),
        Err(BloomError::ForeignData { .. })
    ));
    let mut short = BitsArray::new(64);
    assert_eq!(
        b.hash_to("g#t", &mut short),
        Err(BloomError::BitsLength {
            actual: 64,
            expected: 112
        })
    );
    let bad = BloomFilterData::new(vec![1, 2, 200], 112);
    assert!(b.is_valid(&bad)); // Java's isValid checks only bitNum and the count
    assert!(matches!(
        b.hash_to_data(&bad, &mut bits),
        Err(BloomError::BitPosition { .. })
    ));
    assert_eq!(
        BloomFilterData::new(vec![33, 81, 17], 112).to_string(),
        "BloomFilterData{bitPos=[33, 81, 17], bitNum=112}"
    );
}

/// The broker's use: `consumerGroup#topic` at the defaults.
#[test]
fn consumer_key_bits() {
    let b = BloomFilter::create_by_fn(20, 32).unwrap();
    let data = b.generate("GID_sql#TopicTest");
    assert_eq!(data.bit_pos, vec![33, 81, 17]);
    let mut bits = b.new_bits();
    b.hash_to_data(&data, &mut bits).unwrap();
    let stored = bits.into_bytes();
    assert_eq!(stored.len(), 14);
    // bits 17, 33, 81 → byte 2 bit 1, byte 4 bit 1, byte 10 bit 1
    let mut expected = vec![0u8; 14];
    expected[2] = 0x02;
    expected[4] = 0x02;
    expected[10] = 0x02;
    assert_eq!(stored, expected);
    let read = BitsArray::from_bytes(&stored).unwrap();
    assert!(b.is_hit_data(&data, &read).unwrap());
    assert!(!b
        .is_hit_data(&b.generate("GID_other#TopicTest"), &read)
        .unwrap());
}
