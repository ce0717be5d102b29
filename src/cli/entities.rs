//! The `surety entities …` sub-commands: `import` (records into the entity store, with
//! refused records and progress shown on stderr) and `generate` (the synthetic data set
//! of [`crate::synth`]).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::clock::{Clock, SystemClock};
use crate::store::EntityStore;
use crate::verify::import::{self, Format, ImportObserver, ImportOptions, Reject};
use crate::verify::record::ParseContext;

#[derive(Debug, Subcommand)]
pub enum EntitiesAction {
    /// Import entity records from a JSON Lines or CSV file (`-` reads stdin); records
    /// are inserted or updated by external id.
    Import {
        file: PathBuf,
        /// `jsonl` or `csv` (default: from the file's extension).
        #[arg(long)]
        format: Option<String>,
        /// Write refused records (`line N: reason`) to this file instead of stderr.
        #[arg(long)]
        rejects: Option<PathBuf>,
        /// Records per transaction.
        #[arg(long, default_value_t = 5000)]
        batch: usize,
        /// No progress display.
        #[arg(long)]
        quiet: bool,
    },
    /// Write a deterministic synthetic data set (people, businesses, employment links)
    /// as JSON Lines: the same seed gives the same file.
    Generate {
        /// Records to write (about one business per ten people).
        #[arg(long)]
        count: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs `action`; `open_store` connects the entity store (called only by an import, once
/// its input and reject file are open).
pub async fn run<F, Fut>(open_store: F, action: EntitiesAction) -> anyhow::Result<()>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Arc<dyn EntityStore>>>,
{
    match action {
        EntitiesAction::Import {
            file,
            format,
            rejects,
            batch,
            quiet,
        } => import_cmd(open_store, file, format, rejects, batch, quiet).await,
        EntitiesAction::Generate { count, seed, out } => {
            let sink: Box<dyn Write> = match &out {
                Some(p) => Box::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("creating {}", p.display()))?,
                ),
                None => Box::new(std::io::stdout().lock()),
            };
            let mut w = std::io::BufWriter::with_capacity(1 << 20, sink);
            crate::synth::write_jsonl(&mut w, count, seed)?;
            w.flush()?;
            Ok(())
        }
    }
}

async fn import_cmd<F, Fut>(
    open_store: F,
    file: PathBuf,
    format: Option<String>,
    rejects: Option<PathBuf>,
    batch: usize,
    quiet: bool,
) -> anyhow::Result<()>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Arc<dyn EntityStore>>>,
{
    let format = match format {
        Some(f) => Format::parse(&f).map_err(anyhow::Error::msg)?,
        None => Format::from_path(&file).with_context(|| {
            format!("cannot tell the format of {}: use --format", file.display())
        })?,
    };
    let (input, total): (Box<dyn std::io::Read + Send>, Option<u64>) = if file.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f =
            std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let file: Option<Box<dyn Write + Send>> = match &rejects {
        Some(p) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        ))),
        None => None,
    };
    let mut observer = Shown {
        progress: Progress::new(total, !quiet),
        file,
    };
    let store = open_store().await?;
    let opts = ImportOptions {
        format,
        batch_rows: batch,
    };
    let ctx = ParseContext::at(SystemClock.now());
    let report = import::import(store, input, &opts, ctx, &mut observer).await?;
    eprintln!("{report}");
    if report.rejected > 0 {
        let to = rejects.map_or("above".to_owned(), |p| format!("in {}", p.display()));
        eprintln!("{} records refused: see the reasons {to}", report.rejected);
    }
    Ok(())
}

/// The import as shown on the command line: refused records to the file given, or to
/// stderr between progress redraws.
struct Shown {
    progress: Progress,
    file: Option<Box<dyn Write + Send>>,
}

impl ImportObserver for Shown {
    fn rejected(&mut self, rejects: &[Reject]) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => import::write_rejects(f, rejects),
            None => self
                .progress
                .suspend(|| import::write_rejects(&mut std::io::stderr().lock(), rejects)),
        }
    }
    fn progress(&mut self, bytes: u64, rows: u64, rejected: u64) {
        self.progress.update(bytes, rows, rejected);
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.progress.finish();
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

/// Rows, rows/s and ETA on stderr: a bar when stderr is a terminal, a plain line every
/// ten seconds otherwise (logs), nothing when disabled.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    total: Option<u64>,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    pub fn new(total: Option<u64>, enabled: bool) -> Self {
        let started = Instant::now();
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bar = (enabled && tty).then(|| {
            let bar = match total {
                Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
                None => ProgressBar::new_spinner(),
            };
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {percent:>3}% {msg}") {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            plain: enabled && !tty,
            total,
            started,
            last_line: started,
        }
    }

    /// `bytes` of the input read, `rows` records done, `rejected` of them refused.
    pub fn update(&mut self, bytes: u64, rows: u64, rejected: u64) {
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = rows as f64 / elapsed;
        let eta = match self.total {
            Some(t) if bytes > 0 && t > bytes => {
                let left = elapsed * (t - bytes) as f64 / bytes as f64;
                format!(" · ETA {}", fmt_secs(left))
            }
            _ => String::new(),
        };
        let msg = format!("{rows} rows · {rate:.0} rows/s{eta} · {rejected} rejected");
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
            bar.set_message(msg);
        } else if self.plain && self.last_line.elapsed() >= Duration::from_secs(10) {
            self.last_line = Instant::now();
            eprintln!("import: {msg}");
        }
    }

    /// Runs `f` with the bar cleared (to print below it).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn fmt_secs(s: f64) -> String {
    let s = s.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
