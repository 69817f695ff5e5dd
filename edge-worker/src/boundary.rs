//! The two encodings of `glue.js`, which moves a request's fields into
//! wasm and a reply's headers out in one call each: fields and header
//! lines joined by `\n`, an absent request header written as `\0`.

use crate::app::RequestHeaders;
use crate::reply::Reply;

const ABSENT: &str = "\0";

/// The fields of a request that the worker reads, as `requestParts` in
/// `glue.js` joins them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestParts {
    pub method: String,
    pub url: String,
    pub origin: Option<String>,
    pub authorization: Option<String>,
    pub api_key: Option<String>,
    pub if_none_match: Option<String>,
    pub content_type: Option<String>,
}

impl RequestParts {
    /// Splits the joined fields. Missing trailing fields count as absent
    /// headers, so a shorter string never panics.
    pub fn parse(joined: &str) -> RequestParts {
        let mut fields = joined.split('\n');
        let method = fields.next().unwrap_or_default().to_owned();
        let url = fields.next().unwrap_or_default().to_owned();
        let mut header = || match fields.next() {
            None | Some(ABSENT) => None,
            Some(value) => Some(value.to_owned()),
        };
        RequestParts {
            method,
            url,
            origin: header(),
            authorization: header(),
            api_key: header(),
            if_none_match: header(),
            content_type: header(),
        }
    }

    /// Returns the headers that [`crate::app::answer`] reads.
    pub fn headers(&self) -> RequestHeaders<'_> {
        RequestHeaders {
            origin: self.origin.as_deref(),
            authorization: self.authorization.as_deref(),
            api_key: self.api_key.as_deref(),
            content_type: self.content_type.as_deref(),
            if_none_match: self.if_none_match.as_deref(),
        }
    }
}

/// Joins a reply's headers as `buildResponse` in `glue.js` reads them:
/// name and value of each header, in order, separated by `\n`.
pub fn header_lines(reply: &Reply) -> String {
    let length: usize = reply
        .headers
        .iter()
        .map(|(name, value)| name.len() + value.len() + 2)
        .sum();
    let mut head = String::with_capacity(length);
    for (name, value) in &reply.headers {
        if !head.is_empty() {
            head.push('\n');
        }
        debug_assert!(!value.contains('\n'), "header {name} has a line break");
        head.push_str(name);
        head.push('\n');
        head.push_str(value);
    }
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_present_and_absent_headers() {
        let joined = "POST\nhttp://h/ofrep/v1/evaluate/flags\nhttps://app.example\n\0\nk1\n\0\napplication/json";
        let parts = RequestParts::parse(joined);
        assert_eq!(parts.method, "POST");
        assert_eq!(parts.url, "http://h/ofrep/v1/evaluate/flags");
        assert_eq!(parts.origin.as_deref(), Some("https://app.example"));
        assert_eq!(parts.authorization, None);
        assert_eq!(parts.api_key.as_deref(), Some("k1"));
        assert_eq!(parts.if_none_match, None);
        assert_eq!(parts.content_type.as_deref(), Some("application/json"));
    }

    #[test]
    fn parse_keeps_empty_header_apart_from_absent() {
        let parts = RequestParts::parse("GET\nhttp://h/\n\n\0\n\0\n\0\n\0");
        assert_eq!(parts.origin.as_deref(), Some(""));
        assert_eq!(parts.authorization, None);
    }

    #[test]
    fn parse_of_short_input_leaves_fields_absent() {
        let parts = RequestParts::parse("GET");
        assert_eq!(parts.method, "GET");
        assert_eq!(parts.url, "");
        assert_eq!(parts.content_type, None);
    }

    #[test]
    fn header_lines_joins_names_and_values() {
        let reply = Reply::empty(204)
            .with_header("etag", "\"r1-ab\"")
            .with_header("vary", "Origin");
        assert_eq!(header_lines(&reply), "etag\n\"r1-ab\"\nvary\nOrigin");
        assert_eq!(header_lines(&Reply::empty(204)), "");
    }
}
