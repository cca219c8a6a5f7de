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
/// The most one range read fetches (and holds in memory), the tail included: METADATA's own
/// limit, and as much again for the central directory (a wheel of some 100,000 entries). Past
/// it the reader fails and the caller downloads the file whole. Each request counts at least
/// a [`BLOCK`], so the number of requests is bounded too.
pub(crate) const BUDGET: u64 = 2 * crate::metadata::METADATA_LIMIT;

/// What the server did with a range request.
pub(crate) enum Opened<'a> {
    /// It honoured the range: read on with the reader.
    Ranged(RangeReader<'a>),
    /// It sent the whole file (HTTP 200): the reply's body is the file.
    Whole(Reply),
    /// It refused ranges (e.g. 416): download the file instead.
    Unsupported,
}

/// Requests the last [`TAIL`] bytes of `url`, to read on within [`BUDGET`].
pub(crate) fn open<'a>(client: &'a HttpClient, url: &Url) -> Result<Opened<'a>, Error> {
    open_within(client, url, BUDGET)
}

fn open_within<'a>(client: &'a HttpClient, url: &Url, budget: u64) -> Result<Opened<'a>, Error> {
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
        spent: TAIL,
        budget,
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
    /// Bytes fetched so far, each request counted as at least a [`BLOCK`].
    spent: u64,
    /// The most `spent` may reach.
    budget: u64,
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
        let cost = (end - from).max(BLOCK);
        if self.spent.saturating_add(cost) > self.budget {
            return Err(io::Error::other(format!(
                "it would read more than {} bytes in ranges",
                self.budget
            )));
        }
        self.spent += cost;
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
    fn range_reads_stop_at_their_budget() {
        use wagon_test_support::index::{IndexOptions, LoopbackIndex};
        use wagon_test_support::wheel::WheelBuilder;

        let dir = tempfile::tempdir().unwrap();
        // Members that compress poorly: a wheel of some 600 KiB, many blocks long.
        let mut builder = WheelBuilder::new("big", "1.0");
        let mut noise = 1u64;
        for i in 0..64 {
            let text: String = (0..16 * 1024)
                .map(|_| {
                    noise = noise
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    char::from(b'a' + u8::try_from(noise >> 59).unwrap() % 26)
                })
                .collect();
            builder = builder.file(&format!("big/m{i}.txt"), text);
        }
        let wheel = builder.build(dir.path());
        let len = std::fs::metadata(&wheel).unwrap().len();
        let index = LoopbackIndex::serve_with(
            dir.path(),
            IndexOptions {
                ranges: true,
                ..IndexOptions::default()
            },
        );
        let client = HttpClient::new(&crate::IndexSettings::default()).unwrap();
        let name = wheel.file_name().unwrap().to_str().unwrap();
        let url = Url::parse(&format!("{}/files/{name}", index.url())).unwrap();
        let read_all = |budget: u64| {
            let Opened::Ranged(mut reader) = open_within(&client, &url, budget).unwrap() else {
                panic!("the index answers ranges");
            };
            let mut bytes = Vec::new();
            let result = reader.read_to_end(&mut bytes);
            (result, bytes.len() as u64, reader.requests())
        };
        // A budget of four blocks (the tail and three more): no fifth request.
        let (result, read, requests) = read_all(TAIL + 3 * BLOCK);
        let err = result.unwrap_err().to_string();
        assert!(err.contains("more than 262144 bytes"), "{err}");
        assert_eq!((read, requests), (3 * BLOCK, 4));
        // The default budget reads the whole of a real wheel.
        let (result, read, requests) = read_all(BUDGET);
        assert_eq!(result.unwrap() as u64, len);
        assert_eq!(read, len);
        assert!(requests > 4, "{requests}");
    }

    #[test]
    fn content_ranges_parse() {
        assert_eq!(parse_content_range("bytes 100-199/1000"), Some((100, 1000)));
        assert_eq!(parse_content_range("bytes 0-0/1"), Some((0, 1)));
        assert_eq!(parse_content_range("bytes */1000"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }
}
