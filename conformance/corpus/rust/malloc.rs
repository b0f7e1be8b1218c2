// Heap churn: small and large blocks (glibc serves those over 128 KiB with
// mmap), growth by reallocation, contents checked after every move, and a
// zeroed 16 MiB vector (calloc, fresh mmap memory).
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(1_103_515_245).wrapping_add(12345);
        self.0 >> 8
    }
}

fn fill(v: &mut Vec<u8>, slot: usize, from: usize, to: usize) {
    v.extend((from..to).map(|k| (slot + k) as u8));
}

fn intact(v: &[u8], slot: usize) -> bool {
    (0..v.len()).step_by(4093).all(|k| v[k] == (slot + k) as u8)
}

fn main() {
    const SLOTS: usize = 256;
    let mut rng = Rng(12345);
    let mut slots: Vec<Option<Vec<u8>>> = (0..SLOTS).map(|_| None).collect();
    let mut freed = 0usize;
    for _ in 0..6000 {
        let i = rng.next() as usize % SLOTS;
        match slots[i].take() {
            Some(mut v) => {
                if !intact(&v, i) {
                    println!("corrupt {i}");
                    std::process::exit(1);
                }
                if rng.next().is_multiple_of(3) {
                    let (old, new) = (v.len(), v.len() * 2 + 1);
                    v.reserve_exact(new - old);
                    fill(&mut v, i, old, new);
                    slots[i] = Some(v);
                } else {
                    freed += v.len();
                }
            }
            None => {
                let n = if rng.next().is_multiple_of(8) {
                    130_000 + rng.next() as usize % (1 << 20)
                } else {
                    1 + rng.next() as usize % 4000
                };
                let mut v = Vec::with_capacity(n);
                fill(&mut v, i, 0, n);
                slots[i] = Some(v);
            }
        }
    }
    drop(slots);
    let big = vec![0u8; 16 << 20];
    let zero = big.iter().step_by(4096).all(|&b| b == 0) && big[(16 << 20) - 1] == 0;
    println!("freed bytes={freed} big zero={}", zero as u8);
    let boxes: Vec<Box<[u64; 64]>> = (0..10_000).map(|i| Box::new([i; 64])).collect();
    let sum: u64 = boxes.iter().map(|b| b[63]).sum();
    println!("boxes={} sum={sum}", boxes.len());
}
