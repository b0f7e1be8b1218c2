// The /state contract of state.c, in Rust (std::fs).
use std::fs::{self, OpenOptions};
use std::io::Write;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn errno(r: std::io::Result<impl Sized>) -> i32 {
    r.err().and_then(|e| e.raw_os_error()).unwrap_or(0)
}

fn main() {
    let counter = fs::read("/state/counter");
    let bin = fs::read("/state/.hex/00ff");
    let mut out = String::new();
    let n: i64 = match &counter {
        Ok(text) => {
            let n = String::from_utf8_lossy(text).trim().parse().unwrap_or(0);
            out += &format!("counter={n}");
            n
        }
        Err(e) => {
            out += &format!("counter=ERR{}", e.raw_os_error().unwrap_or(0));
            0
        }
    };
    let bin = match bin {
        Ok(b) => {
            out += &format!(" bin={}", hex(&b));
            b
        }
        Err(e) => {
            out += &format!(" bin=ERR{}", e.raw_os_error().unwrap_or(0));
            Vec::new()
        }
    };
    let missing = errno(fs::File::open("/state/missing"));
    let write = errno(OpenOptions::new().write(true).open("/state/counter"));
    out += &format!(" missing={missing} write={write}\n");

    let tail = [bin.as_slice(), &[0x00, b'\n', b'=', b',', 0xff]].concat();
    let event = [&[0xff, 0x00, b'\n'][..], &bin].concat();
    out += &format!("DBW=counter={}\n", n + 1);
    out += &format!("DBWX=00ff={}\n", hex(&tail));
    out += &format!("DBPX={},00\n", hex(b"old\n"));
    out += &format!("OUTX={}\n", hex(&event));
    std::io::stdout().write_all(out.as_bytes()).unwrap();
}
