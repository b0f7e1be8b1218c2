// Rust std threads: Mutex, mpsc, Arc, a panic in a thread seen by join,
// thread::sleep, and a thread that spins without a syscall while main
// sleeps: only a time slice can give main the CPU back.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

fn main() {
    let m = Arc::new(Mutex::new(0u64));
    let (tx, rx) = mpsc::channel();
    let mut handles = vec![];
    for i in 0..4u64 {
        let (m, tx) = (m.clone(), tx.clone());
        handles.push(thread::spawn(move || {
            for _ in 0..10_000 {
                *m.lock().unwrap() += 1;
            }
            thread::sleep(Duration::from_millis(5));
            tx.send(i * i).unwrap();
        }));
    }
    drop(tx);
    let squares: u64 = rx.iter().sum();
    for h in handles {
        h.join().unwrap();
    }
    std::panic::set_hook(Box::new(|_| {}));
    let panicked = thread::spawn(|| panic!("boom")).join().is_err();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let spinner = thread::spawn(move || {
        let mut x = 0u64;
        while !flag.load(Ordering::Relaxed) {
            x = x.wrapping_add(1);
        }
        x > 0
    });
    thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    println!(
        "total={} squares={} panicked={} spun={}",
        *m.lock().unwrap(),
        squares,
        panicked,
        spinner.join().unwrap()
    );
}
