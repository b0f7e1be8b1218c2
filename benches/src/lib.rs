//! qvm benchmarks (content arrives with the benchmarks issue).
