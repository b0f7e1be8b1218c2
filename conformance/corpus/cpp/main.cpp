// The conformance contract in C++: arguments, environment, stdin, a growing
// heap vector, the QVM protocol and an exit status.
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

int main(int argc, char **argv) {
    std::ios::sync_with_stdio(false);
    std::vector<std::string> args(argv, argv + argc);
    int status = args.size() > 1 ? std::stoi(args[1]) : 0;
    std::size_t words = args.size() > 2 ? args.size() - 2 : 0;
    std::cout << "args=" << words << '\n';
    for (std::size_t i = 0; i < words; i++)
        std::cout << "arg" << i + 1 << '=' << args[i + 2] << '\n';

    const char *env = std::getenv("DB_COUNTER");
    std::string counter = env ? env : "(unset)";
    std::cout << "counter=" << counter << '\n';

    std::string input((std::istreambuf_iterator<char>(std::cin)),
                      std::istreambuf_iterator<char>());
    long long lines = 0;
    for (char c : input)
        if (c == '\n')
            lines++;
    std::cout << "stdin_bytes=" << input.size() << '\n';
    std::cout << "stdin_lines=" << lines << '\n';

    // The vector grows one element at a time (push_back reallocates).
    std::vector<long long> xs;
    for (long long i = 0; i < 100000; i++)
        xs.push_back((i * i) % 1000003);
    long long sum = 0;
    for (long long x : xs)
        sum += x;
    std::cout << "heap_sum=" << sum << '\n';

    long long n = env ? std::atoll(env) : 0;
    std::cout << "DBW=COUNTER=" << n + 1 << '\n';
    std::cout << "DBP=OLD\n";
    std::cout << "OUT=cpp done\n";
    std::cout.flush();
    return status;
}
