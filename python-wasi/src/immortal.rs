//! Makes the objects of a shared layer's snapshot immortal (PEP 683), so
//! that instances using them never write their reference counts, and the
//! pages they sit on stay shared instead of being copied by every instance.
//!
//! At the end of its boot the layer lists the addresses of the objects it
//! holds (`guest-sdk/terrarium/_immortal.py`): the marker, a u32 count, one
//! u32 per object, the marker again. This finds that list in the memory
//! image of the component's core module (its active data segments) and sets
//! the `ob_refcnt` of each listed object (offset 0 on 32-bit CPython) to
//! the count CPython gives immortal objects.

use std::{fs, io, path::Path};

use wasmparser::{DataKind, Encoding, Operator, Parser, Payload};

/// Opens and closes the list (the guest builds it from a masked copy).
const MARKER: &[u8; 16] = b"TERRARIUM-IMMORT";
/// 32-bit CPython 3.14's `_Py_IMMORTAL_INITIAL_REFCNT`.
const IMMORTAL_INITIAL: u32 = 3 << 29;
/// 32-bit CPython 3.14's `_Py_IMMORTAL_MINIMUM_REFCNT`: from this count on,
/// an object is immortal.
const IMMORTAL_MINIMUM: u32 = 1 << 30;

/// Makes the objects listed in the component at `path` immortal, in place;
/// returns how many it changed (the others were immortal already).
pub fn immortalize(path: &Path) -> io::Result<usize> {
    let mut bytes = fs::read(path)?;
    let patched = immortalize_bytes(&mut bytes)?;
    fs::write(path, &bytes)?;
    Ok(patched)
}

/// [`immortalize`] on the component's bytes.
fn immortalize_bytes(bytes: &mut [u8]) -> io::Result<usize> {
    let segments = data_segments(bytes).map_err(|error| invalid(format!("unreadable component: {error}")))?;
    let list = find_list(bytes, &segments)?;
    let image = Image {
        segments: segments
            .iter()
            .filter(|segment| segment.module == list.module)
            .collect(),
    };
    let mut patched = 0;
    for index in 0..list.count {
        let address = read_u32(bytes, list.first + 4 * index);
        // A count in the image is patched in place. Left as they are: counts
        // already immortal (a static object's count of 0x60000000 may begin
        // in the zeros the image leaves out), and any not wholly in one
        // segment (nothing can be written there).
        if let Some(at) = image.file_offset(address)
            && (1..IMMORTAL_MINIMUM).contains(&read_u32(bytes, at))
        {
            bytes[at..at + 4].copy_from_slice(&IMMORTAL_INITIAL.to_le_bytes());
            patched += 1;
        }
    }
    Ok(patched)
}

/// An active data segment at a constant address: where it lands in linear
/// memory, and where its bytes are in the component.
struct Segment {
    /// Which core module of the component it belongs to (in order).
    module: usize,
    address: u32,
    file_offset: usize,
    len: usize,
}

/// The data segments of every core module of the component.
fn data_segments(bytes: &[u8]) -> Result<Vec<Segment>, wasmparser::BinaryReaderError> {
    let mut segments = Vec::new();
    let mut module = 0;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::Version {
                encoding: Encoding::Module,
                ..
            } => module += 1,
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let DataKind::Active { offset_expr, .. } = data.kind else {
                        continue;
                    };
                    let Some(Ok(Operator::I32Const { value })) =
                        offset_expr.get_operators_reader().into_iter().next()
                    else {
                        continue;
                    };
                    segments.push(Segment {
                        module,
                        address: value as u32,
                        file_offset: data.data.as_ptr() as usize - bytes.as_ptr() as usize,
                        len: data.data.len(),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(segments)
}

/// One core module's memory image.
struct Image<'a> {
    segments: Vec<&'a Segment>,
}

impl Image<'_> {
    /// Where in the component the four bytes at `address` are.
    fn file_offset(&self, address: u32) -> Option<usize> {
        self.segments.iter().find_map(|segment| {
            let start = address.checked_sub(segment.address)? as usize;
            (start + 4 <= segment.len).then_some(segment.file_offset + start)
        })
    }
}

/// Where the list is: its module, the file offset of its first address,
/// and how many addresses it holds.
struct List {
    module: usize,
    first: usize,
    count: usize,
}

/// The one place in a segment where a marker, a count and a closing marker
/// that far after it agree (copies of the marker alone stay in memory the
/// guest freed).
fn find_list(bytes: &[u8], segments: &[Segment]) -> io::Result<List> {
    let mut found = Vec::new();
    for segment in segments {
        let data = &bytes[segment.file_offset..segment.file_offset + segment.len];
        let mut from = 0;
        while let Some(at) = find(&data[from..], MARKER).map(|at| from + at) {
            from = at + 1;
            let Some(count) = data
                .get(at + 16..at + 20)
                .map(|count| read_u32(count, 0) as usize)
            else {
                continue;
            };
            let closing = at + 20 + 4 * count;
            if data.get(closing..closing + 16) == Some(MARKER) {
                found.push(List {
                    module: segment.module,
                    first: segment.file_offset + at + 20,
                    count,
                });
            }
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(invalid(
            "the layer's memory image holds no list of its objects".into(),
        )),
        n => Err(invalid(format!(
            "the layer's memory image holds {n} lists of its objects"
        ))),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A core module whose only section holds `segments` (address, bytes).
    fn module_with_data(segments: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let mut section = leb(segments.len() as u32);
        for (address, data) in segments {
            section.push(0); // active, memory 0
            section.push(0x41); // i32.const
            section.extend(sleb(*address as i32));
            section.push(0x0b); // end
            section.extend(leb(data.len() as u32));
            section.extend(data);
        }
        let mut module = b"\0asm\x01\0\0\0".to_vec();
        module.push(11); // the data section
        module.extend(leb(section.len() as u32));
        module.extend(section);
        module
    }

    fn leb(mut value: u32) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    fn sleb(mut value: i32) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
            out.push(if done { byte } else { byte | 0x80 });
            if done {
                return out;
            }
        }
    }

    /// The list as the guest packs it.
    fn list(addresses: &[u32]) -> Vec<u8> {
        let mut out = MARKER.to_vec();
        out.extend((addresses.len() as u32).to_le_bytes());
        for address in addresses {
            out.extend(address.to_le_bytes());
        }
        out.extend(MARKER);
        out
    }

    /// Objects: a count then a type pointer, each u32.
    fn objects(counts: &[u32]) -> Vec<u8> {
        counts
            .iter()
            .flat_map(|count| [count.to_le_bytes(), 0xabcd_u32.to_le_bytes()].concat())
            .collect()
    }

    #[test]
    fn listed_objects_get_the_immortal_count_and_nothing_else_changes() {
        // Three objects at 0x1000, 0x1008, 0x1010 (one immortal already),
        // one not listed at 0x2000, a stray marker in freed memory, the list.
        let mut stray = MARKER.to_vec();
        stray.extend([9, 0, 0, 0, 1, 2, 3]);
        let mut module = module_with_data(&[
            (0x1000, objects(&[1, 7, IMMORTAL_INITIAL + 5])),
            (0x2000, objects(&[3])),
            (0x3000, stray),
            (0x4000, list(&[0x1000, 0x1008, 0x1010])),
        ]);
        let before = module.clone();
        assert_eq!(immortalize_bytes(&mut module).unwrap(), 2);
        let segments = data_segments(&module).unwrap();
        let count_at = |address| {
            let image = Image {
                segments: segments.iter().collect(),
            };
            read_u32(&module, image.file_offset(address).unwrap())
        };
        assert_eq!(count_at(0x1000), IMMORTAL_INITIAL);
        assert_eq!(count_at(0x1008), IMMORTAL_INITIAL);
        assert_eq!(count_at(0x1010), IMMORTAL_INITIAL + 5, "left as it was");
        assert_eq!(count_at(0x1004), 0xabcd, "type pointers untouched");
        assert_eq!(count_at(0x2000), 3, "not listed");
        let changed = before.iter().zip(&module).filter(|(a, b)| a != b).count();
        assert!(changed <= 8, "only the two counts changed ({changed} bytes)");
    }

    #[test]
    fn a_missing_or_doubled_list_is_refused() {
        let mut without = module_with_data(&[(0x1000, objects(&[1]))]);
        let error = immortalize_bytes(&mut without).unwrap_err().to_string();
        assert!(error.contains("holds no list"), "{error}");

        let mut doubled = module_with_data(&[(0x1000, list(&[])), (0x2000, list(&[]))]);
        let error = immortalize_bytes(&mut doubled).unwrap_err().to_string();
        assert!(error.contains("holds 2 lists"), "{error}");
    }

    #[test]
    fn counts_outside_the_image_or_split_by_it_are_left_alone() {
        // An immortal count (0x60000000) whose zero bytes the image left
        // out: its segment starts at its last byte.
        let mut module = module_with_data(&[
            (0x1003, vec![0x60, 0xcd, 0xab, 0, 0]),
            (0x2000, list(&[0x1000, 0x9000])),
        ]);
        let before = module.clone();
        assert_eq!(immortalize_bytes(&mut module).unwrap(), 0);
        assert_eq!(module, before);
    }
}
