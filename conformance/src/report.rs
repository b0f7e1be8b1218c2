//! The conformance report: a table program x backend with pass, fail or
//! skip, as text, Markdown and JSON
//! (`{"programs": [{"name", "language", "backends": {"native": {"status",
//! "detail"}, ...}, "warm": {"emu": {"status", "detail"}, ...}}]}`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::coverage::Coverage;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

/// One backend's verdict on a program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub status: Status,
    /// The first difference of a failure, or the reason for a skip.
    pub detail: String,
}

/// One program's row.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub name: String,
    pub language: String,
    pub backends: BTreeMap<String, Cell>,
    /// The instruction oracle's verdict: metered `gas.instructions`
    /// against the native count (`native_count`). None when the program's
    /// native instruction stream is not qvm's (`corpus::NativeStream`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<Cell>,
    /// Warm equals cold, per backend: the program loaded once, called
    /// again after other calls, each outcome equal to the cold one.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub warm: BTreeMap<String, Cell>,
}

impl Entry {
    /// A row with native and the given backends, all passing until told.
    pub fn new<'a>(name: &str, language: &str, backends: impl Iterator<Item = &'a str>) -> Self {
        let mut cells = BTreeMap::new();
        for b in std::iter::once("native").chain(backends) {
            cells.insert(
                b.to_string(),
                Cell {
                    status: Status::Pass,
                    detail: String::new(),
                },
            );
        }
        Entry {
            name: name.into(),
            language: language.into(),
            backends: cells,
            instructions: None,
            warm: BTreeMap::new(),
        }
    }

    /// Records the instruction oracle's verdict on one case: a failure or
    /// skip is never overwritten by a later case, passes accumulate their
    /// details.
    pub fn set_instructions(&mut self, status: Status, detail: String) {
        match &mut self.instructions {
            None => self.instructions = Some(Cell { status, detail }),
            Some(cell) => match (cell.status, status) {
                (Status::Pass, Status::Pass) => {
                    cell.detail.push_str("; ");
                    cell.detail.push_str(&detail);
                }
                (Status::Pass, _) | (Status::Skip, Status::Fail) => *cell = Cell { status, detail },
                _ => {}
            },
        }
    }

    /// Records the warm check's verdict on one backend.
    pub fn set_warm(&mut self, backend: &str, status: Status, detail: String) {
        self.warm
            .insert(backend.to_string(), Cell { status, detail });
    }

    /// Sets a cell; a failure or skip is never overwritten by a later case.
    pub fn set(&mut self, backend: &str, status: Status, detail: String) {
        if let Some(cell) = self.backends.get_mut(backend) {
            if cell.status == Status::Pass
                || (cell.status == Status::Skip && status == Status::Fail)
            {
                *cell = Cell { status, detail };
            }
        }
    }

    /// Sets every cell.
    pub fn all(&mut self, status: Status, detail: String) {
        for cell in self.backends.values_mut() {
            *cell = Cell {
                status,
                detail: detail.clone(),
            };
        }
    }
}

/// The whole report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub programs: Vec<Entry>,
    /// Which programs made each syscall (not part of the JSON document).
    #[serde(skip)]
    pub coverage: Coverage,
}

impl Report {
    /// Backend columns in display order.
    fn columns(&self) -> Vec<String> {
        let mut cols: Vec<String> = vec!["native".into()];
        for e in &self.programs {
            for b in e.backends.keys() {
                if !cols.contains(b) {
                    cols.push(b.clone());
                }
            }
        }
        cols
    }

    /// Counts of (pass, fail, skip) over all cells.
    pub fn counts(&self) -> (usize, usize, usize) {
        let cells = self.programs.iter().flat_map(|e| e.backends.values());
        cells.fold((0, 0, 0), |(p, f, s), c| match c.status {
            Status::Pass => (p + 1, f, s),
            Status::Fail => (p, f + 1, s),
            Status::Skip => (p, f, s + 1),
        })
    }

    /// The instruction oracle: (compared, equal, skipped, not applicable).
    /// Compared programs are those it passed or failed.
    pub fn instruction_counts(&self) -> (usize, usize, usize, usize) {
        self.programs
            .iter()
            .fold((0, 0, 0, 0), |(c, e, s, n), p| match &p.instructions {
                Some(Cell {
                    status: Status::Pass,
                    ..
                }) => (c + 1, e + 1, s, n),
                Some(Cell {
                    status: Status::Fail,
                    ..
                }) => (c + 1, e, s, n),
                Some(_) => (c, e, s + 1, n),
                None => (c, e, s, n + 1),
            })
    }

    /// The warm check, per backend: (backend, checked, equal, skipped).
    pub fn warm_counts(&self) -> Vec<(String, usize, usize, usize)> {
        let mut per: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
        for cell in self.programs.iter().flat_map(|e| &e.warm) {
            let (b, c) = cell;
            let n = per.entry(b.as_str()).or_default();
            match c.status {
                Status::Pass => (n.0, n.1) = (n.0 + 1, n.1 + 1),
                Status::Fail => n.0 += 1,
                Status::Skip => n.2 += 1,
            }
        }
        per.into_iter()
            .map(|(b, (c, e, s))| (b.to_string(), c, e, s))
            .collect()
    }

    /// The warm check's summary line.
    fn warm_summary(&self) -> String {
        let counts = self.warm_counts();
        if counts.is_empty() {
            return "warm calls: not checked".into();
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|(b, c, e, s)| format!("{b} {c} programs checked, {e} equal to cold, {s} skipped"))
            .collect();
        format!(
            "warm calls (each program loaded once, every case called again after a warm-up \
             call in another block, outcome equal to the cold call's, trace and gas \
             included): {}",
            parts.join("; ")
        )
    }

    /// Warm checks that did not pass: (program, backend, cell).
    fn warm_not_passing(&self) -> impl Iterator<Item = (&Entry, &String, &Cell)> {
        self.not_passing_in(|e| &e.warm)
    }

    /// The cells of `cells` (each program's) that did not pass:
    /// (program, backend, cell).
    fn not_passing_in(
        &self,
        cells: fn(&Entry) -> &BTreeMap<String, Cell>,
    ) -> impl Iterator<Item = (&Entry, &String, &Cell)> {
        self.programs
            .iter()
            .flat_map(move |e| cells(e).iter().map(move |(b, c)| (e, b, c)))
            .filter(|(_, _, c)| c.status != Status::Pass)
    }

    /// The instruction oracle's summary line.
    fn instruction_summary(&self) -> String {
        let (compared, equal, skipped, other) = self.instruction_counts();
        format!(
            "instruction oracle: {compared} programs compared, {equal} equal; {skipped} skipped; \
             {other} not applicable (native instruction stream not qvm's)"
        )
    }

    /// Languages with at least one program that passed everywhere it ran
    /// and failed nowhere.
    pub fn clean_languages(&self) -> Vec<String> {
        let mut langs: Vec<String> = self
            .programs
            .iter()
            .filter(|e| e.backends.values().all(|c| c.status != Status::Fail))
            .filter(|e| e.backends.values().any(|c| c.status == Status::Pass))
            .map(|e| e.language.clone())
            .collect();
        langs.sort();
        langs.dedup();
        langs
    }

    /// Every cell that did not pass: (program, backend, cell).
    fn not_passing(&self) -> impl Iterator<Item = (&Entry, &String, &Cell)> {
        self.not_passing_in(|e| &e.backends)
    }

    /// One line of the text report per cell.
    fn text_notes<'a>(cells: impl Iterator<Item = (&'a Entry, &'a String, &'a Cell)>) -> String {
        cells
            .map(|(e, b, cell)| {
                format!(
                    "  {} on {b}: {}: {}\n",
                    e.name,
                    cell.status.word(),
                    cell.detail
                )
            })
            .collect()
    }

    /// One Markdown list item per cell.
    fn markdown_notes<'a>(
        cells: impl Iterator<Item = (&'a Entry, &'a String, &'a Cell)>,
    ) -> String {
        cells
            .map(|(e, b, cell)| {
                format!(
                    "- `{}` on {b}, {}: {}\n",
                    e.name,
                    cell.status.word(),
                    cell.detail.replace('\n', " ")
                )
            })
            .collect()
    }

    /// A plain-text table, then the details of failures and skips.
    pub fn text(&self) -> String {
        let cols = self.columns();
        let width = self
            .programs
            .iter()
            .map(|e| e.name.len())
            .max()
            .unwrap_or(7)
            .max(7);
        let mut out = format!("{:width$}  {:12}", "program", "language");
        for c in &cols {
            out.push_str(&format!("  {c:6}"));
        }
        out.push('\n');
        for e in &self.programs {
            out.push_str(&format!("{:width$}  {:12}", e.name, e.language));
            for c in &cols {
                let w = e.backends.get(c).map_or("-", |cell| cell.status.word());
                out.push_str(&format!("  {w:6}"));
            }
            out.push('\n');
        }
        let notes = Self::text_notes(self.not_passing());
        if !notes.is_empty() {
            out.push_str("\nnot passing:\n");
            out.push_str(&notes);
        }
        out.push('\n');
        out.push_str(&self.instruction_summary());
        out.push('\n');
        for e in &self.programs {
            if let Some(cell) = &e.instructions {
                out.push_str(&format!(
                    "  {}: {}: {}\n",
                    e.name,
                    cell.status.word(),
                    cell.detail
                ));
            }
        }
        out.push('\n');
        out.push_str(&self.warm_summary());
        out.push('\n');
        out.push_str(&Self::text_notes(self.warm_not_passing()));
        let (p, f, s) = self.counts();
        out.push_str(&format!(
            "\n{} programs, {} languages clean; {p} passed, {f} failed, {s} skipped\n",
            self.programs.len(),
            self.clean_languages().len()
        ));
        out
    }

    /// The same as Markdown.
    pub fn markdown(&self) -> String {
        let cols = self.columns();
        let mut out = String::from("# qvm conformance report\n\n| program | language |");
        for c in &cols {
            out.push_str(&format!(" {c} |"));
        }
        out.push_str("\n|---|---|");
        out.push_str(&"---|".repeat(cols.len()));
        out.push('\n');
        for e in &self.programs {
            out.push_str(&format!("| {} | {} |", e.name, e.language));
            for c in &cols {
                out.push_str(&format!(
                    " {} |",
                    e.backends.get(c).map_or("-", |cell| cell.status.word())
                ));
            }
            out.push('\n');
        }
        let (p, f, s) = self.counts();
        out.push_str(&format!(
            "\n{} programs; {} languages with zero failures ({}); {p} passed, {f} failed, {s} skipped.\n",
            self.programs.len(),
            self.clean_languages().len(),
            self.clean_languages().join(", ")
        ));
        let notes = Self::markdown_notes(self.not_passing());
        if !notes.is_empty() {
            out.push_str("\n## Not passing\n\n");
            out.push_str(&notes);
        }
        out.push_str(&format!("\n{}.\n", self.instruction_summary()));
        out.push_str(&format!("\n{}.\n", self.warm_summary()));
        let warm_notes = Self::markdown_notes(self.warm_not_passing());
        if !warm_notes.is_empty() {
            out.push('\n');
            out.push_str(&warm_notes);
        }
        out.push_str(
            "\nKnown differences between the backends, and from native hardware, with what a \
             contract should do about each: [known-differences.md](known-differences.md).\n",
        );
        out
    }

    /// The JSON document.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
