//! `fargate-sim.toml` and baselines: what a team writes down once instead of passing on every
//! run.
//!
//! The configuration file is found from the working directory upward (the first
//! `fargate-sim.toml`), or named with `--config`. Its `[validate]` table gives default flags,
//! and `[[validate.suppress]]` rules leave out findings by path, resource and code. A baseline
//! is a JSON file of finding fingerprints: findings in it are reported as suppressed, so a team
//! can adopt the linter on an existing tree and fail only on new findings.

use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use iam_sim::codes::Code;
use serde::{Deserialize, Serialize};

use super::check::{Checked, Suppressed};

/// The file name looked for.
pub const CONFIG_NAME: &str = "fargate-sim.toml";

/// The largest configuration or baseline file read.
const MAX_SETTINGS_BYTES: u64 = 16 << 20;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    validate: Validate,
}

/// The `[validate]` table: each key is the flag of the same name, used when the flag is not
/// given.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Validate {
    /// `--format`.
    pub format: Option<String>,
    /// `--fail-on`.
    pub fail_on: Option<String>,
    /// `--ignore`.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// `--show-suppressed`.
    pub show_suppressed: Option<bool>,
    /// `--baseline`, relative to the configuration file.
    pub baseline: Option<PathBuf>,
    /// `--account`.
    pub account: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--cluster`.
    pub cluster: Option<String>,
    /// `--trust-policy-quota`.
    pub trust_policy_quota: Option<usize>,
    /// Suppression rules.
    #[serde(default)]
    pub suppress: Vec<Rule>,
}

/// A `[[validate.suppress]]` rule: the findings it leaves out are those in a matching path,
/// of a matching resource, with one of the codes (every condition given must hold; at least
/// one of `paths` and `resources` is required — for every file, use `ignore`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Globs of paths, relative to the configuration file's folder (`legacy/**`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Globs of resource addresses or logical ids (`module.legacy.*`).
    #[serde(default)]
    pub resources: Vec<String>,
    /// Codes; every code when empty.
    #[serde(default)]
    pub codes: Vec<String>,
    /// Why, shown with the suppressed findings.
    pub reason: Option<String>,
}

/// A loaded configuration.
pub struct Config {
    /// Where it was read from (`None`: no file).
    pub path: Option<PathBuf>,
    /// The `[validate]` table.
    pub validate: Validate,
    rules: Vec<CompiledRule>,
}

struct CompiledRule {
    paths: Option<GlobSet>,
    resources: Option<GlobSet>,
    codes: Vec<Code>,
    reason: String,
}

impl Config {
    /// No file: nothing configured.
    #[must_use]
    pub fn none() -> Self {
        Self {
            path: None,
            validate: Validate::default(),
            rules: Vec::new(),
        }
    }

    /// The folder paths in the file are relative to.
    fn base(&self) -> PathBuf {
        self.path
            .as_deref()
            .and_then(Path::parent)
            .map_or_else(|| PathBuf::from("."), Path::to_owned)
    }

    /// A path of the file, made absolute against its folder.
    #[must_use]
    pub fn resolve(&self, p: &Path) -> PathBuf {
        self.base().join(p)
    }

    /// Finds `fargate-sim.toml` from `dir` upward and loads it, or loads `explicit`.
    ///
    /// # Errors
    /// A message naming the file, the line and column, and the fix.
    pub fn load(explicit: Option<&Path>, dir: &Path) -> Result<Self, String> {
        let path = match explicit {
            Some(p) => p.to_owned(),
            None => match dir
                .ancestors()
                .map(|d| d.join(CONFIG_NAME))
                .find(|p| p.is_file())
            {
                Some(p) => p,
                None => return Ok(Self::none()),
            },
        };
        let text = crate::input::read_text(&path, MAX_SETTINGS_BYTES)?;
        let file: File = toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let idx = iam_sim::LineIndex::new(&text);
                    format!(":{}", idx.line_col(&text, s.start))
                })
                .unwrap_or_default();
            format!(
                "`{}{at}`: {}; docs/validate.md#configuration lists the keys",
                path.display(),
                e.message()
            )
        })?;
        let mut rules = Vec::new();
        for (i, r) in file.validate.suppress.iter().enumerate() {
            let name = format!(
                "`{}`: [[validate.suppress]] number {}",
                path.display(),
                i + 1
            );
            if r.paths.is_empty() && r.resources.is_empty() {
                return Err(format!(
                    "{name} has neither `paths` nor `resources`; to leave a code out everywhere, list it in `ignore`"
                ));
            }
            let set = |globs: &[String]| -> Result<Option<GlobSet>, String> {
                if globs.is_empty() {
                    return Ok(None);
                }
                let mut b = GlobSetBuilder::new();
                for g in globs {
                    b.add(Glob::new(g).map_err(|e| format!("{name}: {e}"))?);
                }
                b.build().map(Some).map_err(|e| format!("{name}: {e}"))
            };
            let codes = r
                .codes
                .iter()
                .map(|c| parse_code(c).map_err(|e| format!("{name}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            rules.push(CompiledRule {
                paths: set(&r.paths)?,
                resources: set(&r.resources)?,
                codes,
                reason: r
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("suppress rule {}", i + 1)),
            });
        }
        for c in &file.validate.ignore {
            parse_code(c).map_err(|e| format!("`{}`: ignore: {e}", path.display()))?;
        }
        Ok(Self {
            path: Some(path),
            validate: file.validate,
            rules,
        })
    }

    /// Marks the findings its rules leave out. `cwd` makes shown paths absolute.
    pub fn apply(&self, checked: &mut [Checked], cwd: &Path) {
        if self.rules.is_empty() {
            return;
        }
        let base = normalize(&cwd.join(self.base()));
        for c in checked {
            let rel = normalize(&cwd.join(&c.path));
            let rel = rel.strip_prefix(&base).unwrap_or(&rel).to_owned();
            for f in c.findings.iter_mut().filter(|f| f.suppressed.is_none()) {
                let resource = f.origin.as_ref().map(|o| o.resource.as_str());
                if let Some(rule) = self.rules.iter().find(|r| {
                    r.paths.as_ref().is_none_or(|g| g.is_match(&rel))
                        && r.resources
                            .as_ref()
                            .is_none_or(|g| resource.is_some_and(|res| g.is_match(res)))
                        && (r.codes.is_empty() || r.codes.contains(&f.d.code))
                }) {
                    f.suppressed = Some(Suppressed::Rule(rule.reason.clone()));
                }
            }
        }
    }
}

/// A path with `.` and `..` resolved lexically (no file system access, so a path that does
/// not exist still matches).
pub(super) fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A finding code as written in a file or a flag.
///
/// # Errors
/// A sentence naming the code and, when there is one, the code meant.
pub fn parse_code(text: &str) -> Result<Code, String> {
    let text = text.trim();
    Code::parse(&text.to_ascii_uppercase()).ok_or_else(|| {
        let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let names: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
        let hint = Code::ALL
            .iter()
            .find(|c| c.name() == text)
            .map(|c| format!("; `{text}` is the name of {c}, write `{c}`"))
            .or_else(|| {
                iam_sim::policy::did_you_mean(text, &codes)
                    .or_else(|| iam_sim::policy::did_you_mean(text, &names))
                    .map(|m| format!("; did you mean `{m}`?"))
            })
            .unwrap_or_default();
        format!("`{text}` is not a finding code (docs/findings.md lists them){hint}")
    })
}

/// A baseline file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// The format's version: 1.
    pub version: u32,
    /// The findings, in file order.
    pub findings: Vec<BaselineEntry>,
}

/// A finding in a baseline: the file and fingerprint identify it; the rest is for the reader.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    /// The path as shown, with `/` separators.
    pub file: String,
    /// The code.
    pub code: String,
    /// The resource, for plans and templates.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub resource: Option<String>,
    /// The JSON path in the policy.
    pub path: String,
    /// The message when it was written.
    pub message: String,
    /// [`super::check::Finding::fingerprint`].
    pub fingerprint: String,
}

impl Baseline {
    /// The counted findings of a run.
    #[must_use]
    pub fn of(checked: &[Checked]) -> Self {
        let findings = checked
            .iter()
            .flat_map(|c| {
                c.counted().map(|f| BaselineEntry {
                    file: c.path.replace('\\', "/"),
                    code: f.d.code.as_str().to_owned(),
                    resource: f.origin.as_ref().map(|o| o.resource.clone()),
                    path: f.d.path.clone(),
                    message: f.d.message.clone(),
                    fingerprint: f.fingerprint(),
                })
            })
            .collect();
        Self {
            version: 1,
            findings,
        }
    }

    /// Reads a baseline.
    ///
    /// # Errors
    /// A message naming the file and what is wrong with it.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = crate::input::read_text(path, MAX_SETTINGS_BYTES)?;
        let b: Baseline = serde_json::from_str(&text).map_err(|e| {
            format!(
                "`{}:{}:{}`: not a fargate-sim baseline: {e}; write one with --write-baseline",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if b.version != 1 {
            return Err(format!(
                "`{}`: baseline version {} is not one this fargate-sim reads (1)",
                path.display(),
                b.version
            ));
        }
        Ok(b)
    }

    /// Marks the findings it holds.
    pub fn apply(&self, checked: &mut [Checked]) {
        let known: std::collections::HashSet<(&str, &str)> = self
            .findings
            .iter()
            .map(|e| (e.file.as_str(), e.fingerprint.as_str()))
            .collect();
        for c in checked {
            let file = c.path.replace('\\', "/");
            for f in c.findings.iter_mut().filter(|f| f.suppressed.is_none()) {
                if known.contains(&(file.as_str(), f.fingerprint().as_str())) {
                    f.suppressed = Some(Suppressed::Baseline);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_is_resolved_without_the_file_system() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }

    #[test]
    fn a_rule_without_paths_or_resources_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(CONFIG_NAME);
        std::fs::write(&p, "[[validate.suppress]]\ncodes = [\"AA101\"]\n").unwrap();
        let e = Config::load(Some(&p), dir.path()).err().unwrap();
        assert!(e.contains("neither `paths` nor `resources`"), "{e}");
    }

    #[test]
    fn an_unknown_key_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(CONFIG_NAME);
        std::fs::write(&p, "[validate]\nfail-on = \"error\"\nfial = 1\n").unwrap();
        let e = Config::load(Some(&p), dir.path()).err().unwrap();
        assert!(e.contains(":3:1`"), "{e}");
        assert!(e.contains("fial"), "{e}");
    }

    #[test]
    fn the_file_is_found_from_a_subfolder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_NAME),
            "[validate]\nregion = \"eu-west-1\"\n",
        )
        .unwrap();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        let c = Config::load(None, &sub).unwrap();
        assert_eq!(c.validate.region.as_deref(), Some("eu-west-1"));
    }
}
