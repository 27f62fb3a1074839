//! Reading a CSV file the way spreadsheets and jail systems write them: with or without a
//! byte-order mark, `\n` or `\r\n`, quoted fields with commas and line breaks inside. One row at
//! a time, so a 200 MB file takes no more memory than a small one.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Something wrong with the input, located: `roster.csv:7: column 5 "release_date": ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: Option<u64>,
    /// 1-based position and header name.
    pub column: Option<(usize, String)>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some((n, name)) = &self.column {
            write!(f, ": column {n} \"{name}\"")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for Problem {}

/// One data row: its line in the file (where it starts) and its fields as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub fields: Vec<String>,
}

/// Decodes a file in another encoding to UTF-8 as it is read (a byte-order mark decides over
/// the encoding named, as browsers do; bytes the encoding cannot map become U+FFFD).
struct Decoding<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    done: bool,
}

impl<R: Read> Decoding<R> {
    fn new(inner: R, encoding: &'static encoding_rs::Encoding) -> Self {
        Self {
            inner,
            decoder: encoding.new_decoder(),
            input: vec![0; 1 << 15],
            start: 0,
            end: 0,
            eof: false,
            done: false,
        }
    }
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        // UTF-8 needs up to 4 bytes for one character; the callers here pass 64 KiB.
        if self.done || out.len() < 4 {
            return Ok(0);
        }
        loop {
            if self.start == self.end && !self.eof {
                self.end = self.inner.read(&mut self.input)?;
                self.start = 0;
                self.eof = self.end == 0;
            }
            let pending = self.input.get(self.start..self.end).unwrap_or_default();
            let (result, read, written, _) = self.decoder.decode_to_utf8(pending, out, self.eof);
            self.start += read;
            if self.eof && result == encoding_rs::CoderResult::InputEmpty {
                self.done = true;
                return Ok(written);
            }
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

/// Turns `\r\n` into `\n` on the fly: the csv crate reads both, but counts lines of CRLF files
/// one short, and a user needs the line their editor shows.
struct Lf<R> {
    inner: R,
    /// A `\r` at the end of the last chunk, not yet known to be followed by `\n`.
    pending_cr: bool,
}

impl<R: BufRead> Read for Lf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n < out.len() {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                if self.pending_cr {
                    self.pending_cr = false;
                    out[n] = b'\r';
                    n += 1;
                }
                break;
            }
            let mut used = 0;
            for &b in chunk {
                if n >= out.len() {
                    break;
                }
                used += 1;
                if self.pending_cr {
                    self.pending_cr = false;
                    if b != b'\n' {
                        out[n] = b'\r';
                        n += 1;
                        if n >= out.len() {
                            used -= 1;
                            break;
                        }
                    }
                }
                if b == b'\r' {
                    self.pending_cr = true;
                } else {
                    out[n] = b;
                    n += 1;
                }
            }
            self.inner.consume(used);
            if n > 0 {
                break;
            }
        }
        Ok(n)
    }
}

pub struct CsvFile {
    pub name: String,
    pub header: Vec<String>,
    delimiter: u8,
    reader: csv::Reader<Lf<BufReader<Box<dyn Read + Send>>>>,
    record: csv::ByteRecord,
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tabs".into(),
        b',' => "commas (,)".into(),
        b';' => "semicolons (;)".into(),
        b'|' => "pipes (|)".into(),
        other => format!("`{}`", char::from(other)),
    }
}

fn delimiter_setting(d: u8) -> String {
    match d {
        b'\t' => "\"\\t\"".into(),
        other => format!("\"{}\"", char::from(other)),
    }
}

impl CsvFile {
    /// Opens the file and reads its header line. With `comments`, lines starting with `#` are
    /// skipped (our own reference files carry a note on top; jail feeds never do).
    pub fn open(path: &Path, delimiter: u8, comments: bool) -> Result<Self, Problem> {
        Self::open_decoded(path, delimiter, comments, encoding_rs::UTF_8)
    }

    /// [`CsvFile::open`] for a file in `encoding`, decoded to UTF-8 as it is read (a UTF-8 file
    /// is read as is, and checked field by field).
    pub fn open_decoded(
        path: &Path,
        delimiter: u8,
        comments: bool,
        encoding: &'static encoding_rs::Encoding,
    ) -> Result<Self, Problem> {
        let name = path.display().to_string();
        let problem = |line: Option<u64>, message: String| Problem {
            file: name.clone(),
            line,
            column: None,
            message,
        };
        let file = File::open(path).map_err(|e| problem(None, format!("cannot open: {e}")))?;
        let source: Box<dyn Read + Send> = if encoding == encoding_rs::UTF_8 {
            Box::new(file)
        } else {
            Box::new(Decoding::new(file, encoding))
        };
        let mut buf = BufReader::with_capacity(1 << 16, source);
        let head = buf
            .fill_buf()
            .map_err(|e| problem(None, format!("cannot read: {e}")))?;
        if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
            return Err(problem(
                Some(1),
                "the file is UTF-16 text; set `encoding = \"utf-16le\"` in the mapping file, or \
                 save it as UTF-8 (in Excel: \"CSV UTF-8\")"
                    .into(),
            ));
        }
        // Excel's "CSV UTF-8" starts with a byte-order mark; it is not part of the first column.
        if head.starts_with(UTF8_BOM) {
            buf.consume(UTF8_BOM.len());
        }
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .comment(comments.then_some(b'#'))
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(Lf {
                inner: buf,
                pending_cr: false,
            });
        let mut file = Self {
            name: name.clone(),
            header: Vec::new(),
            delimiter,
            reader,
            record: csv::ByteRecord::new(),
        };
        let found = file
            .reader
            .read_byte_record(&mut file.record)
            .map_err(|e| problem(Some(1), csv_error(&e)))?;
        let blank = file
            .record
            .iter()
            .all(|f| f.iter().all(u8::is_ascii_whitespace));
        if !found || blank {
            return Err(problem(
                None,
                "the file is empty; expected a header line naming the columns, then one row per person"
                    .into(),
            ));
        }
        let mut header = Vec::with_capacity(file.record.len());
        for (i, field) in file.record.iter().enumerate() {
            let text = std::str::from_utf8(field).map_err(|e| Problem {
                file: name.clone(),
                line: Some(1),
                column: Some((i + 1, String::from_utf8_lossy(field).into_owned())),
                message: not_utf8(field, &e),
            })?;
            header.push(text.trim().to_string());
        }
        file.header = header;
        Ok(file)
    }

    /// The position of a column by header name (case and surrounding spaces ignored).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name.trim()))
    }

    /// Columns that must exist: the first missing one is reported with what the header holds,
    /// and with the likely reason when the file uses another delimiter.
    pub fn require(&self, wanted: &[(&str, &str)]) -> Result<(), Problem> {
        let Some((field, column)) = wanted.iter().find(|(_, c)| self.column(c).is_none()) else {
            return Ok(());
        };
        let problem = |message: String| Problem {
            file: self.name.clone(),
            line: Some(1),
            column: None,
            message,
        };
        if self.header.len() == 1 {
            let only = self.header.first().map(String::as_str).unwrap_or_default();
            let other = [b',', b';', b'\t', b'|']
                .into_iter()
                .filter(|d| *d != self.delimiter)
                .max_by_key(|d| only.bytes().filter(|b| b == d).count())
                .filter(|d| only.as_bytes().contains(d));
            if let Some(d) = other {
                return Err(problem(format!(
                    "the header has no {} but has {}: the file looks {}-separated; set delimiter = {} in the mapping file (--map)",
                    delimiter_name(self.delimiter),
                    delimiter_name(d),
                    match d {
                        b'\t' => "tab".to_string(),
                        b';' => "semicolon".to_string(),
                        b'|' => "pipe".to_string(),
                        _ => "comma".to_string(),
                    },
                    delimiter_setting(d),
                )));
            }
        }
        Err(problem(format!(
            "missing column \"{column}\" (the mapping's {field}); the header has: {}",
            self.header.join(", ")
        )))
    }

    /// The next data row; a row that cannot be read as text or has the wrong number of fields
    /// is a [`Problem`], and reading goes on with the row after it.
    pub fn next_row(&mut self) -> Option<Result<Row, Problem>> {
        loop {
            let found = match self.reader.read_byte_record(&mut self.record) {
                Ok(found) => found,
                Err(e) => {
                    let line = e.position().map(csv::Position::line);
                    return Some(Err(Problem {
                        file: self.name.clone(),
                        line,
                        column: None,
                        message: csv_error(&e),
                    }));
                }
            };
            if !found {
                return None;
            }
            let line = self.record.position().map_or(0, csv::Position::line);
            // Spreadsheets leave blank lines at the end; they are not rows.
            if self.record.len() == 1
                && self
                    .record
                    .get(0)
                    .is_some_and(|f| f.trim_ascii().is_empty())
            {
                continue;
            }
            return Some(self.decode(line));
        }
    }

    fn decode(&self, line: u64) -> Result<Row, Problem> {
        let problem = |column: Option<(usize, String)>, message: String| Problem {
            file: self.name.clone(),
            line: Some(line),
            column,
            message,
        };
        if self.record.len() != self.header.len() {
            let hint = if self.record.len() > self.header.len() {
                "; a value with a comma in it must be in double quotes"
            } else {
                ""
            };
            return Err(problem(
                None,
                format!(
                    "expected {} fields as in the header, found {}{hint}",
                    self.header.len(),
                    self.record.len()
                ),
            ));
        }
        let mut fields = Vec::with_capacity(self.record.len());
        for (i, field) in self.record.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(text) => fields.push(text.trim().to_string()),
                Err(e) => {
                    let name = self.header.get(i).cloned().unwrap_or_default();
                    return Err(problem(Some((i + 1, name)), not_utf8(field, &e)));
                }
            }
        }
        Ok(Row { line, fields })
    }
}

fn not_utf8(field: &[u8], e: &std::str::Utf8Error) -> String {
    let at = e.valid_up_to();
    let byte = field.get(at).copied().unwrap_or_default();
    let before = String::from_utf8_lossy(field.get(..at).unwrap_or_default());
    format!(
        "not UTF-8 text (byte 0x{byte:02X} after \"{before}\"); save the file as UTF-8 (in Excel: \"CSV UTF-8\")"
    )
}

fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => format!("cannot read: {io}"),
        _ => format!("not readable as CSV: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lf(input: &[u8], chunk: usize) -> Vec<u8> {
        let mut r = Lf {
            inner: BufReader::with_capacity(chunk, input),
            pending_cr: false,
        };
        let mut out = Vec::new();
        let mut buf = vec![0; chunk];
        loop {
            let n = r.read(&mut buf).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    #[test]
    fn crlf_becomes_lf_across_chunk_edges() {
        let input = b"a,b\r\nc\r,d\r\n\r";
        for chunk in 1..8 {
            assert_eq!(lf(input, chunk), b"a,b\nc\r,d\n\r", "chunk {chunk}");
        }
    }
}
