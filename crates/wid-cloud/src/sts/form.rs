//! The token request's `application/x-www-form-urlencoded` body, decoded as the WHATWG URL
//! standard's form parser decodes it (`+` is a space, `%XX` a byte, bytes that are not UTF-8
//! become U+FFFD, empty sequences between `&` are skipped), but borrowing: a name or value
//! with nothing to decode is handed out as a slice of the body. A client assertion is
//! base64url and dots, so the one large value of a token request is never copied or
//! scanned byte by byte here.

use std::borrow::Cow;

/// The body's name-value pairs, in order. A pair without `=` has an empty value.
pub fn pairs(body: &[u8]) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &pair[pair.len()..]),
            };
            (decode(name), decode(value))
        })
}

/// One name or value: borrowed when it holds no `+` and no `%` and is UTF-8.
fn decode(raw: &[u8]) -> Cow<'_, str> {
    if !raw.contains(&b'%') && !raw.contains(&b'+') {
        return match std::str::from_utf8(raw) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(raw),
        };
    }
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    Cow::Owned(
        percent_encoding::percent_decode(&spaced)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(body: &[u8]) -> Vec<(String, String)> {
        pairs(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// What serde_urlencoded (the WHATWG parser of the `form_urlencoded` crate) makes of
    /// the same bytes.
    fn reference(body: &[u8]) -> Vec<(String, String)> {
        serde_urlencoded::from_bytes(body).expect("pairs always deserialize")
    }

    #[test]
    fn decodes_as_the_standard_parser_does() {
        let cases: [&[u8]; 18] = [
            b"",
            b"&",
            b"&&a=1&&",
            b"a",
            b"a=",
            b"=b",
            b"a=b=c",
            b"grant_type=client_credentials&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
            b"a=x+y&b=x%2By&c=%20",
            b"a=%",
            b"a=%4",
            b"a=%zz&b=%4g",
            b"a=%C3%A9&b=\xC3\xA9",
            b"a=\xFF\xFE&b=%FF",
            b"a+b=c+d",
            b"client_assertion=eyJ.eyJ.sig-_&client_id=00000000-0000-0000-0000-000000000000",
            b"a=1;b=2",
            b"%61=%62",
        ];
        for body in cases {
            assert_eq!(
                owned(body),
                reference(body),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        // Random bytes over a small alphabet rich in the characters that matter.
        let alphabet = b"ab=&+%2C3F\xC3\xA9\xFF";
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let len = (seed % 24) as usize;
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    alphabet[(seed >> 33) as usize % alphabet.len()]
                })
                .collect();
            assert_eq!(owned(&body), reference(&body), "{body:?}");
        }
    }

    #[test]
    fn plain_values_are_borrowed_from_the_body() {
        let body = b"client_assertion=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln&scope=a+b";
        let got: Vec<_> = pairs(body).collect();
        assert!(matches!(got[0].0, Cow::Borrowed("client_assertion")));
        assert!(matches!(got[0].1, Cow::Borrowed(_)));
        assert_eq!(got[1].1, "a b");
        assert!(matches!(got[1].1, Cow::Owned(_)));
    }
}
