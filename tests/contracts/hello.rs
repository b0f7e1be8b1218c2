// Hello world in Rust (std).
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut line = String::from("hello");
    for a in &args {
        line.push(' ');
        line.push_str(a);
    }
    println!("{line}");
    println!("GREETING={}", std::env::var("GREETING").unwrap_or_else(|_| "(unset)".into()));
}
