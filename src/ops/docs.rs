//! Shell completions and man pages, generated from the clap definitions. The
//! copies committed under `completions/` and `man/` are checked by a test.

use std::io::Write;
use std::path::Path;

use clap_complete::Shell;

use super::Outcome;
use crate::cli;

/// `outboxctl completions SHELL`: the script on stdout.
pub fn completions(shell: Shell) -> anyhow::Result<Outcome> {
    print(&completion_script(shell))?;
    Ok(Outcome::Success)
}

/// `outboxctl man [--out-dir DIR]`: the page on stdout, or every page into DIR.
pub fn man(out_dir: Option<&Path>) -> anyhow::Result<Outcome> {
    match out_dir {
        None => print(&man_page()?)?,
        Some(dir) => write_man_pages(dir)?,
    }
    Ok(Outcome::Success)
}

/// The completion script for `shell`.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cli::command(), "outboxctl", &mut buf);
    buf
}

/// The shells completions are committed for, and their file names.
pub const COMPLETIONS: [(Shell, &str); 5] = [
    (Shell::Bash, "outboxctl.bash"),
    (Shell::Zsh, "_outboxctl"),
    (Shell::Fish, "outboxctl.fish"),
    (Shell::Elvish, "outboxctl.elv"),
    (Shell::PowerShell, "_outboxctl.ps1"),
];

/// The top-level man page (roff).
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cli::command()).render(&mut buf)?;
    Ok(buf)
}

/// Write `outboxctl.1` and one page per subcommand into `dir`.
pub fn write_man_pages(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(cli::command(), dir)
}

fn print(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STALE: &str = "stale: run ./scripts/gen-docs.sh and commit the result";

    #[test]
    fn committed_completions_are_up_to_date() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
        for (shell, file) in COMPLETIONS {
            let path = dir.join(file);
            let committed = std::fs::read(&path).unwrap_or_default();
            assert!(
                committed == completion_script(shell),
                "{} is {STALE}",
                path.display()
            );
        }
    }

    #[test]
    fn committed_man_pages_are_up_to_date() {
        let committed_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
        let scratch = tempfile::tempdir().unwrap();
        let fresh_dir = scratch.path();
        write_man_pages(fresh_dir).unwrap();
        let names = |dir: &Path| {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            v.sort();
            v
        };
        let fresh = names(fresh_dir);
        assert_eq!(
            names(&committed_dir),
            fresh,
            "the set of man pages is {STALE}"
        );
        for name in &fresh {
            let a = std::fs::read(committed_dir.join(name)).unwrap();
            let b = std::fs::read(fresh_dir.join(name)).unwrap();
            assert!(a == b, "man/{name} is {STALE}");
        }
    }
}
