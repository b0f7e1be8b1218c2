// The conformance contract in D: arguments, environment, stdin, a growing
// heap array, the QVM protocol and an exit status.
import std.algorithm.searching : count;
import std.conv : to;
import std.process : environment;
import std.stdio : stdin, stdout, writeln;

// Mark with the calling thread only: the GC starts no helper threads.
extern (C) __gshared string[] rt_options = ["gcopt=parallel:0"];

long toLong(string s) {
    try
        return s.to!long;
    catch (Exception)
        return 0;
}

int main(string[] args) {
    int status = args.length > 1 ? cast(int) toLong(args[1]) : 0;
    auto words = args.length > 2 ? args[2 .. $] : [];
    writeln("args=", words.length);
    foreach (i, w; words)
        writeln("arg", i + 1, "=", w);

    string counter = environment.get("DB_COUNTER");
    writeln("counter=", counter is null ? "(unset)" : counter);

    ulong bytes = 0, lines = 0;
    foreach (ubyte[] chunk; stdin.byChunk(65536)) {
        bytes += chunk.length;
        lines += chunk.count('\n');
    }
    writeln("stdin_bytes=", bytes);
    writeln("stdin_lines=", lines);

    // The GC array grows one element at a time (~= reallocates).
    long[] xs;
    foreach (long i; 0 .. 100000)
        xs ~= (i * i) % 1000003;
    long sum = 0;
    foreach (x; xs)
        sum += x;
    writeln("heap_sum=", sum);

    long n = counter is null ? 0 : toLong(counter);
    writeln("DBW=COUNTER=", n + 1);
    writeln("DBP=OLD");
    writeln("OUT=d done");
    stdout.flush();
    return status;
}
