use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A gate must never die with a backtrace: a panic is reported on one line, exit code 2.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("error: internal error: {msg} (please report this)");
    }));
    let cli = kepguard::cli::Cli::parse();
    match std::panic::catch_unwind(|| kepguard::cli::run(cli)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            eprintln!("error: {}", kepguard::error::one_line(&e));
            ExitCode::from(2)
        }
        Err(_) => ExitCode::from(2),
    }
}
