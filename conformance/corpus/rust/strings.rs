// String functions: searching, splitting, replacing, case mapping over
// Unicode, formatting and parsing, plus byte-slice comparisons and copies
// (memcmp, memchr-style searches and memcpy underneath) swept over every
// alignment and a range of lengths, hashed.
struct Fnv(u64);

impl Fnv {
    fn mix(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(1_099_511_628_211);
    }
}

fn sweep() -> u64 {
    let mut h = Fnv(1_469_598_103_934_665_603);
    let mut a = [b'x'; 320];
    let mut b = [0u8; 320];
    for off in 0..64 {
        for len in (0..256).step_by(7) {
            a.fill(b'x');
            a[off + len / 2] = b'q';
            b.copy_from_slice(&a);
            let s = &a[off..off + len];
            h.mix(s.iter().position(|&c| c == b'q').map_or(999, |p| p as u64));
            h.mix(s.iter().rposition(|&c| c == b'x').map_or(999, |p| p as u64));
            h.mix(
                s.windows(2)
                    .position(|w| w == b"xq")
                    .map_or(999, |p| p as u64),
            );
            h.mix(u64::from(s == &b[off..off + len]));
            b[off + len / 3] = b'y';
            h.mix(s.cmp(&b[off..off + len]) as i8 as u64);
        }
    }
    h.0
}

fn main() {
    let mut s = String::from("Hello");
    s.push_str(", World");
    s += "!";
    println!(
        "cat={s} len={} find={:?} rfind={:?}",
        s.len(),
        s.find("o"),
        s.rfind('o')
    );
    println!(
        "replace={} upper={} lower={}",
        s.replace("l", "L"),
        s.to_uppercase(),
        s.to_lowercase()
    );
    let unicode = "Straße naïve ΣΊΣΥΦΟΣ 日本語";
    println!(
        "unicode: bytes={} chars={} upper={} lower={}",
        unicode.len(),
        unicode.chars().count(),
        unicode.to_uppercase(),
        unicode.to_lowercase()
    );
    println!(
        "rev={} alpha={}",
        unicode.chars().rev().collect::<String>(),
        unicode.chars().filter(|c| c.is_alphabetic()).count()
    );
    let parts: Vec<&str> = "alpha, beta;;gamma , delta"
        .split([',', ';', ' '])
        .filter(|t| !t.is_empty())
        .collect();
    println!("tokens={parts:?}");
    println!(
        "trim=[{}] words={:?}",
        "  padded \t\n".trim(),
        "one  two\tthree".split_whitespace().collect::<Vec<_>>()
    );
    println!(
        "parse: {:?} {:?} {:?} {:?}",
        "-42".parse::<i64>(),
        i64::from_str_radix("-1f", 16),
        u32::from_str_radix("777", 8),
        "12x".parse::<u8>().is_err()
    );
    println!(
        "fmt=[{:>8.3}] [{:<6}] [{:06x}] [{:^7}] [{:+}] [{:#b}]",
        1.23456, 42, 0xbeef, "mid", 5, 10
    );
    println!(
        "repeat={} starts={} contains={}",
        "ab".repeat(3),
        s.starts_with("Hell"),
        s.contains("World")
    );
    println!("sweep hash={:016x}", sweep());
}
