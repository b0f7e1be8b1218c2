//! Parsing of command-line quantities.

/// Largest memory limit accepted: the arena is reserved up front, and the
/// KVM backend keeps its own structures above 64 GiB guest-physical.
pub const MAX_MEMORY: u64 = 64 << 30;

/// Parses a memory size: a number of bytes with an optional binary suffix
/// K, M, G or T (also KiB, MB, ...: all powers of 1024).
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid memory size '{text}' (expected e.g. 256M)"))?;
    let shift = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(format!("invalid memory size '{text}' (expected e.g. 256M)")),
    };
    let bytes = n
        .checked_shl(shift)
        .filter(|b| b >> shift == n)
        .ok_or_else(|| format!("memory size '{text}' is too large"))?;
    if bytes < 1 << 20 {
        return Err(format!("memory size '{text}' is too small (at least 1M)"));
    }
    if bytes > MAX_MEMORY {
        return Err(format!("memory size '{text}' is too large (at most 64G)"));
    }
    Ok(bytes)
}

/// A `--gas-limit` value: a number, or none (unmetered).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GasLimitArg(pub Option<u64>);

/// Parses a gas limit: a number of gas units (digits, `_` allowed between
/// them), or `none` for an unmetered call.
pub fn parse_gas_limit(text: &str) -> Result<GasLimitArg, String> {
    parse_gas_number(text).map(GasLimitArg)
}

fn parse_gas_number(text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let digits: String = t.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || t.starts_with('_') {
        return Err(format!(
            "invalid gas limit '{text}' (expected a number such as 1_000_000, or none)"
        ));
    }
    digits
        .parse()
        .map(Some)
        .map_err(|_| format!("gas limit '{text}' is too large (at most {})", u64::MAX))
}

/// Parses a 32-byte block hash given as 64 hex digits (optional 0x).
pub fn parse_block_hash(text: &str) -> Result<[u8; 32], String> {
    let t = text.strip_prefix("0x").unwrap_or(text);
    let mut out = [0u8; 32];
    hex::decode_to_slice(t, &mut out)
        .map_err(|_| format!("invalid block hash '{text}': expected 64 hex digits"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("256M"), Ok(256 << 20));
        assert_eq!(parse_memory("1g"), Ok(1 << 30));
        assert_eq!(parse_memory("2GiB"), Ok(2 << 30));
        assert_eq!(parse_memory("64G"), Ok(64 << 30));
        assert_eq!(parse_memory("1048576"), Ok(1 << 20));
        for bad in [
            "",
            "M",
            "12Q",
            "-1M",
            "1K",
            "99999999999999999999",
            "2T",
            "18446744073709551615G",
        ] {
            assert!(parse_memory(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn gas_limits() {
        assert_eq!(parse_gas_limit("none"), Ok(GasLimitArg(None)));
        assert_eq!(parse_gas_limit("NONE"), Ok(GasLimitArg(None)));
        assert_eq!(parse_gas_limit("0"), Ok(GasLimitArg(Some(0))));
        assert_eq!(
            parse_gas_limit("1_000_000"),
            Ok(GasLimitArg(Some(1_000_000)))
        );
        assert_eq!(
            parse_gas_limit("18446744073709551615"),
            Ok(GasLimitArg(Some(u64::MAX)))
        );
        for bad in ["", "_1", "1e9", "-5", "18446744073709551616", "12 34", "1G"] {
            assert!(parse_gas_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn block_hashes() {
        let h = "00".repeat(31) + "ab";
        assert_eq!(parse_block_hash(&h).unwrap()[31], 0xab);
        assert_eq!(parse_block_hash(&format!("0x{h}")).unwrap()[31], 0xab);
        assert!(parse_block_hash("abc").is_err());
        assert!(parse_block_hash(&"zz".repeat(32)).is_err());
    }
}
