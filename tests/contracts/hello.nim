# Hello world in Nim.
import std/os

var line = "hello"
for i in 1 .. paramCount():
  line.add(" " & paramStr(i))
echo line
echo "GREETING=", getEnv("GREETING", "(unset)")
