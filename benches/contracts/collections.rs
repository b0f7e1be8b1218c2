// Compute benchmark in Rust: BTreeMap, HashMap, sorting and string building
// over data from an LCG. Prints only order-independent results, so the
// output is the same natively (random HashMap seeds) and under qvm.
//
//   rustc -O -C target-feature=+crt-static collections.rs && ./collections [N]
use std::collections::{BTreeMap, HashMap};

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let mut x: u64 = 0x0123_4567_89ab_cdef;
    let mut next = || {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        x >> 16
    };
    let keys: Vec<u64> = (0..n).map(|_| next() % (n * 4)).collect();

    let mut tree = BTreeMap::new();
    let mut hash = HashMap::new();
    for (i, &k) in keys.iter().enumerate() {
        *tree.entry(k).or_insert(0u64) += i as u64;
        *hash.entry(k).or_insert(0u64) += i as u64;
    }
    let hits = keys.iter().filter(|k| tree.contains_key(&(*k + 1))).count();
    let tree_sum = tree.iter().fold(0u64, |a, (k, v)| a.wrapping_mul(31).wrapping_add(k ^ v));
    let hash_sum: u64 = hash.values().copied().fold(0u64, u64::wrapping_add);

    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let text: String = sorted.iter().take(20_000).map(|k| format!("{k:x},")).collect();

    println!(
        "n={n} distinct={} hits={hits} tree={tree_sum:016x} hash={hash_sum} text={}",
        sorted.len(),
        text.len()
    );
    assert_eq!(sorted.len(), tree.len());
    assert_eq!(tree.len(), hash.len());
}
