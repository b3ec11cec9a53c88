//! The plain-text form of a [`Report`], as `ferry doctor` prints it and the
//! window copies it: one heading per section, one line per check (`ok`,
//! `note`, `warning`, `PROBLEM` with its `hint:`), the technical lines
//! indented below, and a closing count. It only formats; it never prints.

use std::fmt;

use super::report::{Check, Report, Status, Topic};

/// The label column of a check line.
fn label(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Info => "note",
        Status::Warning => "warning",
        Status::Problem => "PROBLEM",
    }
}

fn check(f: &mut fmt::Formatter<'_>, check: &Check) -> fmt::Result {
    writeln!(f, "  {:<8} {}", label(check.status), check.detail)?;
    if let Some(fix) = &check.fix {
        let word = if check.status == Status::Problem {
            "hint"
        } else {
            "tip"
        };
        writeln!(f, "           {word}: {fix}")?;
    }
    for line in &check.details {
        writeln!(f, "  {line}")?;
    }
    Ok(())
}

impl fmt::Display for Report {
    /// Sections, checks and a closing line: "No problems found." or
    /// "N problem(s) found.".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for section in &self.sections {
            match section.topic {
                Topic::Device => writeln!(f, "  {}:", section.heading)?,
                _ => writeln!(f, "\n{}:", section.heading)?,
            }
            for one in &section.checks {
                check(f, one)?;
            }
        }
        writeln!(f)?;
        let problems = self.problems();
        let warnings = self
            .checks()
            .filter(|c| c.status == Status::Warning)
            .count();
        match (problems, warnings) {
            (0, 0) => writeln!(f, "No problems found."),
            (0, n) => writeln!(f, "No problems found; {n} warning(s)."),
            (n, _) => writeln!(f, "{n} problem(s) found."),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::report::Section;
    use super::*;

    #[test]
    fn problems_print_with_their_hint_and_count() {
        let report = Report::new(
            "test".into(),
            Duration::ZERO,
            vec![
                Section {
                    topic: Topic::Ports,
                    heading: "Ports".into(),
                    checks: vec![
                        Check::ok("a", "it works").with_details(vec!["use      lo".into()]),
                        Check::problem("b", "it is broken", "mend it"),
                    ],
                },
                Section {
                    topic: Topic::Device,
                    heading: "\"x\" at 127.0.0.1:1".into(),
                    checks: Vec::new(),
                },
            ],
        );
        let text = report.to_string();
        assert!(
            text.contains("\nPorts:\n  ok       it works\n  use      lo\n"),
            "{text}"
        );
        assert!(
            text.contains("  PROBLEM  it is broken\n           hint: mend it\n"),
            "{text}"
        );
        assert!(text.contains("  \"x\" at 127.0.0.1:1:\n"), "{text}");
        assert!(text.ends_with("1 problem(s) found.\n"), "{text}");
    }

    #[test]
    fn a_clean_report_says_so() {
        let report = Report::new("test".into(), Duration::ZERO, Vec::new());
        assert!(report.to_string().ends_with("No problems found.\n"));
    }
}
