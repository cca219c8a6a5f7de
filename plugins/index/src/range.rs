//! A remote file read in pieces with HTTP range requests, as a `Read + Seek` the `zip` crate can
//! open: a wheel's central directory and one member cost a request or two, not the whole wheel.

use std::io::{self, Read, Seek, SeekFrom};

use url::Url;
use wagon_core::redact::redact_url;

use crate::Error;
use crate::http::{HttpClient, Reply};

/// The tail read first: a wheel's central directory, and usually its `.dist-info` (written
/// last), fit in it.
pub(crate) const TAIL: u64 = 64 * 1024;
/// The least fetched by a later read, so a zip reader's small reads do not each cost a request.
const BLOCK: u64 = 64 * 1024;

/// What the server did with a range request.
pub(crate) enum Opened<'a> {
    /// It honoured the range: read on with the reader.
    Ranged(RangeReader<'a>),
    /// It sent the whole file (HTTP 200): the reply's body is the file.
    Whole(Reply),
    /// It refused ranges (e.g. 416): download the file instead.
    Unsupported,
}

/// Requests the last [`TAIL`] bytes of `url`.
pub(crate) fn open<'a>(client: &'a HttpClient, url: &Url) -> Result<Opened<'a>, Error> {
    let reply = client.get(
        url,
        &[
            ("Range", &format!("bytes=-{TAIL}")),
            ("Accept-Encoding", "identity"),
        ],
    )?;
    match reply.status {
        206 => {}
        200 => return Ok(Opened::Whole(reply)),
        416 | 501 => return Ok(Opened::Unsupported),
        _ => {
            return Err(reply
                .success()
                .err()
                .unwrap_or_else(|| bad(url, "an unexpected status")));
        }
    }
    let (start, len) = reply
        .content_range
        .as_deref()
        .and_then(parse_content_range)
        .ok_or_else(|| bad(url, "a 206 answer without a usable Content-Range"))?;
    let bytes = reply.bytes(TAIL)?;
    let mut reader = RangeReader {
        client,
        url: url.clone(),
        len,
        pos: 0,
        chunks: Vec::new(),
        requests: 1,
    };
    reader.chunks.push((start, bytes));
    Ok(Opened::Ranged(reader))
}

fn bad(url: &Url, what: &str) -> Error {
    Error::Page {
        url: redact_url(url.as_str()),
        reason: format!("range request got {what}"),
    }
}

/// `bytes START-END/TOTAL` → `(START, TOTAL)`.
fn parse_content_range(value: &str) -> Option<(u64, u64)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()?))
}

/// Reads a remote file of known length, fetching missing pieces on demand.
pub(crate) struct RangeReader<'a> {
    client: &'a HttpClient,
    url: Url,
    len: u64,
    pos: u64,
    /// `(offset, bytes)` pieces fetched so far.
    chunks: Vec<(u64, Vec<u8>)>,
    requests: usize,
}

impl RangeReader<'_> {
    /// How many requests were made (the first included).
    pub(crate) fn requests(&self) -> usize {
        self.requests
    }

    fn fetch(&mut self, from: u64) -> io::Result<()> {
        // Up to BLOCK bytes, stopping where a piece already fetched begins.
        let mut end = (from + BLOCK).min(self.len);
        for (start, _) in &self.chunks {
            if *start > from {
                end = end.min(*start);
            }
        }
        let range = format!("bytes={from}-{}", end - 1);
        let reply = self
            .client
            .get(
                &self.url,
                &[("Range", &range), ("Accept-Encoding", "identity")],
            )
            .map_err(io::Error::other)?;
        self.requests += 1;
        if reply.status != 206 {
            return Err(io::Error::other(format!(
                "{} answered HTTP {} to a range request",
                redact_url(self.url.as_str()),
                reply.status
            )));
        }
        let start = reply
            .content_range
            .as_deref()
            .and_then(parse_content_range)
            .map(|(start, _)| start);
        if start != Some(from) {
            return Err(io::Error::other("the server sent another range than asked"));
        }
        let bytes = reply.bytes(end - from).map_err(io::Error::other)?;
        if bytes.is_empty() {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
        }
        self.chunks.push((from, bytes));
        Ok(())
    }
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let pos = self.pos;
        let holding = |chunks: &[(u64, Vec<u8>)]| {
            chunks
                .iter()
                .position(|(start, bytes)| *start <= pos && pos < start + bytes.len() as u64)
        };
        let index = match holding(&self.chunks) {
            Some(index) => index,
            None => {
                self.fetch(pos)?;
                holding(&self.chunks).ok_or_else(|| io::Error::other("range fetch missed"))?
            }
        };
        let (start, bytes) = &self.chunks[index];
        let offset = usize::try_from(pos - start).map_err(io::Error::other)?;
        let n = buf.len().min(bytes.len() - offset);
        buf[..n].copy_from_slice(&bytes[offset..offset + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for RangeReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(n) => self.len.checked_add_signed(n),
            SeekFrom::Current(n) => self.pos.checked_add_signed(n),
        };
        self.pos = target.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse() {
        assert_eq!(parse_content_range("bytes 100-199/1000"), Some((100, 1000)));
        assert_eq!(parse_content_range("bytes 0-0/1"), Some((0, 1)));
        assert_eq!(parse_content_range("bytes */1000"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }
}
