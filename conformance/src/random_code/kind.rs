//! The kinds of random sequence, what each is compared with, and which
//! ones a run draws (`QVM_RANDOM_KINDS`).

use std::fmt;

/// What a sequence exercises. *Body* kinds never fault and run many to a
/// program; *ending* kinds end in one instruction that may fault (or whose
/// result only the backends can be compared on), so each runs last in its
/// program: a fault ends the process, natively and under qvm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Integer, bit, string, multiply/divide, push/pop and SSE to SSE4.2
    /// (the original test), MXCSR exception flags masked.
    Base,
    /// The CPU profile's *required* families (BMI1, BMI2, ADX, MOVBE,
    /// LZCNT, POPCNT, AES-NI, PCLMULQDQ) mixed with base draws.
    Required,
    /// The SHA extensions (a hazard: hosts without them raise #UD) mixed
    /// with base draws, memory operands at any alignment. Drawn only when
    /// the host CPU has SHA.
    HazardSha,
    /// x87 arithmetic under a random precision and rounding control; the
    /// status word, tag word, the 80-bit registers and MXCSR unmasked.
    X87,
    /// [`Kind::X87`] plus the transcendentals (FSIN, FCOS, FSINCOS, FPTAN,
    /// FPATAN, F2XM1, FYL2X, FYL2XP1): a documented hazard, off unless named.
    X87Transcendental,
    /// SSE floating-point arithmetic and conversions with MXCSR's exception
    /// flags compared, under random rounding, DAZ and FTZ.
    Mxcsr,
    /// Ends in a privileged, I/O or system instruction.
    Privileged,
    /// Ends in an SSE memory access at a random alignment.
    SseAlign,
    /// Sets RFLAGS.AC, then accesses memory aligned and misaligned.
    AlignCheck,
    /// Ends in a VEX, EVEX or XOP instruction (BMI1/BMI2 aside), which
    /// qvm must refuse with #UD although the host CPU runs it.
    Vex,
    /// Ends in a SHA instruction whose memory operand is aligned or not,
    /// mostly after setting RFLAGS.AC (#AC when misaligned). Drawn only
    /// when the host CPU has SHA.
    HazardShaAlign,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Base,
        Kind::Required,
        Kind::HazardSha,
        Kind::X87,
        Kind::X87Transcendental,
        Kind::Mxcsr,
        Kind::Privileged,
        Kind::SseAlign,
        Kind::AlignCheck,
        Kind::Vex,
        Kind::HazardShaAlign,
    ];

    /// The name `QVM_RANDOM_KINDS` and reports use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Base => "base",
            Kind::Required => "required",
            Kind::HazardSha => "hazard-sha",
            Kind::X87 => "x87",
            Kind::X87Transcendental => "x87-transcendental",
            Kind::Mxcsr => "mxcsr",
            Kind::Privileged => "privileged",
            Kind::SseAlign => "sse-align",
            Kind::AlignCheck => "align-check",
            Kind::Vex => "vex",
            Kind::HazardShaAlign => "hazard-sha-align",
        }
    }

    /// Whether a sequence of this kind must be the last of its program.
    pub fn is_ending(self) -> bool {
        matches!(
            self,
            Kind::Privileged | Kind::SseAlign | Kind::AlignCheck | Kind::Vex | Kind::HazardShaAlign
        )
    }

    /// Whether the kind draws SHA instructions, which only a host CPU with
    /// SHA can judge.
    pub fn uses_sha(self) -> bool {
        matches!(self, Kind::HazardSha | Kind::HazardShaAlign)
    }

    /// Whether MXCSR's exception flags are left out of the comparison.
    /// The emulator (QEMU 5.0) never sets them (docs/known-differences.md,
    /// "MXCSR exception flags"); kinds about something else mask them so
    /// that they keep finding what they are about. [`Kind::Mxcsr`] and the
    /// x87 kinds compare them.
    pub fn masks_mxcsr_flags(self) -> bool {
        !matches!(self, Kind::Mxcsr | Kind::X87 | Kind::X87Transcendental)
    }

    /// Kinds drawn when `QVM_RANDOM_KINDS` is unset: all but the x87
    /// transcendentals, whose results are a hazard (vendor approximations).
    /// The SHA kinds are among them: a run skips them, saying so, when the
    /// host CPU cannot judge them (`Oracle::cannot_judge`).
    pub fn defaults() -> Vec<Kind> {
        Kind::ALL
            .into_iter()
            .filter(|k| *k != Kind::X87Transcendental)
            .collect()
    }

    /// Parses a comma-separated list of kind names; `all` names every kind.
    pub fn parse_list(list: &str) -> Result<Vec<Kind>, String> {
        let mut kinds = Vec::new();
        for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if word == "all" {
                kinds.extend(Kind::ALL);
                continue;
            }
            let kind = Kind::ALL
                .into_iter()
                .find(|k| k.name() == word)
                .ok_or_else(|| {
                    let names: Vec<_> = Kind::ALL.iter().map(|k| k.name()).collect();
                    format!("unknown kind {word:?}; kinds: {}", names.join(", "))
                })?;
            kinds.push(kind);
        }
        kinds.sort();
        kinds.dedup();
        if kinds.is_empty() {
            return Err("no kind named".into());
        }
        Ok(kinds)
    }

    /// The kinds to draw: `QVM_RANDOM_KINDS` (e.g. `x87,sse-align`), or
    /// [`Kind::defaults`].
    pub fn from_env() -> Result<Vec<Kind>, String> {
        match std::env::var("QVM_RANDOM_KINDS") {
            Ok(list) => Kind::parse_list(&list).map_err(|e| format!("QVM_RANDOM_KINDS: {e}")),
            Err(_) => Ok(Kind::defaults()),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse() {
        assert_eq!(
            Kind::parse_list("x87, sse-align,x87").unwrap(),
            vec![Kind::X87, Kind::SseAlign]
        );
        assert_eq!(Kind::parse_list("all").unwrap(), Kind::ALL.to_vec());
        assert!(Kind::parse_list("x86")
            .unwrap_err()
            .contains("unknown kind"));
        assert!(Kind::parse_list(" , ").is_err());
        assert!(!Kind::defaults().contains(&Kind::X87Transcendental));
        assert!(Kind::defaults().contains(&Kind::HazardSha));
        assert_eq!(
            Kind::parse_list("hazard-sha-align,hazard-sha").unwrap(),
            vec![Kind::HazardSha, Kind::HazardShaAlign]
        );
    }
}
