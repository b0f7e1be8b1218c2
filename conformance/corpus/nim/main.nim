# The conformance contract in Nim: arguments, environment, stdin, a growing
# heap sequence, the QVM protocol and an exit status.
import std/[os, strutils]

proc toInt(s: string): int64 =
  try: parseBiggestInt(s).int64
  except ValueError: 0

let status = if paramCount() >= 1: toInt(paramStr(1)).int else: 0
let words = max(paramCount() - 1, 0)
stdout.write("args=", words, "\n")
for i in 1 .. words:
  stdout.write("arg", i, "=", paramStr(i + 1), "\n")

let hasCounter = existsEnv("DB_COUNTER")
let counter = getEnv("DB_COUNTER")
stdout.write("counter=", (if hasCounter: counter else: "(unset)"), "\n")

var chunk: array[65536, char]
var bytes, lines: int64
while true:
  let got = readBuffer(stdin, addr chunk[0], chunk.len)
  if got <= 0: break
  bytes += got
  for i in 0 ..< got:
    if chunk[i] == '\n': inc lines
stdout.write("stdin_bytes=", bytes, "\n")
stdout.write("stdin_lines=", lines, "\n")

# The sequence grows one element at a time (add reallocates).
var xs: seq[int64]
for i in 0'i64 ..< 100000'i64:
  xs.add((i * i) mod 1000003)
var sum: int64
for x in xs: sum += x
stdout.write("heap_sum=", sum, "\n")

let n = if hasCounter: toInt(counter) else: 0
stdout.write("DBW=COUNTER=", n + 1, "\n")
stdout.write("DBP=OLD\n")
stdout.write("OUT=nim done\n")
flushFile(stdout)
quit(status)
