// Sorting: unstable and stable sorts of integers, strings and records,
// binary search and dedup over deterministic pseudo-random input.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn main() {
    let mut rng = XorShift(88_172_645_463_325_252);
    let mut v: Vec<u64> = (0..200_000).map(|_| rng.next()).collect();
    v.sort_unstable();
    if v.windows(2).any(|w| w[0] > w[1]) {
        println!("not sorted");
        std::process::exit(1);
    }
    let hash = v
        .iter()
        .fold(0u64, |h, &x| h.wrapping_mul(31).wrapping_add(x));
    println!("u64: first={} last={} hash={hash}", v[0], v[v.len() - 1]);
    println!(
        "search: {:?} {}",
        v.binary_search(&v[1234]).map(|i| i == 1234),
        v.binary_search(&1).is_err()
    );

    let mut s: Vec<String> = (0..2000)
        .map(|_| format!("k{:x}", rng.next() % 100_000))
        .collect();
    s.sort();
    let n = s.len();
    println!("str: {} {} {}", s[0], s[n / 2], s[n - 1]);
    s.dedup();
    println!("distinct={}", s.len());

    // Stable sort: equal keys keep their original order.
    let mut recs: Vec<(u64, usize)> = (0..50_000).map(|i| (rng.next() % 100, i)).collect();
    recs.sort_by_key(|r| r.0);
    let stable = recs.windows(2).all(|w| w[0].0 < w[1].0 || w[0].1 < w[1].1);
    println!(
        "stable={stable} first={:?} last={:?}",
        recs[0],
        recs[recs.len() - 1]
    );
    let mut f: Vec<f64> = (0..10_000)
        .map(|_| (rng.next() % 1_000_000) as f64 / 7.0 - 70_000.0)
        .collect();
    f.sort_by(f64::total_cmp);
    println!("f64: {:?} {:?} {:?}", f[0], f[5000], f[9999]);
}
