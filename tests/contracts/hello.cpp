// Hello world in C++: iostreams, std::string, a vector.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char **argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::cout << "hello";
    for (const auto &a : args) std::cout << ' ' << a;
    const char *g = std::getenv("GREETING");
    std::cout << "\nGREETING=" << (g ? g : "(unset)") << std::endl;
    return 0;
}
