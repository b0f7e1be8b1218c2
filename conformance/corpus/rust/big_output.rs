// Writes about 8 MiB to stdout: formatted lines through a buffered writer,
// then 64 KiB blocks straight to file descriptor 1.
use std::io::Write;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

fn main() -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for i in 0..100_000u32 {
        writeln!(
            out,
            "line {i} of the big output {:x}",
            i.wrapping_mul(2_654_435_761)
        )?;
    }
    out.flush()?;
    drop(out);
    // ManuallyDrop: the File must not close stdout when it goes away.
    let mut raw = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(1) });
    let mut block = vec![0u8; 65536];
    for i in 0..64u8 {
        block.fill(b'a' + i % 26);
        block[65535] = b'\n';
        raw.write_all(&block)?;
    }
    Ok(())
}
