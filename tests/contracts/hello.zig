// Hello world in Zig (no libc; Zig 0.17's std.process.Init main).
const std = @import("std");

pub fn main(init: std.process.Init) !void {
    var buf: [4096]u8 = undefined;
    var w = std.Io.File.stdout().writerStreaming(init.io, &buf);
    const out = &w.interface;
    try out.writeAll("hello");
    var it = init.minimal.args.iterate();
    _ = it.skip();
    while (it.next()) |a| try out.print(" {s}", .{a});
    const g = init.environ_map.get("GREETING") orelse "(unset)";
    try out.print("\nGREETING={s}\n", .{g});
    try out.flush();
}
