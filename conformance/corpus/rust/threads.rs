// std::thread: a Mutex counter behind an Arc, an mpsc channel from
// several producers, a panic in a spawned thread observed through join(),
// scoped threads and thread::sleep. Every printed figure is a total,
// independent of the interleaving; a failed self-check exits with its
// own code.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant};

fn check(ok: bool, code: i32, what: &str) {
    if !ok {
        println!("FAIL: {what}");
        std::process::exit(code);
    }
}

fn main() {
    // 8 threads add to one counter under a Mutex.
    let counter = Arc::new(Mutex::new(0u64));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let c = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..10_000 {
                    *c.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let total = *counter.lock().unwrap();
    check(total == 80_000, 2, "mutex counter");
    println!("mutex counter over 8 threads: {total}");

    // mpsc: 4 producers, one receiver; the channel closes when all drop.
    let (tx, rx) = mpsc::channel();
    for p in 0..4u64 {
        let tx = tx.clone();
        thread::spawn(move || {
            for i in 1..=250 {
                tx.send(p * 1000 + i).unwrap();
            }
        });
    }
    drop(tx);
    let sum: u64 = rx.iter().sum();
    check(sum == 1_625_500, 3, "mpsc sum");
    println!("mpsc sum from 4 producers: {sum}");

    // A bounded channel (sync_channel) forces the producer to block.
    let (tx, rx) = mpsc::sync_channel(2);
    let producer = thread::spawn(move || {
        for i in 0..100u64 {
            tx.send(i).unwrap();
        }
    });
    let bounded: u64 = rx.iter().sum();
    producer.join().unwrap();
    check(bounded == 4950, 4, "sync_channel sum");
    println!("sync_channel(2) sum: {bounded}");

    // Panic messages name the thread's id, which differs natively from
    // run to run: keep them off stderr.
    std::panic::set_hook(Box::new(|_| {}));
    // A panic in a spawned thread: join() returns its payload.
    let joined = thread::Builder::new()
        .name("doomed".into())
        .spawn(|| -> u32 { panic!("boom in a thread") })
        .unwrap()
        .join();
    match joined {
        Ok(_) => check(false, 5, "the panicking thread returned"),
        Err(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .copied()
                .unwrap_or("(not a str)");
            println!("spawned thread panicked: {text}");
        }
    }
    // A poisoned Mutex: a thread panics while holding it.
    let shared = Arc::new(Mutex::new(1));
    let s2 = Arc::clone(&shared);
    let _ = thread::spawn(move || {
        let _guard = s2.lock().unwrap();
        panic!("poisoning");
    })
    .join();
    check(shared.is_poisoned(), 6, "mutex not poisoned");
    println!("mutex poisoned by a panicking holder: {}", shared.is_poisoned());

    // Condvar hand-off, RwLock readers, atomics in scoped threads.
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p2 = Arc::clone(&pair);
    let waker = thread::spawn(move || {
        *p2.0.lock().unwrap() = true;
        p2.1.notify_one();
    });
    let mut ready = pair.0.lock().unwrap();
    while !*ready {
        ready = pair.1.wait(ready).unwrap();
    }
    drop(ready);
    waker.join().unwrap();
    println!("condvar hand-off: done");

    let table = RwLock::new((1..=100u64).collect::<Vec<_>>());
    let atomic = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let sum: u64 = table.read().unwrap().iter().sum();
                atomic.fetch_add(sum, Ordering::SeqCst);
            });
        }
        s.spawn(|| table.write().unwrap().push(0));
    });
    let a = atomic.load(Ordering::SeqCst);
    check(a == 4 * 5050, 7, "rwlock readers");
    println!("rwlock readers' atomic total: {a}");

    // thread::sleep waits at least its duration.
    let start = Instant::now();
    thread::sleep(Duration::from_millis(20));
    check(start.elapsed() >= Duration::from_millis(20), 8, "sleep returned early");
    let sleeper = thread::spawn(|| {
        thread::sleep(Duration::from_millis(5));
        42
    });
    check(sleeper.join().unwrap() == 42, 9, "sleeping thread");
    println!("thread::sleep(20ms): slept at least 20ms");
}
