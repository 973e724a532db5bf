//! Bytes the guest sends, which cross as Latin-1 text (the contract's
//! `bytes.latin1`: one char per byte, because componentize-py never frees
//! a `list<u8>` lowered from Python).

/// Text meant to stand for bytes held a char above U+00FF: the guest
/// broke the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the guest sent bytes as text holding a char above U+00FF (at byte {at})")]
pub struct NotLatin1 {
    /// Where the char starts in the text's UTF-8.
    at: usize,
}

/// The bytes `text` stands for, one per char, decoded in place: text that
/// is all ASCII is already its bytes.
pub fn into_bytes(text: String) -> Result<Vec<u8>, NotLatin1> {
    let mut bytes = text.into_bytes();
    let Some(first_wide) = bytes.iter().position(|byte| !byte.is_ascii()) else {
        return Ok(bytes);
    };
    // Every char from U+0080 to U+00FF is two bytes of UTF-8 (0xC2 or 0xC3,
    // then a continuation byte), so the decoded bytes never overtake the
    // ones still to read.
    let (mut read, mut write) = (first_wide, first_wide);
    while read < bytes.len() {
        let byte = bytes[read];
        bytes[write] = match byte {
            0x00..=0x7F => {
                read += 1;
                byte
            }
            0xC2 | 0xC3 => {
                let decoded = ((byte & 0x03) << 6) | (bytes[read + 1] & 0x3F);
                read += 2;
                decoded
            }
            _ => return Err(NotLatin1 { at: read }),
        };
        write += 1;
    }
    bytes.truncate(write);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn as_text(bytes: &[u8]) -> String {
        bytes.iter().map(|&byte| char::from(byte)).collect()
    }

    #[test]
    fn every_byte_value_comes_back() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(into_bytes(as_text(&all)), Ok(all));
    }

    #[test]
    fn ascii_and_empty_text_are_their_own_bytes() {
        assert_eq!(into_bytes(String::new()), Ok(Vec::new()));
        assert_eq!(into_bytes("hello\n".to_owned()), Ok(b"hello\n".to_vec()));
    }

    #[test]
    fn a_char_above_latin1_is_refused_where_it_starts() {
        assert_eq!(
            into_bytes("caf\u{e9} \u{20ac}".to_owned()),
            Err(NotLatin1 { at: 6 })
        );
        assert_eq!(into_bytes("\u{1f600}".to_owned()), Err(NotLatin1 { at: 0 }));
    }

    proptest! {
        #[test]
        fn any_bytes_survive_the_trip(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            prop_assert_eq!(into_bytes(as_text(&bytes)), Ok(bytes));
        }
    }
}
