//! `surety entities import FILE`: bulk import of entity records from JSON Lines or CSV.
//!
//! Streaming in constant memory: a reader thread reads the file a line (CSV: a record)
//! at a time, parses and normalizes each record ([`super::record`]) and hands batches
//! of `batch_rows` to the writer through a channel two batches deep, so parsing on one
//! core overlaps the database's work on the other. The writer sends each batch through
//! the store's bulk path ([`EntityStore::bulk`]: upserts by external id; on PostgreSQL
//! `COPY` into staging tables and one transaction for the whole import, on SQLite
//! multi-row statements and one transaction a batch), so re-importing a file updates
//! rather than duplicates. Refused records are reported
//! with their line number and reason, and progress after each batch, to an
//! [`ImportObserver`] (the CLI draws them on stderr: `crate::cli::entities`).

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::record::{self, ParseContext};
use crate::store::{EntityCounts, EntityStore, EntityWrite, StoreError};

/// The input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (`.jsonl`, `.ndjson`).
    Jsonl,
    /// Comma-separated values with a header row (`.csv`).
    Csv,
}

impl Format {
    /// `jsonl` (or `ndjson`, `json`) or `csv`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" | "json" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            other => Err(format!("unknown format {other:?} (jsonl or csv)")),
        }
    }

    /// The format a file name's extension names, if any.
    pub fn from_path(p: &std::path::Path) -> Option<Self> {
        Format::parse(p.extension()?.to_str()?).ok()
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub format: Format,
    /// Records per store call (one transaction).
    pub batch_rows: usize,
}

/// Who watches an import: told of refused records and of progress after each batch.
pub trait ImportObserver: Send {
    /// Records refused in the batch just read (never empty).
    fn rejected(&mut self, rejects: &[Reject]) -> std::io::Result<()>;
    /// `bytes` of the input read so far, `rows` records done, `rejected` of them refused.
    fn progress(&mut self, _bytes: u64, _rows: u64, _rejected: u64) {}
    /// The import ended (successfully or not).
    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An observer writing each refused record as `line N: reason` to a writer.
pub struct RejectWriter<W>(pub W);

impl<W: Write + Send> ImportObserver for RejectWriter<W> {
    fn rejected(&mut self, rejects: &[Reject]) -> std::io::Result<()> {
        write_rejects(&mut self.0, rejects)
    }
    fn finish(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Writes refused records as `line N: reason`, one per line.
pub fn write_rejects(w: &mut dyn Write, rejects: &[Reject]) -> std::io::Result<()> {
    rejects
        .iter()
        .try_for_each(|r| writeln!(w, "line {}: {}", r.line, r.reason))
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input as a whole cannot be read (bad header, unreadable file).
    #[error("input: {0}")]
    Input(String),
    #[error("reading input: {0}")]
    Io(#[from] std::io::Error),
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// Records read (blank lines are not records).
    pub records: u64,
    pub rejected: u64,
    /// Records inserted or changed (the rest were stored already with the same content).
    pub written: u64,
    /// Entities that did not exist before.
    pub new_entities: u64,
    /// Links written for the records written.
    pub links_written: u64,
    /// The table counts after the import.
    pub counts: EntityCounts,
    pub elapsed: Duration,
}

impl ImportReport {
    pub fn rows_per_sec(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let updated = self.written.saturating_sub(self.new_entities);
        let unchanged = self.records - self.rejected - self.written;
        writeln!(
            f,
            "{} records in {:.1} s ({:.0} rows/s): {} new, {} updated, {} unchanged, {} rejected",
            self.records,
            self.elapsed.as_secs_f64(),
            self.rows_per_sec(),
            self.new_entities,
            updated,
            unchanged,
            self.rejected
        )?;
        let c = &self.counts;
        write!(
            f,
            "stored: {} people, {} businesses, {} links ({} to parents not imported yet)",
            c.people, c.businesses, c.links, c.dangling_links
        )
    }
}

/// A refused record.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub line: u64,
    pub reason: String,
}

/// One batch from the reader: records to write, records refused, and how far it got.
struct Batch {
    items: Vec<EntityWrite>,
    rejects: Vec<Reject>,
    records: u64,
    bytes: u64,
}

/// Imports `input` into `store`, telling `observer` of refused records and progress.
pub async fn import(
    store: Arc<dyn EntityStore>,
    input: Box<dyn Read + Send>,
    opts: &ImportOptions,
    ctx: ParseContext,
    observer: &mut dyn ImportObserver,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let before = store.entity_counts().await?;
    let (tx, mut rx) = mpsc::channel::<Batch>(2);
    let (format, batch_rows) = (opts.format, opts.batch_rows.max(1));
    let reader = std::thread::spawn(move || match format {
        Format::Jsonl => read_jsonl(input, ctx, batch_rows, &tx),
        Format::Csv => read_csv(input, ctx, batch_rows, &tx),
    });
    let mut bulk = store.bulk().await?;
    let mut report = ImportReport::default();
    let mut failed = None;
    while let Some(batch) = rx.recv().await {
        report.records += batch.records;
        report.rejected += batch.rejects.len() as u64;
        if !batch.rejects.is_empty()
            && let Err(e) = observer.rejected(&batch.rejects)
        {
            failed = Some(ImportError::Io(e));
            break;
        }
        match bulk.write(&batch.items).await {
            Ok(out) => {
                report.written += out.written;
                report.links_written += out.links;
            }
            Err(e) => {
                failed = Some(e.into());
                break;
            }
        }
        observer.progress(batch.bytes, report.records, report.rejected);
        // Freeing thousands of small allocations takes a while: off the write path.
        tokio::task::spawn_blocking(move || drop(batch.items));
    }
    drop(rx); // a reader still sending stops at its next batch
    let read = reader
        .join()
        .map_err(|_| ImportError::Input("the reader thread panicked".into()))?;
    let finished = observer.finish();
    if let Some(e) = failed {
        return Err(e);
    }
    read?;
    bulk.finish().await?;
    finished?;
    report.counts = store.entity_counts().await?;
    let total = |c: &EntityCounts| (c.people + c.businesses).max(0) as u64;
    report.new_entities = total(&report.counts).saturating_sub(total(&before));
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Collects records into batches and sends each full one.
struct Batcher<'a> {
    tx: &'a mpsc::Sender<Batch>,
    rows: usize,
    cur: Batch,
}

impl<'a> Batcher<'a> {
    fn new(tx: &'a mpsc::Sender<Batch>, rows: usize) -> Self {
        let cur = Batch {
            items: Vec::with_capacity(rows),
            rejects: Vec::new(),
            records: 0,
            bytes: 0,
        };
        Batcher { tx, rows, cur }
    }

    fn push(&mut self, line: u64, parsed: Result<EntityWrite, String>) {
        self.cur.records += 1;
        match parsed {
            Ok(w) => self.cur.items.push(w),
            Err(reason) => self.cur.rejects.push(Reject { line, reason }),
        }
    }

    /// Sends the batch if it is full (or `last`); `false` once the writer has stopped.
    fn flush(&mut self, bytes: u64, last: bool) -> bool {
        self.cur.bytes = bytes;
        let full = self.cur.items.len() + self.cur.rejects.len() >= self.rows;
        if !(full || last) {
            return true;
        }
        let next = Batch {
            items: Vec::with_capacity(self.rows),
            rejects: Vec::new(),
            records: 0,
            bytes,
        };
        let batch = std::mem::replace(&mut self.cur, next);
        self.tx.blocking_send(batch).is_ok()
    }
}

fn read_jsonl(
    input: Box<dyn Read + Send>,
    ctx: ParseContext,
    rows: usize,
    tx: &mpsc::Sender<Batch>,
) -> Result<(), ImportError> {
    let mut r = BufReader::with_capacity(1 << 20, input);
    let mut out = Batcher::new(tx, rows);
    let mut buf = Vec::with_capacity(4096);
    let (mut line, mut bytes) = (0u64, 0u64);
    loop {
        buf.clear();
        let n = r.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        line += 1;
        bytes += n as u64;
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim_start_matches('\u{feff}').trim(),
            Err(_) => {
                out.push(line, Err("not UTF-8".into()));
                continue;
            }
        };
        if !text.is_empty() {
            out.push(line, record::from_json_line(text, &ctx));
        }
        if !out.flush(bytes, false) {
            return Ok(());
        }
    }
    out.flush(bytes, true);
    Ok(())
}

const REQUIRED_COLUMNS: &[&str] = &["external_id", "kind", "name", "source", "verified_at"];

fn read_csv(
    input: Box<dyn Read + Send>,
    ctx: ParseContext,
    rows: usize,
    tx: &mpsc::Sender<Batch>,
) -> Result<(), ImportError> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .buffer_capacity(1 << 20)
        .from_reader(input);
    let headers = r.headers().map_err(csv_fatal)?.clone();
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !headers.iter().any(|h| h.trim() == *c))
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::Input(format!(
            "the CSV header lacks {}",
            missing.join(", ")
        )));
    }
    let mut out = Batcher::new(tx, rows);
    let mut rec = csv::StringRecord::new();
    loop {
        match r.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let line = rec.position().map_or(0, csv::Position::line);
                out.push(line, record::from_csv_row(&headers, &rec, &ctx));
            }
            Err(e) if e.is_io_error() => return Err(csv_fatal(e)),
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                out.push(line, Err(csv_reason(&e)));
            }
        }
        if !out.flush(r.position().byte(), false) {
            return Ok(());
        }
    }
    out.flush(r.position().byte(), true);
    Ok(())
}

fn csv_fatal(e: csv::Error) -> ImportError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => ImportError::Io(io),
        other => ImportError::Input(format!("{other:?}")),
    }
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8".into(),
        _ => e.to_string(),
    }
}
