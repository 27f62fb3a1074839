//! `completions` and `man`: made from the same clap definitions as `--help`, so they cannot
//! drift from what the program accepts.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::{CompletionsArgs, ManArgs, command as cli_command};
use anyhow::Context as _;

const BIN: &str = "reentry-board";

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cli_command(), BIN, &mut out);
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    let command = cli_command();
    match &args.dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for page in pages(command) {
                let name = format!("{}.1", page.get_display_name().unwrap_or(BIN));
                let mut bytes = Vec::new();
                clap_mangen::Man::new(page).render(&mut bytes)?;
                let path = dir.join(&name);
                std::fs::write(&path, bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The main page and one page per command, named as `git` names its pages: `reentry-board-sync`.
pub fn pages(command: clap::Command) -> Vec<clap::Command> {
    let mut command = command;
    command.build();
    let mut pages = Vec::new();
    collect(&command, BIN, &mut pages);
    pages
}

fn collect(command: &clap::Command, name: &str, pages: &mut Vec<clap::Command>) {
    // `build` gave each command its full bin name (`reentry-board hub token`) for the synopsis.
    pages.push(command.clone().display_name(name.to_string()));
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        collect(sub, &format!("{name}-{}", sub.get_name()), pages);
    }
}
