// The conformance contract in Zig (0.17, no libc): arguments, environment,
// stdin, a growing heap array, the QVM protocol and an exit status.
const std = @import("std");

pub fn main(init: std.process.Init) !void {
    const gpa = init.gpa;
    var out_buf: [4096]u8 = undefined;
    var w = std.Io.File.stdout().writerStreaming(init.io, &out_buf);
    const out = &w.interface;

    var words: std.ArrayList([]const u8) = .empty;
    defer words.deinit(gpa);
    var status: u8 = 0;
    var it = init.minimal.args.iterate();
    _ = it.skip();
    if (it.next()) |s| status = @truncate(@as(u64, @bitCast(std.fmt.parseInt(i64, s, 10) catch 0)));
    while (it.next()) |a| try words.append(gpa, a);
    try out.print("args={d}\n", .{words.items.len});
    for (words.items, 1..) |word, i| try out.print("arg{d}={s}\n", .{ i, word });

    const counter = init.environ_map.get("DB_COUNTER");
    try out.print("counter={s}\n", .{counter orelse "(unset)"});

    var in_buf: [65536]u8 = undefined;
    var r = std.Io.File.stdin().readerStreaming(init.io, &in_buf);
    var chunk: [65536]u8 = undefined;
    var bytes: u64 = 0;
    var lines: u64 = 0;
    while (true) {
        const n = try r.interface.readSliceShort(&chunk);
        if (n == 0) break;
        bytes += n;
        lines += std.mem.count(u8, chunk[0..n], "\n");
    }
    try out.print("stdin_bytes={d}\nstdin_lines={d}\n", .{ bytes, lines });

    // The list grows one element at a time (append reallocates).
    var xs: std.ArrayList(i64) = .empty;
    defer xs.deinit(gpa);
    var i: i64 = 0;
    while (i < 100000) : (i += 1) try xs.append(gpa, @mod(i * i, 1000003));
    var sum: i64 = 0;
    for (xs.items) |x| sum += x;
    try out.print("heap_sum={d}\n", .{sum});

    const n: i64 = if (counter) |c| std.fmt.parseInt(i64, c, 10) catch 0 else 0;
    try out.print("DBW=COUNTER={d}\n", .{n + 1});
    try out.writeAll("DBP=OLD\nOUT=zig done\n");
    try out.flush();
    std.process.exit(status);
}
