// Floating point: f64 libm functions (glibc's, linked by std), SSE
// arithmetic in f32 and f64, Rust's own float formatting and parsing, and
// exact x87 operations (+ - * /, FSQRT, integer conversions) on 80-bit
// values through inline assembly. x87 transcendental instructions are left
// out: their last bits differ between CPUs (README, "Known limits").
use std::arch::asm;
use std::hint::black_box;

/// The 80-bit results of a/b, sqrt(b), a*b+a and b rounded to an integer
/// (round to nearest even, the x87 default).
fn x87(a: f64, b: f64) -> ([[u8; 10]; 3], i64) {
    let mut out = [[0u8; 10]; 3];
    let mut int = 0i64;
    // SAFETY: reads two f64s and writes 30 bytes and one i64 we own; the
    // x87 stack is left empty as the ABI requires.
    unsafe {
        asm!(
            "fld qword ptr [{a}]",
            "fdiv qword ptr [{b}]",
            "fstp tbyte ptr [{o}]",
            "fld qword ptr [{b}]",
            "fsqrt",
            "fstp tbyte ptr [{o} + 10]",
            "fld qword ptr [{a}]",
            "fmul qword ptr [{b}]",
            "fadd qword ptr [{a}]",
            "fstp tbyte ptr [{o} + 20]",
            "fld qword ptr [{b}]",
            "fistp qword ptr [{i}]",
            a = in(reg) &a,
            b = in(reg) &b,
            o = in(reg) out.as_mut_ptr(),
            i = in(reg) &mut int,
            out("st(0)") _,
            options(nostack),
        );
    }
    (out, int)
}

fn hex(bytes: &[u8; 10]) -> String {
    bytes.iter().rev().map(|b| format!("{b:02x}")).collect()
}

fn main() {
    let x = black_box(0.7f64);
    let y = black_box(3.25f64);
    println!("sin={:?} cos={:?} tan={:?}", x.sin(), x.cos(), x.tan());
    println!(
        "exp={:?} ln={:?} pow={:?} sqrt={:?}",
        y.exp(),
        y.ln(),
        x.powf(y),
        y.sqrt()
    );
    println!(
        "atan2={:?} rem={:?} cbrt={:?} hypot={:?}",
        x.atan2(y),
        y % x,
        y.cbrt(),
        x.hypot(y)
    );
    println!(
        "floor={} ceil={} round={} trunc={}",
        (-y).floor(),
        (-y).ceil(),
        2.5f64.round(),
        (-y).trunc()
    );
    println!(
        "sinh={:?} asin={:?} log10={:?} exp_m1={:?}",
        x.sinh(),
        x.asin(),
        y.log10(),
        x.exp_m1()
    );
    let f = black_box(3.0f32);
    println!("f32: {:?} {:?} {:?}", f / 7.0, f.sqrt(), (f * 1e30) * 1e10);
    println!(
        "fmt: {:e} {:.3} {:?} {}",
        12345.678f64,
        1.0f64 / 3.0,
        0.1f64 + 0.2,
        f64::MAX
    );
    let parsed: f64 = "2.718281828459045235360".parse().unwrap_or(f64::NAN);
    println!(
        "parse={parsed:?} nan={:?} inf={:?}",
        (-y).sqrt(),
        1.0 / black_box(0.0)
    );
    let mut basel = 0.0f64;
    for i in 1..=100_000 {
        basel += 1.0 / (i as f64 * i as f64);
    }
    println!("basel={basel:?} mul_add={:?}", x.mul_add(y, 1e-17));
    let (ld, int) = x87(black_box(1.0), black_box(2.5));
    println!(
        "x87: div={} sqrt={} muladd={} round={int}",
        hex(&ld[0]),
        hex(&ld[1]),
        hex(&ld[2])
    );
}
