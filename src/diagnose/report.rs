//! The network check's result as plain data: a [`Report`] of [`Section`]s of
//! [`Check`]s, and the [`Verdict`] derived from them. This file owns the
//! shape and the verdict rule (the worst status wins; only problems count
//! as failures). It must not run checks, print, or know how a face draws it.

use std::time::Duration;

/// How one check came out, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Something worth knowing; neither good nor bad (e.g. "nothing here
    /// receives right now").
    Info,
    /// It works.
    Ok,
    /// It works, but something may get in the way; a fix may be offered.
    Warning,
    /// Devices will not see or reach each other until this is fixed; a fix
    /// is always offered.
    Problem,
}

/// One finding: what was checked, how it came out, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked, in a few plain words ("Transfers port").
    pub title: String,
    /// How it came out.
    pub status: Status,
    /// One sentence saying what was found.
    pub detail: String,
    /// What to do, in plain words: always there for a problem, sometimes for
    /// a warning.
    pub fix: Option<String>,
    /// Technical lines behind the finding (addresses, interfaces, beacons),
    /// for whoever helps; the window folds them away.
    pub details: Vec<String>,
}

impl Check {
    fn new(title: &str, status: Status, detail: String, fix: Option<String>) -> Check {
        Check {
            title: title.to_string(),
            status,
            detail,
            fix,
            details: Vec::new(),
        }
    }

    /// Something that works.
    pub fn ok(title: &str, detail: impl Into<String>) -> Check {
        Check::new(title, Status::Ok, detail.into(), None)
    }

    /// Something worth knowing.
    pub fn info(title: &str, detail: impl Into<String>) -> Check {
        Check::new(title, Status::Info, detail.into(), None)
    }

    /// Something that may get in the way.
    pub fn warning(title: &str, detail: impl Into<String>) -> Check {
        Check::new(title, Status::Warning, detail.into(), None)
    }

    /// Something that keeps devices apart, with its fix.
    pub fn problem(title: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::new(title, Status::Problem, detail.into(), Some(fix.into()))
    }

    /// The same check with technical lines attached.
    pub fn with_details(mut self, details: Vec<String>) -> Check {
        self.details = details;
        self
    }
}

/// What a section is about; faces pick their own headings from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// The network interfaces discovery uses and skips.
    Interfaces,
    /// The TCP port for transfers and the UDP sockets for beacons.
    Ports,
    /// The beacons heard while listening.
    Beacons,
    /// Whether any other device answered at all (always present, and before
    /// the [`Topic::Device`] sections).
    Devices,
    /// The two-way check of one device.
    Device,
}

/// Checks that belong together, in the order they were made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// What it is about.
    pub topic: Topic,
    /// A technical heading ("Interfaces (setting: lo)", `"Laptop" at
    /// 192.168.1.20:47813`), as the terminal shows it.
    pub heading: String,
    /// Its findings.
    pub checks: Vec<Check>,
}

/// The overall outcome, derived from the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No problem and no warning.
    Healthy,
    /// No problem, but at least one warning.
    Warnings,
    /// At least one problem.
    Problems,
}

impl Verdict {
    /// The verdict of these checks: any problem makes [`Verdict::Problems`],
    /// else any warning makes [`Verdict::Warnings`], else
    /// [`Verdict::Healthy`] (also for no checks at all).
    pub fn of<'a>(checks: impl IntoIterator<Item = &'a Check>) -> Verdict {
        let worst = checks.into_iter().map(|c| c.status).max();
        match worst {
            Some(Status::Problem) => Verdict::Problems,
            Some(Status::Warning) => Verdict::Warnings,
            _ => Verdict::Healthy,
        }
    }
}

/// The whole network check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The overall outcome.
    pub verdict: Verdict,
    /// One plain sentence saying the verdict.
    pub summary: String,
    /// Which device ran the check: alias, device id, Ferry and protocol
    /// versions.
    pub about: String,
    /// How long it listened for beacons.
    pub listened: Duration,
    /// The findings, in order: interfaces, ports, beacons, devices, then one
    /// section per device checked.
    pub sections: Vec<Section>,
}

impl Report {
    /// A report of `sections`, with its verdict and summary derived.
    pub fn new(about: String, listened: Duration, sections: Vec<Section>) -> Report {
        let checks = sections.iter().flat_map(|s| &s.checks);
        let verdict = Verdict::of(checks.clone());
        let count = |status| checks.clone().filter(|c| c.status == status).count();
        let summary = summary(verdict, count(Status::Problem), count(Status::Warning));
        Report {
            verdict,
            summary,
            about,
            listened,
            sections,
        }
    }

    /// Every check, section after section.
    pub fn checks(&self) -> impl Iterator<Item = &Check> {
        self.sections.iter().flat_map(|s| &s.checks)
    }

    /// How many problems were found.
    pub fn problems(&self) -> usize {
        self.checks()
            .filter(|c| c.status == Status::Problem)
            .count()
    }
}

/// The sentence for a verdict.
fn summary(verdict: Verdict, problems: usize, warnings: usize) -> String {
    match verdict {
        Verdict::Healthy => "No problems found: this computer can find other Ferry devices \
                             and be found by them."
            .to_string(),
        Verdict::Warnings => format!(
            "No problems found, but {} worth a look.",
            plural(warnings, "one thing is", "things are")
        ),
        Verdict::Problems => format!(
            "{} can keep devices from seeing each other; what to do is below.",
            plural(problems, "One problem", "problems")
        ),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        one.to_string()
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(checks: Vec<Check>) -> Section {
        Section {
            topic: Topic::Ports,
            heading: "Ports".into(),
            checks,
        }
    }

    fn report(checks: Vec<Check>) -> Report {
        Report::new("test".into(), Duration::from_secs(1), vec![section(checks)])
    }

    #[test]
    fn no_checks_is_healthy() {
        assert_eq!(Verdict::of(&[]), Verdict::Healthy);
        assert_eq!(report(Vec::new()).verdict, Verdict::Healthy);
    }

    #[test]
    fn ok_and_info_are_healthy() {
        let r = report(vec![Check::ok("a", "fine"), Check::info("b", "note")]);
        assert_eq!(r.verdict, Verdict::Healthy);
        assert_eq!(r.problems(), 0);
        assert!(r.summary.starts_with("No problems found"), "{}", r.summary);
    }

    #[test]
    fn a_warning_without_problems_is_a_warning() {
        let r = report(vec![Check::ok("a", "fine"), Check::warning("b", "hmm")]);
        assert_eq!(r.verdict, Verdict::Warnings);
        assert_eq!(r.problems(), 0);
        assert!(
            r.summary.contains("one thing is worth a look"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn any_problem_wins_and_is_counted() {
        let r = report(vec![
            Check::warning("a", "hmm"),
            Check::problem("b", "broken", "fix it"),
            Check::ok("c", "fine"),
        ]);
        assert_eq!(r.verdict, Verdict::Problems);
        assert_eq!(r.problems(), 1);
        assert!(r.summary.starts_with("One problem"), "{}", r.summary);
        let two = report(vec![
            Check::problem("a", "broken", "fix"),
            Check::problem("b", "broken", "fix"),
        ]);
        assert!(two.summary.starts_with("2 problems"), "{}", two.summary);
    }

    #[test]
    fn checks_across_sections_all_count() {
        let r = Report::new(
            "test".into(),
            Duration::ZERO,
            vec![
                section(vec![Check::ok("a", "fine")]),
                section(vec![Check::problem("b", "broken", "fix")]),
            ],
        );
        assert_eq!(r.checks().count(), 2);
        assert_eq!(r.verdict, Verdict::Problems);
    }

    #[test]
    fn a_problem_always_has_a_fix() {
        let check = Check::problem("b", "broken", "do this");
        assert_eq!(check.fix.as_deref(), Some("do this"));
        assert_eq!(check.status, Status::Problem);
    }
}
