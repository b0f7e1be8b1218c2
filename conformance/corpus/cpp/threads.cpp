// C++ threads: std::thread with a std::mutex counter, std::async with
// std::launch::async, a std::condition_variable ping-pong, std::atomic
// counters and a std::promise / std::future hand-off carrying an
// exception. Every printed figure is a total, independent of the
// interleaving; a failed self-check exits with its own code.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

static void check(bool ok, int code, const char *what) {
    if (!ok) {
        std::printf("FAIL: %s\n", what);
        std::fflush(stdout);
        std::exit(code);
    }
}

static long long sum_range(long long from, long long to) {
    long long s = 0;
    for (long long i = from; i < to; i++) s += i * i % 1000003;
    return s;
}

int main() {
    // std::thread and std::mutex.
    long counter = 0;
    std::mutex m;
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; t++)
        threads.emplace_back([&] {
            for (int i = 0; i < 10000; i++) {
                std::lock_guard<std::mutex> g(m);
                counter++;
            }
        });
    for (auto &t : threads) t.join();
    check(counter == 80000, 2, "mutex counter");
    std::printf("mutex counter over 8 threads: %ld\n", counter);

    // std::async on its own threads; the parts add up to the whole.
    std::vector<std::future<long long>> parts;
    for (int p = 0; p < 4; p++)
        parts.push_back(std::async(std::launch::async, sum_range, p * 250000LL, (p + 1) * 250000LL));
    long long total = 0;
    for (auto &f : parts) total += f.get();
    check(total == sum_range(0, 1000000), 3, "async parts");
    std::printf("std::async sum over 4 parts: %lld\n", total);

    // An exception crosses threads through a future.
    auto failing = std::async(std::launch::async, []() -> int { throw std::runtime_error("thrown in a thread"); });
    try {
        failing.get();
        check(false, 4, "future did not rethrow");
    } catch (const std::runtime_error &e) {
        std::printf("future rethrew: %s\n", e.what());
    }

    // condition_variable ping-pong: strict alternation for 1000 rounds.
    std::mutex pm;
    std::condition_variable cv;
    int turn = 0, rounds = 0;
    std::thread pong([&] {
        for (int i = 0; i < 1000; i++) {
            std::unique_lock<std::mutex> l(pm);
            cv.wait(l, [&] { return turn == 1; });
            rounds++;
            turn = 0;
            cv.notify_one();
        }
    });
    for (int i = 0; i < 1000; i++) {
        std::unique_lock<std::mutex> l(pm);
        cv.wait(l, [&] { return turn == 0; });
        turn = 1;
        cv.notify_one();
    }
    {
        std::unique_lock<std::mutex> l(pm);
        cv.wait(l, [&] { return turn == 0; });
    }
    pong.join();
    check(rounds == 1000, 5, "ping-pong rounds");
    std::printf("condition_variable ping-pong: %d rounds\n", rounds);

    // A timed wait nobody notifies.
    {
        std::unique_lock<std::mutex> l(pm);
        auto start = std::chrono::steady_clock::now();
        bool woke = cv.wait_for(l, std::chrono::milliseconds(10), [] { return false; });
        check(!woke && std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(10), 6,
              "wait_for");
    }
    std::printf("condition_variable wait_for: timed out after 10ms\n");

    // std::atomic: fetch_add and a compare-exchange maximum.
    std::atomic<long> hits{0}, maximum{0};
    threads.clear();
    for (int t = 0; t < 4; t++)
        threads.emplace_back([&, t] {
            for (long i = 0; i < 25000; i++) {
                hits.fetch_add(1, std::memory_order_relaxed);
                long v = t * 25000 + i, cur = maximum.load();
                while (v > cur && !maximum.compare_exchange_weak(cur, v)) {
                }
            }
        });
    for (auto &t : threads) t.join();
    check(hits == 100000 && maximum == 99999, 7, "atomics");
    std::printf("atomics: %ld hits, maximum %ld\n", hits.load(), maximum.load());

    // promise/future and this_thread::sleep_for.
    std::promise<std::string> promise;
    auto fut = promise.get_future();
    std::thread sleeper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        promise.set_value("after 5ms");
    });
    std::string got = fut.get();
    sleeper.join();
    check(got == "after 5ms", 8, "promise");
    std::printf("promise: %s\n", got.c_str());
    return 0;
}
