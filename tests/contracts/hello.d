// Hello world in D (ldc).
import std.stdio;
import std.process : environment;

void main(string[] args) {
    write("hello");
    foreach (a; args[1 .. $]) write(" ", a);
    writeln();
    writeln("GREETING=", environment.get("GREETING", "(unset)"));
}
